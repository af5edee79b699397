/**
 * The public `Perso` API: load a policy, decide tool calls, bind principals, audit decisions. The
 * class holds its parts together: the policy and its engine (perso-policy.ts), the decisions
 * (perso-decider.ts), approvals (approval-redemption.ts), the auditor (perso-auditor.ts), batches (perso-batch.ts) and the
 * evaluator's memory (evaluator-memory.ts).
 *
 * Checklist (the promises this class keeps):
 * - `Perso.load` never rejects over a bad or missing policy: the instance it resolves to denies
 *   every call (`no_policy`) with a reason that says why, and `status()` carries the errors;
 * - no public method rejects, and `evaluate`, `approve` and `evaluateBatch` resolve to decisions:
 *   bad requests and engine faults are Deny, never exceptions a caller could mistake for Allow;
 * - shadow mode (the `mode` option, or the policy's `mode: "shadow"` where the host allows it: a
 *   fetched policy only with `mode: 'policy'`) decides and reports with `enforced: false`; faults
 *   (`invalid_request`, `no_policy`, `engine_fault`) are always enforced;
 * - with audit transports, the record builder is loaded before `load` resolves, and `close`
 *   waits for queued records and closes every transport.
 */
import type { Explanation } from '../analysis/explain-call.ts';
import type { ToolFacts } from '../audit/audit-record.ts';
import type { ApprovalEvidence } from '../backend/approval-evidence.ts';
import type { EvaluatorBackend } from '../backend/evaluator-backend.ts';
import type { CanonicalArgs } from '../call/canonical-args.ts';
import type { DecisionResult, ReasonKind, ToolCall } from '../call/decision.ts';
import { ownCopy } from '../call/own-properties.ts';
import { ownNow } from './call-time.ts';
import { errorText, FETCH_FILES_FIX, notLoaded } from '../encoding/text.ts';
import type { EvaluatorState, RecordAnswer, ToolResultRecord } from '../engine/types.ts';
import type { AnnotationHints } from '../policy/annotation-defaults.ts';
import type { PolicyInput } from '../policy/policy-source.ts';
import { evaluatorState, forgetEvaluatorState, recordToolResult } from './evaluator-memory.ts';
import type { PersoAuditor } from './perso-auditor.ts';
import { PersoDecider } from './perso-decider.ts';
import { optionsProblem, readSettings } from './perso-options.ts';
import type { PersoOptions, PersoSettings } from './perso-options.ts';
import { PersoPolicy } from './perso-policy.ts';
import type { PolicyStatus } from './policy-status.ts';
import { PersoSession } from './session.ts';
import type { Principal, SessionHost } from './session.ts';
import { onDemand } from '../backend/within-time.ts';

export type { PersoMode, PersoOptions } from './perso-options.ts';
export type { PolicyInput } from '../policy/policy-source.ts';
export type { PolicyStatus } from './policy-status.ts';

// Loaded on demand: a page without audit transports never downloads the auditor, one whose policy
// never asks never downloads the approval code, one that decides a call at a time no batch code.
const auditorCode = onDemand(() => import('./perso-auditor.ts'));
const redemptionCode = onDemand(() => import('./approval-redemption.ts'));
const batchCode = onDemand(() => import('./perso-batch.ts'));

/**
 * A policy guard. `const perso = await Perso.load({ policy })`, then
 * `await perso.evaluate({ tool, args, role, agentAttributes, resourceAttributes })`.
 */
export class Perso {
  /** The engine and the active policy: loads, reloads, the status. */
  readonly #policy: PersoPolicy;
  /** One call decided and audited. */
  readonly #decider: PersoDecider;
  /**
   * The auditor, once loaded (with audit transports, before `load` resolves); else `null` (the hot
   * path does no audit work).
   */
  #auditor: PersoAuditor | null = null;
  /** With transports: `null` once the auditor loaded, or why it could not (no policy then activates). */
  readonly #recordsReady: Promise<string | null>;
  /** What sessions and guarded calls reach this instance through. */
  readonly #host: SessionHost;
  /** Sessions made so far: each gets its own key for its untrusted content. */
  #sessions = 0;

