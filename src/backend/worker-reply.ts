/**
 * A worker's reply, checked: data from another realm, read field by field and rebuilt, so nothing
 * the worker sent reaches the caller unless it is the tagged union it must be.
 *
 * Checklist:
 * - a reply is `{ok: true, value, counted?}` or `{ok: false, error, fault}` with a known fault;
 * - a verdict has a known decision and kind, a reason, and a kind its decision may carry (an Allow
 *   that names a fault, an Ask or Allow with a Deny-only kind, are malformed);
 * - a verdict is rebuilt from its known fields only; whatever else the reply carried is dropped;
 * - a batch answers exactly as many verdicts as it sent calls.
 */
import { Decision, ReasonKind } from '../call/decision.ts';
import type { ApprovalTicket, JsonValue } from '../call/decision.ts';
import type { CountedCall } from '../engine/counted-calls.ts';
import { isCountedCallList } from '../engine/counted-calls.ts';
import type { PolicyInfo, PolicyLoad, Verdict } from '../engine/engine.ts';
import type { WorkerStatus } from '../worker/evaluator-api.ts';
import type { RememberedApprovalRef } from '../engine/types.ts';

type Diagnostic = Extract<PolicyLoad, { ok: false }>['errors'][number];

const decisions: ReadonlySet<unknown> = new Set(Object.values(Decision));
const kinds: ReadonlySet<unknown> = new Set(Object.values(ReasonKind));
/** The only kinds an Allow may carry; an Allow naming any other kind (a fault) is malformed. */
const allowKinds: ReadonlySet<unknown> = new Set([
  ReasonKind.NoRule,
  ReasonKind.NoCondition,
  ReasonKind.ConditionPassed,
]);
/** Kinds that are always Deny. */
const denyKinds: ReadonlySet<unknown> = new Set([
  ReasonKind.ConditionFailed,
  ReasonKind.DeniedByRule,
  ReasonKind.RateLimited,
  ReasonKind.InvalidRequest,
  ReasonKind.NoPolicy,
  ReasonKind.EngineFault,
]);

/** A checked value, or what was wrong with it. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** A reply's envelope, opened: a value, the caller's bad request, a compile failure, or malformed. */
export type Opened =
  | { ok: true; value: unknown; counted: readonly CountedCall[] | undefined }
  | { ok: false; problem: string }
  | { ok: false; badRequest: string }
  | { ok: false; compileError: string };

/** Opens a reply's envelope; its value is checked by the call that expects it. */
export function openReply(reply: unknown): Opened {
  if (!isRecord(reply))
    return { ok: false, problem: `expected a reply object, got ${typeof reply}` };
  if (reply.ok === true) {
    if (reply.counted !== undefined && !isCountedCallList(reply.counted))
      return { ok: false, problem: 'counted is not a list of counted calls' };
    return { ok: true, value: reply.value, counted: reply.counted };
  }
  if (reply.ok !== false || typeof reply.error !== 'string')
    return { ok: false, problem: 'reply is neither ok nor a fault' };
  if (reply.fault === 'bad_request') return { ok: false, badRequest: reply.error };
  if (reply.fault === 'wasm_compile') return { ok: false, compileError: reply.error };
  return { ok: false, problem: `unknown fault "${String(reply.fault)}"` };
}

/** An approval ticket: 32 hex digits, an expiry in ms, and `kind: 'webauthn'` or none. */
function isTicket(value: unknown): value is ApprovalTicket {
  return (
    isRecord(value) &&
    typeof value.nonce === 'string' &&
    /^[0-9a-f]{32}$/.test(value.nonce) &&
    typeof value.expiresAt === 'number' &&
    (value.kind === undefined || value.kind === 'webauthn')
  );
}

/** `approve` answers may also be an Ask a person approved: Allow with kind `ask_by_rule`. */
export function checkApprovedVerdict(value: unknown): Checked<Verdict> {
  if (isRecord(value) && value.decision === Decision.Allow && value.kind === ReasonKind.AskByRule) {
    const checked = checkVerdict({ ...value, decision: Decision.Ask });
    return checked.ok
      ? { ok: true, value: { ...checked.value, decision: Decision.Allow } }
      : checked;
  }
  return checkVerdict(value);
}

