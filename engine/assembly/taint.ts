// Untrusted content, per session: the results of untrusted tools the host recorded, and the two
// conditions over them (SessionUntrusted, FromUntrusted).
//
// Invariants:
// - a session is tainted once it recorded one untrusted result; nothing untaints it but `forget`
// - what a session keeps is bounded (MAX_UNTRUSTED_UNITS over all sessions, MAX_SESSIONS sessions);
//   past a bound the session (or, past MAX_SESSIONS, every session) is saturated: every value
//   counts as from untrusted content (fail closed)
// - a value counts as from untrusted content when it equals an untrusted text or a word of one, or
//   when PIECE consecutive UTF-16 units of it occur in one (an array or object: a string, number
//   or key in it does), and also when its folded form
//   (docs/policy.md: ASCII lower-cased, fullwidth read as ASCII, invisible characters, spaces,
//   dashes and ASCII punctuation dropped) does so against the folded texts, their folded words and
//   their runs of consecutive folded words shorter than PIECE
//   (texts, words and pieces are kept as 64-bit hashes, the folded ones XORed with FOLDED_TAG: a
//   collision can only make a value count as untrusted, never the reverse)
// - texts and values are well-formed UTF-16 (the JSON parser and the call's checks refuse a lone
//   surrogate), so folding drops a pair whole; but a piece may start or end inside a pair, whose
//   half folds as its pair does: a check reads a value beyond ASCII as it is too (see `scan`)
// - a check folds a value as it reads it, without a buffer, and reads it again as it is only when
//   folding dropped a unit of it or it is not ASCII; a string value that is not ASCII is decoded
//   first
// - the state outlives a policy load: content that was read stays read

import { JARRAY, JNUMBER, JOBJECT, JSTRING, JValue } from './json-value';
import { JsonParser } from './json-parser';
import { HashSet64 } from './hash-set';
import { formatNumber } from './json-text';
import { Writer, madeGarbage } from './writer';

/** Length, in UTF-16 units, of a piece of a value that counts when found in untrusted content. */
export const PIECE: i32 = 10;
/** Most UTF-16 units of untrusted text kept, over all sessions. */
export const MAX_UNTRUSTED_UNITS: i32 = 1 << 20;
/** Most tainted sessions kept. */
export const MAX_SESSIONS: i32 = 1024;

const HASH_BASE: u64 = 0x100000001b3;

/** One session's untrusted content. */
class Taint {
  results: i32 = 0;
  units: i32 = 0;
  saturated: bool = false;
  words: HashSet64 = new HashSet64();
  pieces: HashSet64 = new HashSet64();
}

const sessions = new Map<string, Taint>();
let units: i32 = 0;
/** More than MAX_SESSIONS sessions were tainted: every session counts as saturated. */
let overflow: bool = false;
let current: Taint | null = null;
let currentKey: string = '';

/** Makes `key` the session that the next decisions read. */
export function selectSession(key: string): void {
  currentKey = key;
  current = sessions.has(key) ? sessions.get(key) : null;
}

/** True when the current session read untrusted content. */
export function sessionTainted(): bool {
  return overflow || current != null;
}

function saturated(): bool {
  return overflow || (current != null && current!.saturated);
}

/** Forgets every session's untrusted content. */
export function forgetTaint(): void {
  sessions.clear();
  units = 0;
  overflow = false;
  current = null;
}

/** Marks session `key` as saturated (a host that lost what it recorded restores it so). */
export function saturateSession(key: string): void {
  const t = taintOf(key);
  if (t == null) return;
  drop(t);
  t.saturated = true;
}

function taintOf(key: string): Taint | null {
  if (sessions.has(key)) return sessions.get(key);
  if (sessions.size >= MAX_SESSIONS) {
    overflow = true;
    return null;
  }
  const t = new Taint();
  sessions.set(key, t);
  if (key == currentKey) current = t;
  return t;
}

function drop(t: Taint): void {
  units -= t.units;
  t.units = 0;
  t.words.clear();
  t.pieces.clear();
}

/** Records an untrusted result for session `key`: every string, number and key in it, at any depth. */
export function recordUntrusted(key: string, result: JValue): void {
  const t = taintOf(key);
  if (t == null) return;
  t.results++;
  walk(t, result);
}

