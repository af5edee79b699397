/**
 * The public `Perso` API: load a policy, decide tool calls, bind principals, audit decisions.
 *
 * Checklist (the promises this class keeps):
 * - `Perso.load` never rejects over a bad or missing policy: the instance it resolves to denies
 *   every call (`no_policy`) with a reason that says why, and `status()` carries the errors;
 * - a failed load (first or `reload`) is never silent: `onError` gets the status, or else one
 *   `console.warn` says what failed and what stays active;
 * - `evaluate` always resolves to a `DecisionResult`: bad requests and engine faults are Deny,
 *   never exceptions a caller could mistake for Allow;
 * - `reload` swaps the policy atomically and keeps the last good one on failure; the reported
 *   version changes only when a load succeeds;
 * - shadow mode (the `mode` option, or the policy's `mode: "shadow"` where the host allows it: a
 *   fetched policy only with `mode: 'policy'`) decides and reports with `enforced: false`; faults
 *   (`invalid_request`, `no_policy`, `engine_fault`) are always enforced;
 * - every call is decided on one canonical, frozen copy of its args (canonical-args.ts), whatever
 *   the engine, and the decision returns that copy as `args`;
 * - with no audit transport the hot path does no audit work: one canonical copy, one engine call,
 *   one result object; with transports, every decision becomes one record per transport, and
 *   emitting never awaits nor throws into the decision path.
 */
import type { AnnotationHints } from '../policy/annotation-defaults.ts';
import type { ToolFacts } from '../audit/audit-record.ts';
import type { ApprovalEvidence } from '../backend/approval-evidence.ts';
import type { EvaluatorBackend, SyncEvaluatorBackend } from '../backend/evaluator-backend.ts';
import { isSyncBackend } from '../backend/evaluator-backend.ts';
import { withArgs } from '../call/call-with-args.ts';
import type { CanonicalArgs } from '../call/canonical-args.ts';
import { canonicalizeArgs } from '../call/canonical-args.ts';
import type { DecisionResult, ReasonKind, ToolCall } from '../call/decision.ts';
import type { Explanation } from '../analysis/explain-call.ts';
import type {
  Diagnostic,
  EvaluatorState,
  PolicyLoad,
  RecordAnswer,
  ToolResultRecord,
  Verdict,
} from '../engine/types.ts';
import { own, ownCopy } from '../call/own-properties.ts';
import { PersoAuditor, recordedFacts } from './perso-auditor.ts';
import { decisionResult } from './perso-result.ts';
import type { RecordedFacts } from './perso-auditor.ts';
import { createBackend, modeFor, readExtensions, resolvePolicy } from './perso-loading.ts';
import type { AnnotationDefaults } from './perso-loading.ts';
import { optionsProblem, readSettings } from './perso-options.ts';
import type { PersoOptions, PersoSettings } from './perso-options.ts';
import type { PolicyInput } from '../policy/policy-source.ts';
import {
  freezeStatus,
  initialStatus,
  loadFailureWarning,
  noPolicyReason,
  withToolPins,
} from './policy-status.ts';
import type { PolicyStatus } from './policy-status.ts';
import { PersoSession } from './session.ts';
import type { Principal, SessionHost } from './session.ts';
import { sha256Hex } from '../encoding/sha256-hex.ts';
import { errorText, quote } from '../encoding/text.ts';

export type { PersoMode, PersoOptions } from './perso-options.ts';
export type { PolicyInput } from '../policy/policy-source.ts';
export type { PolicyStatus } from './policy-status.ts';

/**
 * A policy guard. `const perso = await Perso.load({ policy })`, then
 * `await perso.evaluate({ tool, args, role, agentAttributes, resourceAttributes })`.
 */
