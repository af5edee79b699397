// Budgets on Allow rules: the sum of a field, or the number of its distinct values, over the calls
// the rule allowed in a sliding window of the host's time, optionally one budget per principal.
// A budget is the rule's: every (tool, role) the rule grants spends from the same window.
// The windows are in budget-window.ts, the keys of values in budget-key.ts, the reasons in
// budget-reason.ts.
//
// Invariants:
// - only a final Allow (or an Ask a person approved) is recorded; the call being decided counts
// - a budget field that is missing or mistyped (sum: a number of 0 or more; distinct and per: a
//   string or a number) is unknown, and the rule does not allow
// - a window keeps at most MAX_BUDGET_CALLS calls and a rule at most MAX_BUDGET_KEYS principals;
//   past either bound the call is denied (fail closed), never an older call forgotten
// - a call at a time later than `now` (the host's clock went back) stays in the window
// - a rule without `per` has one window, shared by its entries and found without a lookup by key

import { MAX_NOW } from './decision';
import { T_NULL, T_NUMBER } from '../../src/engine/engine-boundary';
import { slot, tagOf } from './slots';
import { Writer } from './writer';
import { Policy, Rule } from './policy';
import { BudgetWindow } from './budget-window';
import { keyOf, wKeyJson } from './budget-key';

export const B_SUM: i32 = 1;
export const B_DISTINCT: i32 = 2;

/** Most calls one budget window keeps. */
export const MAX_BUDGET_CALLS: i32 = 10000;
/** Most principals (`per` values) one rule keeps budgets for. */
export const MAX_BUDGET_KEYS: i32 = 10000;

/** What `checkBudget` found. */
export const FITS: i32 = 0;
export const EXCEEDED: i32 = 1;
export const UNREADABLE: i32 = 2;

// Windows of the policy they were made under: per rule index, the window of a rule without `per`,
// or the windows by principal key; `used` lists the rules with windows, first used first.
let owner: Policy | null = null;
let single: Array<BudgetWindow | null> = [];
let byPrincipal: Array<Map<string, BudgetWindow> | null> = [];
let used: Rule[] = [];

// The last check, for `recordBudget` and the reason.
let lastWindow: BudgetWindow | null = null;
export let lastAmount: f64 = 0;
let lastValue: string = '';
export let lastKey: string = '';
export let lastStatus: i32 = FITS;
/** The field that made the last check unreadable, and why (0 missing, 1 mistyped, 2 negative, 3 no time, 4 too many principals). */
export let lastBadField: i32 = -1;
export let lastBad: i32 = 0;
export let lastUsed: f64 = 0;
export let lastFrees: f64 = 0;
export let lastRetry: f64 = -1;
export let lastFull: bool = false;

/** The windows of rule `r` of `p` (the windows of another policy are dropped first). */
function windowsOf(p: Policy, r: Rule): Map<string, BudgetWindow> {
  claim(p);
  let m = unchecked(byPrincipal[r.index]);
  if (m == null) {
    m = new Map();
    unchecked((byPrincipal[r.index] = m));
    used.push(r);
  }
  return m;
}

/** The window of rule `r` for the principal in `lastKey`, or null past the bound. */
function windowFor(p: Policy, r: Rule, now: f64, sweepAt: bool): BudgetWindow | null {
  if (r.budgetPer < 0) {
    if (owner !== p) claim(p);
    // In place: `single` has one element per rule of `p` (claim).
    let w = changetype<BudgetWindow | null>(
      load<usize>(single.dataStart + ((<usize>r.index) << alignof<usize>())),
    );
    if (w == null) {
      w = new BudgetWindow(r.budgetKind == B_DISTINCT);
      unchecked((single[r.index] = w));
      used.push(r);
    }
    return w;
  }
  const byKey = windowsOf(p, r);
  if (byKey.has(lastKey)) return byKey.get(lastKey);
  if (sweepAt && byKey.size >= MAX_BUDGET_KEYS) sweep(byKey, now - r.budgetSeconds);
  if (byKey.size >= MAX_BUDGET_KEYS) return null;
  const w = new BudgetWindow(r.budgetKind == B_DISTINCT);
  byKey.set(lastKey, w);
  return w;
}

function claim(p: Policy): void {
  if (owner === p) return;
  owner = p;
  const n = p.ruleCount;
  single = new Array<BudgetWindow | null>(n);
  byPrincipal = new Array<Map<string, BudgetWindow> | null>(n);
  used = [];
}

