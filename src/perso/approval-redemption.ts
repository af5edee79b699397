/**
 * `Perso.approve`: a person's approval of an Ask redeemed where the engine runs (the worker, or
 * the inline engine), which checks the ticket (same call, single use, not expired), decides the
 * call again and lifts an Ask to Allow.
 *
 * Checklist:
 * - never rejects: a refused ticket, a bad request or an engine fault is a Deny naming why;
 * - the ticket is redeemed for the canonical copy of the call's args, at the call's own time
 *   (`null` refused) or else the clock;
 * - a WebAuthn ticket is passed its evidence (the ceremony's assertion, or its failure);
 * - the outcome is audited like any decision, `durable: 'before-run'` included.
 */
import type { ApprovalEvidence } from '../backend/approval-evidence.ts';
import { withArgs } from '../call/call-with-args.ts';
import { snapshotCall } from '../call/call-snapshot.ts';
import type { DecisionResult, ToolCall } from '../call/decision.ts';
import { errorText } from '../encoding/text.ts';
import { badTimeReason, ownNow } from './call-time.ts';
import type { RecordedFacts } from './perso-auditor.ts';
import type { PersoDecider } from './perso-decider.ts';
import { CLOSED, readArgs } from './perso-decider.ts';
import type { PersoPolicy } from './perso-policy.ts';

/**
 * Redeems the approval `nonce` (an Ask's `approval.nonce`) for `call`, and audits the outcome.
 *
 * @param decider the instance's decisions (its results, Denies, clock and audit)
 * @param policy the instance's engine and active policy
 * @param nonce the ticket's nonce
 * @param call the call the Ask was about
 * @param evidence for a WebAuthn ticket: the ceremony's assertion or its failure
 */
export async function redeemApproval(
  decider: PersoDecider,
  policy: PersoPolicy,
  nonce: string,
  call: ToolCall,
  evidence?: ApprovalEvidence,
): Promise<DecisionResult> {
  // Read once, own fields only (call-snapshot.ts), as evaluate reads a call.
  const read = snapshotCall(call);
  if (typeof read === 'string')
    return decider.refuse({ tool: undefined, role: undefined }, `invalid request: ${read}`);
  call = read;
  const canonical = readArgs(call);
  const facts = canonical.ok ? decider.facts(withArgs(call, canonical.value)) : null;
  const result = !canonical.ok
    ? decider.deny('invalid_request', `invalid request: ${canonical.error}`)
    : typeof facts === 'string'
      ? decider.deny('invalid_request', `invalid request: ${facts}`)
      : await redeemChecked(
          decider,
          policy,
          nonce,
          facts?.call ?? withArgs(call, canonical.value),
          facts,
          evidence,
        );
  return decider.record(call, result, canonical, facts);
}

async function redeemChecked(
  decider: PersoDecider,
  policy: PersoPolicy,
  nonce: string,
  call: ToolCall,
  facts: RecordedFacts | null,
  evidence: ApprovalEvidence | undefined,
): Promise<DecisionResult> {
  if (policy.closed) return decider.deny('engine_fault', CLOSED);
  if (policy.version === null) return decider.deny('no_policy', policy.noPolicyReason);
  const backend = policy.backend;
  if (backend === null || typeof backend.approve !== 'function') {
    return decider.deny(
      'engine_fault',
      'engine fault: this engine cannot redeem approvals; the call was not run',
    );
  }
  let now: unknown;
  try {
    const given = ownNow(call);
    now = given === undefined ? decider.now() : given;
  } catch (error) {
    return decider.deny(
      'invalid_request',
      `invalid request: the time cannot be read (${errorText(error)}); check the call's "now" and the clock option`,
    );
  }
  if (typeof now !== 'number' || !Number.isFinite(now))
    return decider.deny('invalid_request', badTimeReason(now));
  try {
    if (facts !== null) facts.now = now;
    return decider.result(
      await (evidence === undefined
        ? backend.approve(nonce, call, now)
        : backend.approve(nonce, call, now, evidence)),
    );
  } catch (error) {
    return decider.deny('engine_fault', `engine fault: ${errorText(error)}; retry the call`);
  }
}