function walk(t: Taint, v: JValue): void {
  if (t.saturated) return;
  switch (v.kind) {
    case JSTRING:
      return addText(t, v.str);
    case JNUMBER:
      return addText(t, formatNumber(v.num));
    case JARRAY:
    case JOBJECT: {
      const items = v.items!;
      for (let i = 0; i < items.length; i++) {
        // An object's keys are read too (a JSON page may put the account in one).
        if (v.kind == JOBJECT) addText(t, v.keys![i]);
        walk(t, items[i]);
      }
      return;
    }
    default:
      return;
  }
}

function addText(t: Taint, s: string): void {
  const n = s.length;
  if (n == 0) return;
  if (units + n > MAX_UNTRUSTED_UNITS) {
    drop(t);
    t.saturated = true;
    return;
  }
  units += n;
  t.units += n;
  const p = changetype<usize>(s);
  t.words.add(hashUnits(p, 0, n));
  let start = -1;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? <i32>load<u16>(p + ((<usize>i) << 1)) : 0x20;
    if (isSeparator(c)) {
      if (start >= 0) {
        let end = i;
        while (end > start && isTrailing(<i32>load<u16>(p + ((<usize>(end - 1)) << 1)))) end--;
        if (end > start && end - start < n) t.words.add(hashUnits(p, start, end));
        start = -1;
      }
    } else if (start < 0) start = i;
  }
  // The pieces of the text as it is, then of its folded form (whose words `fold` adds).
  addPieces(t, p, n, 0);
  const m = fold(p, n, t); // may move `scratch`
  addPieces(t, scratch, m, FOLDED_TAG);
}

/**
 * Adds the hash of every PIECE consecutive units of the `n` units at `p`, XORed with `tag`, to
 * `t`'s pieces.
 */
function addPieces(t: Taint, p: usize, n: i32, tag: u64): void {
  let h: u64 = 0;
  for (let i = 0; i < n; i++) {
    if (i >= PIECE) h -= <u64>load<u16>(p + ((<usize>(i - PIECE)) << 1)) * TOP;
    h = h * HASH_BASE + <u64>load<u16>(p + ((<usize>i) << 1));
    if (i >= PIECE - 1) t.pieces.add(h ^ tag);
  }
}

/**
 * Marks the hashes of folded texts, words and pieces, so a folded value meets only folded texts:
 * folding `\u{1F441}abc\u200Bdefghi` gives the piece `\uDC41abcdefghi` (the emoji's low half on),
 * which the text `\u{E0041}abcdefghi` holds as it is but not folded (the tag is dropped).
 */
const FOLDED_TAG: u64 = ((<u64>0xc2b2ae3d) << 32) | <u64>0x27d4eb4f;

/**
 * Folds the `n` units at `p` into `scratch`, and adds the folded text's words (split where
 * `foldUnit` says SPLIT) and runs of consecutive words, each shorter than PIECE, to `t`'s words;
 * the number of units kept. A folded text is its folded words end to end, so a run is one span of
 * `scratch` (`1234 5678` holds the run `12345678`). A word or run of PIECE units or more, and so a
 * whole folded text that long, is found by its pieces; a shorter whole folded text is a run.
 */
function fold(p: usize, n: i32, t: Taint): i32 {
  growScratch(n);
  let m = 0;
  let start = 0;
  // Bit k: a folded word starts k units before `m` (the first one at 0), for k < PIECE: past a word
  // of PIECE units or more none is left, so neither it nor a run through it is added.
  let starts: u32 = 1;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? foldAt(p, i, n) : SPLIT;
    if (c >= 0) {
      store<u16>(scratch + ((<usize>m) << 1), <u16>c);
      m++;
      starts = (starts << 1) & 0x3ff;
    } else if (c == SPLIT) {
      if (m > start) {
        // The word and the runs that end with it: from each start less than PIECE units back.
        const k = <u32>(m - start);
        for (let b = (starts >> k) << k; b != 0; b &= b - 1)
          t.words.add(hashUnits(scratch, m - <i32>ctz(b), m) ^ FOLDED_TAG);
      }
      start = m;
      starts |= 1;
    }
  }
  return m;
}

/** `foldUnit`: the unit is dropped. */
const DROP: i32 = -1;
/** `foldUnit`: the unit is dropped and ends a folded word. */
const SPLIT: i32 = -2;

/**
 * One ASCII character folded: letters lower-cased and digits kept; @ . _ - + dropped (DROP);
 * every other one dropped and separating (SPLIT).
 */
