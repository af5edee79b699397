/**
 * Text a person reads before approving, with nothing hidden in it.
 *
 * A tool call's arguments come from the model, which may have copied them from untrusted content.
 * Characters that render as nothing or reorder what follows (zero-width and other format
 * characters, bidi overrides and isolates, variation selectors, tag characters, Hangul fillers,
 * line and paragraph separators, control characters) could make an approval prompt show one
 * recipient or amount while the call carries another. Each one is shown as its escape instead.
 * (`escapeControls` in text.ts is the narrower escape every message and reason gets, bidi
 * controls included; this one is for what a person reads in the element, where the wider set costs
 * the page nothing.)
 *
 * Checklist:
 * - every default-ignorable or format code point, and every control character but the line feed
 *   and tab a pretty-printed JSON text holds, becomes `\u{XXXX}`;
 * - everything else, letters of every script included, is left as it is.
 */

const HIDDEN =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each hidden code point is matched alone, on purpose (a combining grapheme joiner too)
  /[\p{Cf}\p{Zl}\p{Zp}\u0000-\u0008\u000B-\u001F\u007F-\u009F\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u3164\uFE00-\uFE0F\uFFA0\u{E0000}-\u{E0FFF}]/gu;

/**
 * `text` with every character that would hide or reorder what a person reads shown as its escape
 * (`\u{202E}`).
 *
 * @param text what the prompt shows
 */
export function visibleText(text: string): string {
  return text.replace(
    HIDDEN,
    (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}}`,
  );
}
