// A strict JSON parser over UTF-8 bytes in linear memory (json-value.ts holds the values).
//
// Invariants the parser enforces (each failure is an error with a line:column, never a trap):
// - the bytes are valid UTF-8: no overlong forms, no encoded surrogates, nothing above U+10FFFF
// - the grammar is RFC 8259's, with no extensions (no comments, trailing commas, NaN, leading zeros)
// - numbers fit in a finite f64; string escapes pair their surrogates
// - no object repeats a key; nesting stays within MAX_DEPTH; the input is at most MAX_INPUT bytes
import {
  J_BAD_ESCAPE,
  J_BAD_HEX,
  J_BAD_UTF8,
  J_CONTROL,
  J_DUPLICATE_KEY,
  J_EXPECTED_ARRAY_END,
  J_EXPECTED_COLON,
  J_EXPECTED_DIGIT,
  J_EXPECTED_KEY,
  J_EXPECTED_KEY_AFTER_COMMA,
  J_EXPECTED_OBJECT_END,
  J_EXPECTED_VALUE,
  J_LONE_SURROGATE,
  J_OUT_OF_RANGE,
  J_TOO_DEEP,
  J_TRAILING,
  J_UNTERMINATED,
  E_EMPTY_INPUT,
  E_INPUT_TOO_LARGE,
} from './messages';
import {
  JARRAY,
  JFALSE,
  JNULL,
  JNUMBER,
  JOBJECT,
  JSTRING,
  JTRUE,
  JValue,
  pooledValue,
} from './json-value';
import { decodeUtf8, utf8Width } from './utf8';
import { quote } from './json-text';
import { parseDecimal } from './decimal';

/** Largest input (policy, arguments or context) the engine reads. */
export const MAX_INPUT: i32 = 1 << 20;
/** Deepest nesting of arrays and objects accepted. */
export const MAX_DEPTH: i32 = 64;
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
/** A strict JSON parser; on failure `error` is set and `parse` returns null. */
export class JsonParser {
  ptr: usize;
  len: i32;
  /** Take nodes from the request pool (their trees live until the next `resetPool`). */
  pooled: bool = false;
  i: i32 = 0;
  depth: i32 = 0;
  error: string | null = null;
  errorAt: i32 = 0;

  constructor(ptr: usize, len: i32) {
    this.ptr = ptr;
    this.len = len;
  }

  /** Parses the whole input as one JSON value. */
  parse(): JValue | null {
    if (this.len > MAX_INPUT) return this.fail(0, E_INPUT_TOO_LARGE);
    this.skipWs();
    if (this.i >= this.len) return this.fail(this.i, E_EMPTY_INPUT);
    const v = this.value();
    if (v == null) return null;
    this.skipWs();
    if (this.i < this.len) return this.fail(this.i, J_TRAILING);
    return v;
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
    return 'invalid JSON at ' + line.toString() + ':' + col.toString() + ': ' + this.error!;
  }

  private node(kind: i32): JValue {
    return this.pooled ? pooledValue(kind) : new JValue(kind);
  }

  private fail(at: i32, msg: string): JValue | null {
    if (this.error == null) {
      this.error = msg;
      this.errorAt = at;
    }
    return null;
  }

  @inline private peek(): i32 {
    return <i32>load<u8>(this.ptr + <usize>this.i);
  }

