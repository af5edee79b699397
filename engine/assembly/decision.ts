// The decision order over an entry's rules: Deny, then Allow, rate limit, budget, then Ask.
//
// Invariants:
// - only a condition that is *true* allows (DESIGN §2.3)
// - Deny and Ask rules hold when true or unknown; Ask never lifts a Deny
// - a rate-limited Allow is recorded only when the final decision is Allow

import {
  CODE_DETAIL,
  D_ALLOW,
  D_ASK,
  D_DENY,
  K_ASK,
  K_BUDGET,
  K_BUDGET_UNKNOWN,
  K_DENIED,
  K_FAILED,
  K_NO_CONDITION,
  K_NO_RULE,
  K_PASSED,
  K_RATE,
} from '../../src/engine/engine-boundary';
import { Writer } from './writer';
import { freeMemo, memoFor, memoId } from './memo';
import { recordTime, windowWait } from './window';
import { FITS, UNREADABLE, checkBudget, recordBudget, budgetRetry } from './budget';
import { Entry, Policy, Rule } from './policy';
import { TRUE, FALSE, evalCond } from './conditions';
import { openRegion, region, wSlots } from './slots';

/** Largest |now| a rate limit accepts, in seconds (2^43: about 278 000 years, sub-millisecond precision). */
export const MAX_NOW: f64 = 8796093022208;

/** The active policy; replaced only by a successful load. */
export let active: Policy | null = null;

// The last decision, for `explain` (reasons.ts and response.ts read these; only this module writes them).
/** The entry of the last decision, or null before the first one under the active policy. */
export let lastEntry: Entry | null = null;
/** The rule the last decision names, or null. */
export let lastRule: Rule | null = null;
/** The last decision's packed code (see `decide`). */
export let lastCode: i32 = 0;
/** How the rule of the last Deny or Ask held: TRUE, or UNKNOWN when its condition could not be decided. */
export let lastHeld: i32 = TRUE;
/** Seconds to wait after the last rate-limited decision, or -1 when it lacked the time. */
export let lastRetry: f64 = 0;

/** Makes `p` the active policy with a fresh region sized for its fields. */
export function activate(p: Policy): void {
  openRegion(p.fields.length);
  const old = active;
  if (old != null) {
    for (let i = 0; i < old.entries.length; i++) {
      const m = old.entries[i].memo;
      if (m != null) freeMemo(m);
    }
  }
  active = p;
  lastEntry = null;
  lastRule = null;
}

function pack(decision: i32, kind: i32, rule: Rule | null): i32 {
  const detail = kind >= K_FAILED ? CODE_DETAIL : 0;
  return decision | (kind << 2) | detail | ((rule == null ? 0 : rule.index + 1) << 8);
}

/**
 * Decides a call for entry `e` over the current slots. Order (DESIGN §2.2): a holding Deny rule;
 * else the version-1 result; a rate limit turns an Allow into Deny; a holding Ask rule turns an
 * Allow into Ask (`approved`: a person approved the call, so a holding Ask spends the rate-limit
 * budget as the Allow it becomes). Returns the packed code: decision | kind << 2 | detail flag | (rule index + 1) << 8.
 */
export function decide(p: Policy, e: Entry, now: f64, hasNow: bool, approved: bool = false): i32 {
  lastEntry = e;
  lastHeld = TRUE;
  const denies = e.denies;
  for (let i = 0, n = denies.length; i < n; i++) {
    const r = denies[i];
    const held = r.cond == null ? TRUE : evalCond(r.cond!);
    if (held != FALSE) {
      lastHeld = held;
      return finish(D_DENY, K_DENIED, r);
    }
  }
  const allow = e.allow;
  let decision: i32;
  let kind: i32;
  if (allow == null) {
    decision = p.defaultAllow ? D_ALLOW : D_DENY;
    kind = K_NO_RULE;
  } else if (allow.cond == null) {
    decision = D_ALLOW;
    kind = K_NO_CONDITION;
  } else if (evalCond(allow.cond!) == TRUE) {
    decision = D_ALLOW;
    kind = K_PASSED;
  } else {
    return finish(D_DENY, K_FAILED, allow);
  }
  if (decision != D_ALLOW) return finish(decision, kind, allow);
  let record = false;
  if (allow != null && allow.rateMax > 0) {
    // Past 2^43 s an f64 time has less than a millisecond of precision: `now - per_seconds` can
    // round to `now`, and every call would expire the one before it (unlimited Allows).
    if (!hasNow || !(Math.abs(now) <= MAX_NOW)) {
      lastRetry = -1;
      return finish(D_DENY, K_RATE, allow);
    }
    const wait = windowWait(e, allow.rateMax, allow.ratePer, now);
    if (wait > 0) {
      lastRetry = wait;
      return finish(D_DENY, K_RATE, allow);
    }
    record = true;
  }
  let spend = false;
  if (allow != null && allow.budgetKind != 0) {
    const b = checkBudget(p, allow, now, hasNow);
    if (b != FITS) return finish(D_DENY, b == UNREADABLE ? K_BUDGET_UNKNOWN : K_BUDGET, allow);
    spend = true;
  }
  const asks = e.asks;
  for (let i = 0, n = asks.length; i < n; i++) {
    const r = asks[i];
    const held = r.cond == null ? TRUE : evalCond(r.cond!);
    if (held != FALSE) {
      lastHeld = held;
      // A person approved this call: the host lifts this Ask to Allow, so it spends the budget.
      if (approved && record) recordCall(e, allow!, now);
      if (approved && spend) recordBudget(now);
      return finish(D_ASK, K_ASK, r);
    }
  }
  if (record) recordCall(e, allow!, now);
  if (spend) recordBudget(now);
  return finish(decision, kind, allow);
}

/** Records an allowed call at `now` in the entry's window. */
function recordCall(e: Entry, allow: Rule, now: f64): void {
  recordTime(e, allow.rateMax, now);
}

function finish(decision: i32, kind: i32, rule: Rule | null): i32 {
  lastRule = rule;
  lastCode = pack(decision, kind, rule);
  return lastCode;
}

const snap = new Writer();

/**
 * Stores in the region header (f64 at offset 0) the memo id of the last decision's explanation,
 * or 0 when it has no detail or must not be memoised (rate limits).
 */
export function memoizeLast(code: i32): void {
  const kind = (code >> 2) & 15;
  // A rule over untrusted content explains with the session's state, which is not in the slots.
  if ((code & CODE_DETAIL) == 0 || kind == K_RATE || kind >= K_BUDGET || active!.taint) {
    store<f64>(region, 0);
    return;
  }
  const e = lastEntry!;
  const w = snap;
  w.reset();
  wSlots(w, e);
  store<f64>(region, memoId(memoFor(e), code, w));
}

/** True when a decision was made under the active policy (so `explainReason` has one to explain). */
export function hasDecided(): bool {
  return lastEntry != null;
}

/** Seconds to wait after the last rate-limited decision, or -1. */
export function lastRetryAfter(): f64 {
  const kind = (lastCode >> 2) & 15;
  return kind == K_RATE ? lastRetry : kind == K_BUDGET ? budgetRetry() : -1;
}
