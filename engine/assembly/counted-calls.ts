// Counted calls: the engine's decision state that outlives a decision (a rate limit's window of
// Allowed calls; a budget's window of amounts or values, budget.ts), read and restored by the host so that a fresh instance carries
// on counting where a dead one stopped. A worker restart must not turn "3 per hour" into 6.
//
// Invariants:
// - only entries whose Allow rule counts calls (a rate limit, a budget) take a restored call
// - a budget's call is restored from the budget's slots, which the host writes first (budget.ts)
// - a restored call goes into the window as `decide` records one (window.ts: the call allowed first
//   is forgotten past the window's bound), so restoring a longer history is never less strict
// - a time `decide` would refuse (beyond 2^43 s, not finite) is not restored

import { MAX_NOW, active } from './decision';
import { historyBound, recordTime } from './window';
import { MAX_BUDGET_CALLS, restoreBudget } from './budget';

/**
 * How many counted calls entry `entry` keeps: as many as its window remembers (window.ts), with a
 * budget at least MAX_BUDGET_CALLS (per principal), 0 when its calls are not counted, -1 without a
 * policy or for an entry that does not exist.
 */
export function countedKeep(entry: i32): i32 {
  const p = active;
  if (p == null || entry < 0 || entry >= p.entries.length) return -1;
  const allow = unchecked(p.entries[entry]).allow;
  if (allow == null) return 0;
  const rate = allow.rateMax > 0 ? historyBound(allow.rateMax) : 0;
  return allow.budgetKind != 0 ? max(rate, MAX_BUDGET_CALLS) : rate;
}

/** Counts a call an earlier instance allowed on entry `entry` at `at` seconds; 1 when counted, else 0. */
export function restoreCounted(entry: i32, at: f64): i32 {
  if (countedKeep(entry) <= 0 || !(Math.abs(at) <= MAX_NOW)) return 0;
  const e = unchecked(active!.entries[entry]);
  const allow = e.allow!;
  if (allow.budgetKind != 0 && !restoreBudget(active!, allow, at)) return 0;
  if (allow.rateMax > 0) recordTime(e, allow.rateMax, at);
  return 1;
}