  private skipWs(): void {
    while (this.i < this.len) {
      const c = this.peek();
      if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) this.i++;
      else break;
    }
  }

  private value(): JValue | null {
    this.skipWs();
    if (this.i >= this.len) return this.fail(this.i, J_EXPECTED_VALUE);
    const c = this.peek();
    if (c == 0x7b) return this.object();
    if (c == 0x5b) return this.array();
    if (c == 0x22) {
      const s = this.string();
      if (s == null) return null;
      const v = this.node(JSTRING);
      v.str = s;
      return v;
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.literal('true')) return this.node(JTRUE);
    if (this.literal('false')) return this.node(JFALSE);
    if (this.literal('null')) return this.node(JNULL);
    return this.fail(this.i, J_EXPECTED_VALUE);
  }

  private literal(word: string): bool {
    const n = word.length;
    if (this.i + n > this.len) return false;
    for (let k = 0; k < n; k++) {
      if (<i32>load<u8>(this.ptr + <usize>(this.i + k)) != word.charCodeAt(k)) return false;
    }
    this.i += n;
    return true;
  }

  private object(): JValue | null {
    if (++this.depth > MAX_DEPTH) return this.fail(this.i, J_TOO_DEEP);
    this.i++;
    const node = this.node(JOBJECT);
    let keys = node.keys;
    if (keys == null) node.keys = keys = new Array<string>();
    else keys.length = 0;
    let items = node.items;
    if (items == null) node.items = items = new Array<JValue>();
    else items.length = 0;
    let seen: Set<string> | null = null;
    this.skipWs();
    if (this.i < this.len && this.peek() == 0x7d) {
      this.i++;
    } else {
      while (true) {
        this.skipWs();
        if (this.i >= this.len || this.peek() != 0x22) {
          return this.fail(this.i, keys.length == 0 ? J_EXPECTED_KEY : J_EXPECTED_KEY_AFTER_COMMA);
        }
        const keyAt = this.i;
        const key = this.string();
        if (key == null) return null;
        // Duplicate keys make a request ambiguous ({"amount":1,"amount":900}): reject them.
        let dup = false;
        if (seen != null) {
          dup = seen.has(key);
        } else {
          for (let k = 0, n = keys.length; k < n; k++) {
            if (keys[k] == key) {
              dup = true;
              break;
            }
          }
        }
        if (dup)
          return this.fail(keyAt, J_DUPLICATE_KEY + quote(key, 64) + '; each key may appear once');
        this.skipWs();
        if (this.i >= this.len || this.peek() != 0x3a) return this.fail(this.i, J_EXPECTED_COLON);
        this.i++;
        const v = this.value();
        if (v == null) return null;
        keys.push(key);
        items.push(v);
        if (seen != null) {
          seen.add(key);
        } else if (keys.length >= 16) {
          // Switch to a hash set so that a huge object cannot make the check quadratic.
          const s = new Set<string>();
          for (let k = 0, n = keys.length; k < n; k++) s.add(keys[k]);
          seen = s;
        }
        this.skipWs();
        if (this.i >= this.len) return this.fail(this.i, J_EXPECTED_OBJECT_END);
        const c = this.peek();
        if (c == 0x2c) {
          this.i++;
          continue;
        }
        if (c == 0x7d) {
          this.i++;
          break;
        }
        return this.fail(this.i, J_EXPECTED_OBJECT_END);
      }
    }
    this.depth--;
    return node;
  }

  private array(): JValue | null {
    if (++this.depth > MAX_DEPTH) return this.fail(this.i, J_TOO_DEEP);
    this.i++;
    const node = this.node(JARRAY);
    let items = node.items;
    if (items == null) node.items = items = new Array<JValue>();
    else items.length = 0;
    this.skipWs();
    if (this.i < this.len && this.peek() == 0x5d) {
      this.i++;
    } else {
      while (true) {
        const v = this.value();
        if (v == null) return null;
        items.push(v);
        this.skipWs();
        if (this.i >= this.len) return this.fail(this.i, J_EXPECTED_ARRAY_END);
        const c = this.peek();
        if (c == 0x2c) {
          this.i++;
          continue;
        }
        if (c == 0x5d) {
          this.i++;
          break;
        }
        return this.fail(this.i, J_EXPECTED_ARRAY_END);
      }
    }
    this.depth--;
    return node;
  }

  private hex4(at: i32): i32 {
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

  /** Parses a string starting at the opening quote; decodes it into a UTF-16 AssemblyScript string. */
  string(): string | null {
    const start = this.i;
    this.i++;
    let n = 0; // code units written
    ensureScratch(this.len - this.i + 2);
    const out = scratch;
    while (true) {
      if (this.i >= this.len) {
        this.fail(start, J_UNTERMINATED);
        return null;
      }
      const c = this.peek();
      if (c == 0x22) {
        this.i++;
        break;
      }
      if (c < 0x20) {
        this.fail(this.i, J_CONTROL);
        return null;
      }
      if (c == 0x5c) {
        if (this.i + 1 >= this.len) {
          this.fail(this.i, J_BAD_ESCAPE);
          return null;
        }
        const e = <i32>load<u8>(this.ptr + <usize>(this.i + 1));
        let u: i32 = -1;
        switch (e) {
          case 0x22:
            u = 0x22;
            break;
          case 0x5c:
            u = 0x5c;
            break;
          case 0x2f:
            u = 0x2f;
            break;
          case 0x62:
            u = 0x08;
            break;
          case 0x66:
            u = 0x0c;
            break;
          case 0x6e:
            u = 0x0a;
            break;
          case 0x72:
            u = 0x0d;
            break;
          case 0x74:
            u = 0x09;
            break;
          case 0x75: {
            const h = this.hex4(this.i + 2);
            if (h < 0) {
              this.fail(this.i, J_BAD_HEX);
              return null;
            }
            if (h >= 0xdc00 && h <= 0xdfff) {
              this.fail(this.i, J_LONE_SURROGATE);
              return null;
            }
            if (h >= 0xd800 && h <= 0xdbff) {
              const at = this.i;
              const ok =
                this.i + 7 < this.len &&
                load<u8>(this.ptr + <usize>(this.i + 6)) == 0x5c &&
                load<u8>(this.ptr + <usize>(this.i + 7)) == 0x75;
              const lo = ok ? this.hex4(this.i + 8) : -1;
              if (lo < 0xdc00 || lo > 0xdfff) {
                this.fail(at, J_LONE_SURROGATE);
                return null;
              }
              store<u16>(out + ((<usize>n) << 1), <u16>h);
              n++;
              store<u16>(out + ((<usize>n) << 1), <u16>lo);
              n++;
              this.i += 12;
              continue;
            }
            store<u16>(out + ((<usize>n) << 1), <u16>h);
            n++;
            this.i += 6;
            continue;
          }
          default: {
            this.fail(this.i, J_BAD_ESCAPE);
            return null;
          }
        }
        store<u16>(out + ((<usize>n) << 1), <u16>u);
        n++;
        this.i += 2;
        continue;
      }
      if (c < 0x80) {
        store<u16>(out + ((<usize>n) << 1), <u16>c);
        n++;
        this.i++;
        continue;
      }
      const cp = decodeUtf8(this.ptr, this.i, this.len);
      if (cp < 0) {
        this.fail(this.i, J_BAD_UTF8);
        return null;
      }
      this.i += utf8Width(c);
      if (cp >= 0x10000) {
        const v = cp - 0x10000;
        store<u16>(out + ((<usize>n) << 1), <u16>(0xd800 | (v >> 10)));
        n++;
        store<u16>(out + ((<usize>n) << 1), <u16>(0xdc00 | (v & 0x3ff)));
        n++;
      } else {
        store<u16>(out + ((<usize>n) << 1), <u16>cp);
        n++;
      }
    }
    return String.UTF16.decodeUnsafe(out, (<usize>n) << 1);
  }

  private number(): JValue | null {
    const start = this.i;
    let simple = true;
    if (this.peek() == 0x2d) this.i++;
    if (this.i >= this.len) return this.fail(this.i, J_EXPECTED_DIGIT);
    let c = this.peek();
    let intDigits = 0;
    let acc: f64 = 0;
    if (c == 0x30) {
      this.i++;
      intDigits = 1;
    } else if (c >= 0x31 && c <= 0x39) {
      while (this.i < this.len) {
        c = this.peek();
        if (c < 0x30 || c > 0x39) break;
        acc = acc * 10 + <f64>(c - 0x30);
        intDigits++;
        this.i++;
      }
    } else {
      return this.fail(this.i, J_EXPECTED_DIGIT);
    }
    if (this.i < this.len && this.peek() == 0x2e) {
      simple = false;
      this.i++;
      let d = 0;
      while (this.i < this.len) {
        c = this.peek();
        if (c < 0x30 || c > 0x39) break;
        d++;
        this.i++;
      }
      if (d == 0) return this.fail(this.i, J_EXPECTED_DIGIT);
    }
    if (this.i < this.len && (this.peek() == 0x65 || this.peek() == 0x45)) {
      simple = false;
      this.i++;
      if (this.i < this.len && (this.peek() == 0x2b || this.peek() == 0x2d)) this.i++;
      let d = 0;
      while (this.i < this.len) {
        c = this.peek();
        if (c < 0x30 || c > 0x39) break;
        d++;
        this.i++;
      }
      if (d == 0) return this.fail(this.i, J_EXPECTED_DIGIT);
    }
    let x: f64;
    if (simple && intDigits <= 15) {
      // Exact: at most 15 decimal digits always fit in the 53-bit mantissa.
      x = load<u8>(this.ptr + <usize>start) == 0x2d ? -acc : acc;
    } else {
      x = parseDecimal(this.ptr, start, this.i);
    }
    if (!isFinite(x)) return this.fail(start, J_OUT_OF_RANGE);
    const v = this.node(JNUMBER);
    v.num = x;
    return v;
  }
}
