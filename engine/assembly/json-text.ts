// Strings for messages: JSON string literals, numbers, values and lists, and truncation of what a
// policy or a caller sent.
//
// Invariants:
// - one JSON escaper and number printer for the whole engine (writer.ts), here read back as strings
// - a cut never splits a surrogate pair and is marked with `…`
// - joining is linear in the total length

import { Writer } from './writer';
import { JValue, writeJson } from './json-value';

// Message strings are written here and read back.
const text = new Writer();

function written(): string {
  return String.UTF8.decodeUnsafe(text.ptr, <usize>text.len);
}

/** `path[i]` in one allocation (a policy's paths are built once per rule and condition). */
export function indexPath(path: string, i: i32): string {
  text.reset();
  text.str(path);
  text.byte(0x5b);
  text.num(<f64>i);
  text.byte(0x5d);
  return written();
}

/** Writes `s` as a JSON string literal (quotes and escapes). */
export function jsonString(s: string): string {
  text.reset();
  text.jsonStr(s);
  return written();
}

/**
 * `list.join(sep)` in linear time. With `shrinkLevel` above 0 (the release build) the standard
 * `Array<string>#join` appends one element at a time to a growing string: quadratic time and memory
 * (the plan of a policy of 4,000 (tool, role) pairs took 9 s and 4 GiB).
 */
export function joinAll(list: string[], sep: string): string {
  text.reset();
  for (let i = 0; i < list.length; i++) {
    if (i > 0) text.str(sep);
    text.str(list[i]);
  }
  return written();
}

/** A list of strings as a JSON array. */
export function jsonStrings(list: string[]): string {
  text.reset();
  text.byte(0x5b);
  for (let i = 0; i < list.length; i++) {
    if (i > 0) text.byte(0x2c);
    text.jsonStr(list[i]);
  }
  text.byte(0x5d);
  return written();
}

/** Truncates an attacker-controlled string to `max` UTF-16 units (never splitting a pair), marking the cut. */
export function truncate(s: string, max: i32): string {
  if (s.length <= max) return s;
  let end = max;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.substring(0, end) + '…';
}

/** A string for a message: truncated, then JSON-quoted. */
export function quote(s: string, max: i32): string {
  return jsonString(truncate(s, max));
}

/** Formats a number as JavaScript and JSON do for the common cases (integers without `.0`). */
export function formatNumber(x: f64): string {
  text.reset();
  text.num(x);
  return written();
}

/** The UTF-8 bytes of `s`, as `String.UTF8.encode` makes them (a lone surrogate in three bytes). */
export function utf8(s: string): ArrayBuffer {
  text.reset();
  text.str(s);
  const bytes = new ArrayBuffer(text.len);
  memory.copy(changetype<usize>(bytes), text.ptr, <usize>text.len);
  return bytes;
}

/** Serialises a value as compact JSON. */
export function toJson(v: JValue): string {
  text.reset();
  writeJson(text, v);
  return written();
}