function foldUnit(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c + 0x20;
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) return c;
  // @ . _ - + (one bit each) are dropped without separating.
  const bits: u64 = c < 64 ? 0x680000000000 : 0x80000001;
  return ((bits >> <u64>(c & 63)) & 1) != 0 ? DROP : SPLIT;
}

/** The unit at `p[i]` (of `n`) folded: `foldUnit` for ASCII, `foldWide` beyond. */
function foldAt(p: usize, i: i32, n: i32): i32 {
  const c = <i32>load<u16>(p + ((<usize>i) << 1));
  return c < 0x80 ? foldUnit(c) : foldWide(p, i, n);
}

// The code points of the BMP beyond ASCII that folding drops (docs/policy.md), as [first, last]
// ranges in ascending order; those WIDE_SPACES marks are spaces (dropped, and separating).
// biome-ignore format: one range a line
const WIDE: usize = memory.data<u16>([
  0x85, 0x85, // space: U+0085
  0xa0, 0xa0, // space: no-break
  0xad, 0xad, // soft hyphen
  0x34f, 0x34f, // combining grapheme joiner
  0x61c, 0x61c, // Arabic letter mark
  0x115f, 0x1160, // Hangul fillers
  0x1680, 0x1680, // space: Ogham
  0x17b4, 0x17b5, // Khmer inherent vowels
  0x180b, 0x180f, // Mongolian selectors, vowel separator
  0x2000, 0x200a, // spaces
  0x200b, 0x2015, // zero-width and bidi marks, dashes
  0x2028, 0x2029, // spaces: line, paragraph separators
  0x202a, 0x202e, // bidi embeddings, overrides
  0x202f, 0x202f, // space: narrow no-break
  0x2043, 0x2043, // hyphen bullet
  0x205f, 0x205f, // space: medium mathematical
  0x2060, 0x206f, // word joiner, invisible operators, isolates
  0x2212, 0x2212, // minus sign
  0x2800, 0x2800, // blank: braille pattern blank (read as a space)
  0x2e3a, 0x2e3b, // two- and three-em dashes
  0x3000, 0x3000, // space: ideographic
  0x3164, 0x3164, // Hangul filler
  0xfe00, 0xfe0f, // variation selectors
  0xfe58, 0xfe58, // small em dash
  0xfe63, 0xfe63, // small hyphen-minus
  0xfeff, 0xfeff, // zero-width no-break space
  0xffa0, 0xffa0, // halfwidth Hangul filler
  0xfff0, 0xfff8, // reserved ignorable
]);
const WIDE_RANGES: i32 = 28;
/** Bit k: range k of WIDE holds spaces. */
const WIDE_SPACES: i32 = 0x14aa43;

/**
 * The unit at `p[i]` (of `n`, beyond ASCII) folded: DROP, SPLIT, the fold of the ASCII character a
 * fullwidth form (U+FF01–U+FF5E) stands for, or the unit as it is. A surrogate is folded as the
 * code point of its pair (a lone one as itself): both units of a pair go, or both stay.
 */
function foldWide(p: usize, i: i32, n: i32): i32 {
  const c = <i32>load<u16>(p + ((<usize>i) << 1));
  let cp = c;
  if ((c & 0xfc00) == 0xd800 && i + 1 < n) {
    const low = <i32>load<u16>(p + ((<usize>(i + 1)) << 1));
    if ((low & 0xfc00) == 0xdc00) cp = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
  } else if ((c & 0xfc00) == 0xdc00 && i > 0) {
    const high = <i32>load<u16>(p + ((<usize>(i - 1)) << 1));
    if ((high & 0xfc00) == 0xd800) cp = 0x10000 + ((high - 0xd800) << 10) + (c - 0xdc00);
  }
  // Beyond the BMP: the tags and the other plane-14 ignorables, the shorthand and musical format
  // controls.
  if (cp > 0xffff)
    return <u32>(cp - 0xe0000) < 0x1000 || <u32>(cp - 0x1bca0) < 4 || <u32>(cp - 0x1d173) < 8
      ? DROP
      : c;
  if (<u32>(cp - 0xff01) < 0x5e) return foldUnit(cp - 0xfee0);
  // CJK and most other scripts: between the ranges.
  if (cp > 0x3164 && cp < 0xfe00) return c;
  for (let k = 0; k < WIDE_RANGES; k++) {
    if (cp < <i32>load<u16>(WIDE + ((<usize>k) << 2))) break;
    if (cp <= <i32>load<u16>(WIDE + ((<usize>k) << 2), 2))
      return ((WIDE_SPACES >> k) & 1) != 0 ? SPLIT : DROP;
  }
  return c;
}

