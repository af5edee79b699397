/**
 * Small JSON values read in place from a longer text (an audit log's block of lines), for the
 * quick scan of audit lines: strings, numbers, and flat objects (members whose values are strings,
 * numbers, `true`, `false` or `null`), remembered by their text.
 *
 * Checklist:
 * - a value is read only from text a check has matched against JSON's grammar (the sticky
 *   patterns here, or {@link numberEnd}), so it is the value `JSON.parse` gives for that text;
 * - a flat object with a key given twice or a `__proto__` key is refused (two readers could read
 *   it differently; an assignment would set a prototype), never read;
 * - a remembered text is a copy, not a slice: a slice would keep the whole block it came from
 *   alive for as long as the memo keeps it.
 */
import { FORBIDDEN_KEYS } from '../call/canonical-args.ts';

/** A JSON string's text from its opening quote, as a pattern. */
export const STRING_PATTERN = String.raw`"[^"\\\u0000-\u001f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\u0000-\u001f]*)*"`;
const NUMBER_PATTERN = String.raw`-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?`;
const KEY_PATTERN = String.raw`"[^"\\\u0000-\u001f]*"`;
const SCALAR_PATTERN = `(?:${STRING_PATTERN}|${NUMBER_PATTERN}|true|false|null)`;

/** A JSON string's text after its opening quote, through its closing quote (sticky: set `lastIndex`). */
export const STRING_REST = new RegExp(STRING_PATTERN.slice(1), 'y');
/** A flat object's text with keys free of escapes (sticky: set `lastIndex`). */
const FLAT = new RegExp(
  String.raw`\{(?:${KEY_PATTERN}:${SCALAR_PATTERN}(?:,${KEY_PATTERN}:${SCALAR_PATTERN})*)?\}`,
  'y',
);

/** A flat object read once: its text, its frozen value, and whether canonical args could hold it. */
export interface FlatEntry {
  readonly text: string;
  readonly value: Readonly<Record<string, unknown>>;
  /** No forbidden key (`constructor`, `prototype`), no number JSON.parse reads as Infinity. */
  readonly canonical: boolean;
}

/** Most flat-object texts remembered; the memo is emptied when full. */
const MEMO_LIMIT = 1024;

/** Flat objects by their text: a log repeats its attribute objects and often its args. */
export class FlatObjects {
  readonly #memo = new Map<string, FlatEntry | null>();
  /** Where the last object read ends. */
  end = 0;
  /** The last object read was not remembered before. */
  fresh = false;

  /**
   * The flat object whose text starts at `from` in `text` (after the last one read from this
   * slot: one comparison when it repeats), or null when it is not a flat object this reads.
   * Sets {@link end}.
   */
  read(text: string, from: number, last: FlatEntry | null): FlatEntry | null {
    // The last text is a whole object: where it matches, the object is exactly that text.
    this.fresh = false;
    if (last !== null && text.slice(from, from + last.text.length) === last.text) {
      this.end = from + last.text.length;
      return last;
    }
    FLAT.lastIndex = from;
    if (!FLAT.test(text)) return null;
    const end = FLAT.lastIndex;
    const slice = text.slice(from, end);
    let entry = this.#memo.get(slice);
    if (entry === undefined) {
      this.fresh = true;
      entry = flatEntry(detached(slice));
      if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
      this.#memo.set(entry === null ? detached(slice) : entry.text, entry);
    }
    this.end = end;
    return entry;
  }
}

/**
 * True when `text` holds `literal` at `at`. (`startsWith` compares a character at a time through
 * a slow path; a short literal compares faster here, a long text faster with a slice and `===`.)
 */
export function holds(text: string, at: number, literal: string): boolean {
  for (let i = 0; i < literal.length; i++)
    if (text.charCodeAt(at + i) !== literal.charCodeAt(i)) return false;
  return true;
}

/** A copy of `text` that shares no memory with the string it was sliced from. */
export function detached(text: string): string {
  // V8 flattens a concatenation before slicing it: the slice's parent is then the new flat copy.
  return text.length < 13 ? text : ` ${text}`.slice(1);
}

