/**
 * Values remembered by the text they were read from, looked up by a part of a longer text (a
 * line in its block) without hashing it: by its length, then one comparison per remembered text
 * of that length.
 *
 * Checklist:
 * - a value is found only for a text equal to the one it was added with;
 * - it stays small: a few texts per length (the oldest forgotten past that), and all forgotten
 *   once `limit` were added;
 * - a remembered text is a copy (a slice would keep the whole block alive).
 */
import { detached } from './flat-json.ts';

interface Entry<T> {
  readonly text: string;
  readonly value: T;
  readonly next: Entry<T> | undefined;
}

/** Texts per length compared before a lookup gives up. */
const CHAIN = 8;

/** Values by text; see the module comment. */
export class TextMemo<T> {
  readonly #byLength = new Map<number, Entry<T>>();
  readonly #limit: number;
  #size = 0;

  /** @param limit texts remembered before all are forgotten */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The value added with the text of `text` from `from` to `to`, or undefined. */
  find(text: string, from: number, to: number): T | undefined {
    const entry = this.#byLength.get(to - from);
    if (entry === undefined) return undefined;
    const part = text.slice(from, to);
    for (let at: Entry<T> | undefined = entry; at !== undefined; at = at.next)
      if (at.text === part) return at.value;
    return undefined;
  }

  /** Remembers `value` for the text of `text` from `from` to `to`. */
  add(text: string, from: number, to: number, value: T): void {
    if (this.#size >= this.#limit) {
      this.#byLength.clear();
      this.#size = 0;
    }
    const length = to - from;
    let next = this.#byLength.get(length);
    let chain = 0;
    for (let at = next; at !== undefined; at = at.next) chain++;
    if (chain >= CHAIN) next = undefined;
    this.#byLength.set(length, { text: detached(text.slice(from, to)), value, next });
    this.#size++;
  }
}