/** `foldUnit` of each ASCII unit, 0 for a dropped one (no kept unit is 0), read by `scan`. */
const FOLDED: usize = foldedAscii();

function foldedAscii(): usize {
  const table = heap.alloc(128);
  for (let c = 0; c < 128; c++) store<u8>(table + <usize>c, <u8>max(foldUnit(c), 0));
  return table;
}

/** HASH_BASE^(PIECE - 1) (mod 2^64): what the oldest unit of a piece weighs in its hash. */
const TOP: u64 = ((<u64>0x936a555d) << 32) | <u64>0x949af613;

/** A word's or a whole text's hash: its units [from, to), then its length (as `scan` computes it). */
function hashUnits(p: usize, from: i32, to: i32): u64 {
  let h: u64 = 0;
  for (let i = from; i < to; i++) h = h * HASH_BASE + <u64>load<u16>(p + ((<usize>i) << 1));
  return (h ^ <u64>(to - from)) * HASH_BASE;
}

const SEPARATORS_LOW: u64 = ((<u64>0x58001385) << 32) | <u64>0x00003e00;
const SEPARATORS_HIGH: u64 = ((<u64>0x28000001) << 32) | <u64>0x28000000;

/** Whitespace (U+0009–U+000D, U+0020) and " ' ` < > ( ) [ ] { } , ; separate words (one bit each). */
function isSeparator(c: i32): bool {
  if (c >= 0x80) return false;
  const bits: u64 = c < 64 ? SEPARATORS_LOW : SEPARATORS_HIGH;
  return ((bits >> <u64>(c & 63)) & 1) != 0;
}

/** . : ! ? at the end of a word are punctuation, not part of it. */
function isTrailing(c: i32): bool {
  return c == 0x2e || c == 0x3a || c == 0x21 || c == 0x3f;
}

/** HASH_BASE^PIECE: what a prefix's hash weighs in the hash of the prefix PIECE units longer. */
const SHIFT_PIECE: u64 = TOP * HASH_BASE;
// The hashes of the last 16 prefixes `scan` read (a ring), so a piece's hash is a difference.
const RING: usize = memory.data(128);

/**
 * Whether the `n` units at `p` came from `t`'s untrusted content (`T`: u8 over ASCII bytes, each
 * its unit; u16 over UTF-16 units): the folded value's pieces and the whole folded value, then,
 * only when folding dropped a unit or the value holds one beyond ASCII, the value as it is: its
 * pieces that hold such a unit and the whole value. A piece or a whole value of ASCII units that
 * folding keeps needs no lookup as it is (each of its units folds alone, whatever is next to it):
 * where it occurs in a text (or is a word of one, ending at a separator, which folding drops and
 * splits at), its folded form occurs in the folded text (or is a folded word), and the folded
 * lookup finds it. A piece's hash is the difference of two prefix hashes (the same value as the
 * rolling hash `addPieces` keeps). 1 or 0; -1 at the first byte that is not ASCII (the caller
 * decodes; what was found before it is found in the decoded value too).
 */
