// Numbers as JavaScript prints them (Number::toString, which JSON.stringify uses): the fewest
// significant digits that read back as the same f64 and, of those, the closest to it; then fixed
// notation from 1e-7 up to 1e21, exponent notation outside. A reason quotes the number a person or
// a model sent, not a neighbour of it.
//
// How: the decimal exponent and, one digit at a time, floor(x / 10^k) are found by exact
// comparison (decimal.ts); for each length p from 1, that floor and the next integer are the only
// p-digit candidates that can read back (the ones that do form an interval around x); the first
// length with one that reads back wins; between two, an exact comparison with the midpoint picks.

import { compareDecimal, pow10, roundsTo } from './decimal';

/** True when `t` × 10^`k` reads back (correctly rounded) as `x`. */
function readsBack(t: u64, k: i32, x: f64): bool {
  // Exact operands, one rounding: the correctly rounded value without big integers (Clinger).
  if (t < (<u64>1) << 53 && k >= -22 && k <= 22) {
    const f = <f64>t;
    return (k >= 0 ? f * pow10(k) : f / pow10(-k)) == x;
  }
  return roundsTo(t, k, x) == 0;
}

/** `x` × 10^`n`, a few ulps off: a guess that exact comparisons then correct. */
function scaled(x: f64, n: i32): f64 {
  for (; n > 22; n -= 22) x *= 1e22;
  for (; n < -22; n += 22) x /= 1e22;
  return n >= 0 ? x * pow10(n) : x / pow10(-n);
}

/** Writes the decimal digits of `v` (> 0) ending just before `end`; returns where they start. */
function digitsBefore(v: u64, end: usize): usize {
  let at = end;
  do {
    store<u8>(--at, <u8>(0x30 + <i32>(v % 10)));
    v /= 10;
  } while (v != 0);
  return at;
}

/** Appends `n` ASCII zeros at `at`; returns the end. */
function zeros(at: usize, n: i32): usize {
  memory.fill(at, 0x30, <usize>n);
  return at + <usize>n;
}

/**
 * Writes the shortest round-trip form of a positive finite `x` as JavaScript prints it at `at`;
 * returns the end.
 */
function positive(x: f64, at: usize): usize {
  // The decimal exponent: 10^(top - 1) <= x < 10^top. A guess from the binary exponent
  // (log10(2) ≈ 0.30103), then exact comparisons.
  const bits = reinterpret<u64>(x);
  const biased = <i32>(bits >> 52);
  const twos = biased == 0 ? -1011 - <i32>clz(bits) : biased - 1023;
  let top = <i32>Math.floor(<f64>twos * 0.3010299956639812) + 1;
  while (compareDecimal(1, top - 1, x) > 0) top--;
  while (compareDecimal(1, top, x) <= 0) top++;
  let floor: u64 = 0; // floor(x / 10^k), exact
  let bestT: u64 = 0;
  let bestK = 0;
  for (let p = 1; p <= 17; p++) {
    const k = top - p;
    // The next digit: a guess in f64, moved by exact comparisons.
    const base = floor * 10;
    let d = <i64>Math.floor(scaled(x, -k)) - <i64>base;
    if (d < 0) d = 0;
    if (d > 9) d = 9;
    while (d > 0 && compareDecimal(base + <u64>d, k, x) > 0) d--;
    while (d < 9 && compareDecimal(base + <u64>d + 1, k, x) <= 0) d++;
    floor = base + <u64>d;
    const lo = floor;
    const hi = lo + 1;
    const loBack = readsBack(lo, k, x);
    const hiBack = readsBack(hi, k, x);
    if (!loBack && !hiBack) continue;
    if (loBack && hiBack) {
      // The closest to x; a tie at the midpoint (lo + hi) / 2 × 10^k goes to the even one.
      const side = compareDecimal((lo + hi) * 5, k - 1, x);
      bestT = side > 0 ? lo : side < 0 ? hi : (lo & 1) == 0 ? lo : hi;
    } else bestT = hiBack ? hi : lo;
    bestK = k;
    break;
  }
  if (bestT == 0) {
    // Unreachable for finite x: 17 digits always read back.
    bestT = floor;
    bestK = top - 17;
  }
  // Trailing zeros belong to the exponent.
  while (bestT % 10 == 0) {
    bestT /= 10;
    bestK++;
  }
  return layout(bestT, bestK, at);
}

/** Number::toString's layout of the digits of `t` (no trailing zeros) times 10^k, written at `at`. */
function layout(t: u64, k: i32, at: usize): usize {
  // The digits, at the end of the room a layout needs (at most 26 bytes), moved where they go.
  const d = digitsBefore(t, at + 64);
  const len = <i32>(at + 64 - d);
  const n = k + len; // the value is 0.d × 10^n
  if (len <= n && n <= 21) {
    memory.copy(at, d, <usize>len);
    return zeros(at + <usize>len, n - len);
  }
  if (0 < n && n <= 21) {
    memory.copy(at, d, <usize>n);
    store<u8>(at + <usize>n, 0x2e);
    memory.copy(at + <usize>(n + 1), d + <usize>n, <usize>(len - n));
    return at + <usize>(len + 1);
  }
  if (-6 < n && n <= 0) {
    store<u16>(at, 0x2e30); // "0."
    const z = zeros(at + 2, -n);
    memory.copy(z, d, <usize>len);
    return z + <usize>len;
  }
  const e = n - 1;
  let end = at;
  store<u8>(end++, load<u8>(d));
  if (len > 1) {
    store<u8>(end++, 0x2e);
    memory.copy(end, d + 1, <usize>(len - 1));
    end += <usize>(len - 1);
  }
  store<u8>(end++, 0x65); // e
  store<u8>(end++, e >= 0 ? 0x2b : 0x2d);
  const digits = digitsBefore(<u64>(e >= 0 ? e : -e), end + 4);
  const width = <usize>(end + 4 - digits);
  memory.copy(end, digits, width);
  return end + width;
}

/**
 * Writes `x` as JavaScript's `String(x)` prints it (finite `x`) at `at`, which has room for 96
 * bytes; returns the length written.
 */
export function writeShortest(x: f64, at: usize): i32 {
  if (x == 0) {
    store<u8>(at, 0x30);
    return 1;
  }
  if (x > 0) return <i32>(positive(x, at) - at);
  store<u8>(at, 0x2d);
  return <i32>(positive(-x, at + 1) - at);
}
