/**
 * Budgets on Allow rules, written from docs/policy.md ("Budgets") alone: the sum of a field, or the
 * number of its distinct values, over the calls the rule allowed in a sliding window of the host's
 * time, one budget per principal with `per`.
 *
 * Checklist (each line is a sentence of the docs):
 * - `sum`: the field is a JSON number of 0 or more; the window's amounts, added in the order the
 *   calls were allowed, plus this call's, stay at most `max`;
 * - `distinct`: the field is a string or a number; at most `max` distinct values in the window,
 *   this call's included (a value already in it costs nothing); a string and a number differ;
 * - a budget is the rule's: every (tool, role) the rule grants spends from the same one;
 * - `per`: one budget per value of that field (a string or a number);
 * - a missing or mistyped field, or no usable time, is unknown: the rule does not allow;
 * - only what the rule allowed counts (an Ask a person approved counts as the Allow it becomes);
 * - where the docs say nothing (a clock that went back), both readings of "the last per_seconds"
 *   are accepted: exactly the times in (now - S, now], or the calls kept in the order they were
 *   allowed, the oldest leaving first while it is at or before now - S.
 */

/** A rule's `budget`, checked. */
export interface ReferenceBudgetSpec {
  readonly measure: 'sum' | 'distinct';
  /** `[source, key]` of the field it reads. */
  readonly field: readonly [string, string];
  readonly max: number;
  readonly perSeconds: number;
  readonly per: readonly [string, string] | null;
  /** `"<Source>.<key>"` as written, for reasons. */
  readonly fieldName: string;
}

/** What a budget check found. */
export type ReferenceBudgetCheck =
  | { readonly fits: 'unknown' }
  | { readonly fits: boolean; readonly key: string; readonly spent: number | string };

const LARGEST_TIME = 2 ** 43;

/** A call a window keeps: when, and what it spent (an amount, or a value's key). */
interface KeptCall {
  readonly at: number;
  readonly spent: number | string;
}

/** A value as an exact key: a type and the value (-0 is 0). */
function keyOf(v: unknown): string | null {
  if (typeof v === 'string') return `s${v}`;
  if (typeof v === 'number' && Number.isFinite(v)) return `n${v === 0 ? 0 : v}`;
  return null;
}

/** The top-level field `[source, key]` of a call's sources; undefined when absent. */
function read(sources: object, [source, key]: readonly [string, string]) {
  const root = (sources as Record<string, unknown>)[source];
  if (typeof root !== 'object' || root === null || Array.isArray(root)) return undefined;
  return Object.hasOwn(root, key) ? (root as Record<string, unknown>)[key] : undefined;
}

/** Reads `"<Source>.<field>"`: a source, a dot, one top-level key. */
export function budgetField(text: unknown): readonly [string, string] | null {
  if (typeof text !== 'string') return null;
  const dot = text.indexOf('.');
  if (dot < 0) return null;
  const source = text.slice(0, dot);
  const key = text.slice(dot + 1);
  if (!['Arguments', 'AgentAttributes', 'ResourceAttributes'].includes(source) || key === '')
    return null;
  return [source, key];
}

/** Every budget's windows, per rule (its budget) and principal. */
export class ReferenceBudgets {
  readonly #windows = new Map<string, KeptCall[]>();
  /** A number per budget (one rule's), for the windows' keys. */
  readonly #ids = new Map<ReferenceBudgetSpec, number>();

  /** Whether a call with `sources` at `now` fits the rule's budget (`spec`, the rule's own object). */
  check(
    spec: ReferenceBudgetSpec,
    sources: object,
    now: number | undefined,
  ): ReferenceBudgetCheck[] {
    if (now === undefined || !(Math.abs(now) <= LARGEST_TIME)) return [{ fits: 'unknown' }];
    const value = read(sources, spec.field);
    let spent: number | string;
    if (spec.measure === 'sum') {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
        return [{ fits: 'unknown' }];
      spent = value;
    } else {
      const k = keyOf(value);
      if (k === null) return [{ fits: 'unknown' }];
      spent = k;
    }
    let principal = '';
    if (spec.per !== null) {
      const k = keyOf(read(sources, spec.per));
      if (k === null) return [{ fits: 'unknown' }];
      principal = k;
    }
    let id = this.#ids.get(spec);
    if (id === undefined) this.#ids.set(spec, (id = this.#ids.size));
    const key = JSON.stringify([id, principal]);
    const kept = this.#windows.get(key) ?? [];
    const floor = now - spec.perSeconds;
    const exact = kept.filter((c) => c.at > floor && c.at <= now);
    let first = 0;
    while (first < kept.length && kept[first]!.at <= floor) first++;
    const inOrder = kept.slice(first);
    const fits = (window: readonly KeptCall[]): boolean => {
      if (spec.measure === 'sum') {
        let used = 0;
        for (const c of window) used += c.spent as number;
        return used + (spent as number) <= spec.max;
      }
      const values = new Set(window.map((c) => c.spent));
      values.add(spent);
      return values.size <= spec.max;
    };
    return [...new Set([fits(exact), fits(inOrder)])].map((f) => ({ fits: f, key, spent }));
  }

  /** Counts, in a fresh evaluator, a call an earlier one counted; false when it cannot be. */
  restore(spec: ReferenceBudgetSpec, at: number, spent: Spent): boolean {
    if (spent.spent === undefined || !Number.isFinite(at)) return false;
    const sources: Record<string, Record<string, unknown>> = {
      Arguments: {},
      AgentAttributes: {},
      ResourceAttributes: {},
    };
    sources[spec.field[0]]![spec.field[1]] = spent.spent;
    if (spec.per !== null) sources[spec.per[0]]![spec.per[1]] = spent.per;
    const [check] = this.check(spec, sources, at);
    if (check!.fits === 'unknown') return false;
    this.record(check!, at);
    return true;
  }

  /** Counts an allowed call that spent what `check` found, at `at`. */
  record(check: ReferenceBudgetCheck, at: number): void {
    if (check.fits === 'unknown') return;
    const kept = this.#windows.get(check.key) ?? [];
    kept.push({ at, spent: check.spent });
    this.#windows.set(check.key, kept);
  }
}

/** What a call spent of a budget, as the page keeps it. */
export interface Spent {
  readonly spent?: string | number;
  readonly per?: string | number;
}

/** Told of each call counted toward a rate limit or a budget. */
export type CountListener = (
  tool: string,
  role: string,
  at: number,
  keep: number,
  spent?: Spent,
) => void;

/** Calls the page keeps per pair with a budget (what each spent), as the engine's host does. */
export const BUDGET_KEEP = 10_000;

/** The values a call spent of `budget` (its field, and its `per` value). */
export function spentBy(budget: ReferenceBudgetSpec, sources: object): Spent {
  const read = ([source, key]: readonly [string, string]): string | number | undefined => {
    const root = (sources as unknown as Record<string, Record<string, unknown>>)[source]!;
    const v = Object.hasOwn(root, key) ? root[key] : undefined;
    return typeof v === 'string' || typeof v === 'number' ? v : undefined;
  };
  return {
    spent: read(budget.field),
    ...(budget.per === null ? {} : { per: read(budget.per) }),
  };
}