/** A verdict (`evaluate`'s answer), rebuilt from its known fields. */
export function checkVerdict(value: unknown): Checked<Verdict> {
  if (!isRecord(value)) return { ok: false, problem: 'verdict is not an object' };
  const { decision, reason, kind, rule, retryAfter, failure, approval, approvalKind, evaluator } =
    value;
  // An Allow that rests on a remembered approval is an Ask lifted where the engine runs.
  const remembered = checkRememberedApproval(value.rememberedApproval);
  if (remembered === null) return { ok: false, problem: 'rememberedApproval is malformed' };
  if (remembered !== undefined) {
    if (decision !== Decision.Allow || kind !== ReasonKind.AskByRule)
      return { ok: false, problem: 'rememberedApproval on a decision that is no lifted Ask' };
    const lifted = checkVerdict({
      ...value,
      decision: Decision.Ask,
      rememberedApproval: undefined,
    });
    return lifted.ok
      ? {
          ok: true,
          value: { ...lifted.value, decision: Decision.Allow, rememberedApproval: remembered },
        }
      : lifted;
  }
  if (!decisions.has(decision))
    return { ok: false, problem: `unknown decision "${String(decision)}"` };
  if (typeof reason !== 'string' || reason === '')
    return { ok: false, problem: 'verdict has no reason' };
  if (!kinds.has(kind)) return { ok: false, problem: `unknown kind "${String(kind)}"` };
  if (decision === Decision.Allow && !allowKinds.has(kind))
    return { ok: false, problem: `Allow with kind "${String(kind)}"` };
  if (approval !== undefined && (decision !== Decision.Ask || !isTicket(approval))) {
    return { ok: false, problem: 'approval is not a ticket on an Ask' };
  }
  if (decision !== Decision.Deny && denyKinds.has(kind))
    return { ok: false, problem: `${String(decision)} with kind "${String(kind)}"` };
  if (rule !== undefined && typeof rule !== 'string')
    return { ok: false, problem: 'rule is not a string' };
  if (approvalKind !== undefined && (approvalKind !== 'webauthn' || decision !== Decision.Ask))
    return { ok: false, problem: 'approvalKind is not "webauthn" on an Ask' };
  if (retryAfter !== undefined && !(typeof retryAfter === 'number' && retryAfter >= 0)) {
    return { ok: false, problem: 'retryAfter is not a number of seconds' };
  }
  if (
    failure !== undefined &&
    !(isRecord(failure) && typeof failure.path === 'string' && typeof failure.op === 'string')
  ) {
    return { ok: false, problem: 'failure is not a {path, op} object' };
  }
  // Rebuilt field by field: whatever else the reply carried is dropped.
  const verdict: Verdict = { decision: decision as Decision, reason, kind: kind as ReasonKind };
  if (rule !== undefined) verdict.rule = rule;
  if (retryAfter !== undefined) verdict.retryAfter = retryAfter;
  if (isRecord(failure)) {
    const copy: NonNullable<Verdict['failure']> = {
      path: failure.path as string,
      op: failure.op as string,
    };
    if (failure.expected !== undefined) copy.expected = failure.expected as JsonValue;
    if (failure.actual !== undefined) copy.actual = failure.actual as JsonValue;
    verdict.failure = copy;
  }
  if (approvalKind === 'webauthn') verdict.approvalKind = 'webauthn';
  if (isTicket(approval)) {
    const { nonce, expiresAt } = approval;
    verdict.approval = Object.freeze(
      approval.kind === 'webauthn'
        ? { nonce, expiresAt, kind: 'webauthn' as const }
        : { nonce, expiresAt },
    );
  }
  if (evaluator === 'js' || evaluator === 'wasm') verdict.evaluator = evaluator;
  return { ok: true, value: verdict };
}

