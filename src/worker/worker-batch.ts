/**
 * The evaluator worker's batch code, loaded on demand with the first `evaluateBatch`: the args
 * read from their JSON text, the calls decided in order, each Ask through the worker's
 * approvals, and equal verdicts shared for the reply. A first decision never needs it.
 *
 * Checklist:
 * - built on its own, self-contained (no import of the worker's file, whose name an app's bundler
 *   changes): `vite.worker-module.ts`; the page names its URL and recorded SHA-256;
 * - it shares no state with the worker: it decides through the engine the worker hands it (the
 *   engine host's core, whose own methods read each call's args, or the JS fallback) and the
 *   worker's own approvals;
 * - args that do not fit the calls are a bad request, never a guess.
 */
import type { ToolCall } from '../call/decision.ts';
import type { Verdict } from '../engine/types.ts';
import type { EngineCore } from '../engine/engine-core.ts';
import { evaluateBatchIn } from '../engine/engine-batch.ts';

/** What a batch needs of the worker's engine. */
export interface BatchEngine {
  evaluateBatch(
    calls: readonly ToolCall[],
    nowSeconds: number,
    argsList?: readonly unknown[],
  ): Verdict[];
}

/** engine.wasm's batches, through the engine host's function on `engine`. */
export function batchOf(engine: EngineCore): BatchEngine {
  return {
    evaluateBatch: (calls, nowSeconds, argsList) =>
      evaluateBatchIn(engine, calls, nowSeconds, argsList),
  };
}

/** The args of a batch from `argsJson`, one per call; `null` when the two do not fit (a bad request). */
function argsListOf(calls: readonly unknown[], argsJson: unknown): unknown[] | null {
  if (typeof argsJson !== 'string') return null;
  let argsList: unknown;
  try {
    argsList = JSON.parse(argsJson);
  } catch {
    return null;
  }
  return Array.isArray(argsList) && argsList.length === calls.length ? argsList : null;
}

/**
 * Equal verdicts as one object: a structured clone copies an object once however often it is
 * referenced, and a batch's verdicts repeat (a thousand calls, a handful of rules). Only verdicts
 * made of decision, reason, kind and rule are shared; one with a failure, a retry time or an
 * approval ticket (unique per call) travels as its own object.
 */
function shareEqualVerdicts(verdicts: Verdict[]): Verdict[] {
  // Keyed by the reason alone (a text the engine made once, so hashing it is cheap, where a key
  // joined from four fields would be built and hashed per verdict), the rest compared.
  const shared = new Map<string, Verdict>();
  for (let i = 0; i < verdicts.length; i++) {
    const verdict = verdicts[i]!;
    if (
      verdict.failure !== undefined ||
      verdict.retryAfter !== undefined ||
      verdict.approval !== undefined
    )
      continue;
    const first = shared.get(verdict.reason);
    if (first === undefined) shared.set(verdict.reason, verdict);
    else if (
      first !== verdict &&
      first.decision === verdict.decision &&
      first.kind === verdict.kind &&
      first.rule === verdict.rule
    )
      verdicts[i] = first;
  }
  return verdicts;
}

/**
 * Decides `calls` in order; with `argsJson` (the JSON text of an array of each call's args) call
 * i's args are its element i. Each Ask goes through `decided` (the worker's approvals, with the
 * call's own args). Answers the verdicts, or why the args do not fit the calls.
 */
export async function decideBatch(
  engine: BatchEngine,
  calls: readonly ToolCall[],
  nowSeconds: number,
  argsJson: unknown,
  decided: (call: ToolCall, verdict: Verdict) => Promise<Verdict>,
): Promise<Verdict[] | string> {
  // The args travel apart, as one JSON text; the engine reads call i's args from argsList[i]
  // (no per-call copy), and each distinct call object once.
  const argsList = argsJson === undefined ? undefined : argsListOf(calls, argsJson);
  if (argsList === null)
    return 'evaluateBatch takes its args as a JSON array text with one value per call';
  const verdicts = engine.evaluateBatch(calls, nowSeconds, argsList);
  for (let i = 0; i < verdicts.length; i++) {
    if (verdicts[i]!.decision !== 'Ask') continue;
    // An approval ticket is bound to the exact call: with the args it was decided on.
    const call =
      argsList === undefined ? calls[i]! : { ...calls[i]!, args: argsList[i] as ToolCall['args'] };
    verdicts[i] = await decided(call, verdicts[i]!);
  }
  return shareEqualVerdicts(verdicts);
}
