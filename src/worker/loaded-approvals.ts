/**
 * The worker's approvals once loaded (part of `worker-approvals.ts`): the tickets for Ask
 * decisions and the approvals a person gave that cover later calls (an Ask rule's `remember`),
 * told about each policy together.
 *
 * Checklist:
 * - approvals loaded after a policy get that policy, as if they had been there all along;
 * - an Ask a remembered approval covers is decided again (the engine stays the authority), and one
 *   still an Ask gets its ticket.
 */
import type { ToolCall } from '../call/decision.ts';
import type { Verdict } from '../engine/types.ts';
import { ApprovalLedger, type ApprovalLedgerOptions } from '../backend/approval-ledger.ts';
import { RememberedApprovals } from '../backend/remembered-approvals.ts';

/** The tickets and the remembered approvals. */
export class LoadedApprovals {
  readonly tickets: ApprovalLedger;
  readonly remembered = new RememberedApprovals();

  /**
   * @param options the ledger's options (origin, the WebAuthn check)
   * @param policyText the policy the engine holds, if any
   */
  constructor(options: ApprovalLedgerOptions, policyText: string | null) {
    this.tickets = new ApprovalLedger(options);
    if (policyText !== null) this.policyLoaded(policyText);
  }

  /** After the engine loaded `policyText`. */
  policyLoaded(policyText: string): void {
    this.tickets.policyLoaded(policyText);
    this.remembered.policyLoaded(policyText);
  }

  /**
   * An Ask as the caller gets it: lifted by a remembered approval that covers it, else offered a
   * ticket.
   *
   * @param nowSeconds the host's time of the call
   * @param decide the engine's decision of a call at that time (a remembered approval's check)
   */
  decided(
    call: ToolCall,
    verdict: Verdict,
    nowSeconds: number,
    decide: (call: ToolCall) => Verdict,
  ): Verdict {
    const covered = this.remembered.cover(call, verdict, nowSeconds, decide);
    if (covered === null) return this.tickets.attach(call, verdict);
    return covered.decision === 'Ask' ? this.tickets.attach(call, covered) : covered;
  }
}
