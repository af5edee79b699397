/**
 * Text that perso writes into reasons, errors, logs and terminal output, when part of it comes from
 * outside: a thrown value, a tool or role name, a URL, a policy value.
 *
 * Checklist:
 * - a cut never splits a surrogate pair (the text stays well-formed UTF-16, so it encodes to UTF-8
 *   unchanged) and is marked with `…`;
 * - anything printed is escaped: C0 and C1 controls, DEL, U+2028/U+2029, bidirectional controls and
 *   lone surrogates, so a value cannot start a line, move the cursor or reorder what a reader sees;
 * - a quoted value is cut first, then quoted, so the closing quote is always there;
 * - reading a thrown value never throws, whatever was thrown.
 */

/** How many UTF-16 units of a user value a message shows by default (the engine's cut too). */
export const SHOWN_UNITS = 64;

/** How many UTF-16 units of a thrown value's message a message shows (perso's own run long). */
const ERROR_UNITS = 1000;

// Controls, line and paragraph separators, bidirectional controls (U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069) and lone surrogates.
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const UNSAFE_OR_QUOTE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069'\\]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

// The ECMAScript error names: their message says it all. Other names (DOMException's TimeoutError,
// NotAllowedError, QuotaExceededError; WebAssembly's CompileError) carry what happened.
const PLAIN_NAMES = new Set([
  'Error',
  'TypeError',
  'SyntaxError',
  'RangeError',
  'ReferenceError',
  'EvalError',
  'URIError',
  'AggregateError',
]);

/**
 * The text cut to at most `max` UTF-16 units, never inside a surrogate pair, with `…` after a cut
 * (so the result may be one unit longer than `max`).
 *
 * @param text the text to cut
 * @param max the most UTF-16 units kept
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return `${text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max)}…`;
}

/**
 * The text safe to print on one line of a terminal or a log: controls, line separators,
 * bidirectional controls and lone surrogates written as JSON escapes (`\n`, `\u001b`, `\u202e`).
 *
 * @param text the text to print
 */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/**
 * A user value for a message, JSON-quoted: cut to `max` units, then quoted, then escaped as
 * {@link escapeControls} does (the result is still a valid JSON string).
 *
 * @param text the value
 * @param max the most UTF-16 units shown
 */
export function quote(text: string, max = SHOWN_UNITS): string {
  return escapeControls(JSON.stringify(truncate(text, max)));
}

/**
 * A tool or role name for a message, single-quoted as the engine's reasons quote names: cut to
 * `max` units, with `'`, `\` and everything {@link escapeControls} escapes written as escapes.
 *
 * @param text the name
 * @param max the most UTF-16 units shown
 */
export function quoteName(text: string, max = SHOWN_UNITS): string {
  return `'${truncate(text, max).replace(UNSAFE_OR_QUOTE, escapeChar)}'`;
}

/**
 * Any value for a message, as compact JSON (or as a string when it has no JSON form), cut to `max`
 * units and escaped as {@link escapeControls} does. Never throws.
 *
 * @param value the value
 * @param max the most UTF-16 units shown
 */
export function showJson(value: unknown, max = SHOWN_UNITS): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = '(not JSON)';
  }
  return escapeControls(truncate(text, max));
}

/**
 * What a thrown value says, for a message: an error's message (or any object's string `message`),
 * else the value as a string. Only its first line, its first word lowercased when it is a plain
 * capitalised word (not `JSON`, not `QuotaExceededError`), no trailing period, cut to 1000 units
 * and escaped; a name other than the ECMAScript ones
 * (`TimeoutError`, `NotAllowedError`) comes first. Never throws.
 *
 * @param error whatever was thrown or rejected with
 */
export function errorText(error: unknown): string {
  let name = '';
  let message: string;
  try {
    if (typeof error === 'object' && error !== null) {
      const read = error as { name?: unknown; message?: unknown };
      if (typeof read.name === 'string' && !PLAIN_NAMES.has(read.name)) name = read.name;
      message = typeof read.message === 'string' ? read.message : String(error);
    } else message = String(error);
  } catch {
    message = 'a thrown value that cannot be read';
  }
  let line = message.split(/\r\n?|\n/, 1)[0]!.replace(/\.$/, '');
  if (/^[A-Z][a-z]*(?=[\s,;]|$)/.test(line)) line = line[0]!.toLowerCase() + line.slice(1);
  if (name !== '' && !line.startsWith(name)) line = line === '' ? name : `${name}: ${line}`;
  if (line === '') line = 'an error without a message';
  return escapeControls(truncate(line, ERROR_UNITS));
}

/** The fix for a part of perso that is loaded when first needed and could not be fetched. */
export const FETCH_FILES_FIX = "check that the page can fetch perso's files";

/**
 * A part of perso loaded when first needed that did not load, for a message:
 * `<part> did not load (<error>)`; the caller adds what it means and {@link FETCH_FILES_FIX}.
 *
 * @param part the part, e.g. `the batch code`
 * @param error what the `import()` rejected with
 */
export function notLoaded(part: string, error: unknown): string {
  return `${part} did not load (${errorText(error)})`;
}

/**
 * What a failed file operation says, for a message: Node's error code (`ENOENT`, `EACCES`) when it
 * has one, else {@link errorText}. Never throws.
 *
 * @param error what `readFile`, `writeFile` or `cp` rejected with
 */
export function fileErrorText(error: unknown): string {
  try {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  } catch {
    // An unreadable code: the message says what it can.
  }
  return errorText(error);
}

/** A policy error or warning, as {@link formatDiagnostic} reads it. */
export interface PathMessage {
  readonly path: string;
  readonly message: string;
}

/**
 * A diagnostic as perso shows it everywhere: `path: message`, on one line (escaped as
 * {@link escapeControls} does: a path names the policy's own keys).
 *
 * @param diagnostic the error or warning
 */
export function formatDiagnostic(diagnostic: PathMessage): string {
  return escapeControls(`${diagnostic.path}: ${diagnostic.message}`);
}

/**
 * Diagnostics on one line, `; `-separated: at most `max` of them, then `and N more`.
 *
 * @param diagnostics the errors or warnings
 * @param max the most shown
 */
export function formatDiagnostics(diagnostics: readonly PathMessage[], max = Infinity): string {
  const shown = diagnostics.slice(0, max).map(formatDiagnostic);
  if (diagnostics.length > max) shown.push(`and ${diagnostics.length - max} more`);
  return shown.join('; ');
}

function escapeChar(char: string): string {
  switch (char) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\b':
      return '\\b';
    case '\f':
      return '\\f';
    case "'":
      return "\\'";
    case '\\':
      return '\\\\';
    default:
      return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
}
