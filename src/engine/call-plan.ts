/**
 * Reading a call's own fields (all but its args) once: the answer already when one is malformed,
 * or the entry to decide on with the attribute roots.
 *
 * Checklist:
 * - checks run in the order the answer names them: the call, tool, role, then (after the args, by
 *   the caller) the attributes, `now`, the policy, the entry;
 * - only own fields are read (a polluted `Object.prototype` adds nothing); getters and Proxy traps
 *   run here, once, and what they throw is a bad request, never an engine fault.
 */
import type { ToolCall } from '../call/decision.ts';
import type { Verdict } from './types.ts';
import type { EntryPlan, LoadedState } from './policy-plan.ts';
import { APPROVED_CALL } from './approved-call.ts';
import { EMPTY, NOT_PLAIN, jsonRoot } from './call-values.ts';
import { deny, noRuleReason } from './verdict-reader.ts';
import { errorText } from '../encoding/text.ts';
import { KIND_NO_RULE } from './engine-boundary.ts';
import { isWellFormed } from './call-writer.ts';

/**
 * What a call's own fields other than its args decide, read once: the answer already (a malformed
 * call, no policy, no rule), or the entry to decide on with the attribute roots (read as JSON, see
 * {@link jsonRoot}). Inherited fields are absent (a polluted `Object.prototype` adds nothing). A
 * batch reads each distinct call object once and decides each of its calls' args against it.
 */
export interface CallPlan {
  /** The answer before the args are looked at: the call, its tool or its role is malformed. */
  readonly early: Verdict | null;
  /** The answer once the args pass: a malformed attribute object, no policy, no rule. */
  readonly late: Verdict | null;
  readonly entry: EntryPlan | null;
  readonly agent: unknown;
  readonly resource: unknown;
  /** The call's own `now`, when it is a number. */
  readonly now: number | undefined;
  /** Carries the approval marker (engine/approved-call.ts). */
  readonly approved: boolean;
  /** The call's guard session (its untrusted content); `''` by default. */
  readonly session: string;
}

/** A call's own `now` that is not a finite number: refused (`null` too, which means "no time" nowhere). */
function badNow(now: unknown): Verdict {
  const shown = now === null ? 'null' : typeof now === 'number' ? String(now) : `a ${typeof now}`;
  return deny(
    'invalid_request',
    `invalid request: now: expected seconds since the epoch as a finite number, got ${shown}; leave it out to use the host's clock`,
  );
}

function earlyAnswer(verdict: Verdict): CallPlan {
  return {
    early: verdict,
    late: null,
    entry: null,
    agent: EMPTY,
    resource: EMPTY,
    now: undefined,
    approved: false,
    session: '',
  };
}

/** The answer to a call whose reading threw `e`. */
export function unreadable(e: unknown): Verdict {
  return deny(
    'invalid_request',
    `invalid request: the call cannot be read (${errorText(e)}); pass plain JSON data`,
  );
}

/**
 * Reads `call` (its getters and Proxy traps run here, once; the caller turns what they throw
 * into a bad request) into a {@link CallPlan} under `state`. Checks in the order the answer names them: the call,
 * tool, role, then (after the args, by the caller) the attributes, the policy, the entry.
 */
export function planCall(call: ToolCall, state: LoadedState | null): CallPlan {
  if (typeof call !== 'object' || call === null)
    return earlyAnswer(
      deny('invalid_request', 'invalid request: the call must be an object {tool, args, role}'),
    );
  const tool: unknown = Object.hasOwn(call, 'tool') ? call.tool : undefined;
  const role: unknown = Object.hasOwn(call, 'role') ? call.role : undefined;
  if (typeof tool !== 'string' || tool.length === 0)
    return earlyAnswer(deny('invalid_request', 'invalid request: tool must be a non-empty string'));
  if (typeof role !== 'string' || role.length === 0) {
    return earlyAnswer(
      deny(
        'invalid_request',
        "invalid request: role must be a non-empty string; the host must pass the caller's role",
      ),
    );
  }
  const agent = jsonRoot(Object.hasOwn(call, 'agentAttributes') ? call.agentAttributes : undefined);
  const resource = jsonRoot(
    Object.hasOwn(call, 'resourceAttributes') ? call.resourceAttributes : undefined,
  );
  const now: unknown = Object.hasOwn(call, 'now') ? call.now : undefined;
  const approved = Object.hasOwn(call, APPROVED_CALL);
  const session: unknown = Object.hasOwn(call, 'session') ? call.session : undefined;
  let late: Verdict | null = null;
  let entry: EntryPlan | null = null;
  if (agent === NOT_PLAIN)
    late = deny('invalid_request', 'invalid request: agentAttributes must be a plain JSON object');
  else if (resource === NOT_PLAIN)
    late = deny(
      'invalid_request',
      'invalid request: resourceAttributes must be a plain JSON object',
    );
  else if (now !== undefined && (typeof now !== 'number' || !Number.isFinite(now)))
    late = badNow(now);
  else if (session !== undefined && (typeof session !== 'string' || !isWellFormed(session)))
    late = deny('invalid_request', 'invalid request: session must be a string (the guard session)');
  else if (state === null) late = deny('no_policy', 'no policy loaded; load a valid policy first');
  else {
    entry = state.entries.get(tool)?.get(role) ?? null;
    if (entry === null)
      late = {
        decision: state.info.defaultAction,
        reason: noRuleReason(tool, role),
        kind: KIND_NO_RULE,
      };
  }
  return {
    early: null,
    late,
    entry,
    agent,
    resource,
    now: typeof now === 'number' ? now : undefined,
    approved,
    session: typeof session === 'string' ? session : '',
  };
}

/** {@link planCall}, with what reading the call throws as the early answer. */
export function planCallSafely(call: ToolCall, state: LoadedState | null): CallPlan {
  try {
    return planCall(call, state);
  } catch (e) {
    return earlyAnswer(unreadable(e));
  }
}
