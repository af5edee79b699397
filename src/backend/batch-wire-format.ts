/**
 * A batch as the worker receives it: the calls without their args, as few distinct objects as
 * possible, and the args apart, as one JSON text (a string to copy instead of objects to clone; see
 * `EvaluatorApi.evaluateBatch`); and its send through `WorkerBackend`'s worker call.
 *
 * Checklist:
 * - a call's fields are read as own properties only (a polluted prototype adds no host fact);
 * - the args reach the engine as given or not at all: what JSON would silently change throws, and
 *   the send answers every call Deny (`invalid_request`) without posting anything;
 * - each call keeps its guard session (its untrusted content): a call without it would be decided
 *   in the default session, which read nothing;
 * - calls that share tool, role, session, time and attribute objects share one object in the message;
 * - the answer is exactly one checked verdict per call (equal verdicts are checked once).
 *
 * Loaded with the first batch (`WorkerBackend.evaluateBatch`): a page that decides one call at a
 * time never downloads it.
 */
import { ReasonKind } from '../call/decision.ts';
import type { ToolCall } from '../call/decision.ts';
import type { Verdict } from '../engine/engine.ts';
import { own } from '../call/own-properties.ts';
import type { Checked } from './worker-reply.ts';
import { checkVerdict } from './worker-reply.ts';
import { errorText, quote } from '../encoding/text.ts';
import type { CallPlan } from './worker-call.ts';
import { faultVerdict } from './worker-faults.ts';

/** A batch ready to post: the calls without args, and the args as one JSON text. */
export interface BatchMessage {
  readonly calls: ToolCall[];
  readonly argsJson: string;
}

/**
 * Sends a batch through `run` (`WorkerBackend`'s one worker call, with the batch's timeout): args
 * that cannot be encoded deny every call (`invalid_request`) without a message; a fault denies all.
 */
export function sendBatch(
  run: (plan: CallPlan<Verdict[]>) => Promise<Verdict[]>,
  calls: readonly ToolCall[],
  nowSeconds: number,
  canonicalArgsJson: string | undefined,
): Promise<Verdict[]> {
  const count = calls.length;
  let message: BatchMessage;
  try {
    message = encodeBatch(calls, canonicalArgsJson);
  } catch (error) {
    const reason = `invalid request: the batch cannot be sent to the worker (${errorText(error)}); pass JSON values only`;
    return Promise.resolve(calls.map(() => faultVerdict(reason, ReasonKind.InvalidRequest)));
  }
  return run({
    // The args as one JSON text: a string to copy instead of objects to clone (see EvaluatorApi).
    send: (remote) => remote.evaluateBatch(message.calls, nowSeconds, message.argsJson),
    check: checkVerdicts(count),
    fault: (reason, kind) => Array.from({ length: count }, () => faultVerdict(reason, kind)),
    trapped: (verdicts) => verdicts.some((verdict) => verdict.kind === ReasonKind.EngineFault),
  });
}

/**
 * Encodes `calls` for the worker. `canonicalArgsJson`, when given, is the JSON text of the calls'
 * args in order, already checked (Perso's canonical args): sent as it is instead of made again.
 * Throws a `TypeError` naming the value when an arg is not JSON.
 */
export function encodeBatch(calls: readonly ToolCall[], canonicalArgsJson?: string): BatchMessage {
  const argsJson =
    typeof canonicalArgsJson === 'string'
      ? canonicalArgsJson
      : JSON.stringify(
          calls.map((call) => own(call, 'args') ?? {}),
          refuseNonJson,
        );
  return { calls: withoutArgs(calls), argsJson };
}

/**
 * A JSON.stringify replacer that throws where JSON would silently change a value (drop a function
 * or symbol, turn NaN or an `undefined` array item into null), so a batch's args reach the engine
 * as given or not at all. (Perso's canonical args always pass; this guards direct callers.)
 */
function refuseNonJson(this: unknown, key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'function':
    case 'symbol':
      throw new TypeError(`args: a ${typeof value} at ${quote(key)} is not a JSON value`);
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`args: ${String(value)} at ${quote(key)} is not a JSON number`);
      return value;
    case 'undefined':
      if (Array.isArray(this))
        throw new TypeError(`args: undefined at ${quote(key)} is not a JSON value`);
      return value;
    default:
      return value;
  }
}

