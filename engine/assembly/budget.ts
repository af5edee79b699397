// Budgets on Allow rules: the sum of a field, or the number of its distinct values, over the calls
// the rule allowed in a sliding window of the host's time, optionally one budget per principal.
//
// Invariants:
// - only a final Allow (or an Ask a person approved) is recorded; the call being decided counts
// - a budget field that is missing or mistyped (sum: a number of 0 or more; distinct and per: a
//   string or a number) is unknown, and the rule does not allow
// - a window keeps at most MAX_BUDGET_CALLS calls and an entry at most MAX_BUDGET_KEYS principals;
//   past either bound the call is denied (fail closed), never an older call forgotten
// - a call at a time later than `now` (the host's clock went back) stays in the window

import { MAX_NOW } from './decision';
import { T_NULL, T_NUMBER, T_STRING } from '../../src/engine/engine-boundary';
import { region, slot, tagOf } from './slots';
import { Writer } from './writer';
import { Entry, Policy, Rule } from './policy';

export const B_SUM: i32 = 1;
export const B_DISTINCT: i32 = 2;

/** Most calls one budget window keeps. */
export const MAX_BUDGET_CALLS: i32 = 10000;
/** Most principals (`per` values) one (tool, role) keeps budgets for. */
export const MAX_BUDGET_KEYS: i32 = 10000;

/** What `checkBudget` found. */
export const FITS: i32 = 0;
export const EXCEEDED: i32 = 1;
export const UNREADABLE: i32 = 2;

/** One principal's window: the calls the rule allowed, oldest first from `head`. */
class BudgetWindow {
  times: f64[] = [];
  amounts: f64[] = [];
  values: string[] = [];
  head: i32 = 0;
  /** Distinct budgets: live calls per value. */
  live: Map<string, i32> = new Map();
  /**
   * Sum budgets: the running sum of the live amounts, and how many of them are not integers. With
   * none (and a sum within 2^53) every partial sum is exact, so `total` is the window's sum as a
   * scan in order would add it; otherwise the sum is scanned (rounding as documented).
   */
  total: f64 = 0;
  fractional: i32 = 0;

  size(): i32 {
    return this.times.length - this.head;
  }

  add(at: f64, amount: f64, value: string): void {
    this.times.push(at);
    this.amounts.push(amount);
    this.values.push(value);
    if (value.length > 0) this.live.set(value, this.live.has(value) ? this.live.get(value) + 1 : 1);
    this.total += amount;
    if (amount != Math.floor(amount)) this.fractional++;
  }

  /** The sum of the live amounts, added oldest first. */
  sum(): f64 {
    if (this.fractional == 0 && this.total <= 9007199254740992) return this.total;
    let used: f64 = 0;
    for (let i = this.head, n = this.times.length; i < n; i++) used += unchecked(this.amounts[i]);
    return used;
  }

  /** Drops the calls at or before `floor`; compacts the arrays once half of them is dead. */
  expire(floor: f64): void {
    const times = this.times;
    let h = this.head;
    while (h < times.length && unchecked(times[h]) <= floor) {
      const v = unchecked(this.values[h]);
      const amount = unchecked(this.amounts[h]);
      this.total -= amount;
      if (amount != Math.floor(amount)) this.fractional--;
      if (v.length > 0) {
        const n = this.live.get(v) - 1;
        if (n == 0) this.live.delete(v);
        else this.live.set(v, n);
      }
      h++;
    }
    this.head = h;
    // Exact again once empty (a sum with fractions may have drifted).
    if (h == times.length) {
      this.total = 0;
      this.fractional = 0;
    }
    if (h > 64 && h * 2 > times.length) {
      this.times = times.slice(h);
      this.amounts = this.amounts.slice(h);
      this.values = this.values.slice(h);
      this.head = 0;
    }
  }
}

// Windows of the policy they were made under, by entry index, then by principal key.
let owner: Policy | null = null;
let windows: Map<i32, Map<string, BudgetWindow>> = new Map();

