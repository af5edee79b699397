/**
 * The next occurrence of a fixed text in a block of lines, remembered: a reader asking line after
 * line (forward) searches each part of the block once, however far the next occurrence is.
 *
 * Checklist:
 * - an answer is reused only for the same text (or one equal to it) and a position at or after
 *   the one it was searched from, and at or before the occurrence found;
 * - "none" is remembered as a position past every text, so it holds for every later position.
 */
const NONE = Number.MAX_SAFE_INTEGER;

export class NextIndex {
  readonly #pattern: string;
  #text = '';
  #from = 0;
  #at = 0;

  /** @param pattern the text to find */
  constructor(pattern: string) {
    this.#pattern = pattern;
  }

  /** Where the first occurrence at or after `from` starts, or -1 (as `indexOf`). */
  find(text: string, from: number): number {
    if (from < this.#from || from > this.#at || text !== this.#text) {
      const at = text.indexOf(this.#pattern, from);
      this.#text = text;
      this.#from = from;
      this.#at = at === -1 ? NONE : at;
    }
    return this.#at === NONE ? -1 : this.#at;
  }

  /** An occurrence starts at or after `start` and before `end`. */
  within(text: string, start: number, end: number): boolean {
    const at = this.find(text, start);
    return at !== -1 && at < end;
  }
}
