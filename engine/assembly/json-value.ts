// JSON values: kinds, the parsed tree, equality and compact serialisation.
//
// Invariants:
// - objects keep their keys in order (`keys`) with their values at the same index (`items`)
// - equality is type-strict and ignores key order; serialisation is compact and canonical for
//   numbers (the shortest form that round-trips)
// - pooled nodes (request trees) live until the next `resetPool`

import { Writer } from './writer';

export const JNULL: i32 = 0;
export const JFALSE: i32 = 1;
export const JTRUE: i32 = 2;
export const JNUMBER: i32 = 3;
export const JSTRING: i32 = 4;
export const JARRAY: i32 = 5;
export const JOBJECT: i32 = 6;

/** A parsed JSON value. Objects keep their keys in order, in `keys`, with values in `items`. */
export class JValue {
  kind: i32;
  num: f64 = 0;
  str: string = '';
  items: JValue[] | null = null;
  keys: string[] | null = null;
  constructor(kind: i32) {
    this.kind = kind;
  }
  /** The value under `key` of an object, or null when absent or not an object. */
  get(key: string): JValue | null {
    if (this.kind != JOBJECT) return null;
    const keys = this.keys!;
    for (let i = 0, n = keys.length; i < n; i++) {
      if (keys[i] == key) return this.items![i];
    }
    return null;
  }
}

/** A human name for a JSON kind, for messages. */
export function kindName(kind: i32): string {
  switch (kind) {
    case JNULL:
      return 'null';
    case JFALSE:
    case JTRUE:
      return 'boolean';
    case JNUMBER:
      return 'number';
    case JSTRING:
      return 'string';
    case JARRAY:
      return 'array';
    default:
      return 'object';
  }
}

// Request trees are thrown away after each call: their nodes come from a pool that the next call
// reuses (with their key and item arrays), so a raw ABI call allocates little besides its strings.
const POOL_MAX: i32 = 4096;
const pool = new Array<JValue>();
let poolNext: i32 = 0;

/** Makes every pooled node available again; call before parsing a new request. */
export function resetPool(): void {
  poolNext = 0;
}

/** A node of `kind` from the request pool (reused after `resetPool`), or a fresh one past its bound. */
export function pooledValue(kind: i32): JValue {
  if (poolNext < pool.length) {
    const v = unchecked(pool[poolNext++]);
    v.kind = kind;
    return v;
  }
  const v = new JValue(kind);
  if (pool.length < POOL_MAX) {
    pool.push(v);
    poolNext++;
  }
  return v;
}

/** Writes a value as compact JSON. */
export function writeJson(w: Writer, v: JValue): void {
  switch (v.kind) {
    case JNULL:
      return w.str('null');
    case JFALSE:
      return w.str('false');
    case JTRUE:
      return w.str('true');
    case JNUMBER:
      return w.num(v.num);
    case JSTRING:
      return w.jsonStr(v.str);
    case JARRAY: {
      const items = v.items!;
      w.byte(0x5b);
      for (let i = 0; i < items.length; i++) {
        if (i > 0) w.byte(0x2c);
        writeJson(w, items[i]);
      }
      return w.byte(0x5d);
    }
    default: {
      const keys = v.keys!;
      const items = v.items!;
      w.byte(0x7b);
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) w.byte(0x2c);
        w.jsonStr(keys[i]);
        w.byte(0x3a);
        writeJson(w, items[i]);
      }
      return w.byte(0x7d);
    }
  }
}

/** Deep, type-strict equality; object key order does not matter. */
export function deepEqual(a: JValue, b: JValue): bool {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case JNUMBER:
      return a.num == b.num;
    case JSTRING:
      return a.str == b.str;
    case JARRAY: {
      const x = a.items!;
      const y = b.items!;
      if (x.length != y.length) return false;
      for (let i = 0; i < x.length; i++) if (!deepEqual(x[i], y[i])) return false;
      return true;
    }
    case JOBJECT: {
      const ka = a.keys!;
      if (ka.length != b.keys!.length) return false;
      const va = a.items!;
      for (let i = 0; i < ka.length; i++) {
        const other = b.get(ka[i]);
        if (other == null || !deepEqual(va[i], other)) return false;
      }
      return true;
    }
    default:
      return true;
  }
}
