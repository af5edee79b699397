/**
 * Counted calls: the decision state that outlives a decision. A rate limit counts its rule's
 * Allowed calls in a sliding window, a budget the amounts or values they spent (per principal); the engine
 * host reports each call as the engine counts it, and restores a list of them into a fresh
 * instance, so that the state survives the instance (a trap) and the worker it runs in.
 *
 * Plain data, safe to send across a worker boundary. Checklist:
 * - a call is reported only when the engine counted it: a final Allow, or an Ask a person
 *   approved (which the backend lifts to Allow), on a pair whose Allow rule counts calls;
 * - `at` is the time the engine counted it at (the call's own `now`, else the backend's clock);
 * - whoever keeps them keeps at most `keep` per (tool, role), the newest, as the engine does.
 */

/** One call the engine counted. */
export interface CountedCall {
  readonly tool: string;
  readonly role: string;
  /** When the engine counted it, in the host's seconds. */
  readonly at: number;
  /** How many of this pair's counted calls the engine keeps (its window's bound: 4 × `max`, at least 64; with a budget, at least 10,000 per principal). */
  readonly keep: number;
  /** With a budget: the value the call spent (the summed amount, or the distinct value). */
  readonly spent?: string | number;
  /** With a budget kept per principal: the call's `per` value. */
  readonly per?: string | number;
}

/** Receives each call the engine counts, as it counts it. */
export type CountedCallSink = (call: CountedCall) => void;

/** Most calls one pair keeps: the window bound of the engine's largest `rate_limit.max` (engine/assembly/window.ts). */
export const MAX_KEEP = 40_000;

/** True when `value` is a list of {@link CountedCall}s: data from another realm, checked field by field. */
export function isCountedCallList(value: unknown): value is CountedCall[] {
  if (!Array.isArray(value)) return false;
  for (const item of value as unknown[]) {
    if (typeof item !== 'object' || item === null) return false;
    const { tool, role, at, keep, spent, per } = item as Record<string, unknown>;
    if (!isScalar(spent) || !isScalar(per)) return false;
    if (
      typeof tool !== 'string' ||
      typeof role !== 'string' ||
      typeof at !== 'number' ||
      !Number.isFinite(at)
    )
      return false;
    if (typeof keep !== 'number' || !Number.isInteger(keep) || keep < 1 || keep > MAX_KEEP)
      return false;
  }
  return true;
}

function isScalar(v: unknown): boolean {
  return v === undefined || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}