/** The value of a checked flat object's text; null for a key given twice or `__proto__`. */
function flatEntry(text: string): FlatEntry | null {
  const value: Record<string, unknown> = {};
  let canonical = true;
  let at = 1;
  while (at < text.length - 1) {
    // Keys hold no escape, so a key ends at the next quote.
    const keyEnd = text.indexOf('"', at + 1);
    const key = text.slice(at + 1, keyEnd);
    if (key === '__proto__' || Object.hasOwn(value, key)) return null;
    if (FORBIDDEN_KEYS.has(key)) canonical = false;
    at = keyEnd + 2;
    const end = scalarEnd(text, at);
    const member = scalarValue(text, at, end);
    if (typeof member === 'number' && !Number.isFinite(member)) canonical = false;
    value[key] = member;
    at = end + 1;
  }
  return { text, value: Object.freeze(value), canonical };
}

/** Where the checked scalar starting at `from` ends. */
function scalarEnd(text: string, from: number): number {
  if (text.charCodeAt(from) !== 0x22) {
    let at = from;
    for (let c = text.charCodeAt(at); c !== 0x2c && c !== 0x7d; c = text.charCodeAt(++at));
    return at;
  }
  STRING_REST.lastIndex = from + 1;
  STRING_REST.test(text);
  return STRING_REST.lastIndex;
}

/** The value of the checked scalar text from `from` to `end`. */
function scalarValue(text: string, from: number, end: number): unknown {
  const c = text.charCodeAt(from);
  if (c === 0x22) {
    const slash = text.indexOf('\\', from);
    return stringValue(text, from + 1, end - 1, slash !== -1 && slash < end);
  }
  if (c === 0x74) return true;
  if (c === 0x66) return false;
  if (c === 0x6e) return null;
  return numberValue(text, from, end);
}

/** The checked string whose characters run from `from` to its closing quote at `end` (`escaped`: it holds a backslash). */
export function stringValue(text: string, from: number, end: number, escaped: boolean): string {
  return escaped ? (JSON.parse(text.slice(from - 1, end + 1)) as string) : text.slice(from, end);
}

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Where the JSON number starting at `from` ends, or -1 when none starts there. */
export function numberEnd(text: string, from: number): number {
  let at = from;
  let c = text.charCodeAt(at);
  if (c === 0x2d) c = text.charCodeAt(++at);
  if (c === DIGIT_0) c = text.charCodeAt(++at);
  else if (c > DIGIT_0 && c <= DIGIT_9) {
    do c = text.charCodeAt(++at);
    while (c >= DIGIT_0 && c <= DIGIT_9);
  } else return -1;
  if (c === 0x2e) {
    c = text.charCodeAt(++at);
    if (!(c >= DIGIT_0 && c <= DIGIT_9)) return -1;
    do c = text.charCodeAt(++at);
    while (c >= DIGIT_0 && c <= DIGIT_9);
  }
  if (c === 0x65 || c === 0x45) {
    c = text.charCodeAt(++at);
    if (c === 0x2b || c === 0x2d) c = text.charCodeAt(++at);
    if (!(c >= DIGIT_0 && c <= DIGIT_9)) return -1;
    do c = text.charCodeAt(++at);
    while (c >= DIGIT_0 && c <= DIGIT_9);
  }
  return at;
}

/** Exact powers of ten: a double holds each of these exactly. */
const POWERS = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * The value of the checked JSON number from `from` to `end`, as `JSON.parse` reads it. Up to 15
 * digits and no exponent, it is the digits as an integer (exact: below 2^53) divided by an exact
 * power of ten: one correctly rounded division, so the same double as the correctly rounded
 * decimal; anything else goes to `Number`.
 */
export function numberValue(text: string, from: number, end: number): number {
  let at = from;
  const negative = text.charCodeAt(at) === 0x2d;
  if (negative) at++;
  let digits = 0;
  let fraction = -1;
  let mantissa = 0;
  for (; at < end; at++) {
    const c = text.charCodeAt(at);
    if (c === 0x2e) fraction = 0;
    else if (c >= DIGIT_0 && c <= DIGIT_9) {
      mantissa = mantissa * 10 + (c - DIGIT_0);
      digits++;
      if (fraction >= 0) fraction++;
    } else return Number(text.slice(from, end));
  }
  if (digits > 15) return Number(text.slice(from, end));
  const value = fraction > 0 ? mantissa / POWERS[fraction]! : mantissa;
  return negative ? -value : value;
}
