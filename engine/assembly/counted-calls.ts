// Counted calls: the engine's decision state that outlives a decision (a rate limit's window of
// Allowed calls; budgets later), read and restored by the host so that a fresh instance carries
// on counting where a dead one stopped. A worker restart must not turn "3 per hour" into 6.
//
// Invariants:
// - only entries whose Allow rule counts calls (a rate limit) take a restored call
// - a restored call goes into the window as `decide` records one (window.ts: the call allowed first
//   is forgotten past the window's bound), so restoring a longer history is never less strict
// - a time `decide` would refuse (beyond 2^43 s, not finite) is not restored

import { MAX_NOW, active } from "./decide";
import { historyBound, recordTime } from "./window";

/**
 * How many counted calls entry `entry` keeps: as many as its window remembers (window.ts), 0 when its calls
 * are not counted, -1 without a policy or for an entry that does not exist.
 */
export function countedKeep(entry: i32): i32 {
  const p = active;
  if (p == null || entry < 0 || entry >= p.entries.length) return -1;
  const allow = unchecked(p.entries[entry]).allow;
  return allow != null && allow.rateMax > 0 ? historyBound(allow.rateMax) : 0;
}

/** Counts a call an earlier instance allowed on entry `entry` at `at` seconds; 1 when counted, else 0. */
export function restoreCounted(entry: i32, at: f64): i32 {
  if (countedKeep(entry) <= 0 || !(Math.abs(at) <= MAX_NOW)) return 0;
  const e = unchecked(active!.entries[entry]);
  recordTime(e, e.allow!.rateMax, at);
  return 1;
}
