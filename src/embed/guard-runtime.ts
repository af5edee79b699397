/**
 * What the embed gives each guard it installs (WebMCP contexts, MCP registries): the session for the
 * current principal, the page's decision reports, the person's approvals, and the canary.
 */
import type { DecisionResult } from '../call/decision.ts';
import type { PersoSession } from '../perso/session.ts';
import type { ToolFacts } from '../audit/audit-record.ts';

/** What the wrapper needs from the embed. */
export interface GuardRuntime {
  /** The session for the current principal, or why calls are denied; waits for the policy. */
  session(): Promise<PersoSession | string>;
  /** Tells the page about a decision. */
  report(tool: string, args: unknown, decision: DecisionResult): void;
  /**
   * Asks a person about an Ask, when the host configured a way to; `signal` aborts when the
   * agent cancels the call, which closes the question as a "no".
   */
  approve(
    tool: string,
    args: unknown,
    decision: DecisionResult,
    signal?: AbortSignal,
  ): Promise<boolean>;
  /** Whether `name` is the canary, and the answer to give it. */
  canaryAnswer(name: string): unknown;
  /** Told of each tool registered through a guard (the canary checks it was), with what was seen of it. */
  registered?(name: string, facts: Promise<ToolFacts>): void;
}