  private constructor(options: Partial<PersoOptions>) {
    const settings = readSettings(options);
    const auditing = settings.transports.length > 0;
    this.#recordsReady = auditing ? this.#loadAuditor(settings) : Promise.resolve(null);
    this.#policy = new PersoPolicy(settings, options.policy, this.#recordsReady);
    this.#decider = new PersoDecider(
      this.#policy,
      settings.clock,
      auditing,
      settings.durableBeforeRun,
    );
    const policy = this.#policy;
    const decider = this.#decider;
    this.#host = Object.freeze({
      evaluate: (call: ToolCall) => this.evaluate(call),
      decide: (
        call: ToolCall,
        canonical: CanonicalArgs,
        toolFacts?: ToolFacts,
        annotations?: AnnotationHints,
      ) => decider.decide(call, canonical, toolFacts, annotations),
      refuse: (
        call: { tool: unknown; role: unknown },
        reason: string,
        kind?: ReasonKind,
        toolFacts?: ToolFacts,
      ) => decider.refuse(call, reason, kind, toolFacts),
      approve: (nonce: string, call: ToolCall, evidence?: ApprovalEvidence) =>
        this.approve(nonce, call, evidence),
      policyApproval: () => (policy.status.approval === 'webauthn' ? 'webauthn' : 'click'),
      policyHash: () => policy.status.hash,
      toolPins: () => policy.status.toolPins ?? null,
      recordResult: (record: ToolResultRecord) => this.recordResult(record),
      explain: (call: ToolCall | string) => this.explain(call as ToolCall),
    });
  }

  /**
   * Starts an engine and loads the policy. Never rejects over a bad or missing policy or a
   * failed engine: the instance then denies every call, and `status()` says why.
   */
  static async load(options: PersoOptions): Promise<Perso> {
    // Own options only, read once: a polluted Object.prototype.mode ("shadow") or .clock must not
    // reach the instance.
    const given: Partial<PersoOptions> = ownCopy(options);
    const perso = new Perso(given);
    const problem = optionsProblem(
      options === null || typeof options !== 'object' ? options : given,
    );
    if (problem !== null) perso.#policy.refuse(problem);
    else await perso.reload();
    // Its denials are audited too: the record builder is there before the instance is returned.
    await perso.#recordsReady;
    return perso;
  }

  // Imported lazily: a page without audit transports never downloads the auditor. Never rejects.
  async #loadAuditor(settings: PersoSettings): Promise<string | null> {
    let module: typeof import('./perso-auditor.ts');
    try {
      module = await auditorCode();
    } catch (error) {
      return `audit records cannot be built: ${notLoaded('the record builder', error)}; ${FETCH_FILES_FIX}, then load a new instance`;
    }
    const auditor = new module.PersoAuditor(
      settings.transports,
      settings.hashArgs,
      settings.hashKey,
    );
    this.#auditor = auditor;
    this.#decider.auditor = auditor;
    return null;
  }

  /** The active policy's `version` label; `null` when no valid policy is loaded. */
  get policyVersion(): string | null {
    return this.#policy.version;
  }

  /** The state of the loaded policy and of the last load attempt. */
  status(): PolicyStatus {
    return this.#policy.status;
  }

  /**
   * Decides one call. Always resolves to a decision: a bad request, no policy or an engine fault
   * is a Deny with a reason saying so.
   */
  evaluate(call: ToolCall): Promise<DecisionResult> {
    return this.#decider.evaluate(call);
  }

  /**
   * Why `call` would be decided as it is now, without deciding it: the (tool, role) entry used or
   * the default, every condition node's result and the values it read, which Deny and Ask rules
   * hold, and the rate-limit window's and budget's state as this instance's engine left them. The
   * same trace as `perso explain`. Nothing is counted or audited; `evaluate` stays the authority.
   * Its code loads on first use (a dynamic import), so it adds nothing to a page that never asks.
   */
  async explain(call: ToolCall): Promise<Explanation> {
    const { explainWith } = await import('../analysis/explain-call.ts');
    const policy = this.#policy;
    // (A session's call that cannot be read comes as its error: explained as that Deny.)
    const explained = await explainWith(
      policy.closed ? null : policy.text,
      () => this.#decider.now(),
      policy.backend,
      call,
    );
    if (!policy.enforced) explained.enforced = false;
    return explained;
  }

  /**
   * Redeems a person's approval of an Ask: `nonce` is the `approval.nonce` the Ask carried, `call`
   * the same call. Where the engine runs (the worker, or the inline engine), the ticket is checked
   * (same call, single use, not expired), the call decided again, and an Ask lifted to Allow; a
   * refused ticket is a Deny naming why. Audited like any decision. Never rejects.
   * A WebAuthn ticket (`approval.kind === 'webauthn'`) needs `evidence`: the assertion a
   * `requestWebAuthnApproval` ceremony made for it, or its failure (then a Deny saying which).
   */
  async approve(
    nonce: string,
    call: ToolCall,
    evidence?: ApprovalEvidence,
  ): Promise<DecisionResult> {
    const decider = this.#decider;
    let redemption: typeof import('./approval-redemption.ts');
    try {
      // Loaded with the first approval: a page whose policy never asks never downloads it.
      redemption = await redemptionCode();
    } catch (error) {
      const reason = `engine fault: ${notLoaded('the approval code', error)}; the call was not run, ${FETCH_FILES_FIX} and retry`;
      return decider.record(call, decider.deny('engine_fault', reason), null, null);
    }
    return redemption.redeemApproval(decider, this.#policy, nonce, call, evidence);
  }

  /**
   * Decides many calls, in order, at one time. With the worker engine, a batch of more than
   * {@link BATCH_SLICE} calls travels in equal slices of at most that many, pipelined: the page
   * copies the next slice's args while the worker decides the previous one, and builds a slice's
   * results while the worker decides the next, so the two threads work at once.
   */
  async evaluateBatch(calls: readonly ToolCall[]): Promise<DecisionResult[]> {
    const policy = this.#policy;
    const decider = this.#decider;
    const backend = policy.backend;
    let batchable: boolean;
    let now = 0;
    try {
      if (!Array.isArray(calls)) return [];
      batchable =
        backend !== null &&
        policy.sync === null &&
        !decider.auditing &&
        policy.version !== null &&
        !policy.closed &&
        calls.every(
          (call) => call !== null && typeof call === 'object' && ownNow(call) === undefined,
        );
      // The batch's one time; a clock that fails (or gives milliseconds) denies each call alone.
      if (batchable) now = decider.now();
    } catch {
      // A call whose time cannot be read: each call goes alone, read once into its snapshot
      // (call-snapshot.ts), and that one is a Deny naming the field.
      batchable = false;
    }
    try {
      if (!batchable) return await Promise.all(calls.map((call) => this.evaluate(call)));
    } catch (error) {
      // The list itself cannot be read (a Proxy that throws): there is no call to answer.
      return [
        decider.refuse(
          { tool: undefined, role: undefined },
          `invalid request: the batch cannot be read (${errorText(error)}); pass an array of calls`,
        ),
      ];
    }
    if (calls.length === 0) return [];
    let batch: typeof import('./perso-batch.ts');
    try {
      // Loaded with the first batch: a page that decides one call at a time never downloads it.
      batch = await batchCode();
    } catch (error) {
      const reason = `engine fault: ${notLoaded('the batch code', error)}; no call was decided, ${FETCH_FILES_FIX} and retry`;
      return calls.map(() => decider.deny('engine_fault', reason));
    }
    return batch.decideBatch(
      {
        evaluate: (call, at) => decider.evaluate(call, at),
        deny: (kind, reason) => decider.deny(kind, reason),
        result: (verdict) => decider.result(verdict),
      },
      backend as EvaluatorBackend,
      calls,
      now,
    );
  }

  /**
   * Binds a principal: the returned session is frozen, its role and a deep-frozen copy of its
   * attributes fixed for good. Take the role from the host's session or token, never the model.
   */
  session(principal: Principal): PersoSession {
    this.#sessions++;
    return new PersoSession(this.#host, principal, `session-${this.#sessions}`);
  }

  /**
   * Hands a tool's result to the evaluator: when the policy's `untrusted_tools` name the tool, or
   * `record.untrusted` is true (e.g. WebMCP's `untrustedContentHint`), the session
   * (`record.session`, default: the one of calls without a session) keeps it as untrusted content,
   * which `SessionUntrusted` and `FromUntrusted` conditions read. Sessions record their own with
   * {@link PersoSession.recordResult}. Never rejects: a result that cannot be recorded answers why
   * (`ok: false`): the session does not hold it, so never show it to the model.
   */
  async recordResult(record: ToolResultRecord): Promise<RecordAnswer> {
    const answer = await recordToolResult(this.#policy, record);
    // Untrusted content is state a replay must rebuild: the audit log keeps it, in order.
    if (answer.ok && answer.untrusted) this.#auditor?.recordResult(record);
    return answer;
  }

  /**
   * The evaluator's state that outlives a call, where the engine runs (the worker in a page, this
   * process in Node): untrusted content per session, remembered approvals, and budget windows as
   * they stood at their last check. `null` when it cannot be read (no engine, a fault). Never rejects.
   */
  state(): Promise<EvaluatorState | null> {
    return evaluatorState(this.#policy);
  }

  /** Forgets every session's untrusted content and every remembered approval. Never rejects. */
  forget(): Promise<void> {
    return forgetEvaluatorState(this.#policy);
  }

  /**
   * Loads a policy (or the current source again, e.g. an edited file) and swaps it in
   * atomically. On failure the last good policy stays active and the status carries the errors.
   * Never rejects. Reloads run one at a time, in call order.
   */
  reload(policy?: PolicyInput): Promise<PolicyStatus> {
    return this.#policy.reload(policy);
  }

  /**
   * Stops the engine; later calls are Deny. Waits for queued audit records, then closes every
   * audit transport it was given (a transport without `close` is flushed), so no timer of perso's
   * keeps a Node process alive afterwards. Never rejects.
   */
  async close(): Promise<void> {
    this.#policy.close();
    await this.#auditor?.close();
  }
}
