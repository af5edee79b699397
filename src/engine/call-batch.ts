/**
 * A batch of calls whose args travel apart from them (the worker's batch wire format): each distinct
 * call object is read once and decided on each of its args, in order.
 *
 * Checklist:
 * - one args value per call, or every call of the batch is an `invalid_request` Deny;
 * - calls are decided in order (rate limits see them in that order);
 * - a call's own `args`, if any, are not read: call `i`'s args are `argsList[i]`;
 * - once the instance is dead, every later call answers its fault.
 */
import type { ToolCall } from '../decision.ts';
import type { Verdict } from './types.ts';
import type { LoadedState } from './policy-plan.ts';
import { type CallPlan, planCallSafely, unreadable } from './call-plan.ts';
import { jsonRoot } from './call-values.ts';
import { deny } from './verdict-reader.ts';

/**
 * Decides `calls` on `argsList` under `state`: `decide` decides one planned call on its args (read
 * as JSON), `fault` says why the instance is dead (or null while it works).
 */
export function decideBatch(
  calls: readonly ToolCall[],
  argsList: readonly unknown[],
  state: LoadedState | null,
  decide: (plan: CallPlan, argsRoot: unknown) => Verdict,
  fault: () => string | null,
): Verdict[] {
  const count = calls.length;
  if (!Array.isArray(argsList) || argsList.length !== count) {
    return Array.from({ length: count }, () =>
      deny('invalid_request', 'invalid request: a batch needs one args value per call'),
    );
  }
  const out = new Array<Verdict>(count);
  const plans = new Map<unknown, CallPlan>();
  for (let i = 0; i < count; i++) {
    const dead = fault();
    if (dead !== null) {
      out[i] = deny('engine_fault', dead);
      continue;
    }
    const call = calls[i]!;
    let plan = plans.get(call);
    if (plan === undefined) {
      plan = planCallSafely(call, state);
      // Primitives are not worth a map entry; objects are read once per batch.
      if (typeof call === 'object' && call !== null) plans.set(call, plan);
    }
    if (plan.early !== null) {
      out[i] = plan.early;
      continue;
    }
    let argsRoot: unknown;
    try {
      argsRoot = jsonRoot(argsList[i]);
    } catch (e) {
      out[i] = unreadable(e);
      continue;
    }
    out[i] = decide(plan, argsRoot);
  }
  return out;
}
