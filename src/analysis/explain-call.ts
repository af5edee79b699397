/**
 * `perso.explain(call)`: why a call would be decided as it is now, without deciding it. The same
 * trace as `perso explain` (call-trace.ts), with the rate-limit window and budget as the calls the
 * engine counted left them. `Perso` loads this module on first use, so a page that never explains
 * never downloads it.
 *
 * Checklist:
 * - nothing is decided, counted or audited: the engine is not called, and the windows are read
 *   from the backend's copy of what it counted;
 * - a call `evaluate` would refuse (no policy, not an object, tool or role not strings, args or
 *   `now` not plain JSON) is explained as that Deny, with the error and no trace;
 * - the time is the call's own `now`, else the instance's clock, as for `evaluate`.
 */
import type { Decision, JsonObject, ReasonKind } from '../call/decision.ts';
import { canonicalizeArgs } from '../call/canonical-args.ts';
import type { CountedCall } from '../engine/counted-calls.ts';
import type { Policy } from '../policy/policy.ts';
import type { CallTrace } from './call-trace.ts';
import { traceCall } from './call-trace.ts';

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
}

/** Explains `call` under `context`; never throws. */
export function explainCall(context: ExplainContext, call: unknown): Explanation {
  if (context.policyText === null)
    return refused('no_policy', 'no policy is active; load a valid policy', null);
  if (call === null || typeof call !== 'object' || Array.isArray(call))
    return refused('invalid_request', 'expected an object {tool, args, role}', null);
  const fields = call as Record<string, unknown>;
  const own = (key: string): unknown => (Object.hasOwn(fields, key) ? fields[key] : undefined);
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
  const policy = JSON.parse(context.policyText) as Policy;
  const trace = traceCall(
    policy,
    {
      tool,
      role,
      args: args.value,
      agentAttributes: attributes[0],
      resourceAttributes: attributes[1],
    },
    { now, counted: context.counted },
  );
  return { decision: trace.decision, kind: trace.kind, rule: decidingRule(trace), now, trace };
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
