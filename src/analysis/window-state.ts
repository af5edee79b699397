/**
 * The state of an Allow rule's rate-limit window and budget at a time, read from the calls the
 * engine counted (src/engine/counted-calls.ts), for explaining a decision without making one.
 *
 * Checklist:
 * - a counted call is inside the window when it was counted after `now - per_seconds` (a call
 *   counted later than `now`, a clock that went back, stays inside, as in the engine);
 * - a budget is its rule's: it counts the calls of every (tool, role) the rule is the Allow rule of;
 * - a budget counts only the calls of its principal (`per`), and a field that is missing or
 *   mistyped (sum: a number of 0 or more; distinct and per: a string or a number) is unknown;
 * - nothing here counts anything: the state is read, never changed.
 */
import type { JsonValue } from '../call/decision.ts';
import type { CountedCall } from '../engine/counted-calls.ts';
import type { RateLimit } from '../policy/policy.ts';

/** Past 2^43 s a time has too little precision for a window: the engine denies (docs/policy.md). */
const MAX_NOW = 2 ** 43;
/** Most calls a budget window keeps, and most principals a rule keeps budgets for (the engine's bounds). */
const MAX_BUDGET_CALLS = 10_000;
const MAX_BUDGET_KEYS = 10_000;

/** A rate limit's window at the time of the call. */
export interface RateLimitState {
  max: number;
  perSeconds: number;
  /** Calls counted inside the window. */
  used: number;
  /** True when the window has no room: the call would be denied (`rate_limited`). */
  full: boolean;
  /** When full: seconds until enough counted calls have left the window for one more. */
  retryAfter: number | null;
}

/** A budget at the time of the call. */
export interface BudgetState {
  /** `sum` of a field, or the count of its `distinct` values. */
  measure: 'sum' | 'distinct';
  /** The field it reads, `Arguments.amount`. */
  field: string;
  max: number;
  perSeconds: number;
  /** The principal field, when the budget is kept per principal. */
  per: string | null;
  /** The call's principal value, when kept per principal and readable. */
  perValue?: string | number;
  /** Used inside the window (the sum, or the number of distinct values). */
  used: number;
  /** What this call adds (its amount, or 1 for a new value and 0 for a known one); null when unknown. */
  adds: number | null;
  /** Whether the call fits: `unknown` when its field cannot be read (`budget_unknown`). */
  fits: 'true' | 'false' | 'unknown';
  /**
   * When the call does not fit: what leaves the window first for it to fit (the summed amount, or
   * 1 distinct value) and in how many seconds (whole, at least 1, as the engine's `retryAfter`);
   * null when it fits, cannot be read, or is larger than the whole budget.
   */
  freesUp: { amount: number; inSeconds: number } | null;
}

/** A rule's `budget` as written. */
interface BudgetSpec {
  sum?: string;
  distinct?: string;
  max: number;
  per_seconds: number;
  per?: string;
}

/** The call's sources, by name. */
export type Roots = Readonly<Record<string, unknown>>;

/** The rate-limit state of `tool`/`role` at `now`, from the calls counted on that pair. */
export function rateLimitState(
  limit: RateLimit,
  counted: readonly CountedCall[],
  tool: string,
  role: string,
  now: number,
): RateLimitState {
  const since = now - limit.per_seconds;
  const inside = counted
    .filter((call) => call.tool === tool && call.role === role && call.at > since)
    .map((call) => call.at)
    .sort((a, b) => a - b);
  // A time too large to hold a window denies every call (docs/policy.md, "Rate limits").
  const full = inside.length >= limit.max || !(Math.abs(now) <= MAX_NOW);
  // The (inside - max + 1)-th oldest must leave before one more fits.
  const leaving = inside[inside.length - limit.max];
  return {
    max: limit.max,
    perSeconds: limit.per_seconds,
    used: inside.length,
    full,
    retryAfter:
      full && leaving !== undefined && inside.length >= limit.max
        ? Math.max(0, leaving + limit.per_seconds - now)
        : null,
  };
}

/**
 * The budget's state at `now` for the call whose sources are `roots`, or null when it has none.
 *
 * @param ours true for a counted call of a (tool, role) this budget's rule is the Allow rule of
 */
