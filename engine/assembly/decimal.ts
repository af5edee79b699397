// Decimal text to f64, for JSON numbers that are not small integers, correctly rounded (half to
// even) for every significand of up to 19 digits, so that the engine reads a number exactly as
// JSON.parse does.
//
// AssemblyScript's parseFloat is not used: with more than 15 significant digits and a decimal
// exponent of 23 to 37 it returned significand × 10^22, a thousand times too small
// ("12345678901234567e25" read as 1.2345678901234567e38, so an amount far above a policy's `Lte`
// bound passed it), and elsewhere it could be an ulp or two off (1.37820322721e+43), so the raw ABI
// and the fast path (which gets JavaScript's own f64) could disagree on a bound. Instead a first
// guess a few ulps off is computed in f64, checked against the two midpoints around it with big
// integers and moved by an ulp until the decimal value lies between them. Digits after the 19th
// only mark the value as inexact (as parseFloat does).

/** Significant decimal digits kept; later ones only mark the value as inexact. */
const CAPACITY: i32 = 19;
/** Parses the JSON number in bytes `[start, end)` at `ptr` (already validated by the grammar). */
export function parseDecimal(ptr: usize, start: i32, end: i32): f64 {
  let i = start;
  const negative = load<u8>(ptr + <usize>i) == 0x2d;
  if (negative) i++;
  let significand: u64 = 0;
  let digits = 0; // significant digits seen (after leading zeros)
  let fraction = 0; // digits after the decimal point
  let pointed = false;
  for (; i < end; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (c == 0x2e) {
      pointed = true;
      continue;
    }
    if (c < 0x30 || c > 0x39) break;
    if (pointed) fraction++;
    const d = <u64>(c - 0x30);
    if (digits == 0 && d == 0) continue;
    if (digits < CAPACITY) significand = significand * 10 + d;
    else if (d != 0) significand |= 1;
    digits++;
  }
  let exponent = 0;
  if (i < end) {
    // 'e' or 'E', an optional sign, digits (capped: anything this large is out of range anyway).
    i++;
    let sign = 1;
    const s = <i32>load<u8>(ptr + <usize>i);
    if (s == 0x2d || s == 0x2b) {
      if (s == 0x2d) sign = -1;
      i++;
    }
    for (; i < end; i++) {
      if (exponent < 100000) exponent = exponent * 10 + (<i32>load<u8>(ptr + <usize>i) - 0x30);
    }
    exponent *= sign;
  }
  const exp = exponent - fraction + (digits > CAPACITY ? digits - CAPACITY : 0);
  if (significand == 0 || exp < -400) return negative ? -0.0 : 0; // below 10^19 × 10^-401: 0
  if (exp > 310) return negative ? -Infinity : Infinity; // at least 10^311: past the largest f64
  // A first guess within a few ulps: at most 16 f64 roundings (the significand, up to 14 steps of
  // the exact 10^22, one exact power of ten up to 10^22), each half an ulp; a step that overflows
  // or underflows leaves the largest or the smallest f64, a few ulps from the result. `nearest`
  // then moves it, by exact comparison, to the correctly rounded value.
  let x = <f64>significand;
  let e = exp;
  for (; e > 22; e -= 22) x *= 1e22;
  for (; e < -22; e += 22) x /= 1e22;
  x = e < 0 ? x / pow10(-e) : x * pow10(e);
  if (x == 0) x = 5e-324;
  else if (!isFinite(x)) x = f64.MAX_VALUE;
  x = nearest(significand, exp, x);
  return negative ? -x : x;
}

// ---- correction by exact comparison ------------------------------------------------------------

/** 32-bit limbs of the comparison's big integers: both sides stay below 2^1300 for f64 inputs. */
const BIG: i32 = 48;
/** 10^`k` for `k` from 0 to 22, exactly (every step's product is an integer an f64 holds). */
export function pow10(k: i32): f64 {
  let x: f64 = 1;
  for (; k > 0; k--) x *= 10;
  return x;
}

const left = new StaticArray<u32>(BIG);
const right = new StaticArray<u32>(BIG);

function setBig(a: StaticArray<u32>, v: u64): void {
  for (let k = 0; k < BIG; k++) unchecked((a[k] = 0));
  unchecked((a[0] = <u32>v));
  unchecked((a[1] = <u32>(v >> 32)));
}

