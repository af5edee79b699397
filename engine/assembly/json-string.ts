// JSON string literals: escapes decoded (surrogate escapes paired), UTF-8 validated, the result an
// AssemblyScript (UTF-16) string.
//
// Invariants (each failure is an error at the offending byte, never a trap):
// - no raw control character, no unknown escape, four hex digits after \u
// - a \u escape of a high surrogate is followed by one of a low surrogate; no lone low surrogate
// - the bytes are strict UTF-8 (utf8.ts)
import {
  J_BAD_ESCAPE,
  J_BAD_HEX,
  J_BAD_UTF8,
  J_CONTROL,
  J_LONE_SURROGATE,
  J_UNTERMINATED,
} from './messages';
import { JsonCursor } from './json-cursor';
import { decodeUtf8, utf8Width } from './utf8';

// Scratch buffer for decoded string contents (UTF-16 code units), reused across strings.
let scratch: usize = 0;
let scratchCap: i32 = 0;

function ensureScratch(units: i32): void {
  if (units <= scratchCap) return;
  let cap = scratchCap < 64 ? 64 : scratchCap;
  while (cap < units) cap <<= 1;
  scratch = scratch == 0 ? heap.alloc((<usize>cap) << 1) : heap.realloc(scratch, (<usize>cap) << 1);
  scratchCap = cap;
}

/**
 * Reads the string literal at the cursor (its opening quote) into a UTF-16 AssemblyScript string;
 * null, with the cursor's error set, when it is malformed.
 */
export function readString(c: JsonCursor): string | null {
  const start = c.i;
  c.i++;
  let n = 0; // code units written
  ensureScratch(c.len - c.i + 2);
  const out = scratch;
  while (true) {
    if (c.i >= c.len) {
      c.fail(start, J_UNTERMINATED);
      return null;
    }
    const b = c.peek();
    if (b == 0x22) {
      c.i++;
      break;
    }
    if (b < 0x20) {
      c.fail(c.i, J_CONTROL);
      return null;
    }
    // The code point at the cursor and how many bytes it took.
    let cp = b;
    let width = 1;
    if (b == 0x5c) {
      const e = c.i + 1 < c.len ? <i32>load<u8>(c.ptr + <usize>(c.i + 1)) : -1;
      width = 2;
      switch (e) {
        case 0x22:
        case 0x5c:
        case 0x2f:
          cp = e;
          break;
        case 0x62:
          cp = 0x08;
          break;
        case 0x66:
          cp = 0x0c;
          break;
        case 0x6e:
          cp = 0x0a;
          break;
        case 0x72:
          cp = 0x0d;
          break;
        case 0x74:
          cp = 0x09;
          break;
        case 0x75: {
          cp = c.hex4(c.i + 2);
          width = 6;
          if (cp < 0) {
            c.fail(c.i, J_BAD_HEX);
            return null;
          }
          if (cp >= 0xdc00 && cp <= 0xdfff) {
            c.fail(c.i, J_LONE_SURROGATE);
            return null;
          }
          if (cp >= 0xd800 && cp <= 0xdbff) {
            const ok =
              c.i + 7 < c.len &&
              load<u8>(c.ptr + <usize>(c.i + 6)) == 0x5c &&
              load<u8>(c.ptr + <usize>(c.i + 7)) == 0x75;
            const lo = ok ? c.hex4(c.i + 8) : -1;
            if (lo < 0xdc00 || lo > 0xdfff) {
              c.fail(c.i, J_LONE_SURROGATE);
              return null;
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            width = 12;
          }
          break;
        }
        default: {
          c.fail(c.i, J_BAD_ESCAPE);
          return null;
        }
      }
    } else if (b >= 0x80) {
      cp = decodeUtf8(c.ptr, c.i, c.len);
      if (cp < 0) {
        c.fail(c.i, J_BAD_UTF8);
        return null;
      }
      width = utf8Width(b);
    }
    c.i += width;
    if (cp >= 0x10000) {
      const v = cp - 0x10000;
      store<u16>(out + ((<usize>n) << 1), <u16>(0xd800 | (v >> 10)));
      n++;
      cp = 0xdc00 | (v & 0x3ff);
    }
    store<u16>(out + ((<usize>n) << 1), <u16>cp);
    n++;
  }
  return String.UTF16.decodeUnsafe(out, (<usize>n) << 1);
}
