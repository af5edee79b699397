// A strict JSON parser over UTF-8 bytes in linear memory: the grammar of values, arrays and
// objects (json-string.ts and json-number.ts read the literals, json-value.ts holds the values).
//
// Invariants the parser enforces (each failure is an error with a line:column, never a trap):
// - the bytes are valid UTF-8: no overlong forms, no encoded surrogates, nothing above U+10FFFF
// - the grammar is RFC 8259's, with no extensions (no comments, trailing commas, NaN, leading zeros)
// - numbers fit in a finite f64; string escapes pair their surrogates
// - no object repeats a key; nesting stays within MAX_DEPTH; the input is at most MAX_INPUT bytes
import {
  J_DUPLICATE_KEY,
  J_EXPECTED_ARRAY_END,
  J_EXPECTED_COLON,
  J_EXPECTED_KEY,
  J_EXPECTED_KEY_AFTER_COMMA,
  J_EXPECTED_OBJECT_END,
  J_EXPECTED_VALUE,
  J_TOO_DEEP,
  J_TRAILING,
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
import { JsonCursor } from './json-cursor';
import { readString } from './json-string';
import { readNumber } from './json-number';
import { quote } from './json-text';

/** Largest input (policy, arguments or context) the engine reads. */
export const MAX_INPUT: i32 = 1 << 20;
/** Deepest nesting of arrays and objects accepted. */
export const MAX_DEPTH: i32 = 64;

/** A strict JSON parser; on failure `error` is set and `parse` returns null. */
export class JsonParser extends JsonCursor {
  /** Take nodes from the request pool (their trees live until the next `resetPool`). */
  pooled: bool = false;
  depth: i32 = 0;

  /** Parses the whole input as one JSON value. */
  parse(): JValue | null {
    if (this.len > MAX_INPUT) return this.failed(0, E_INPUT_TOO_LARGE);
    this.skipWs();
    if (this.i >= this.len) return this.failed(this.i, E_EMPTY_INPUT);
    const v = this.value();
    if (v == null) return null;
    this.skipWs();
    if (this.i < this.len) return this.failed(this.i, J_TRAILING);
    return v;
  }

  private node(kind: i32): JValue {
    return this.pooled ? pooledValue(kind) : new JValue(kind);
  }

  private failed(at: i32, msg: string): JValue | null {
    this.fail(at, msg);
    return null;
  }

  private value(): JValue | null {
    this.skipWs();
    if (this.i >= this.len) return this.failed(this.i, J_EXPECTED_VALUE);
    const c = this.peek();
    if (c == 0x7b) return this.object();
    if (c == 0x5b) return this.array();
    if (c == 0x22) {
      const s = readString(this);
      if (s == null) return null;
      const v = this.node(JSTRING);
      v.str = s;
      return v;
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
      const x = readNumber(this);
      if (this.error != null) return null;
      const v = this.node(JNUMBER);
      v.num = x;
      return v;
    }
    if (this.literal('true')) return this.node(JTRUE);
    if (this.literal('false')) return this.node(JFALSE);
    if (this.literal('null')) return this.node(JNULL);
    return this.failed(this.i, J_EXPECTED_VALUE);
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
    if (++this.depth > MAX_DEPTH) return this.failed(this.i, J_TOO_DEEP);
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
          return this.failed(
            this.i,
            keys.length == 0 ? J_EXPECTED_KEY : J_EXPECTED_KEY_AFTER_COMMA,
          );
        }
        const keyAt = this.i;
        const key = readString(this);
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
          return this.failed(
            keyAt,
            J_DUPLICATE_KEY + quote(key, 64) + '; each key may appear once',
          );
        this.skipWs();
        if (this.i >= this.len || this.peek() != 0x3a) return this.failed(this.i, J_EXPECTED_COLON);
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
        if (this.i >= this.len) return this.failed(this.i, J_EXPECTED_OBJECT_END);
        const c = this.peek();
        if (c == 0x2c) {
          this.i++;
          continue;
        }
        if (c == 0x7d) {
          this.i++;
          break;
        }
        return this.failed(this.i, J_EXPECTED_OBJECT_END);
      }
    }
    this.depth--;
    return node;
  }

  private array(): JValue | null {
    if (++this.depth > MAX_DEPTH) return this.failed(this.i, J_TOO_DEEP);
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
        if (this.i >= this.len) return this.failed(this.i, J_EXPECTED_ARRAY_END);
        const c = this.peek();
        if (c == 0x2c) {
          this.i++;
          continue;
        }
        if (c == 0x5d) {
          this.i++;
          break;
        }
        return this.failed(this.i, J_EXPECTED_ARRAY_END);
      }
    }
    this.depth--;
    return node;
  }
}