function mulSmall(a: StaticArray<u32>, m: u32): void {
  let carry: u64 = 0;
  for (let k = 0; k < BIG; k++) {
    const v = <u64>unchecked(a[k]) * <u64>m + carry;
    unchecked((a[k] = <u32>v));
    carry = v >> 32;
  }
}

function mulPow5(a: StaticArray<u32>, n: i32): void {
  for (; n >= 13; n -= 13) mulSmall(a, 1220703125); // 5^13
  let m: u32 = 1;
  for (; n > 0; n--) m *= 5;
  if (m != 1) mulSmall(a, m);
}

function shiftLeft(a: StaticArray<u32>, n: i32): void {
  const words = n >> 5;
  const bits = n & 31;
  for (let k = BIG - 1; k >= 0; k--) {
    const from = k - words;
    let v: u32 = 0;
    if (from >= 0) {
      v = unchecked(a[from]) << (<u32>bits);
      if (bits != 0 && from > 0) v |= unchecked(a[from - 1]) >>> <u32>(32 - bits);
    }
    unchecked((a[k] = v));
  }
}

function compareBig(a: StaticArray<u32>, b: StaticArray<u32>): i32 {
  for (let k = BIG - 1; k >= 0; k--) {
    const x = unchecked(a[k]);
    const y = unchecked(b[k]);
    if (x != y) return x > y ? 1 : -1;
  }
  return 0;
}

/** Compares significand × 10^exp with odd × 2^twos: -1, 0 or 1. */
function compareWith(significand: u64, exp: i32, odd: u64, twos: i32): i32 {
  setBig(left, significand);
  setBig(right, odd);
  let leftTwos = 0;
  if (exp >= 0) {
    mulPow5(left, exp);
    leftTwos = exp;
  } else {
    mulPow5(right, -exp);
    twos -= exp;
  }
  if (leftTwos > twos) shiftLeft(left, leftTwos - twos);
  else if (twos > leftTwos) shiftLeft(right, twos - leftTwos);
  return compareBig(left, right);
}

/** Compares significand × 10^exp with a positive finite `x` exactly: -1, 0 or 1. */
export function compareDecimal(significand: u64, exp: i32, x: f64): i32 {
  const bits = reinterpret<u64>(x);
  const biased = <i32>(bits >> 52);
  const fraction = bits & 0xfffffffffffff;
  const m: u64 = biased == 0 ? fraction : fraction | ((<u64>1) << 52);
  const e: i32 = biased == 0 ? -1074 : biased - 1075;
  return compareWith(significand, exp, m, e);
}

/**
 * Where significand × 10^exp rounds (to nearest, ties to even) against a positive finite `x`: 1
 * above `x`, -1 below it, 0 to `x` itself (exact comparisons with the midpoints around `x`).
 */
export function roundsTo(significand: u64, exp: i32, x: f64): i32 {
  const bits = reinterpret<u64>(x);
  const biased = <i32>(bits >> 52);
  const fraction = bits & 0xfffffffffffff;
  const m: u64 = biased == 0 ? fraction : fraction | ((<u64>1) << 52);
  const e: i32 = biased == 0 ? -1074 : biased - 1075;
  const odd = (m & 1) != 0;
  const up = compareWith(significand, exp, 2 * m + 1, e - 1);
  if (up > 0 || (up == 0 && odd)) return 1;
  // Below a power of two the next float down is half an ulp away.
  const down =
    fraction == 0 && biased > 1
      ? compareWith(significand, exp, 4 * m - 1, e - 2)
      : compareWith(significand, exp, 2 * m - 1, e - 1);
  return down < 0 || (down == 0 && odd) ? -1 : 0;
}

/** Moves a positive guess by ulps until it is the f64 nearest to significand × 10^exp. */
function nearest(significand: u64, exp: i32, guess: f64): f64 {
  let c = guess;
  for (let step = 0; step < 64; step++) {
    const side = roundsTo(significand, exp, c);
    if (side == 0) return c;
    const bits = reinterpret<u64>(c);
    if (side > 0) {
      c = reinterpret<f64>(bits + 1);
      if (!isFinite(c)) return c;
    } else {
      if (bits <= 1) return 0;
      c = reinterpret<f64>(bits - 1);
    }
  }
  return c;
}
