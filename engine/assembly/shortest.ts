// Numbers as JavaScript prints them (Number::toString, which JSON.stringify uses): the fewest
// significant digits that read back as the same f64 and, of those, the closest to it; then fixed
// notation from 1e-7 up to 1e21, exponent notation outside. A reason quotes the number a person or
// a model sent, not a neighbour of it (AssemblyScript's own printer wrote 0.30000000000000004 as
// 0.30000000000000007 and 9007199254740994 as 9007199254740994.0).
//
// How: the standard printer's digits (which read back as the number, but are not always the
// shortest or the closest) give the decimal exponent and a first guess; for each length p from 1,
// the p-digit candidates around that guess are read back exactly (decimal.ts) and the first length
// with one that reads back wins; between two, an exact comparison with the midpoint picks.

import { compareDecimal, parseDecimal } from './decimal';

// Room for a candidate's text: at most 17 digits, 'e', a sign and 3 exponent digits.
const scratch = heap.alloc(32);

const POW10: StaticArray<f64> = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
  1e18, 1e19, 1e20, 1e21, 1e22,
];

/** True when `t` × 10^`k` reads back (correctly rounded) as `x`. */
function readsBack(t: u64, k: i32, x: f64): bool {
  // Exact operands, one rounding: the correctly rounded value without big integers (Clinger).
  if (t < (<u64>1) << 53 && k >= -22 && k <= 22) {
    const f = <f64>t;
    return (k >= 0 ? f * unchecked(POW10[k]) : f / unchecked(POW10[-k])) == x;
  }
  const digits = t.toString();
  for (let i = 0; i < digits.length; i++) store<u8>(scratch + <usize>i, <u8>digits.charCodeAt(i));
  let n = digits.length;
  store<u8>(scratch + <usize>n, 0x65); // e
  n += 1;
  const e = k.toString();
  for (let i = 0; i < e.length; i++) store<u8>(scratch + <usize>(n + i), <u8>e.charCodeAt(i));
  n += e.length;
  return parseDecimal(scratch, 0, n) == x;
}

/** The shortest round-trip form of a positive finite `x` as JavaScript prints it. */
function positive(x: f64): string {
  // Digits and exponent of the standard printer: "0.30000000000000007", "1.5e-7", "123.0".
  const s = x.toString();
  let digits = '';
  let point = -1;
  let exp = 0;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x2e) point = digits.length;
    else if (c == 0x65 || c == 0x45) break;
    else if (c >= 0x30 && c <= 0x39) digits += String.fromCharCode(c);
  }
  if (i < s.length) exp = I32.parseInt(s.substring(s.charCodeAt(i + 1) == 0x2b ? i + 2 : i + 1));
  if (point < 0) point = digits.length;
  // Strip leading zeros: value = 0.d1d2... × 10^(point + exp), d1 != 0.
  let lead = 0;
  while (lead < digits.length - 1 && digits.charCodeAt(lead) == 0x30) lead++;
  const sig = digits.substring(lead);
  const top = point - lead + exp; // value = 0.sig × 10^top
  let bestT: u64 = 0;
  let bestK = 0;
  const n = sig.length < 17 ? sig.length : 17;
  for (let p = 1; p <= n; p++) {
    const t = U64.parseInt(sig.substring(0, p));
    const k = top - p;
    if (!readsBack(t, k, x) && !readsBack(t + 1, k, x) && !(t > 1 && readsBack(t - 1, k, x)))
      continue;
    // This length holds the answer. Usually one candidate alone reads back (its neighbours do not):
    // it is the answer, with no big integers.
    const first: u64 = t > 1 ? t - 1 : 1;
    let alone: u64 = 0;
    for (let c = first; c <= t + 1; c++) {
      if (readsBack(c, k, x) && !readsBack(c - 1, k, x) && !readsBack(c + 1, k, x)) alone = c;
    }
    if (alone != 0) {
      bestT = alone;
      bestK = k;
      break;
    }
    // Else, of floor(x / 10^k) and the next, the closest that reads back (exact comparisons; a
    // tie at the midpoint goes to the even one).
    let lo = t;
    while (lo > 0 && compareDecimal(lo, k, x) > 0) lo--;
    while (compareDecimal(lo + 1, k, x) <= 0) lo++;
    const hi = lo + 1;
    const loBack = lo > 0 && readsBack(lo, k, x);
    const hiBack = readsBack(hi, k, x);
    if (loBack && hiBack) {
      const side = compareDecimal((lo + hi) * 5, k - 1, x); // the midpoint (lo + hi) / 2 × 10^k against x
      bestT = side > 0 ? lo : side < 0 ? hi : (lo & 1) == 0 ? lo : hi;
    } else bestT = hiBack ? hi : lo;
    bestK = k;
    break;
  }
  if (bestT == 0) return s; // unreachable for finite x: the printer's own digits read back
  // Trailing zeros belong to the exponent.
  while (bestT % 10 == 0) {
    bestT /= 10;
    bestK++;
  }
  return layout(bestT.toString(), bestK);
}

/** Number::toString's layout of digits `d` (no trailing zeros) times 10^k. */
function layout(d: string, k: i32): string {
  const len = d.length;
  const n = k + len; // the value is 0.d × 10^n
  if (len <= n && n <= 21) return d + '0'.repeat(n - len);
  if (0 < n && n <= 21) return d.substring(0, n) + '.' + d.substring(n);
  if (-6 < n && n <= 0) return '0.' + '0'.repeat(-n) + d;
  const e = n - 1;
  const tail = 'e' + (e >= 0 ? '+' : '-') + (e >= 0 ? e : -e).toString();
  return len == 1 ? d + tail : d.substring(0, 1) + '.' + d.substring(1) + tail;
}

/** `x` as JavaScript's `String(x)` prints it (finite `x`; integers are the caller's fast path). */
export function shortestString(x: f64): string {
  if (x == 0) return '0';
  return x < 0 ? '-' + positive(-x) : positive(x);
}