export class Perso {
  #backend: EvaluatorBackend | null = null;
  #sync: SyncEvaluatorBackend | null = null;
  #input: unknown;
  /** The active policy's text, for {@link explain}. */
  #policyText: string | null = null;
  readonly #settings: PersoSettings;
  #clock: (() => number) | null;
  /** The auditor, when the host gave audit transports; else `null` (the hot path does no audit work). */
  readonly #auditor: PersoAuditor | null;
  readonly #auditing: boolean;
  readonly #durableBeforeRun: boolean;
  /** With transports: `null` once the record builder loaded, or why it could not (no policy then activates). */
  readonly #recordsReady: Promise<string | null>;
  #reloading: Promise<unknown> = Promise.resolve();
  #version: string | null = null;
  #enforced = true;
  // Whether the active policy can count calls. Reading the system clock costs about as much as a
  // decision here, and only rate limits and budgets use the time; see #load for why the test is exact.
  #needsClock = true;
  /** The annotation defaults module, loaded for the active policy when it opts in; else `null`. */
  #annotationDefaults: AnnotationDefaults | null = null;
  #status: PolicyStatus;
  #noPolicyReason =
    'no valid policy loaded: none was given; pass a policy to Perso.load and reload';
  #closed = false;
  #host: SessionHost;
  /** Sessions made so far: each gets its own key for its untrusted content. */
  #sessions = 0;

  private constructor(options: Partial<PersoOptions>) {
    this.#input = options.policy;
    const settings = readSettings(options);
    this.#settings = settings;
    this.#clock = settings.clock;
    this.#auditor =
      settings.transports.length > 0
        ? new PersoAuditor(settings.transports, settings.hashArgs, settings.hashKey)
        : null;
    this.#auditing = this.#auditor !== null;
    this.#durableBeforeRun = settings.durableBeforeRun;
    this.#recordsReady = this.#auditor?.ready ?? Promise.resolve(null);
    this.#status = initialStatus(settings.mode === 'shadow' ? 'shadow' : 'enforce');
    this.#host = Object.freeze({
      evaluate: (call: ToolCall) => this.evaluate(call),
      decide: (
        call: ToolCall,
        canonical: CanonicalArgs,
        toolFacts?: ToolFacts,
        annotations?: AnnotationHints,
      ) => this.#decide(call, canonical, toolFacts, annotations),
      refuse: (
        call: { tool: unknown; role: unknown },
        reason: string,
        kind?: ReasonKind,
        toolFacts?: ToolFacts,
      ) => this.#refuse(call, reason, kind, toolFacts),
      approve: (nonce: string, call: ToolCall, evidence?: ApprovalEvidence) =>
        this.approve(nonce, call, evidence),
      policyApproval: () => (this.#status.approval === 'webauthn' ? 'webauthn' : 'click'),
      policyHash: () => this.#status.hash,
      toolPins: () => this.#status.toolPins ?? null,
      recordResult: (record: ToolResultRecord) => this.recordResult(record),
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
    if (problem !== null) perso.#reportFailure(perso.#fail([problem], []));
    else await perso.reload();
    // Its denials are audited too: the record builder is there before the instance is returned.
    await perso.#recordsReady;
    return perso;
  }

  /** The active policy's `version` label; `null` when no valid policy is loaded. */
  get policyVersion(): string | null {
    return this.#version;
  }

  /** The state of the loaded policy and of the last load attempt. */
  status(): PolicyStatus {
    return this.#status;
  }

  /**
   * Decides one call. Always resolves to a decision: a bad request, no policy or an engine fault
   * is a Deny with a reason saying so.
   */
  evaluate(call: ToolCall): Promise<DecisionResult> {
    return this.#evaluate(call);
  }

  /** {@link evaluate}; `at`: the time for a call without its own `now` (a batch's one time), else the clock. */
  #evaluate(call: ToolCall, at?: number): Promise<DecisionResult> {
    const sync = this.#sync;
    if (
      !this.#auditing &&
      sync !== null &&
      this.#version !== null &&
      call !== null &&
      typeof call === 'object'
    ) {
      // The hot path: one canonical copy, one engine call, one result object.
      try {
        let now = ownNow(call);
        if (now === undefined)
          now =
            this.#clock !== null
              ? this.#clock()
              : this.#needsClock
                ? Date.now() / 1000
                : Number.NaN;
        else if (typeof now !== 'number' || !Number.isFinite(now)) now = undefined;
        if (now !== undefined) {
          const canonical = canonicalizeArgs(call.args);
          if (!canonical.ok)
            return Promise.resolve(
              this.#deny('invalid_request', `invalid request: ${canonical.error}`),
            );
          // One literal shape for every call (absent fields undefined, which the engine reads as absent).
          const checked: ToolCall = {
            tool: own(call, 'tool') as string,
            args: canonical.value,
            role: own(call, 'role') as string,
            agentAttributes: own(call, 'agentAttributes'),
            resourceAttributes: own(call, 'resourceAttributes'),
            now: ownNow(call),
            session: own(call, 'session'),
          };
          const result = this.#result(sync.evaluateNow(checked, now));
          result.args = canonical.value;
          return Promise.resolve(result);
        }
      } catch {
        // A hostile or malformed call object: the checks below name the problem.
      }
    }
    // Every engine decides on the canonical copy, and the decision carries it, so the tool runs on
    // exactly what was checked (a getter, a toJSON or a nested NaN cannot decide one way and run
    // another); audit records carry it too. A call that is not an object is refused by #decide.
    let canonical: CanonicalArgs | null = null;
    if (call !== null && typeof call === 'object') {
      try {
        canonical = canonicalizeArgs(own(call, 'args'));
      } catch (error) {
        canonical = {
          ok: false,
          error: `args: cannot be read (${errorText(error)}); pass plain JSON data`,
        };
      }
    }
    return this.#decide(call, canonical, undefined, undefined, at);
  }

