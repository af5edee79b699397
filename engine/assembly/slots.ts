// The request region: one 16-byte slot per policy field, then a data area for text and JSON bytes.
//
// Layout (one region per loaded policy, owned by the engine, written by the host or by the raw ABI):
//   header  +0 f64 memo id of the last explanation   +8 u32 capacity   +12 u32 data start
//   slot    +0 u8 tag (T_*)   +4 u32 byte length   +8 f64 number, or u32 offset of the bytes
//
// Invariants:
// - a call reads only its entry's slots, and only after `slotsValid` accepted them
// - text and JSON bytes lie inside the data area, numbers are finite

import { REGION_HEADER, T_JSON, T_NUMBER, T_STRING } from '../../src/engine/engine-boundary';
import { JValue } from './json-value';
import { JsonParser } from './json-parser';
import { Writer, madeGarbage } from './writer';
import { Entry } from './policy';

export let region: usize = 0;
export let regionCap: i32 = 0;
export let dataStart: i32 = 0;

/** Replaces the region with a fresh, zeroed one that holds `fieldCount` slots. */
export function openRegion(fieldCount: i32): void {
  const start = REGION_HEADER + (fieldCount << 4);
  const cap = start + 4096;
  const next = heap.alloc(<usize>cap);
  memory.fill(next, 0, <usize>cap);
  if (region != 0) heap.free(region);
  region = next;
  regionCap = cap;
  dataStart = start;
  store<f64>(region, 0);
  store<u32>(region, <u32>cap, 8);
  store<u32>(region, <u32>start, 12);
}

/** Grows the region so that its data area holds at least `bytes`; returns the region pointer. */
export function reserve(bytes: i32): usize {
  if (region == 0 || bytes < 0 || bytes > 1 << 26) return region;
  const need = dataStart + bytes;
  if (need <= regionCap) return region;
  let cap = regionCap;
  while (cap < need) cap <<= 1;
  region = heap.realloc(region, <usize>cap);
  regionCap = cap;
  store<u32>(region, <u32>cap, 8);
  return region;
}

/** The address of field `f`'s slot. */
export function slot(f: i32): usize {
  return region + <usize>REGION_HEADER + ((<usize>f) << 4);
}

/** Field `f`'s tag (T_*). */
export function tagOf(f: i32): i32 {
  return <i32>load<u8>(slot(f));
}

/** The address of field `f`'s text or JSON bytes. */
export function bytesAt(f: i32): usize {
  return region + <usize>load<u32>(slot(f), 8);
}

/** The byte length of field `f`'s text or JSON. */
export function lenAt(f: i32): i32 {
  return <i32>load<u32>(slot(f), 4);
}

/** Checks the entry's slots written by the host: known tags, bytes inside the data area. */
export function slotsValid(e: Entry): bool {
  const fields = e.fields;
  for (let i = 0, n = fields.length; i < n; i++) {
    const s = slot(fields[i]);
    const tag = <i32>load<u8>(s);
    if (tag > T_JSON) return false;
    if (tag == T_STRING || tag == T_JSON) {
      const off = <u64>load<u32>(s, 8);
      const len = <u64>load<u32>(s, 4);
      if (off < <u64>dataStart || off + len > <u64>regionCap) return false;
    } else if (tag == T_NUMBER) {
      if (!isFinite(load<f64>(s, 8))) return false;
    }
  }
  return true;
}

/** Parses field `f`'s JSON bytes (garbage: the caller's call collects). */
export function parseSlot(f: i32): JValue | null {
  madeGarbage = true;
  const p = new JsonParser(bytesAt(f), lenAt(f));
  return p.parse();
}

/** True when field `f` holds exactly the bytes `b`. */
export function bytesEqual(f: i32, b: ArrayBuffer): bool {
  const n = b.byteLength;
  return lenAt(f) == n && memory.compare(bytesAt(f), changetype<usize>(b), <usize>n) == 0;
}

/** Writes entry `e`'s slots, tags and bytes, as one key for the explanation memo. */
export function wSlots(w: Writer, e: Entry): void {
  const fields = e.fields;
  for (let i = 0, n = fields.length; i < n; i++) {
    const s = slot(unchecked(fields[i]));
    const tag = <i32>load<u8>(s);
    w.byte(tag);
    if (tag == T_NUMBER) {
      w.bytes(s + 8, 8);
    } else if (tag == T_STRING || tag == T_JSON) {
      const len = <i32>load<u32>(s, 4);
      w.bytes(s + 4, 4);
      w.bytes(region + <usize>load<u32>(s, 8), len);
    }
  }
}
