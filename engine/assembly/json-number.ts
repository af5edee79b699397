// JSON numbers: RFC 8259's grammar (no leading zeros, no `+`, digits after `.` and `e`), read as
// JSON.parse reads them: small integers directly, everything else correctly rounded (decimal.ts).
//
// Invariants (each failure is an error at the offending byte, never a trap):
// - the result is a finite f64; a number past the largest f64 is an error
import { J_EXPECTED_DIGIT, J_OUT_OF_RANGE } from './messages';
import { JsonCursor } from './json-cursor';
import { parseDecimal } from './decimal';

function failed(c: JsonCursor, at: i32, msg: string): f64 {
  c.fail(at, msg);
  return NaN;
}

/**
 * Reads the number at the cursor (a `-` or a digit) as the f64 JSON.parse gives; NaN, with the
 * cursor's error set, when it is malformed or out of range.
 */
export function readNumber(c: JsonCursor): f64 {
  const start = c.i;
  let simple = true;
  if (c.peek() == 0x2d) c.i++;
  if (c.i >= c.len) return failed(c, c.i, J_EXPECTED_DIGIT);
  let b = c.peek();
  let intDigits = 0;
  let acc: f64 = 0;
  if (b == 0x30) {
    c.i++;
    intDigits = 1;
  } else if (b >= 0x31 && b <= 0x39) {
    while (c.i < c.len) {
      b = c.peek();
      if (b < 0x30 || b > 0x39) break;
      acc = acc * 10 + <f64>(b - 0x30);
      intDigits++;
      c.i++;
    }
  } else {
    return failed(c, c.i, J_EXPECTED_DIGIT);
  }
  if (c.i < c.len && c.peek() == 0x2e) {
    simple = false;
    c.i++;
    let d = 0;
    while (c.i < c.len) {
      b = c.peek();
      if (b < 0x30 || b > 0x39) break;
      d++;
      c.i++;
    }
    if (d == 0) return failed(c, c.i, J_EXPECTED_DIGIT);
  }
  if (c.i < c.len && (c.peek() == 0x65 || c.peek() == 0x45)) {
    simple = false;
    c.i++;
    if (c.i < c.len && (c.peek() == 0x2b || c.peek() == 0x2d)) c.i++;
    let d = 0;
    while (c.i < c.len) {
      b = c.peek();
      if (b < 0x30 || b > 0x39) break;
      d++;
      c.i++;
    }
    if (d == 0) return failed(c, c.i, J_EXPECTED_DIGIT);
  }
  let x: f64;
  if (simple && intDigits <= 15) {
    // Exact: at most 15 decimal digits always fit in the 53-bit mantissa.
    x = load<u8>(c.ptr + <usize>start) == 0x2d ? -acc : acc;
  } else {
    x = parseDecimal(c.ptr, start, c.i);
  }
  if (!isFinite(x)) return failed(c, start, J_OUT_OF_RANGE);
  return x;
}
