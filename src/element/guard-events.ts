/**
 * The typed events of `<perso-guard>`: what it reports (`perso-decision`, `perso-status`,
 * `perso-error`) and how an agent UI inside it asks for a tool call (`perso-tool-call`). All bubble
 * and cross shadow roots.
 */
import type { DecisionResult } from '../call/decision.ts';
import type { PolicyStatus } from '../perso/perso.ts';

/** Fired after every decision the guard makes, before the tool runs (or does not). */
export class PersoDecisionEvent extends Event {
  /** The event's type. */
  static readonly type = 'perso-decision';
  /** The tool that was called. */
  readonly tool: string;
  /** The canonical arguments that were checked (or the raw ones when they could not be). */
  readonly args: unknown;
  /** The decision. */
  readonly decision: DecisionResult;

  /**
   * @param tool the tool that was called
   * @param args the arguments that were checked
   * @param decision the decision
   */
  constructor(tool: string, args: unknown, decision: DecisionResult) {
    super(PersoDecisionEvent.type, { bubbles: true, composed: true });
    this.tool = tool;
    this.args = args;
    this.decision = decision;
  }
}

/** Fired when the guard cannot do its work: the policy failed to load, or a tool threw. */
export class PersoErrorEvent extends Event {
  /** The event's type. */
  static readonly type = 'perso-error';
  /** What went wrong, and what to do. */
  readonly message: string;
  /** The tool involved, when there was one. */
  readonly tool: string | null;

  /**
   * @param message what went wrong
   * @param tool the tool involved, if any
   */
  constructor(message: string, tool: string | null = null) {
    super(PersoErrorEvent.type, { bubbles: true, composed: true });
    this.message = message;
    this.tool = tool;
  }
}

/**
 * Fired when the guard's policy has loaded or reloaded, whether or not that succeeded (a failure
 * also fires `perso-error`). Only the latest load reports.
 */
export class PersoStatusEvent extends Event {
  /** The event's type. */
  static readonly type = 'perso-status';
  /** The policy's status: version, hash, mode, source, and the last attempt's errors and warnings. */
  readonly status: PolicyStatus;

  /** @param status the policy's status */
  constructor(status: PolicyStatus) {
    super(PersoStatusEvent.type, { bubbles: true, composed: true });
    this.status = status;
  }
}

/**
 * Dispatched by an agent UI (anywhere inside the guard) to call a tool. The guard handles it
 * synchronously and sets {@link PersoToolCallEvent.result}; the agent awaits that.
 */
export class PersoToolCallEvent extends Event {
  /** The event's type. */
  static readonly type = 'perso-tool-call';
  /** The tool to call. */
  readonly tool: string;
  /** Its arguments, as the model sent them. */
  readonly args: unknown;
  /**
   * Set by the guard when it takes the call: resolves to the tool's own result on Allow, or to a
   * denial result (`isError: true`) otherwise. Stays `null` when no guard took the call.
   */
  result: Promise<unknown> | null = null;

  /**
   * @param tool the tool to call
   * @param args its arguments
   */
  constructor(tool: string, args: unknown) {
    super(PersoToolCallEvent.type, { bubbles: true, composed: true, cancelable: true });
    this.tool = tool;
    this.args = args;
  }
}

declare global {
  interface HTMLElementEventMap {
    'perso-decision': PersoDecisionEvent;
    'perso-error': PersoErrorEvent;
    'perso-status': PersoStatusEvent;
    'perso-tool-call': PersoToolCallEvent;
  }
}