/** Reads the budget's fields into `lastAmount`/`lastValue`/`lastKey`; false (with the cause) when unknown. */
function readFields(r: Rule): bool {
  lastBadField = -1;
  const f = r.budgetField;
  const s = slot(f);
  const tag = <i32>load<u8>(s);
  lastValue = '';
  lastAmount = 0;
  if (r.budgetKind == B_SUM) {
    if (tag != T_NUMBER) return bad(f, tag <= T_NULL ? 0 : 1);
    lastAmount = load<f64>(s, 8);
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
 * Checks the Allow rule `r`'s budget for the call in the slots at `now`: FITS (then `recordBudget`
 * counts it once the decision is final), EXCEEDED or UNREADABLE (a Deny).
 */
export function checkBudget(p: Policy, r: Rule, now: f64, hasNow: bool): i32 {
  lastWindow = null;
  lastRetry = -1;
  lastFull = false;
  if (!hasNow || !(Math.abs(now) <= MAX_NOW)) {
    lastBadField = -1;
    lastBad = 3;
    return (lastStatus = UNREADABLE);
  }
  if (!readFields(r)) return (lastStatus = UNREADABLE);
  const found = windowFor(p, r, now, true);
  if (found == null) {
    lastBadField = r.budgetPer;
    lastBad = 4;
    return (lastStatus = UNREADABLE);
  }
  const w = found!;
  lastWindow = w;
  const per = r.budgetSeconds;
  w.expire(now - per);
  const n = w.size();
  if (n >= MAX_BUDGET_CALLS) {
    lastFull = true;
    lastUsed = <f64>n;
    lastRetry = retryAt(w.timeAt(0) + per - now);
    return (lastStatus = EXCEEDED);
  }
  if (r.budgetKind == B_SUM) {
    const spent = w.fractional == 0 && w.total <= 9007199254740992 ? w.total : w.sum();
    lastUsed = spent;
    if (spent + lastAmount <= r.budgetMax) return (lastStatus = FITS);
    if (lastAmount > r.budgetMax) return (lastStatus = EXCEEDED);
    // Oldest first: the first time enough has left the window for this call to fit.
    let freed: f64 = 0;
    for (let i = 0; i < n; i++) {
      freed += w.amountAt(i);
      if (spent - freed + lastAmount <= r.budgetMax) {
        lastFrees = freed;
        lastRetry = retryAt(w.timeAt(i) + per - now);
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
  for (let i = n - 1; i >= 0; i--) {
    const v = w.valueAt(i);
    if (seen.has(v)) continue;
    seen.add(v);
    const t = w.timeAt(i);
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
 * Counts, in a fresh instance, a call an earlier one allowed by rule `r` at `at`, from the budget's
 * slots the host wrote; true when counted. A full window drops its oldest (the earlier instance
 * counted no more than the bound, so this is never less strict).
 */
export function restoreBudget(p: Policy, r: Rule, at: f64): bool {
  if (!(Math.abs(at) <= MAX_NOW) || !readFields(r)) return false;
  const found = windowFor(p, r, at, false);
  if (found == null) return false;
  const w = found!;
  if (w.size() >= MAX_BUDGET_CALLS) w.expire(w.timeAt(0));
  w.add(at, lastAmount, lastValue);
  return true;
}

/**
 * Writes the budgets' state as JSON: `[{"rule","per","calls","used","max"}]`, one
 * per principal with calls kept, as the window stood at its last check (older calls leave at the next).
 */
export function wBudgetState(w: Writer): void {
  w.byte(0x5b);
  const p = owner;
  let first = true;
  if (p != null) {
    for (let i = 0; i < used.length; i++) {
      const r = unchecked(used[i]);
      const one = unchecked(single[r.index]);
      if (one != null) {
        if (wWindowState(w, r, '', one, first)) first = false;
        continue;
      }
      const byKey = unchecked(byPrincipal[r.index])!;
      const keys = byKey.keys();
      for (let k = 0; k < keys.length; k++)
        if (wWindowState(w, r, keys[k], byKey.get(keys[k]), first)) first = false;
    }
  }
  w.byte(0x5d);
}

function wWindowState(w: Writer, r: Rule, key: string, win: BudgetWindow, first: bool): bool {
  if (win.size() == 0) return false;
  if (!first) w.byte(0x2c);
  w.str('{"rule":');
  w.jsonStr(r.name);
  w.str(',"per":');
  wKeyJson(w, key);
  w.str(',"calls":');
  w.num(<f64>win.size());
  w.str(',"used":');
  w.num(r.budgetKind == B_SUM ? win.sum() : <f64>win.live.size);
  w.str(',"max":');
  w.num(r.budgetMax);
  w.byte(0x7d);
  return true;
}

/** Seconds until the last budget-exceeded call would fit, or -1 (it never fits, or it is unknown). */
export function budgetRetry(): f64 {
  return lastStatus == EXCEEDED ? lastRetry : -1;
}