/**
 * The calls without their args, as few distinct objects as possible: calls that share tool, role,
 * time and attribute objects (a session's calls do) share one object, which a structured clone
 * then copies once. The args travel apart, as one JSON text.
 */
function withoutArgs(calls: readonly ToolCall[]): ToolCall[] {
  // Looked up by tool, then role, then compared by identity: no key text to build and hash per call.
  const byTool = new Map<unknown, Map<unknown, ToolCall[]>>();
  const out = new Array<ToolCall>(calls.length);
  let last: ToolCall | null = null;
  for (let i = 0; i < calls.length; i++) {
    // Own fields only: a polluted Object.prototype.resourceAttributes must not travel as a host fact.
    const call = calls[i]!;
    const tool = own(call, 'tool');
    const role = own(call, 'role');
    const agentAttributes = own(call, 'agentAttributes');
    const resourceAttributes = own(call, 'resourceAttributes');
    const now = own(call, 'now');
    const session = own(call, 'session');
    // A run of calls from one session repeats the previous call's fields.
    if (
      last !== null &&
      last.tool === tool &&
      last.role === role &&
      last.session === session &&
      Object.is(last.now, now) &&
      last.agentAttributes === agentAttributes &&
      last.resourceAttributes === resourceAttributes
    ) {
      out[i] = last;
      continue;
    }
    let byRole = byTool.get(tool);
    if (byRole === undefined) byTool.set(tool, (byRole = new Map()));
    let known = byRole.get(role);
    if (known === undefined) byRole.set(role, (known = []));
    let bare: ToolCall | undefined;
    // The last few only: calls that each bring their own attribute objects must not make this quadratic.
    for (let j = known.length - 1; j >= 0 && j >= known.length - 8; j--) {
      const candidate = known[j]!;
      if (
        candidate.session === session &&
        Object.is(candidate.now, now) &&
        candidate.agentAttributes === agentAttributes &&
        candidate.resourceAttributes === resourceAttributes
      ) {
        bare = candidate;
        break;
      }
    }
    if (bare === undefined) {
      bare = { tool: tool!, role: role! };
      if (agentAttributes !== undefined) bare.agentAttributes = agentAttributes;
      if (resourceAttributes !== undefined) bare.resourceAttributes = resourceAttributes;
      if (now !== undefined) bare.now = now;
      if (session !== undefined) bare.session = session;
      known.push(bare);
    }
    out[i] = last = bare;
  }
  return out;
}

/** A batch's verdicts: exactly `count` of them, equal verdicts checked once and shared. */
export function checkVerdicts(count: number): (value: unknown) => Checked<Verdict[]> {
  return (value) => {
    if (!Array.isArray(value) || value.length !== count) {
      return {
        ok: false,
        problem: `expected ${count} verdicts, got ${Array.isArray(value) ? value.length : typeof value}`,
      };
    }
    const verdicts: Verdict[] = new Array<Verdict>(count);
    // The worker sends equal verdicts as one object (see evaluator.worker.ts): checked once, rebuilt
    // once and frozen, and shared by the calls it answers, as the in-thread engine shares its
    // constant verdicts (Perso builds each call its own result from it).
    let seen: Map<unknown, Verdict> | null = null;
    let lastReply: unknown;
    let lastVerdict: Verdict | undefined;
    for (let i = 0; i < count; i++) {
      const reply: unknown = value[i];
      if (reply === lastReply && lastVerdict !== undefined) {
        verdicts[i] = lastVerdict;
        continue;
      }
      const known = seen?.get(reply);
      if (known !== undefined) {
        verdicts[i] = lastVerdict = known;
        lastReply = reply;
        continue;
      }
      const checked = checkVerdict(reply);
      if (!checked.ok) return { ok: false, problem: `verdicts[${i}]: ${checked.problem}` };
      let verdict = checked.value;
      if (verdict.failure === undefined && verdict.approval === undefined) {
        verdict = Object.freeze(verdict);
        (seen ??= new Map()).set(reply, verdict);
        lastReply = reply;
        lastVerdict = verdict;
      } else {
        lastVerdict = undefined;
      }
      verdicts[i] = verdict;
    }
    return { ok: true, value: verdicts };
  };
}
