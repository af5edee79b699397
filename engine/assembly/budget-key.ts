// Exact keys for the values a budget tells apart (a distinct value, a `per` principal): a type tag
// and the value itself, so two values that differ never share a key.
//
// Invariants:
// - a string is "s" + its text; a number is "n" + the 64 bits of its f64 as four UTF-16 units
//   (no decimal formatting), with -0 kept as 0 (JSON's -0 and 0 are the same number)
// - a slot that holds neither a string nor a number has no key ("")

import { T_NUMBER, T_STRING } from '../../src/engine/engine-boundary';
import { region, slot, tagOf } from './slots';
import { Writer, madeGarbage } from './writer';
import { utf8 } from './json-text';

const TAG_STRING: i32 = 0x73;

/** The key of field `f`'s slot: "s" + a string, "n" + a number's bits; "" when it is neither. */
export function keyOf(f: i32): string {
  const s = slot(f);
  const tag = tagOf(f);
  madeGarbage = true;
  if (tag == T_STRING)
    return 's' + String.UTF8.decodeUnsafe(region + <usize>load<u32>(s, 8), <usize>load<u32>(s, 4));
  if (tag != T_NUMBER) return '';
  const x = load<f64>(s, 8);
  const bits: u64 = x == 0 ? 0 : reinterpret<u64>(x);
  const key = changetype<string>(__new(10, idof<string>()));
  const p = changetype<usize>(key);
  store<u16>(p, 0x6e);
  store<u64>(p + 2, bits);
  return key;
}

/** True when `key` is a string's key. */
export function isStringKey(key: string): bool {
  return key.charCodeAt(0) == TAG_STRING;
}

/** The number a number's key holds. */
export function numberOfKey(key: string): f64 {
  return reinterpret<f64>(load<u64>(changetype<usize>(key) + 2));
}

/** Writes the value `key` holds as JSON: a string quoted, a number as a number, "" as null. */
export function wKeyJson(w: Writer, key: string): void {
  if (key.length == 0) w.str('null');
  else if (isStringKey(key)) w.jsonStr(key.substring(1));
  else w.num(numberOfKey(key));
}

/** Writes the value `key` holds for a reason: a string quoted and cut at 64 bytes, a number as is. */
export function wKeyReason(w: Writer, key: string): void {
  if (isStringKey(key)) {
    const b = utf8(key.substring(1));
    w.quotedBytes(changetype<usize>(b), b.byteLength, 64);
  } else w.num(numberOfKey(key));
}