  /**
   * Why `call` would be decided as it is now, without deciding it: the (tool, role) entry used or
   * the default, every condition node's result and the values it read, which Deny and Ask rules
   * hold, and the rate-limit window's and budget's state as this instance's engine left them. The
   * same trace as `perso explain`. Nothing is counted or audited; `evaluate` stays the authority.
   * Its code loads on first use (a dynamic import), so it adds nothing to a page that never asks.
   */
  async explain(call: ToolCall): Promise<Explanation> {
    const { explainCall } = await import('../analysis/explain-call.ts');
    const policyText = this.#closed ? null : this.#policyText;
    return explainCall(
      { policyText, clock: this.#now(), counted: this.#backend?.countedCalls?.() ?? [] },
      call,
    );
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
    let canonical: CanonicalArgs;
    try {
      canonical = canonicalizeArgs(own(call, 'args'));
    } catch (error) {
      canonical = {
        ok: false,
        error: `args: cannot be read (${errorText(error)}); pass plain JSON data`,
      };
    }
    const facts =
      canonical.ok && this.#auditing ? recordedFacts(withArgs(call, canonical.value)) : null;
    const result = !canonical.ok
      ? this.#deny('invalid_request', `invalid request: ${canonical.error}`)
      : typeof facts === 'string'
        ? this.#deny('invalid_request', `invalid request: ${facts}`)
        : await this.#approveChecked(
            nonce,
            facts?.call ?? withArgs(call, canonical.value),
            facts,
            evidence,
          );
    this.#auditor?.record(
      call,
      result,
      canonical,
      typeof facts === 'string' ? null : facts,
      this.#status.hash,
    );
    return this.#durableBeforeRun ? this.#stored(result) : result;
  }

  async #approveChecked(
    nonce: string,
    call: ToolCall,
    facts: RecordedFacts | null,
    evidence: ApprovalEvidence | undefined,
  ): Promise<DecisionResult> {
    if (this.#closed)
      return this.#deny('engine_fault', 'engine fault: perso is closed; load a new instance');
    if (this.#version === null) return this.#deny('no_policy', this.#noPolicyReason);
    const backend = this.#backend;
    if (backend === null || typeof backend.approve !== 'function') {
      return this.#deny(
        'engine_fault',
        'engine fault: this engine cannot redeem approvals; the call was not run',
      );
    }
    try {
      // A call's own now, when it has one (null included: refused, never the clock), else the clock.
      const given = ownNow(call);
      const now = given === undefined ? this.#now() : given;
      if (typeof now !== 'number' || !Number.isFinite(now)) {
        return this.#deny(
          'invalid_request',
          `invalid request: now: expected seconds since the epoch as a finite number, got ${describe(now)}`,
        );
      }
      if (facts !== null) facts.now = now;
      return this.#result(
        await (evidence === undefined
          ? backend.approve(nonce, call, now)
          : backend.approve(nonce, call, now, evidence)),
      );
    } catch (error) {
      return this.#deny('engine_fault', `engine fault: ${errorText(error)}; retry the call`);
    }
  }

  /**
   * Decides many calls, in order, at one time. With the worker engine, a batch of more than
   * {@link BATCH_SLICE} calls travels in equal slices of at most that many, pipelined: the page
   * copies the next slice's args while the worker decides the previous one, and builds a slice's
   * results while the worker decides the next, so the two threads work at once.
   */
  async evaluateBatch(calls: readonly ToolCall[]): Promise<DecisionResult[]> {
    if (!Array.isArray(calls)) return [];
    const backend = this.#backend;
    const batchable =
      backend !== null &&
      this.#sync === null &&
      !this.#auditing &&
      this.#version !== null &&
      !this.#closed &&
      calls.every(
        (call) => call !== null && typeof call === 'object' && ownNow(call) === undefined,
      );
    if (!batchable) return Promise.all(calls.map((call) => this.evaluate(call)));
    if (calls.length === 0) return [];
    const now = this.#now();
    let batch: typeof import('./perso-batch.ts');
    try {
      // Loaded with the first batch: a page that decides one call at a time never downloads it.
      batch = await import('./perso-batch.ts');
    } catch (error) {
      const reason = `engine fault: the batch code did not load (${errorText(error)}); no call was decided, check that the page can fetch perso's files and retry`;
      return calls.map(() => this.#deny('engine_fault', reason));
    }
    return batch.decideBatch(
      {
        evaluate: (call, at) => this.#evaluate(call, at),
        deny: (kind, reason) => this.#deny(kind, reason),
        result: (verdict) => this.#result(verdict),
      },
      backend,
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
   * Hands a tool's result to the evaluator (issue 14): when the policy's `untrusted_tools` name
   * the tool, or `record.untrusted` is true (e.g. WebMCP's `untrustedContentHint`), the session
   * (`record.session`, default: the one of calls without a session) keeps it as untrusted content,
   * which `SessionUntrusted` and `FromUntrusted` conditions read. Sessions record their own with
   * {@link PersoSession.recordResult}. Never rejects: a result that cannot be recorded answers why.
   */
  async recordResult(record: ToolResultRecord): Promise<RecordAnswer> {
    if (this.#closed) return { ok: false, error: 'perso is closed; load a new instance' };
    if (this.#version === null) return { ok: false, error: this.#noPolicyReason };
    // A result no rule can read as untrusted needs no trip to the engine (the worker's postMessage).
    if (
      own(record, 'untrusted') !== true &&
      !(this.#status.untrustedTools ?? []).includes(own(record, 'tool') as string)
    )
      return { ok: true, untrusted: false };
    const backend = this.#backend;
    if (backend === null || backend.recordResult === undefined)
      return { ok: false, error: 'engine fault: no engine is running; reload the policy' };
    try {
      const answer = await backend.recordResult(record);
      // Untrusted content is state a replay must rebuild: the audit log keeps it, in order.
      if (answer.ok && answer.untrusted) this.#auditor?.recordResult(record);
      return answer;
    } catch (error) {
      return { ok: false, error: `engine fault: ${errorText(error)}; record the result again` };
    }
  }

  /**
   * The evaluator's state that outlives a call, where the engine runs (the worker in a page, this
   * process in Node): untrusted content per session, remembered approvals, and budget windows as
   * they stood at their last check. `null` when it cannot be read (no engine, a fault). Never rejects.
   */
  async state(): Promise<EvaluatorState | null> {
    const backend = this.#backend;
    if (this.#closed || backend === null || backend.state === undefined) return null;
    try {
      return await backend.state();
    } catch {
      return null;
    }
  }

  /** Forgets every session's untrusted content and every remembered approval. Never rejects. */
  async forget(): Promise<void> {
    const backend = this.#backend;
    if (this.#closed || backend === null || backend.forget === undefined) return;
    try {
      await backend.forget();
    } catch {
      // Best effort: a backend that cannot forget has lost its state anyway (a fault).
    }
  }

  /**
   * Loads a policy (or the current source again, e.g. an edited file) and swaps it in
   * atomically. On failure the last good policy stays active and the status carries the errors.
   * Never rejects. Reloads run one at a time, in call order.
   */
  reload(policy?: PolicyInput): Promise<PolicyStatus> {
    const run = (): Promise<PolicyStatus> =>
      this.#load(policy === undefined ? this.#input : policy)
        .catch((error: unknown) =>
          this.#failWith(
            'policy',
            `the policy could not be loaded (${errorText(error)}); reload to retry`,
          ),
        )
        .then((status) => {
          if (!status.ok) this.#reportFailure(status);
          return status;
        });
    const next = this.#reloading.then(run, run);
    this.#reloading = next;
    return next;
  }

  /**
   * Stops the engine; later calls are Deny. Waits for queued audit records, then closes every
   * audit transport it was given (a transport without `close` is flushed), so no timer of perso's
   * keeps a Node process alive afterwards. Never rejects.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#sync = null;
    const backend = this.#backend;
    this.#backend = null;
    try {
      backend?.close();
    } catch {
      // Closing is best effort; every later call is a Deny either way.
    }
    await this.#auditor?.close();
  }

  async #load(input: unknown): Promise<PolicyStatus> {
    if (this.#closed) return this.#failWith('policy', 'perso is closed; load a new instance');
    // The engine starts (a worker: its script and engine.wasm load) while the policy is fetched.
    const starting = this.#ensureBackend();
    const resolved = await resolvePolicy(input, this.#settings.urlPolicy, this.#settings.pinned);
    const backend = await starting;
    // With transports, no policy becomes active that decides calls no record can be built for.
    const recordsProblem = await this.#recordsReady;
    if (recordsProblem !== null) return this.#failWith('audit', recordsProblem);
    if (!resolved.ok) return this.#failWith('policy', resolved.error);
    if (typeof backend === 'string') return this.#failWith('engine', backend);
    // Before the engine takes the policy: a policy whose extensions cannot be read never decides.
    const extensions = await readExtensions(resolved.text);
    if (typeof extensions === 'string') return this.#failWith('annotation_defaults', extensions);
    // Plain JavaScript where WebCrypto is missing (plain http); a hash that fails leaves none.
    const hashing = sha256Hex(resolved.text).catch(() => null);
    let hash: string | null;
    let load: PolicyLoad;
    try {
      if (this.#sync !== null) {
        // Same turn for the inline engine: no evaluation runs between the swap and the new state.
        hash = await hashing;
        load = this.#sync.loadNow(resolved.text);
      } else {
        // The worker loads the policy while this thread hashes it.
        [load, hash] = await Promise.all([backend.load(resolved.text), hashing]);
      }
    } catch (error) {
      return this.#failWith('engine', `the engine failed to load the policy (${errorText(error)})`);
    }
    if (this.#closed) return this.#status;
    if (!load.ok) return this.#fail(load.errors, load.warnings);
    const warnings = [...load.warnings];
    const mode = modeFor(this.#settings.mode, load.policy.mode, resolved.source, warnings);
    this.#input = input;
    this.#policyText = resolved.text;
    this.#version = load.policy.version;
    this.#enforced = mode !== 'shadow';
    // The engine says whether any rule counts calls in a window of time; if none does, the
    // clock is never read.
    this.#needsClock = load.policy.hasRateLimits || load.policy.hasBudgets;
    // The module is loaded when the text may name the key; whether the policy opts in is the engine's word.
    this.#annotationDefaults = load.policy.annotationDefaults
      ? extensions.annotationDefaults
      : null;
    this.#status = freezeStatus({
      ok: true,
      version: load.policy.version,
      hash,
      mode,
      source: resolved.source,
      errors: [],
      warnings,
      annotationDefaults: this.#annotationDefaults !== null,
      ...(load.policy.approval === 'webauthn' ? { approval: 'webauthn' as const } : {}),
      ...(load.policy.untrustedTools === undefined
        ? {}
        : { untrustedTools: load.policy.untrustedTools }),
      ...withToolPins(extensions.toolPins),
    });
    // Only with the engine's yes is a fetched policy cached and its revision the rollback floor.
    await resolved.commit?.();
    return this.#status;
  }

  async #ensureBackend(): Promise<EvaluatorBackend | string> {
    if (this.#backend !== null) return this.#backend;
    let backend: EvaluatorBackend;
    try {
      backend = await createBackend(this.#settings);
    } catch (error) {
      return `the engine could not start (${errorText(error)}); rebuild it with "npm run build:engine" or reinstall perso`;
    }
    if (this.#closed) {
      backend.close();
      return 'perso is closed; load a new instance';
    }
    this.#backend = backend;
    this.#sync = isSyncBackend(backend) ? backend : null;
    return backend;
  }

  // A failed load is told where a developer looks: their onError, else the console. Never throws.
  #reportFailure(status: PolicyStatus): void {
    try {
      const onError = this.#settings.onError;
      if (onError !== null) {
        onError(status);
        return;
      }
      console.warn(loadFailureWarning(status, this.#version));
    } catch {
      // A throwing onError (or console) must not turn a failed load into a rejection.
    }
  }

  #fail(errors: readonly Diagnostic[], warnings: readonly Diagnostic[]): PolicyStatus {
    this.#status = freezeStatus({
      ...this.#status,
      ok: false,
      errors: [...errors],
      warnings: [...warnings],
    });
    if (this.#version === null) this.#noPolicyReason = noPolicyReason(errors);
    return this.#status;
  }

  /** A failed load with one error at `path`. */
  #failWith(path: string, message: string): PolicyStatus {
    return this.#fail([{ severity: 'error', path, message }], []);
  }

  /**
   * Decides and audits one call. With `annotations` (a guarded tool's), annotation defaults are
   * applied where the policy opts in, before the record is made: the record is the final outcome.
   */
  async #decide(
    call: ToolCall,
    canonical: CanonicalArgs | null,
    toolFacts?: ToolFacts,
    annotations?: AnnotationHints,
    at?: number,
  ): Promise<DecisionResult> {
    let result: DecisionResult;
    let facts: RecordedFacts | string | null = null;
    if (canonical !== null && !canonical.ok) {
      result = this.#deny('invalid_request', `invalid request: ${canonical.error}`);
    } else {
      const checked = canonical === null ? call : withArgs(call, canonical.value);
      // With audit on, the host facts are read once too: the record holds what was decided on.
      if (this.#auditing) facts = recordedFacts(checked);
      if (typeof facts === 'string') {
        result = this.#deny('invalid_request', `invalid request: ${facts}`);
      } else {
        result = await this.#decideChecked(facts?.call ?? checked, facts, at);
        if (canonical !== null) result.args = canonical.value;
      }
    }
    // Annotation defaults (host layer) before the audit: the record says Ask when the tool asked.
    const defaults = this.#annotationDefaults;
    if (annotations !== undefined && defaults !== null)
      result = defaults.applyAnnotationDefaults(result, annotations);
    this.#auditor?.record(
      call,
      result,
      canonical,
      typeof facts === 'string' ? null : facts,
      this.#status.hash,
      toolFacts,
    );
    return this.#durableBeforeRun ? this.#stored(result) : result;
  }

  /**
   * `durable: 'before-run'`: the decision, once its record is stored by every transport that can
   * say so; a Deny when it cannot be (the tool must not run without its record).
   */
  async #stored(result: DecisionResult): Promise<DecisionResult> {
    try {
      await this.#auditor?.persisted();
      return result;
    } catch (error) {
      if (result.decision === 'Deny') return result;
      return this.#deny(
        'engine_fault',
        `audit fault: the record of this decision could not be stored (${errorText(error)}); the call was not run, as durable: "before-run" asks — retry, or check IndexedDB`,
      );
    }
  }

  async #decideChecked(
    call: ToolCall,
    facts: RecordedFacts | null = null,
    at?: number,
  ): Promise<DecisionResult> {
    if (this.#closed)
      return this.#deny('engine_fault', 'engine fault: perso is closed; load a new instance');
    if (this.#version === null) return this.#deny('no_policy', this.#noPolicyReason);
    if (call === null || typeof call !== 'object') {
      return this.#deny(
        'invalid_request',
        'invalid request: expected an object {tool, args, role}; pass the call as an object',
      );
    }
    let now: unknown;
    try {
      // A call's own now, when it has one: `null` is refused (issue 9), never read as "use the clock".
      const given = ownNow(call);
      now = given === undefined ? (at ?? this.#now()) : given;
    } catch (error) {
      return this.#deny(
        'invalid_request',
        `invalid request: the time cannot be read (${errorText(error)}); check the call's "now" and the clock option`,
      );
    }
    if (typeof now !== 'number' || !Number.isFinite(now)) {
      return this.#deny(
        'invalid_request',
        `invalid request: now: expected seconds since the epoch as a finite number, got ${describe(now)}`,
      );
    }
    if (facts !== null) facts.now = now;
    try {
      const sync = this.#sync;
      const backend = this.#backend;
      if (sync !== null) return this.#result(sync.evaluateNow(call, now));
      if (backend === null)
        return this.#deny('engine_fault', 'engine fault: no engine is running; reload the policy');
      return this.#result(await backend.evaluate(call, now));
    } catch (error) {
      return this.#deny('engine_fault', `engine fault: ${errorText(error)}; retry the call`);
    }
  }

  #now(): number {
    return this.#clock === null ? Date.now() / 1000 : this.#clock();
  }

  #result(verdict: Verdict): DecisionResult {
    return decisionResult(verdict, this.#version, this.#enforced);
  }

  #deny(kind: ReasonKind, reason: string): DecisionResult {
    return { decision: 'Deny', reason, kind, policyVersion: this.#version, enforced: true };
  }

  #refuse(
    call: { tool: unknown; role: unknown },
    reason: string,
    kind: ReasonKind = 'invalid_request',
    toolFacts?: ToolFacts,
  ): DecisionResult {
    const result = this.#deny(kind, reason);
    this.#auditor?.record(call, result, null, null, this.#status.hash, toolFacts);
    return result;
  }
}

/** The call's own `now`: a polluted `Object.prototype.now` must not drive rate limits. */
function ownNow(call: ToolCall): ToolCall['now'] {
  return call !== null && typeof call === 'object' && Object.hasOwn(call, 'now')
    ? call.now
    : undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return quote(value, 32);
  if (typeof value === 'number') return String(value);
  return `a ${typeof value}`;
}
