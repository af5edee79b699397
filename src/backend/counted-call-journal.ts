/**
 * The backend's copy of what the engine counted (src/engine/counted-calls.ts), kept where the
 * engine's death cannot reach it: on the page for the worker engine, beside the instance for the
 * inline one. A fresh engine is given {@link CountedCallJournal.calls} before it answers any call.
 *
 * Checklist:
 * - it holds, per (tool, role) and per budget principal (`per`), the newest `keep` counted calls:
 *   a superset of the engine's windows (a rate limit's newest `max` of the pair are among the
 *   newest `keep` of their principal), so a restored window is never less strict than the lost
 *   one; memory is bounded as the engine's windows are;
 * - {@link CountedCallJournal.calls} gives them back in the order they were counted, across
 *   principals, as the engine counted them;
 * - it is filled only from answers the caller was given (a call answered Deny by a fault does
 *   not count, whatever the dead engine did), and emptied when a new policy is loaded (the engine
 *   starts new windows with a new policy; a load of the active policy's text keeps them).
 */
import type { CountedCall } from '../engine/counted-calls.ts';

/** One (tool, role, principal)'s newest counted calls, a ring of `keep`, each with its order. */
interface History {
  readonly calls: CountedCall[];
  readonly order: number[];
  head: number;
}

/** Counted calls by (tool, role) and principal, the newest `keep` of each; see the module comment. */
export class CountedCallJournal {
  readonly #histories = new Map<string, History>();
  #next = 0;

  /** Keeps `call`; its history's oldest goes when it already holds `keep`. */
  add(call: CountedCall): void {
    const key = `${call.tool.length}:${call.tool}${call.role.length}:${call.role}${typeof call.per}:${String(call.per)}`;
    let h = this.#histories.get(key);
    if (h === undefined) this.#histories.set(key, (h = { calls: [], order: [], head: 0 }));
    const order = this.#next++;
    if (h.calls.length < call.keep) {
      h.calls.push(call);
      h.order.push(order);
    } else {
      // Full (or `keep` shrank, which it cannot within one policy): the oldest goes.
      h.calls[h.head] = call;
      h.order[h.head] = order;
      h.head = (h.head + 1) % h.calls.length;
    }
  }

  /** Everything kept, in the order it was counted: what a fresh engine restores. */
  calls(): CountedCall[] {
    const all: { call: CountedCall; order: number }[] = [];
    for (const h of this.#histories.values())
      h.calls.forEach((call, i) => all.push({ call, order: h.order[i]! }));
    return all.sort((a, b) => a.order - b.order).map((x) => x.call);
  }

  /** Forgets everything: a new policy starts new windows. */
  clear(): void {
    this.#histories.clear();
  }
}