// The last check, for `recordBudget` and the reason.
let lastWindow: BudgetWindow | null = null;
let lastAmount: f64 = 0;
let lastValue: string = '';
let lastKey: string = '';
let lastStatus: i32 = FITS;
/** The field that made the last check unreadable, and why (0 missing, 1 mistyped, 2 negative, 3 no time, 4 too many principals). */
let lastBadField: i32 = -1;
let lastBad: i32 = 0;
let lastUsed: f64 = 0;
let lastFrees: f64 = 0;
let lastRetry: f64 = -1;
let lastFull: bool = false;

/** A slot as a key: "s" + a string, "n" + a number; "" when it is neither. */
function keyOf(f: i32): string {
  const s = slot(f);
  const tag = tagOf(f);
  if (tag == T_STRING)
    return 's' + String.UTF8.decodeUnsafe(region + <usize>load<u32>(s, 8), <usize>load<u32>(s, 4));
  if (tag == T_NUMBER) return 'n' + load<f64>(s, 8).toString();
  return '';
}

function windowsOf(p: Policy, e: Entry): Map<string, BudgetWindow> {
  if (owner !== p) {
    owner = p;
    windows = new Map();
  }
  if (!windows.has(e.index)) windows.set(e.index, new Map());
  return windows.get(e.index);
}

/** Reads the budget's fields into `lastAmount`/`lastValue`/`lastKey`; false (with the cause) when unknown. */
function readFields(r: Rule): bool {
  lastBadField = -1;
  const f = r.budgetField;
  const tag = tagOf(f);
  lastValue = '';
  lastAmount = 0;
  if (r.budgetKind == B_SUM) {
    if (tag != T_NUMBER) return bad(f, tag <= T_NULL ? 0 : 1);
    lastAmount = load<f64>(slot(f), 8);
    if (lastAmount < 0) return bad(f, 2);
  } else {
    lastValue = keyOf(f);
    if (lastValue.length == 0) return bad(f, tag <= T_NULL ? 0 : 1);
  }
  lastKey = '';
  if (r.budgetPer >= 0) {
    lastKey = keyOf(r.budgetPer);
    if (lastKey.length == 0) return bad(r.budgetPer, tagOf(r.budgetPer) <= T_NULL ? 0 : 1);
  }
  return true;
}

function bad(f: i32, why: i32): bool {
  lastBadField = f;
  lastBad = why;
  return false;
}

/**
 * Checks the Allow rule `r`'s budget on entry `e` for the call in the slots at `now`: FITS (then
 * `recordBudget` counts it once the decision is final), EXCEEDED or UNREADABLE (a Deny).
 */
export function checkBudget(p: Policy, e: Entry, r: Rule, now: f64, hasNow: bool): i32 {
  lastWindow = null;
  lastRetry = -1;
  lastFull = false;
  if (!hasNow || !(Math.abs(now) <= MAX_NOW)) {
    lastBadField = -1;
    lastBad = 3;
    return (lastStatus = UNREADABLE);
  }
  if (!readFields(r)) return (lastStatus = UNREADABLE);
  const byKey = windowsOf(p, e);
  let w: BudgetWindow;
  if (byKey.has(lastKey)) w = byKey.get(lastKey);
  else {
    if (byKey.size >= MAX_BUDGET_KEYS) sweep(byKey, now - r.budgetSeconds);
    if (byKey.size >= MAX_BUDGET_KEYS) {
      lastBadField = r.budgetPer;
      lastBad = 4;
      return (lastStatus = UNREADABLE);
    }
    w = new BudgetWindow();
    byKey.set(lastKey, w);
  }
  lastWindow = w;
  w.expire(now - r.budgetSeconds);
  const per = r.budgetSeconds;
  if (w.size() >= MAX_BUDGET_CALLS) {
    lastFull = true;
    lastUsed = <f64>w.size();
    lastRetry = retryAt(unchecked(w.times[w.head]) + per - now);
    return (lastStatus = EXCEEDED);
  }
  if (r.budgetKind == B_SUM) {
    const used = w.sum();
    lastUsed = used;
    if (used + lastAmount <= r.budgetMax) return (lastStatus = FITS);
    if (lastAmount > r.budgetMax) return (lastStatus = EXCEEDED);
    // Oldest first: the first time enough has left the window for this call to fit.
    let freed: f64 = 0;
    for (let i = w.head, n = w.times.length; i < n; i++) {
      freed += unchecked(w.amounts[i]);
      if (used - freed + lastAmount <= r.budgetMax) {
        lastFrees = freed;
        lastRetry = retryAt(unchecked(w.times[i]) + per - now);
        break;
      }
    }
    return (lastStatus = EXCEEDED);
  }
  lastUsed = <f64>w.live.size;
  if (w.live.has(lastValue) || lastUsed + 1 <= r.budgetMax) return (lastStatus = FITS);
  if (r.budgetMax < 1) return (lastStatus = EXCEEDED);
  // A value frees up when its newest call leaves the window: the earliest such time.
  let soonest = Infinity;
  const seen = new Set<string>();
  for (let i = w.times.length - 1; i >= w.head; i--) {
    const v = unchecked(w.values[i]);
    if (seen.has(v)) continue;
    seen.add(v);
    const t = unchecked(w.times[i]);
    if (t < soonest) soonest = t;
  }
  lastFrees = 1;
  lastRetry = retryAt(soonest + per - now);
  return (lastStatus = EXCEEDED);
}

