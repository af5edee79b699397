// One principal's budget window (budget.ts): the calls a rule allowed, oldest first, in ring
// buffers that grow by doubling, so counting a call allocates nothing once the window is warm.
//
// Invariants:
// - calls leave from the oldest end only: a call at a time later than `now` (the host's clock went
//   back) keeps the calls after it in the window until it leaves
// - `total` is the window's sum as adding in order would give it while every amount is a whole
//   number (and the sum stays within 2^53); otherwise `sum` adds the amounts up in order
// - `live` counts the calls per value of a distinct budget

import { madeGarbage } from './writer';

const INITIAL: i32 = 8;

/** One principal's window: times, and amounts (sum budgets) or values (distinct budgets). */
export class BudgetWindow {
  times: StaticArray<f64> = new StaticArray<f64>(INITIAL);
  amounts: StaticArray<f64>;
  values: StaticArray<string>;
  /** Ring index of the oldest call. */
  head: i32 = 0;
  /** The buffers' length - 1 (a power of two - 1): ring index arithmetic without reading a length. */
  mask: i32 = INITIAL - 1;
  count: i32 = 0;
  /** Distinct budgets: live calls per value. */
  live: Map<string, i32> = new Map();
  total: f64 = 0;
  /** How many live amounts are not whole numbers. */
  fractional: i32 = 0;
  readonly distinct: bool;

  constructor(distinct: bool) {
    this.distinct = distinct;
    this.amounts = new StaticArray<f64>(distinct ? 0 : INITIAL);
    this.values = new StaticArray<string>(distinct ? INITIAL : 0);
  }

  size(): i32 {
    return this.count;
  }

  /** Ring index of the `i`-th oldest call. */
  at(i: i32): i32 {
    return (this.head + i) & this.mask;
  }

  /** Time of the `i`-th oldest call. */
  timeAt(i: i32): f64 {
    return load<f64>(changetype<usize>(this.times) + ((<usize>this.at(i)) << 3));
  }

  /** Amount of the `i`-th oldest call (sum budgets). */
  amountAt(i: i32): f64 {
    return load<f64>(changetype<usize>(this.amounts) + ((<usize>this.at(i)) << 3));
  }

  /** Value of the `i`-th oldest call (distinct budgets). */
  valueAt(i: i32): string {
    return unchecked(this.values[this.at(i)]);
  }

  /** Counts a call at `at` that spent `amount` (sum) or `value` (distinct). */
  add(at: f64, amount: f64, value: string): void {
    if (this.count > this.mask) this.grow();
    const k = (this.head + this.count) & this.mask;
    store<f64>(changetype<usize>(this.times) + ((<usize>k) << 3), at);
    if (this.distinct) {
      unchecked((this.values[k] = value));
      this.live.set(value, this.live.has(value) ? this.live.get(value) + 1 : 1);
    } else {
      store<f64>(changetype<usize>(this.amounts) + ((<usize>k) << 3), amount);
      this.total += amount;
      if (amount != Math.floor(amount)) this.fractional++;
    }
    this.count++;
  }

  /** The sum of the live amounts, added oldest first. */
  sum(): f64 {
    if (this.fractional == 0 && this.total <= 9007199254740992) return this.total;
    let used: f64 = 0;
    for (let i = 0, n = this.count; i < n; i++) used += this.amountAt(i);
    return used;
  }

  /** Drops the oldest calls while they are at or before `floor`. */
  expire(floor: f64): void {
    const times = changetype<usize>(this.times);
    while (this.count > 0) {
      const k = this.head;
      if (load<f64>(times + ((<usize>k) << 3)) > floor) break;
      if (this.distinct) {
        const v = unchecked(this.values[k]);
        const n = this.live.get(v) - 1;
        if (n == 0) this.live.delete(v);
        else this.live.set(v, n);
        unchecked((this.values[k] = ''));
      } else {
        const amount = load<f64>(changetype<usize>(this.amounts) + ((<usize>k) << 3));
        this.total -= amount;
        if (amount != Math.floor(amount)) this.fractional--;
      }
      this.head = (k + 1) & this.mask;
      this.count--;
    }
    // Exact again once empty (a sum with fractions may have drifted).
    if (this.count == 0) {
      this.total = 0;
      this.fractional = 0;
    }
  }

  /** Doubles the buffers, the oldest call first at index 0. */
  private grow(): void {
    const n = this.count;
    const cap = this.times.length << 1;
    const times = new StaticArray<f64>(cap);
    for (let i = 0; i < n; i++) unchecked((times[i] = this.timeAt(i)));
    if (this.distinct) {
      const values = new StaticArray<string>(cap);
      for (let i = 0; i < n; i++) unchecked((values[i] = this.valueAt(i)));
      this.values = values;
    } else {
      const amounts = new StaticArray<f64>(cap);
      for (let i = 0; i < n; i++) unchecked((amounts[i] = this.amountAt(i)));
      this.amounts = amounts;
    }
    this.times = times;
    this.head = 0;
    this.mask = cap - 1;
    madeGarbage = true;
  }
}
