/**
 * Checks of the worker's replies about the evaluator's state: a recorded tool result
 * and the state that outlives a call. A reply is data from another realm, read field by field.
 *
 * Checklist:
 * - a record answer is `{ok: true, untrusted: boolean}` or `{ok: false, error: string}`, nothing else;
 * - a state lists sessions with a string key, counts that are numbers and a boolean saturation,
 *   and remembered approvals with their fields typed;
 * - anything else is malformed (the bridge replaces the worker and answers a fault).
 */
import type {
  BudgetWindowState,
  EvaluatorState,
  RecordAnswer,
  RememberedApprovalState,
  UntrustedSessionState,
} from '../engine/types.ts';

/** What a check makes of a reply: the value, or what is wrong with it. */
export type CheckedReply<T> = { ok: true; value: T } | { ok: false; problem: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks the worker's answer to `recordResult`. */
export function checkRecordAnswer(value: unknown): CheckedReply<RecordAnswer> {
  if (!isRecord(value)) return { ok: false, problem: 'record answer is not an object' };
  if (value.ok === true && typeof value.untrusted === 'boolean')
    return { ok: true, value: { ok: true, untrusted: value.untrusted } };
  if (value.ok === false && typeof value.error === 'string' && value.error !== '')
    return { ok: true, value: { ok: false, error: value.error } };
  return { ok: false, problem: 'record answer is neither recorded nor an error' };
}

function checkSession(value: unknown): UntrustedSessionState | null {
  if (!isRecord(value)) return null;
  const { session, results, units, saturated } = value;
  if (typeof session !== 'string' || typeof results !== 'number' || typeof units !== 'number')
    return null;
  if (typeof saturated !== 'boolean') return null;
  return { session, results, units, saturated };
}

/** Checks the worker's answer to `state` (`null`: the engine could not say). */
export function checkEvaluatorState(value: unknown): CheckedReply<EvaluatorState | null> {
  if (value === null) return { ok: true, value: null };
  if (!isRecord(value) || !isRecord(value.untrusted))
    return { ok: false, problem: 'state has no untrusted content' };
  const { overflow, sessions } = value.untrusted;
  if (typeof overflow !== 'boolean' || !Array.isArray(sessions))
    return { ok: false, problem: 'state has malformed untrusted content' };
  const checked = sessions.map(checkSession);
  if (checked.some((s) => s === null))
    return { ok: false, problem: 'state has a malformed session' };
  const remembered = value.remembered === undefined ? [] : checkRemembered(value.remembered);
  if (remembered === null)
    return { ok: false, problem: 'state has a malformed remembered approval' };
  const budgets = value.budgets === undefined ? [] : checkBudgets(value.budgets);
  if (budgets === null) return { ok: false, problem: 'state has a malformed budget' };
  return {
    ok: true,
    value: {
      untrusted: { overflow, sessions: checked as UntrustedSessionState[] },
      remembered,
      budgets,
    },
  };
}

function checkBudgets(value: unknown): BudgetWindowState[] | null {
  if (!Array.isArray(value)) return null;
  const out: BudgetWindowState[] = [];
  for (const item of value) {
    if (!isRecord(item)) return null;
    const { rule, per, calls, used, max } = item;
    if (typeof rule !== 'string') return null;
    if (per !== null && typeof per !== 'string' && typeof per !== 'number') return null;
    if (typeof calls !== 'number' || typeof used !== 'number' || typeof max !== 'number')
      return null;
    out.push({ rule, per, calls, used, max });
  }
  return out;
}

function checkRemembered(value: unknown): RememberedApprovalState[] | null {
  if (!Array.isArray(value)) return null;
  const out: RememberedApprovalState[] = [];
  for (const item of value) {
    if (!isRecord(item) || !isRecord(item.same)) return null;
    const { id, rule, tool, role, session, approvedAt, expiresAt } = item;
    if (
      typeof id !== 'string' ||
      typeof rule !== 'string' ||
      typeof tool !== 'string' ||
      typeof role !== 'string' ||
      typeof session !== 'string' ||
      typeof approvedAt !== 'number' ||
      typeof expiresAt !== 'number'
    )
      return null;
    const attributes = item.agentAttributes;
    out.push({
      id,
      rule,
      tool,
      role,
      session,
      same: { ...item.same },
      approvedAt,
      expiresAt,
      ...(isRecord(attributes) && { agentAttributes: { ...attributes } }),
    });
  }
  return out;
}