function checkDiagnostics(value: unknown): Diagnostic[] | null {
  if (!Array.isArray(value)) return null;
  const out: Diagnostic[] = [];
  for (const item of value) {
    if (!isRecord(item)) return null;
    const { severity, path, message } = item;
    if (
      (severity !== 'error' && severity !== 'warning') ||
      typeof path !== 'string' ||
      typeof message !== 'string'
    )
      return null;
    out.push({ severity, path, message });
  }
  return out;
}

function checkPolicyInfo(value: unknown): PolicyInfo | null {
  if (!isRecord(value)) return null;
  const { version, mode, defaultAction, tools, roles, ruleCount } = value;
  if (typeof version !== 'string' || (mode !== 'enforce' && mode !== 'shadow')) return null;
  if ((defaultAction !== 'Allow' && defaultAction !== 'Deny') || typeof ruleCount !== 'number')
    return null;
  if (!isStringArray(tools) || !isStringArray(roles)) return null;
  if (value.approval !== undefined && value.approval !== 'webauthn') return null;
  const { hasRateLimits, hasBudgets, annotationDefaults } = value;
  if (
    typeof hasRateLimits !== 'boolean' ||
    typeof hasBudgets !== 'boolean' ||
    typeof annotationDefaults !== 'boolean'
  )
    return null;
  const untrustedTools = value.untrustedTools;
  if (untrustedTools !== undefined && !isStringArray(untrustedTools)) return null;
  return {
    version,
    mode,
    defaultAction,
    tools,
    roles,
    ruleCount,
    hasRateLimits,
    hasBudgets,
    annotationDefaults,
    ...(value.approval === 'webauthn' ? { approval: 'webauthn' as const } : {}),
    ...(untrustedTools === undefined ? {} : { untrustedTools: [...untrustedTools] }),
    // Checked where it is used (tool-pins.ts reads any value, fail closed).
    ...(value.toolPins === undefined ? {} : { toolPins: value.toolPins }),
  };
}

/** A remembered approval's reference: undefined when absent, null when malformed. */
function checkRememberedApproval(value: unknown): RememberedApprovalRef | null | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) return null;
  const { id, rule, expiresAt } = value;
  if (typeof id !== 'string' || typeof rule !== 'string' || typeof expiresAt !== 'number')
    return null;
  return { id, rule, expiresAt };
}

/** A policy load (`load`'s answer): policy info and diagnostics, or errors. */
export function checkPolicyLoad(value: unknown): Checked<PolicyLoad> {
  if (!isRecord(value)) return { ok: false, problem: 'policy load is not an object' };
  const warnings = checkDiagnostics(value.warnings);
  if (warnings === null) return { ok: false, problem: 'policy load warnings are not diagnostics' };
  if (value.ok === true) {
    const policy = checkPolicyInfo(value.policy);
    if (policy === null) return { ok: false, problem: 'policy load has no valid policy info' };
    return { ok: true, value: { ok: true, policy, warnings } };
  }
  const errors = checkDiagnostics(value.errors);
  if (value.ok !== false || errors === null || errors.length === 0)
    return { ok: false, problem: 'failed policy load has no errors' };
  return { ok: true, value: { ok: false, errors, warnings } };
}

/** The worker's status (its readiness check): the engine's ABI version and its policy, if any. */
export function checkStatus(value: unknown): Checked<WorkerStatus> {
  if (!isRecord(value) || typeof value.abiVersion !== 'number')
    return { ok: false, problem: 'status has no abiVersion' };
  const policy = value.policy === null ? null : checkPolicyInfo(value.policy);
  if (value.policy !== null && policy === null)
    return { ok: false, problem: 'status has malformed policy info' };
  return { ok: true, value: { abiVersion: value.abiVersion, policy } };
}

/** `forget`'s answer: nothing. */
export function checkForgotten(value: unknown): Checked<undefined> {
  return value === null || value === undefined
    ? { ok: true, value: undefined }
    : { ok: false, problem: 'forget answered a value' };
}
