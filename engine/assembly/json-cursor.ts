// The position in a JSON text (UTF-8 bytes in linear memory) and the first error found in it,
// shared by the parser (json-parser.ts) and its string and number readers.
//
// Invariants:
// - the first error wins: later failures keep its message and position
// - positions are reported as line:column, columns counted in characters (UTF-8 lead bytes)

import { formatNumber } from './json-text';

/** A cursor over `len` bytes at `ptr`; on failure `error` is set. */
export class JsonCursor {
  ptr: usize;
  len: i32;
  i: i32 = 0;
  error: string | null = null;
  errorAt: i32 = 0;

  constructor(ptr: usize, len: i32) {
    this.ptr = ptr;
    this.len = len;
  }

  /** The error with its position, e.g. `invalid JSON at 3:14: expected ':' after an object key`. */
  message(): string {
    let line = 1;
    let col = 1;
    for (let k = 0; k < this.errorAt && k < this.len; k++) {
      const c = load<u8>(this.ptr + <usize>k);
      if (c == 0x0a) {
        line++;
        col = 1;
      } else if ((c & 0xc0) != 0x80) {
        col++;
      }
    }
    return 'invalid JSON at ' + formatNumber(line) + ':' + formatNumber(col) + ': ' + this.error!;
  }

  /** Records `msg` at `at` unless an error is already recorded. */
  fail(at: i32, msg: string): void {
    if (this.error == null) {
      this.error = msg;
      this.errorAt = at;
    }
  }

  /** The byte at the cursor (the caller checked `i < len`). */
  @inline peek(): i32 {
    return <i32>load<u8>(this.ptr + <usize>this.i);
  }

  /** Skips JSON whitespace. */
  skipWs(): void {
    while (this.i < this.len) {
      const c = this.peek();
      if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) this.i++;
      else break;
    }
  }

  /** The four hex digits at `at` as a number, or -1. */
  hex4(at: i32): i32 {
    if (at + 4 > this.len) return -1;
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = <i32>load<u8>(this.ptr + <usize>(at + k));
      let d: i32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else return -1;
      v = (v << 4) | d;
    }
    return v;
  }
}