function scan<T>(t: Taint, p: usize, n: i32): i32 {
  const pieces = t.pieces;
  let h: u64 = 0;
  let m = 0;
  let dropped = false;
  store<u64>(RING, 0);
  for (let i = 0; i < n; i++) {
    const c = <i32>load<T>(p + ((<usize>i) << alignof<T>()));
    // `foldUnit`, inline: a call per unit would cost as much as the rest.
    let f: i32;
    if (c < 0x80) f = <i32>load<u8>(FOLDED + <usize>c);
    else if (sizeof<T>() == 1) return -1;
    else {
      // Read as it is too: a half of a pair folds as its pair, so where a piece that holds it is
      // cut from may fold it otherwise.
      f = max(foldWide(p, i, n), 0);
      dropped = true;
    }
    if (f == 0) {
      dropped = true;
      continue;
    }
    h = h * HASH_BASE + <u64>f;
    m++;
    store<u64>(RING + ((<usize>(m & 15)) << 3), h);
    if (m < PIECE) continue;
    const piece = h - load<u64>(RING + ((<usize>((m - PIECE) & 15)) << 3)) * SHIFT_PIECE;
    if (pieces.has(piece ^ FOLDED_TAG)) return 1;
  }
  if (m > 0 && t.words.has(((h ^ <u64>m) * HASH_BASE) ^ FOLDED_TAG)) return 1;
  if (!dropped) return 0;
  h = 0;
  store<u64>(RING, 0);
  let last = -PIECE;
  for (let i = 0; i < n; i++) {
    const c = <i32>load<T>(p + ((<usize>i) << alignof<T>()));
    if (c >= 0x80 || load<u8>(FOLDED + <usize>c) == 0) last = i;
    h = h * HASH_BASE + <u64>c;
    store<u64>(RING + ((<usize>((i + 1) & 15)) << 3), h);
    // The piece that ends here, as it is, when it holds a dropped unit or one beyond ASCII.
    if (i - last >= PIECE || i < PIECE - 1) continue;
    if (pieces.has(h - load<u64>(RING + ((<usize>((i + 1 - PIECE) & 15)) << 3)) * SHIFT_PIECE))
      return 1;
  }
  return t.words.has((h ^ <u64>n) * HASH_BASE) ? 1 : 0;
}

function textFrom(t: Taint, s: string): bool {
  return scan<u16>(t, changetype<usize>(s), s.length) == 1;
}

// Units of a text being folded as it is recorded; grown, never freed.
let scratch: usize = 0;
let scratchUnits: i32 = 0;

function growScratch(len: i32): void {
  if (len > scratchUnits) {
    const units = max(len, 256);
    scratch =
      scratch == 0 ? heap.alloc((<usize>units) << 1) : heap.realloc(scratch, (<usize>units) << 1);
    scratchUnits = units;
  }
}

function valueFrom(t: Taint, v: JValue): bool {
  switch (v.kind) {
    case JSTRING:
      return textFrom(t, v.str);
    case JNUMBER:
      return textFrom(t, formatNumber(v.num));
    case JARRAY:
    case JOBJECT: {
      const items = v.items!;
      for (let i = 0; i < items.length; i++) {
        // A key is read as a string value is (a map keyed by payee: {"<iban>": 500}).
        if (v.kind == JOBJECT && textFrom(t, v.keys![i])) return true;
        if (valueFrom(t, items[i])) return true;
      }
      return false;
    }
    default:
      return false;
  }
}

/** FromUntrusted over a string slot's UTF-8 bytes: true, or false (the session state decides first). */
export function stringFrom(ptr: usize, len: i32): bool {
  if (!sessionTainted()) return false;
  if (saturated()) return true;
  // ASCII (most values) is read in place; other text is decoded first.
  const found = scan<u8>(current!, ptr, len);
  if (found >= 0) return found == 1;
  madeGarbage = true;
  return textFrom(current!, String.UTF8.decodeUnsafe(ptr, <usize>len));
}

/** FromUntrusted over a number slot. */
export function numberFrom(x: f64): bool {
  if (!sessionTainted()) return false;
  if (saturated()) return true;
  madeGarbage = true;
  return textFrom(current!, formatNumber(x));
}

/** FromUntrusted over a JSON (array or object) slot: any string, number or key in it. */
export function jsonFrom(ptr: usize, len: i32): bool {
  if (!sessionTainted()) return false;
  if (saturated()) return true;
  madeGarbage = true;
  const v = new JsonParser(ptr, len).parse();
  // Unparseable bytes cannot be shown to be clean.
  return v == null ? true : valueFrom(current!, v);
}

/** Writes the sessions' state as JSON: `[{"session","results","units","saturated"}]`. */
export function wTaintState(w: Writer): void {
  w.str('{"overflow":');
  w.str(overflow ? 'true' : 'false');
  w.str(',"sessions":[');
  const keys = sessions.keys();
  for (let i = 0; i < keys.length; i++) {
    const t = sessions.get(keys[i]);
    if (i > 0) w.byte(0x2c);
    w.str('{"session":');
    w.jsonStr(keys[i]);
    w.str(',"results":');
    w.num(<f64>t.results);
    w.str(',"units":');
    w.num(<f64>t.units);
    w.str(',"saturated":');
    w.str(t.saturated ? 'true' : 'false');
    w.byte(0x7d);
  }
  w.str(']}');
}
