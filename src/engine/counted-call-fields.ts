/**
 * What a counted call spent, read from the call's budget fields when the engine counts it
 * (counted-calls.ts; `counted-call-restore.ts` writes it back into a fresh instance).
 */
import type { CountedCall } from './counted-calls.ts';
import type { EntryPlan } from './policy-plan.ts';
import { readPath } from './call-values.ts';

/** The call the engine just counted on `entry`, with what it spent of the budget, if any. */
export function countedCall(
  entry: EntryPlan,
  at: number,
  roots: readonly [unknown, unknown, unknown],
): CountedCall {
  const call = { tool: entry.tool, role: entry.role, at, keep: entry.keep };
  if (entry.budget === null) return call;
  const [spentField, perField] = entry.budget;
  const spent = readPath(roots[spentField.source], spentField.path) as string | number;
  return perField === null
    ? { ...call, spent }
    : { ...call, spent, per: readPath(roots[perField.source], perField.path) as string | number };
}
