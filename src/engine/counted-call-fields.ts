/**
 * What a counted call spent, read from the call's budget fields when the engine counts it, and
 * written back into those fields when a fresh instance restores it (counted-calls.ts).
 */
import type { CountedCall } from './counted-calls.ts';
import type { EntryPlan, FieldPlan } from './policy-plan.ts';
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

/** Sources holding only what a counted call spent, at the budget's field paths, for a restore. */
export function spentRoots(entry: EntryPlan, call: CountedCall): [unknown, unknown, unknown] {
  const roots: [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>] = [
    {},
    {},
    {},
  ];
  const put = (f: FieldPlan, value: unknown): void => {
    let o = roots[f.source as 0 | 1 | 2];
    for (let k = 0; k < f.path.length - 1; k++) {
      const key = f.path[k]!;
      const next = Object.hasOwn(o, key) ? o[key] : undefined;
      o =
        typeof next === 'object' && next !== null
          ? (next as Record<string, unknown>)
          : ((o[key] = {}) as Record<string, unknown>);
    }
    o[f.path[f.path.length - 1]!] = value;
  };
  const [spentField, perField] = entry.budget!;
  if (call.spent !== undefined) put(spentField, call.spent);
  if (perField !== null && call.per !== undefined) put(perField, call.per);
  return roots;
}
