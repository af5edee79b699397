/**
 * `perso.explain(call)`: why a call would be decided as it is now, without deciding it. The same
 * trace as `perso explain` (call-trace.ts), with the rate-limit window and budget as the calls the
 * engine counted left them, the session's untrusted content as the backend kept it and the
 * evaluator reports it, and the remembered approvals the evaluator lists. `Perso` loads this
 * module on first use, so a page that never explains never downloads it.
 *
 * Checklist:
 * - nothing is decided, counted or audited: the engine is not called, and the windows and the
 *   untrusted results are read from the backend's copies, the rest from the evaluator's state;
 * - a call `evaluate` would refuse (no policy, not an object, tool or role not strings, args or
 *   `now` not plain JSON) is explained as that Deny, with the error and no trace;
 * - the time is the call's own `now`, else the instance's clock, as for `evaluate`.
 */
import type { Decision, JsonObject, ReasonKind, ToolCall } from '../call/decision.ts';
import { snapshotCall } from '../call/call-snapshot.ts';
import { canonicalizeArgs } from '../call/canonical-args.ts';
import type { CountedCall } from '../engine/counted-calls.ts';
import type { EvaluatorState } from '../engine/types.ts';
import type { EvaluatorBackend } from '../backend/evaluator-backend.ts';
import type { Policy } from '../policy/policy.ts';
import type { CallTrace } from './call-trace.ts';
import { traceCall } from './call-trace.ts';
import type { UntrustedResult } from './untrusted-trace.ts';
import { sessionContent } from './untrusted-trace.ts';

/** What {@link explainCall} says about a call. */
export interface Explanation {
  /** The decision the policy gives this call now (`evaluate` stays the authority). */
  decision: Decision;
  /** Why, as a decision's `kind`. */
  kind: ReasonKind;
  /** The deciding rule's id (or `rules[N]`), or null when none decided (the default, a fault). */
  rule: string | null;
  /** The time the call was explained at, in seconds (the call's `now`, else the clock). */
  now: number | null;
  /** The trace; null when the call could not be traced (see {@link error}). */
  trace: CallTrace | null;
  /** `false` when the instance decides in shadow mode (calls run whatever the decision); `Perso.explain` only. */
  enforced?: boolean;
  /** An Allow that rests on a person's earlier approval: which one (as the decision says it). */
  rememberedApproval?: { id: string; rule: string; expiresAt: number };
  /** Why there is no trace: no policy, or a call `evaluate` refuses too. */
  error?: string;
}

/** What `Perso` hands over: its active policy, its clock's time, and what its engine counted. */
export interface ExplainContext {
  /** The active policy's JSON text, or null when none is active. */
  policyText: string | null;
  /** The instance's clock, read once for this call. */
  clock: number;
  /** The calls the engine counted under this policy, in the order it counted them. */
  counted: readonly CountedCall[];
  /** The untrusted results the backend kept, in order; null when it keeps none to read. */
  results: readonly UntrustedResult[] | null;
  /** The evaluator's state (untrusted content per session, remembered approvals); null: unknown. */
  state: EvaluatorState | null;
}

/**
 * Explains `call` with what `Perso` holds: its active policy's text (null: none, or closed), its
 * clock's time, and its backend's counted calls, kept untrusted results and state. Never rejects.
 */
export async function explainWith(
  policyText: string | null,
  now: () => number,
  backend: EvaluatorBackend | null,
  call: unknown,
): Promise<Explanation> {
  // A clock that throws (or gives milliseconds, which the decider refuses): no time, so a call
  // without its own now is explained as the invalid request it is.
  let clock = Number.NaN;
  try {
    clock = now();
  } catch {}
  let state: EvaluatorState | null = null;
  try {
    state = policyText === null ? null : ((await backend?.state?.()) ?? null);
  } catch {
    // A backend that cannot say: explained as unknown untrusted content.
  }
  return explainCall(
    {
      policyText,
      clock,
      counted: backend?.countedCalls?.() ?? [],
      results: backend?.untrustedResults?.() ?? null,
      state,
    },
    call,
  );
}

/** Explains `call` under `context`; never throws. */
export function explainCall(context: ExplainContext, call: unknown): Explanation {
  // A session's call that cannot be read (or a session whose principal is invalid): its error.
  if (typeof call === 'string') return refused('invalid_request', call, null);
  if (context.policyText === null)
    return refused('no_policy', 'no policy is active; load a valid policy', null);
  if (call === null || typeof call !== 'object' || Array.isArray(call))
    return refused('invalid_request', 'expected an object {tool, args, role}', null);
  // Read once, own fields only (call-snapshot.ts): a throwing getter is this refusal, not a throw.
  const read = snapshotCall(call as ToolCall);
  if (typeof read === 'string') return refused('invalid_request', read, null);
  const fields = read as unknown as Record<string, unknown>;
  // The snapshot holds every field as its own (undefined when the call had none).
  const own = (key: string): unknown => fields[key];
  const tool = own('tool');
  const role = own('role');
  if (typeof tool !== 'string' || typeof role !== 'string')
    return refused('invalid_request', 'tool and role: expected strings', null);
  const given = own('now');
  const now = given === undefined ? context.clock : given;
  if (typeof now !== 'number' || !Number.isFinite(now))
    return refused(
      'invalid_request',
      'now: expected seconds since the epoch as a finite number',
      null,
    );
  const args = canonicalizeArgs(own('args'));
  if (!args.ok) return refused('invalid_request', args.error, now);
  const attributes: (JsonObject | undefined)[] = [];
  for (const key of ['agentAttributes', 'resourceAttributes']) {
    const value = own(key);
    if (value === undefined) {
      attributes.push(undefined);
      continue;
    }
    const checked = canonicalizeArgs(value, key);
    if (!checked.ok) return refused('invalid_request', checked.error, now);
    attributes.push(checked.value as JsonObject);
  }
  // As the engine reads it: a session that is not a string is the default one.
  const session = own('session');
  const key = typeof session === 'string' ? session : '';
  const policy = JSON.parse(context.policyText) as Policy;
  const trace = traceCall(
    policy,
    {
      tool,
      role,
      args: args.value,
      agentAttributes: attributes[0],
      resourceAttributes: attributes[1],
      session: key,
    },
    {
      now,
      counted: context.counted,
      untrusted: sessionContent(key, context.results, context.state),
      remembered: context.state?.remembered ?? null,
    },
  );
  const explanation: Explanation = {
    decision: trace.decision,
    kind: trace.kind,
    rule: decidingRule(trace),
    now,
    trace,
  };
  const approval = trace.remembered?.approval;
  if (trace.decision === 'Allow' && approval)
    explanation.rememberedApproval = {
      id: approval.id,
      rule: approval.rule,
      expiresAt: approval.expiresAt,
    };
  return explanation;
}

/** The rule behind the trace's decision, as the engine names it in a decision's `rule`. */
function decidingRule(trace: CallTrace): string | null {
  switch (trace.kind) {
    case 'denied_by_rule':
      return trace.denies.find((deny) => deny.result !== 'false')?.rule ?? null;
    case 'ask_by_rule':
      return trace.asks.find((ask) => ask.result !== 'false')?.rule ?? null;
    case 'no_rule':
      return null;
    default:
      return trace.allow?.rule ?? null;
  }
}

function refused(kind: ReasonKind, error: string, now: number | null): Explanation {
  return { decision: 'Deny', kind, rule: null, now, trace: null, error };
}
