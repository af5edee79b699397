/**
 * Batches on the engine host's core: several calls decided in order, each distinct call object
 * read once (`Engine.evaluateBatch`, and the worker's batch code on the worker's core).
 *
 * Checklist:
 * - calls are decided in order (rate limits see them in that order);
 * - with an args list, call i's args are element i (its own `args`, if any, are not read), and a
 *   list that does not fit the calls is an `invalid_request` Deny for each;
 * - a call object's own fields are read once per batch; its args are read as JSON by the core.
 */
import type { ToolCall } from '../call/decision.ts';
import type { Verdict } from './types.ts';
import type { EngineCore } from './engine-core.ts';
import { type CallPlan, planCallSafely } from './call-plan.ts';
import { deny } from './verdict-reader.ts';

/**
 * Decides `calls` on `engine` in order. With `argsList`, call `i`'s args are `argsList[i]`: the
 * worker's batches carry the args apart from the calls, and calls that share tool, role and
 * attributes share one object, read once here.
 */
export function evaluateBatchIn(
  engine: EngineCore,
  calls: readonly ToolCall[],
  nowSeconds: number,
  argsList?: readonly unknown[],
): Verdict[] {
  if (!Array.isArray(calls)) return [];
  const count = calls.length;
  const out = new Array<Verdict>(count);
  if (argsList === undefined) {
    for (let i = 0; i < count; i++) out[i] = engine.evaluate(calls[i]!, nowSeconds);
    return out;
  }
  if (!Array.isArray(argsList) || argsList.length !== count) {
    return Array.from({ length: count }, () =>
      deny('invalid_request', 'invalid request: a batch needs one args value per call'),
    );
  }
  const state = engine.loaded;
  const plans = new Map<unknown, CallPlan>();
  for (let i = 0; i < count; i++) {
    const fault = engine.fault;
    if (fault !== null) {
      out[i] = deny('engine_fault', fault);
      continue;
    }
    const call = calls[i]!;
    let plan = plans.get(call);
    if (plan === undefined) {
      plan = planCallSafely(call, state);
      // Primitives are not worth a map entry; objects are read once per batch.
      if (typeof call === 'object' && call !== null) plans.set(call, plan);
    }
    out[i] = plan.early ?? engine.decidePlanned(plan, argsList[i], nowSeconds);
  }
  return out;
}