function retryAt(seconds: f64): f64 {
  const s = Math.ceil(seconds);
  return s < 1 ? 1 : s;
}

/** Drops the principals whose windows are empty at `floor`. */
function sweep(byKey: Map<string, BudgetWindow>, floor: f64): void {
  const keys = byKey.keys();
  for (let i = 0; i < keys.length; i++) {
    const w = byKey.get(keys[i]);
    w.expire(floor);
    if (w.size() == 0) byKey.delete(keys[i]);
  }
}

/** Counts the call the last `checkBudget` let through (FITS) at `now`. */
export function recordBudget(now: f64): void {
  const w = lastWindow;
  if (w != null && lastStatus == FITS) w.add(now, lastAmount, lastValue);
}

/**
 * Counts, in a fresh instance, a call an earlier one allowed on `e` at `at`, from the budget's
 * slots the host wrote; true when counted. A full window drops its oldest (the earlier instance
 * counted no more than the bound, so this is never less strict).
 */
export function restoreBudget(p: Policy, e: Entry, r: Rule, at: f64): bool {
  if (!(Math.abs(at) <= MAX_NOW) || !readFields(r)) return false;
  const byKey = windowsOf(p, e);
  if (!byKey.has(lastKey)) {
    if (byKey.size >= MAX_BUDGET_KEYS) return false;
    byKey.set(lastKey, new BudgetWindow());
  }
  const w = byKey.get(lastKey);
  if (w.size() >= MAX_BUDGET_CALLS) w.expire(unchecked(w.times[w.head]));
  w.add(at, lastAmount, lastValue);
  return true;
}

/**
 * Writes the budgets' state as JSON: `[{"tool","role","rule","per","calls","used"}]`, one per
 * principal with calls kept, as the window stood at its last check (older calls leave at the next).
 */
export function wBudgetState(w: Writer): void {
  w.byte(0x5b);
  const p = owner;
  let first = true;
  if (p != null) {
    const entries = windows.keys();
    for (let i = 0; i < entries.length; i++) {
      const e = unchecked(p.entries[entries[i]]);
      const r = e.allow;
      if (r == null) continue;
      const byKey = windows.get(entries[i]);
      const keys = byKey.keys();
      for (let k = 0; k < keys.length; k++) {
        const win = byKey.get(keys[k]);
        if (win.size() == 0) continue;
        if (!first) w.byte(0x2c);
        first = false;
        w.str('{"tool":');
        w.jsonStr(e.tool);
        w.str(',"role":');
        w.jsonStr(e.role);
        w.str(',"rule":');
        w.jsonStr(r.name);
        w.str(',"per":');
        const key = keys[k];
        if (key.length == 0) w.str('null');
        else if (key.charCodeAt(0) == 0x73) w.jsonStr(key.substring(1));
        else w.str(key.substring(1));
        w.str(',"calls":');
        w.num(<f64>win.size());
        w.str(',"used":');
        w.num(r.budgetKind == B_SUM ? win.sum() : <f64>win.live.size);
        w.str(',"max":');
        w.num(r.budgetMax);
        w.byte(0x7d);
      }
    }
  }
  w.byte(0x5d);
}

