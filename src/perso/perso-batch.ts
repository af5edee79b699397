/**
 * `Perso.evaluateBatch` on the worker engine: many calls, in order, at one time. Loaded with the
 * first batch: a page that decides one call at a time never downloads it.
 *
 * Checklist:
 * - every call is decided on one canonical, frozen copy of its args, and its result carries it;
 * - a batch of more than {@link BATCH_SLICE} calls travels in equal slices of at most that many,
 *   pipelined: the page copies the next slice's args while the worker decides the previous one;
 * - a slice with a call whose args are refused (or cannot be read) goes call by call, at the
 *   batch's one time, so that only that call is a Deny;
 * - a failed or malformed answer is a Deny (`engine_fault`) for each call of its slice.
 */
import type {
  DecisionResult,
  JsonObject,
  JsonValue,
  ReasonKind,
  ToolCall,
} from '../call/decision.ts';
import type { Verdict } from '../engine/types.ts';
import type { EvaluatorBackend } from '../backend/evaluator-backend.ts';
import { canonicalizeJson } from '../call/canonical-args.ts';
import { MAX_ARGS_SIZE } from '../call/args-size.ts';
import { withArgs } from '../call/call-with-args.ts';
import { own } from '../call/own-properties.ts';
import { errorText } from '../encoding/text.ts';

/**
 * The most calls per worker message: big enough that a message's fixed cost is small beside its
 * calls, small enough that the page and the worker overlap (see bench/browser for the figures).
 */
const BATCH_SLICE = 400;

/** What a batch needs of its `Perso`. */
export interface BatchHost {
  /** `Perso.evaluate` of one call, at `at` unless the call has its own time. */
  evaluate(call: ToolCall, at: number): Promise<DecisionResult>;
  /** A Deny of this instance. */
  deny(kind: ReasonKind, reason: string): DecisionResult;
  /** A verdict as this instance's result. */
  result(verdict: Verdict): DecisionResult;
}

/**
 * Decides `calls` (none with its own `now`) at `now` on `backend`; always one result per call.
 *
 * @param host the deciding `Perso`
 * @param backend its worker backend
 * @param calls the calls, each an object
 * @param now the batch's one time
 */
export async function decideBatch(
  host: BatchHost,
  backend: EvaluatorBackend,
  calls: readonly ToolCall[],
  now: number,
): Promise<DecisionResult[]> {
  const count = calls.length;
  const results = new Array<DecisionResult>(count);
  const slices: Promise<void>[] = [];
  // Each slice is canonicalized and posted before the next one starts (batchSlice runs
  // synchronously up to its post); the answers are awaited together.
  const size = Math.ceil(count / Math.ceil(count / BATCH_SLICE));
  for (let start = 0; start < count; start += size) {
    slices.push(
      batchSlice(host, backend, calls, start, Math.min(count, start + size), now, results),
    );
  }
  await Promise.all(slices);
  return results;
}

/** Decides `calls[start..end)` in one worker message and writes their results in place. */
async function batchSlice(
  host: BatchHost,
  backend: EvaluatorBackend,
  calls: readonly ToolCall[],
  start: number,
  end: number,
  now: number,
  results: DecisionResult[],
): Promise<void> {
  const count = end - start;
  // Canonical args for the worker, as for `evaluate`: one pass over the slice; when some call's
  // args are refused (or a call cannot be read), each call of the slice goes alone so that only
  // that one is Deny. Plain loops: no per-call callback, each call's args read once.
  const alone = async (): Promise<void> => {
    // At the batch's one time: a slice decided later must not be decided at a later time.
    const each = await Promise.all(calls.slice(start, end).map((call) => host.evaluate(call, now)));
    for (let i = 0; i < count; i++) results[start + i] = each[i]!;
  };
  const given = new Array<unknown>(count);
  try {
    for (let i = 0; i < count; i++) {
      const args = own(calls[start + i] as ToolCall, 'args');
      given[i] = args === undefined ? {} : args;
    }
  } catch {
    return alone();
  }
  const canonical = canonicalizeJson(given, 'args');
  // Over the one-call size bound in all: each call goes alone, so no message is larger than one call's bound.
  if (!canonical.ok || canonical.json.length > MAX_ARGS_SIZE) return alone();
  const argsList = canonical.value as readonly JsonValue[];
  const checkedCalls = new Array<ToolCall>(count);
  try {
    for (let i = 0; i < count; i++) {
      const args = argsList[i];
      if (!isJsonObject(args)) return alone();
      checkedCalls[i] = withArgs(calls[start + i] as ToolCall, args);
    }
  } catch {
    return alone();
  }
  let verdicts: Verdict[];
  try {
    // The canonical JSON text goes along: the worker backend sends args as text and need not make it again.
    verdicts = await backend.evaluateBatch(checkedCalls, now, canonical.json);
  } catch (error) {
    const reason = `engine fault: the batch failed (${errorText(error)}); retry`;
    for (let i = 0; i < count; i++) results[start + i] = host.deny('engine_fault', reason);
    return;
  }
  if (!Array.isArray(verdicts) || verdicts.length !== count) {
    const reason =
      'engine fault: the engine answered a batch with the wrong number of decisions; retry';
    for (let i = 0; i < count; i++) results[start + i] = host.deny('engine_fault', reason);
    return;
  }
  for (let i = 0; i < count; i++) {
    const result = host.result(verdicts[i]!);
    result.args = argsList[i] as Readonly<JsonObject>;
    results[start + i] = result;
  }
}

function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
