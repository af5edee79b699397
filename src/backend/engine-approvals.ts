/**
 * One engine's approvals: the tickets for Ask decisions and the approvals a person gave that cover
 * later calls (an Ask rule's `remember`), told about each policy together. The in-thread backend
 * holds one; the worker loads one on its first Ask (`worker-approvals.ts`).
 *
 * Checklist:
 * - approvals made after a policy get that policy, as if they had been there all along;
 * - an Ask a remembered approval covers is decided again (the engine stays the authority), and one
 *   still an Ask gets its ticket.
 */
import type { ToolCall } from '../call/decision.ts';
import type { Verdict } from '../engine/types.ts';
import { ApprovalLedger, type ApprovalLedgerOptions } from './approval-ledger.ts';
import { RememberedApprovals } from './remembered-approvals.ts';

/** The tickets and the remembered approvals. */
export class EngineApprovals {
  readonly tickets: ApprovalLedger;
  readonly remembered = new RememberedApprovals();

  /**
   * @param options the ledger's options (origin, the WebAuthn check)
   * @param policyText the policy the engine holds, if any
   */
  constructor(options: ApprovalLedgerOptions = {}, policyText: string | null = null) {
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

  /**
   * Redeems a person's approval (see `ApprovalLedger.approve`) and remembers it when its Ask rule
   * says `remember`.
   *
   * @param decide the engine's decision of the approved call at `nowSeconds`
   */
  async approve(
    nonce: string,
    call: ToolCall,
    nowSeconds: number,
    decide: (call: ToolCall) => Verdict,
    evidence?: unknown,
  ): Promise<Verdict> {
    const verdict = (await this.tickets.approve(nonce, call, decide, evidence)) as Verdict;
    this.remembered.approved(call, verdict, nowSeconds);
    return verdict;
  }
}
