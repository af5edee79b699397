/**
 * Counted calls restored into a fresh instance: what an earlier instance counted under the same
 * policy, counted again in order, with what each spent written back into its budget fields.
 *
 * Checklist:
 * - a call on a pair that counts nothing here, or whose spent value cannot be written, or at a
 *   time the engine refuses, is not counted (the caller compares the count with the list);
 * - a trap kills the instance.
 */
import type { CountedCall } from './counted-calls.ts';
import type { EngineCore } from './engine-core.ts';
import type { EntryPlan, FieldPlan } from './policy-plan.ts';

/**
 * Counts `calls`, which an earlier instance counted under the same policy, in order (oldest
 * first per pair), so that `engine` carries on where that one stopped. Returns how many were
 * counted.
 */
export function restoreCounted(engine: EngineCore, calls: readonly CountedCall[]): number {
  const state = engine.loaded;
  if (engine.fault !== null || state === null) return 0;
  let restored = 0;
  try {
    for (const call of calls) {
      const entry = state.entries.get(call.tool)?.get(call.role);
      if (entry === undefined || entry.keep <= 0) continue;
      // A budget reads what the call spent from its slots: write them as the call had them.
      if (
        entry.budget !== null &&
        engine.writer.write(entry, spentRoots(entry, call), state.dataStart) !== null
      )
        continue;
      restored += engine.x.restoreCounted(entry.index, call.at);
    }
  } catch (e) {
    engine.kill(e);
  }
  return restored;
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
