/**
 * A `Perso`'s answer to one call, built from the engine's verdict.
 *
 * Checklist:
 * - faults (`invalid_request`, `no_policy`, `engine_fault`) are enforced even in shadow mode, and
 *   name no evaluator;
 * - an Ask's approval ticket is non-enumerable: it is for the host's approval flow, not for JSON
 *   output or logs.
 */
import type { DecisionResult, ReasonKind } from '../call/decision.ts';
import type { Verdict } from '../engine/types.ts';

const FAULT_KINDS: ReadonlySet<string> = new Set<ReasonKind>([
  'invalid_request',
  'no_policy',
  'engine_fault',
]);

/**
 * The result of `verdict` under the policy `policyVersion`, `enforced` unless the policy is in
 * shadow mode.
 */
export function decisionResult(
  verdict: Verdict,
  policyVersion: string | null,
  enforced: boolean,
): DecisionResult {
  const kind = verdict.kind;
  const result: DecisionResult = {
    decision: verdict.decision,
    reason: verdict.reason,
    kind,
    policyVersion,
    enforced: enforced || FAULT_KINDS.has(kind),
  };
  if (verdict.rule !== undefined) result.rule = verdict.rule;
  if (verdict.retryAfter !== undefined) result.retryAfter = verdict.retryAfter;
  if (verdict.failure !== undefined) result.failure = verdict.failure;
  if (verdict.approvalKind !== undefined) result.approvalKind = verdict.approvalKind;
  if (verdict.rememberedApproval !== undefined)
    result.rememberedApproval = verdict.rememberedApproval;
  const evaluator = verdict.evaluator ?? (FAULT_KINDS.has(kind) ? undefined : 'wasm');
  if (evaluator !== undefined) result.evaluator = evaluator;
  // Non-enumerable: the ticket is for the host's approval flow, not for JSON output or logs.
  if (verdict.approval !== undefined)
    Object.defineProperty(result, 'approval', { value: verdict.approval, enumerable: false });
  return result;
}