export function budgetState(
  budget: unknown,
  counted: readonly CountedCall[],
  ours: (call: CountedCall) => boolean,
  roots: Roots,
  now: number,
): BudgetState | null {
  if (budget === null || typeof budget !== 'object') return null;
  const spec = budget as BudgetSpec;
  const measure = typeof spec.sum === 'string' ? 'sum' : 'distinct';
  const field = (measure === 'sum' ? spec.sum : spec.distinct) ?? '';
  const per = typeof spec.per === 'string' ? spec.per : null;
  const perValue = per === null ? undefined : key(readDotted(roots, per));
  const since = now - spec.per_seconds;
  const mine = counted.filter(ours);
  const inside = mine.filter(
    (call) =>
      call.at > since && call.spent !== undefined && (per === null || call.per === perValue),
  );
  const value = readDotted(roots, field);
  const state: BudgetState = {
    measure,
    field,
    max: spec.max,
    perSeconds: spec.per_seconds,
    per,
    ...(perValue === undefined ? {} : { perValue }),
    used: 0,
    adds: null,
    fits: 'unknown',
    freesUp: null,
  };
  if (measure === 'sum') {
    state.used = inside.reduce((sum, call) => sum + Number(call.spent), 0);
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) state.adds = value;
  } else {
    const seen = new Set(inside.map((call) => call.spent));
    state.used = seen.size;
    const k = key(value);
    if (k !== undefined) state.adds = seen.has(k) ? 0 : 1;
  }
  if (state.adds !== null && (per === null || perValue !== undefined))
    state.fits = state.used + state.adds <= state.max ? 'true' : 'false';
  // The engine's bounds (docs/policy.md, "Budgets"): no time it can hold a window at, a principal
  // past the most it keeps budgets for (unknown), a window that keeps the most calls (exceeded).
  const principals = new Set(mine.filter((call) => call.at > since).map((call) => call.per));
  if (
    !(Math.abs(now) <= MAX_NOW) ||
    (per !== null && !principals.has(perValue) && principals.size >= MAX_BUDGET_KEYS)
  )
    state.fits = 'unknown';
  else if (state.fits !== 'unknown' && inside.length >= MAX_BUDGET_CALLS) {
    state.fits = 'false';
    state.freesUp = {
      amount: 1,
      inSeconds: Math.max(1, Math.ceil(inside[0]!.at + spec.per_seconds - now)),
    };
    return state;
  }
  if (state.fits === 'false') state.freesUp = freesUp(state, inside, now);
  return state;
}

/** docs/policy.md, "Budgets": what frees up first for the call to fit, and when (the engine's way). */
function freesUp(
  state: BudgetState,
  inside: readonly CountedCall[],
  now: number,
): BudgetState['freesUp'] {
  const after = (at: number): number => Math.max(1, Math.ceil(at + state.perSeconds - now));
  if (state.measure === 'sum') {
    if (state.adds === null || state.adds > state.max) return null;
    let freed = 0;
    // Oldest first, in the order the calls were counted.
    for (const call of inside) {
      freed += Number(call.spent);
      if (state.used - freed + state.adds <= state.max)
        return { amount: freed, inSeconds: after(call.at) };
    }
    return null;
  }
  if (state.max < 1) return null;
  // A value frees up when its newest call leaves the window: the earliest such time.
  const newest = new Map<string | number | undefined, number>();
  for (const call of inside) newest.set(call.spent, call.at);
  const soonest = Math.min(...newest.values());
  return Number.isFinite(soonest) ? { amount: 1, inSeconds: after(soonest) } : null;
}

/** A `<Source>.<field>` reference's value (the field may contain dots after the source). */
function readDotted(roots: Roots, reference: string): unknown {
  const dot = reference.indexOf('.');
  if (dot < 0) return undefined;
  const source = roots[reference.slice(0, dot)];
  if (source === null || typeof source !== 'object' || Array.isArray(source)) return undefined;
  const name = reference.slice(dot + 1);
  return Object.hasOwn(source, name) ? (source as Record<string, JsonValue>)[name] : undefined;
}

/** A string or finite number as a budget key, else undefined. */
function key(value: unknown): string | number | undefined {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))
    ? value
    : undefined;
}
