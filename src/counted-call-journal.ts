/**
 * The backend's copy of what the engine counted (src/engine/counted-calls.ts), kept where the
 * engine's death cannot reach it: on the page for the worker engine, beside the instance for the
 * inline one. A fresh engine is given {@link CountedCallJournal.calls} before it answers any call.
 *
 * Checklist:
 * - it holds, per (tool, role), the newest `keep` counted calls in the order they were counted:
 *   a superset of the engine's window, so a restored window is never less strict than the lost
 *   one; memory is bounded as the engine's windows are (`keep` times per pair that was counted);
 * - it is filled only from answers the caller was given (a call answered Deny by a fault does
 *   not count, whatever the dead engine did), and emptied when a new policy is loaded (the engine
 *   starts new windows with a new policy).
 */
import type { CountedCall } from './engine/counted-calls.ts';

/** One pair's newest counted times, a ring of `keep`. */
interface PairHistory {
  readonly tool: string;
  readonly role: string;
  readonly times: Float64Array;
  head: number;
  count: number;
}

/** Counted calls by (tool, role), the newest `keep` of each; see the module comment. */
export class CountedCallJournal {
  readonly #pairs = new Map<string, Map<string, PairHistory>>();

  /** Keeps `call`; the pair's oldest goes when it already holds `keep`. */
  add(call: CountedCall): void {
    let byRole = this.#pairs.get(call.tool);
    if (byRole === undefined) this.#pairs.set(call.tool, (byRole = new Map()));
    let pair = byRole.get(call.role);
    if (pair === undefined || pair.times.length !== call.keep) {
      const times = new Float64Array(call.keep);
      // A pair whose `keep` changed (it cannot, within one policy) keeps what fits.
      const kept = pair === undefined ? [] : ordered(pair).slice(-call.keep);
      times.set(kept);
      pair = { tool: call.tool, role: call.role, times, head: 0, count: kept.length };
      byRole.set(call.role, pair);
    }
    const keep = pair.times.length;
    if (pair.count === keep) {
      pair.times[pair.head] = call.at;
      pair.head = (pair.head + 1) % keep;
    } else {
      pair.times[(pair.head + pair.count) % keep] = call.at;
      pair.count++;
    }
  }

  /** Everything kept, oldest first within each pair: what a fresh engine restores. */
  calls(): CountedCall[] {
    const out: CountedCall[] = [];
    for (const byRole of this.#pairs.values()) {
      for (const pair of byRole.values()) {
        const keep = pair.times.length;
        for (const at of ordered(pair)) out.push({ tool: pair.tool, role: pair.role, at, keep });
      }
    }
    return out;
  }

  /** Forgets everything: a new policy starts new windows. */
  clear(): void {
    this.#pairs.clear();
  }
}

function ordered(pair: PairHistory): number[] {
  const out = new Array<number>(pair.count);
  for (let i = 0; i < pair.count; i++) out[i] = pair.times[(pair.head + i) % pair.times.length]!;
  return out;
}