/** Seconds until the last budget-exceeded call would fit, or -1 (it never fits, or it is unknown). */
export function budgetRetry(): f64 {
  return lastStatus == EXCEEDED ? lastRetry : -1;
}

function wName(w: Writer, p: Policy, f: i32): void {
  w.str(unchecked(p.fields[f]).name);
}

function wAmount(w: Writer, x: f64): void {
  // Sums of decimals (0.1 + 0.2) are shown rounded to 10 significant decimals.
  w.num(Math.round(x * 1e10) / 1e10);
}

function wWindow(w: Writer, r: Rule): void {
  w.str(' in the last ');
  w.num(r.budgetSeconds);
  w.str(' s');
}

function wPrincipal(w: Writer, p: Policy, r: Rule): void {
  if (r.budgetPer < 0) return;
  w.str(' for ');
  wName(w, p, r.budgetPer);
  w.str(' = ');
  const k = lastKey;
  if (k.charCodeAt(0) == 0x73) {
    const b = String.UTF8.encode(k.substring(1));
    w.quotedBytes(changetype<usize>(b), b.byteLength, 64);
  } else w.str(k.substring(1));
}

/** Writes the detail of the last budget Deny after the rule prefix. */
export function wBudgetReason(w: Writer, p: Policy, r: Rule): void {
  w.str("; budget of rule '");
  w.str(r.name.length <= 64 ? r.name : r.name.substring(0, 64) + '…');
  w.str("' ");
  if (lastStatus == UNREADABLE) {
    w.str('cannot be checked: ');
    switch (lastBad) {
      case 3:
        return w.str('the host must pass "now" in seconds (at most 2^43)');
      case 4: {
        w.str('it already keeps ');
        w.num(<f64>MAX_BUDGET_KEYS);
        w.str(' budgets by ');
        wName(w, p, r.budgetPer);
        return w.str('; retry when older ones run out');
      }
      default: {
        wName(w, p, lastBadField);
        if (lastBad == 0) w.str(' is missing');
        else if (lastBad == 2) w.str(' is negative');
        else
          w.str(
            ' is not ' +
              (lastBadField == r.budgetField && r.budgetKind == B_SUM
                ? 'a number'
                : 'a string or a number'),
          );
        w.str('; pass ');
        return w.str(
          lastBadField == r.budgetField && r.budgetKind == B_SUM
            ? 'a number of 0 or more'
            : 'a string or a number',
        );
      }
    }
  }
  w.str('reached: ');
  if (lastFull) {
    w.str('it keeps at most ');
    w.num(<f64>MAX_BUDGET_CALLS);
    w.str(' calls');
    wWindow(w, r);
    wPrincipal(w, p, r);
  } else if (r.budgetKind == B_SUM) {
    wAmount(w, lastUsed);
    w.str(' of ');
    wAmount(w, r.budgetMax);
    w.str(' (the sum of ');
    wName(w, p, r.budgetField);
    w.str(') used');
    wWindow(w, r);
    wPrincipal(w, p, r);
    w.str(', and this call adds ');
    wAmount(w, lastAmount);
    if (lastRetry < 0) return w.str(', more than the whole budget');
    w.str('; ');
    wAmount(w, lastFrees);
    w.str(' frees up in ');
  } else {
    wAmount(w, lastUsed);
    w.str(' of ');
    wAmount(w, r.budgetMax);
    w.str(' distinct values of ');
    wName(w, p, r.budgetField);
    w.str(' used');
    wWindow(w, r);
    wPrincipal(w, p, r);
    w.str(', and this call adds a new one');
    if (lastRetry < 0) return;
    w.str('; one frees up in ');
  }
  if (lastFull) w.str('; one frees up in ');
  w.num(lastRetry);
  w.str(' s');
}
