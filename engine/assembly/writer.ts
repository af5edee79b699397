// A growable UTF-8 byte buffer outside the managed heap: reasons and responses are written into
// it without allocating strings, so denials cost no garbage on the common paths.

import { writeShortest } from './shortest';

/** Set when engine work allocated managed memory; the export that finishes the work may collect. */
// biome-ignore lint/style/useConst: the modules that allocate set it
export let madeGarbage = false;

/**
 * How many bytes of the UTF-8 text `p[0..n)` fit in `max` UTF-16 units without splitting a
 * character (a truncated sequence at the very end counts as whole).
 */
export function cutBytes(p: usize, n: i32, max: i32): i32 {
  let units = 0;
  let i = 0;
  while (i < n) {
    const c = <i32>load<u8>(p + <usize>i);
    const w = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    const u = w == 4 ? 2 : 1;
    if (units + u > max) break;
    units += u;
    i += w;
  }
  return i > n ? n : i;
}

/** Appends UTF-8 text, JSON escapes and numbers to an unmanaged buffer that is reused. */
export class Writer {
  ptr: usize = 0;
  cap: i32 = 0;
  len: i32 = 0;

  @inline reset(): void {
    this.len = 0;
  }

  ensure(extra: i32): void {
    const need = this.len + extra;
    if (need <= this.cap) return;
    let cap = this.cap < 256 ? 256 : this.cap;
    while (cap < need) cap <<= 1;
    this.ptr = this.ptr == 0 ? heap.alloc(<usize>cap) : heap.realloc(this.ptr, <usize>cap);
    this.cap = cap;
  }

  /**
   * Hands the buffer over as a response (the caller left its first 4 bytes for the length, which
   * this writes): no copy of a large response. The writer starts again with no buffer.
   */
  takeResponse(): usize {
    const p = this.ptr;
    store<u32>(p, <u32>(this.len - 4));
    this.ptr = 0;
    this.cap = 0;
    this.len = 0;
    return p;
  }

  byte(c: i32): void {
    this.ensure(1);
    store<u8>(this.ptr + <usize>this.len, <u8>c);
    this.len++;
  }

  /** Appends raw bytes. */
  bytes(p: usize, n: i32): void {
    this.ensure(n);
    memory.copy(this.ptr + <usize>this.len, p, <usize>n);
    this.len += n;
  }

  /** Appends a string as UTF-8 (a lone surrogate in three bytes, as `String.UTF8.encode` does). */
  str(s: string): void {
    const n = s.length;
    this.ensure(n * 3);
    const src = changetype<usize>(s);
    let at = this.ptr + <usize>this.len;
    for (let i = 0; i < n; i++) {
      let c = <i32>load<u16>(src + ((<usize>i) << 1));
      if (c < 0x80) {
        store<u8>(at++, <u8>c);
      } else if (c < 0x800) {
        store<u8>(at++, <u8>(0xc0 | (c >> 6)));
        store<u8>(at++, <u8>(0x80 | (c & 0x3f)));
      } else {
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
          const d = <i32>load<u16>(src + ((<usize>(i + 1)) << 1));
          if (d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
            store<u8>(at++, <u8>(0xf0 | (c >> 18)));
            store<u8>(at++, <u8>(0x80 | ((c >> 12) & 0x3f)));
            store<u8>(at++, <u8>(0x80 | ((c >> 6) & 0x3f)));
            store<u8>(at++, <u8>(0x80 | (c & 0x3f)));
            continue;
          }
        }
        store<u8>(at++, <u8>(0xe0 | (c >> 12)));
        store<u8>(at++, <u8>(0x80 | ((c >> 6) & 0x3f)));
        store<u8>(at++, <u8>(0x80 | (c & 0x3f)));
      }
    }
    this.len = <i32>(at - this.ptr);
  }

  /** Appends the JSON escape of the byte `c` (a quote, a backslash or a control character). */
  private escaped(c: i32): void {
    this.ensure(6);
    const at = this.ptr + <usize>this.len;
    store<u8>(at, 0x5c);
    const short =
      c == 0x22 || c == 0x5c ? c : c == 0x0a ? 0x6e : c == 0x0d ? 0x72 : c == 0x09 ? 0x74 : 0;
    if (short != 0) {
      store<u8>(at, short, 1);
      this.len += 2;
      return;
    }
    store<u8>(at, 0x75, 1); // u
    store<u8>(at, 0x30, 2);
    store<u8>(at, 0x30, 3);
    store<u8>(at, hex(c >> 4), 4);
    store<u8>(at, hex(c & 15), 5);
    this.len += 6;
  }

  /** Appends UTF-8 bytes as the inside of a JSON string, escaping quotes, backslashes, controls. */
  jsonBytes(p: usize, n: i32): void {
    this.ensure(n);
    let from = 0;
    for (let i = 0; i < n; i++) {
      const c = <i32>load<u8>(p + <usize>i);
      if (c >= 0x20 && c != 0x22 && c != 0x5c) continue;
      this.bytes(p + <usize>from, i - from);
      this.escaped(c);
      from = i + 1;
    }
    this.bytes(p + <usize>from, n - from);
  }

  /** Appends a string as a JSON string literal. */
  jsonStr(s: string): void {
    this.byte(0x22);
    const start = this.len;
    this.str(s);
    const n = this.len - start;
    for (let i = 0; i < n; i++) {
      const c = <i32>load<u8>(this.ptr + <usize>(start + i));
      if (c < 0x20 || c == 0x22 || c == 0x5c) {
        // Rare: escape from a copy of the bytes.
        const copy = heap.alloc(<usize>n);
        memory.copy(copy, this.ptr + <usize>start, <usize>n);
        this.len = start;
        this.jsonBytes(copy, n);
        heap.free(copy);
        break;
      }
    }
    this.byte(0x22);
  }

  /**
   * Appends UTF-8 bytes (an attacker-controlled value) as a JSON string literal, cut after `max`
   * UTF-16 units (never inside a surrogate pair) with a `…` marking the cut.
   */
  quotedBytes(p: usize, n: i32, max: i32): void {
    const i = cutBytes(p, n, max);
    this.byte(0x22);
    this.jsonBytes(p, i);
    if (i < n) this.str('…');
    this.byte(0x22);
  }

  /** Appends a finite number as JavaScript prints it (`String(x)`, `JSON.stringify`): shortest round trip. */
  num(x: f64): void {
    // Integers below 2^53 are exact, and their shortest form is their digits.
    if (x == Math.floor(x) && Math.abs(x) < 9007199254740992) {
      let v = <i64>x;
      if (v < 0) {
        this.byte(0x2d);
        v = -v;
      }
      this.ensure(20);
      let digits = 1;
      for (let t = v; t >= 10; t /= 10) digits++;
      let at = this.ptr + <usize>(this.len + digits);
      for (let k = 0; k < digits; k++) {
        store<u8>(--at, <u8>(0x30 + <i32>(v % 10)));
        v /= 10;
      }
      this.len += digits;
      return;
    }
    this.ensure(96);
    this.len += writeShortest(x, this.ptr + <usize>this.len);
  }
}

function hex(d: i32): i32 {
  return d < 10 ? 0x30 + d : 0x57 + d;
}

/** The reason being built. */
export const reason = new Writer();
/** The response or explanation being built. */
export const out = new Writer();
