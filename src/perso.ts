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
 * - shadow mode (the policy's `mode: "shadow"` or the `mode` option) decides and reports with
 *   `enforced: false`; faults (`invalid_request`, `no_policy`, `engine_fault`) are always enforced;
 * - with no audit transport the hot path does no JSON and no audit work: one engine call, one
 *   result object; with transports, every decision becomes one record per transport, and
 *   emitting never awaits nor throws into the decision path.
 */
import type { ApprovalEvidence } from './approval-evidence.ts';
import { applyAnnotationDefaults, policyOptsIntoAnnotationDefaults } from './annotation-defaults.ts';
import type { AnnotationHints } from './annotation-defaults.ts';
import type { DecisionResult, JsonObject, JsonValue, ReasonKind, ToolCall } from './decision.ts';
import type { AuditContext, AuditRecord, AuditTransport, ToolFacts } from './audit/audit-record.ts';
import { buildAuditRecord, sha256Hex } from './audit/audit-record.ts';
import type { CanonicalArgs } from './canonical-args.ts';
import { canonicalizeArgs, canonicalizeJson } from './canonical-args.ts';
import { MAX_ARGS_SIZE } from './args-size.ts';
import type { Diagnostic, PolicyLoad, Verdict } from './engine/types.ts';
import type { EvaluatorBackend, SyncEvaluatorBackend } from './evaluator-backend.ts';
import { isSyncBackend } from './evaluator-backend.ts';
import type { PolicyMode } from './policy.ts';
import type { PolicyInput, PolicySourceKind, ResolvedPolicy } from './policy-source.ts';
import { resolvePolicySource } from './policy-source.ts';
import { PersoSession } from './session.ts';
import { WorkerBackend } from './evaluator-bridge.ts';
import { cachedPolicySource } from './policy-loader.ts';
import type { PolicyPublicKey } from './policy-integrity.ts';
import { PolicyStore, defaultPolicyStore } from './policy-store.ts';
import type { Principal, SessionHost } from './session.ts';
import { readToolPins } from './tool-pins.ts';
import type { ToolPinsResult } from './tool-pins.ts';

export type { PolicyInput } from './policy-source.ts';

/** Options of {@link Perso.load}. */
export interface PersoOptions {
  /** The policy: an object, JSON text, a file path (Node) or a URL. */
  policy: PolicyInput;
  /** When set, wins over the policy's own `mode`: `'shadow'` decides and reports but lets calls run. */
  mode?: PolicyMode;
  /** Where audit records go; none by default. */
  audit?: AuditTransport | readonly AuditTransport[];
  /** Audit records carry the SHA-256 of the canonical args instead of the args. */
  hashArgs?: boolean;
  /** The rate-limit clock, in seconds since the epoch; default `Date.now() / 1000`. */
  clock?: () => number;
  /** Where the engine runs: `'inline'` (this thread) or `'worker'` (a Web Worker, browsers). */
  engine?: 'inline' | 'worker';
  /** Worker calls: milliseconds before a call is a Deny and the worker is replaced; default 500. */
  timeoutMs?: number;
  /**
   * URL policies: the IndexedDB cache (offline use, rollback memory); on by default where
   * IndexedDB exists. `false`: network only; or pass your own `PolicyStore`. See docs/policy-loading.md.
   */
  cache?: boolean | PolicyStore;
  /** URL policies: a pinned hash, `sha256-<base64>` (SRI syntax); any other bytes are refused. */
  integrity?: string;
  /** URL policies: trusted signing keys; a policy without a valid `<url>.sig` signature by one is refused. */
  publicKeys?: readonly PolicyPublicKey[];
  /**
   * Called with the status after each failed load (the first one and any `reload`); the instance
   * still denies what no valid policy allows. Without it, a failed load is a `console.warn`.
   */
  onError?: (status: PolicyStatus) => void;
}

/** The state of the loaded policy, and of the last load attempt. */
export interface PolicyStatus {
  /** Whether the last load attempt succeeded. */
  ok: boolean;
  /** The active policy's `version` label; `null` when none is active (everything is denied). */
  version: string | null;
  /** SHA-256 (hex) of the active policy's text. */
  hash: string | null;
  /** The mode decisions are made in (the `mode` option, else the policy's, else `enforce`). */
  mode: PolicyMode;
  /** Where the active policy came from. */
  source: PolicySourceKind | null;
  /** The last load attempt's errors (empty when it succeeded). */
  errors: readonly Diagnostic[];
  /** The last load attempt's warnings. */
  warnings: readonly Diagnostic[];
  /**
   * The active policy opts in to tool-annotation defaults (`"annotation_defaults": true`, a
   * host-layer extension: see `annotation-defaults.ts`). Absent or false: annotations are ignored.
   */
  annotationDefaults?: boolean;
  /**
   * The active policy's own `"approval"` when it is `"webauthn"`: every Ask, rule-made or not,
   * then needs an authenticator's verified assertion (absent: a click on perso's prompt).
   */
  approval?: 'webauthn';
  /**
   * The active policy's `tool_pins` (a host-layer extension: see `tool-pins.ts`), or why they
   * cannot be read; absent when the policy pins nothing.
   */
  toolPins?: ToolPinsResult;
}

function withToolPins(pins: ToolPinsResult | null): { toolPins?: ToolPinsResult } {
  return pins === null ? {} : { toolPins: pins };
}

const FAULT_KINDS: ReadonlySet<string> = new Set<ReasonKind>(['invalid_request', 'no_policy', 'engine_fault']);
const MAX_ERRORS_IN_REASON = 3;
/**
 * The most calls per worker message in {@link Perso.evaluateBatch}: big enough that a message's
 * fixed cost is small beside its calls, small enough that the page and the worker overlap. For
 * 1,000 calls in Chromium, three slices took 0.87-0.95 ms, one message 1.10-1.16 ms (slices of
 * 250-400 within 3% of each other).
 */
const BATCH_SLICE = 400;

/**
 * A policy guard. `const perso = await Perso.load({ policy })`, then
 * `await perso.evaluate({ tool, args, role, agentAttributes, resourceAttributes })`.
 */
export class Perso {
  #backend: EvaluatorBackend | null = null;
  #sync: SyncEvaluatorBackend | null = null;
  #input: unknown;
  #modeOption: PolicyMode | undefined;
  #engineOption: 'inline' | 'worker' | undefined;
  #timeoutMs: number | undefined;
  #clock: (() => number) | null;
  #transports: readonly AuditTransport[];
  #auditing: boolean;
  #hashArgs: boolean;
  #warnedTransports = new WeakSet<AuditTransport>();
  #auditBroken = false;
  #auditChain: Promise<void> = Promise.resolve();
  #reloading: Promise<unknown> = Promise.resolve();
  #version: string | null = null;
  #enforced = true;
  // Whether the active policy can have a rate limit. Reading the system clock costs about as much
  // as a decision here, and only rate limits use the time; see #load for why the test is exact.
  #needsClock = true;
  #status: PolicyStatus;
  #noPolicyReason = 'no valid policy loaded: none was given; pass a policy to Perso.load and reload';
  #closed = false;
  #host: SessionHost;
  #urlPolicy: ((url: URL) => Promise<ResolvedPolicy>) | null;
  #pinned: boolean;
  #onError: ((status: PolicyStatus) => void) | null;

  private constructor(options: Partial<PersoOptions>) {
    this.#input = options.policy;
    this.#modeOption = options.mode === 'shadow' || options.mode === 'enforce' ? options.mode : undefined;
    this.#engineOption = options.engine;
    this.#timeoutMs = options.timeoutMs;
    this.#clock = typeof options.clock === 'function' ? options.clock : null;
    const audit = options.audit;
    this.#transports = Object.freeze(audit === undefined ? [] : Array.isArray(audit) ? [...audit] : [audit as AuditTransport]);
    this.#auditing = this.#transports.length > 0;
    this.#hashArgs = options.hashArgs === true;
    this.#onError = typeof options.onError === 'function' ? options.onError : null;
    this.#urlPolicy = urlPolicySource(options);
    this.#pinned = options.integrity !== undefined || (options.publicKeys?.length ?? 0) > 0;
    this.#status = freezeStatus({
      ok: false,
      version: null,
      hash: null,
      mode: this.#modeOption ?? 'enforce',
      source: null,
      errors: [],
      warnings: [],
    });
    this.#host = Object.freeze({
      evaluate: (call: ToolCall) => this.evaluate(call),
      decide: (call: ToolCall, canonical: CanonicalArgs, toolFacts?: ToolFacts, annotations?: AnnotationHints) =>
        this.#decide(call, canonical, toolFacts, annotations),
      refuse: (call: { tool: unknown; role: unknown }, reason: string, kind?: ReasonKind, toolFacts?: ToolFacts) => this.#refuse(call, reason, kind, toolFacts),
      approve: (nonce: string, call: ToolCall, evidence?: ApprovalEvidence) => this.approve(nonce, call, evidence),
      policyApproval: () => (this.#status.approval === 'webauthn' ? 'webauthn' : 'click'),
      policyHash: () => this.#status.hash,
      toolPins: () => this.#status.toolPins ?? null,
    });
  }

  /**
   * Starts an engine and loads the policy. Never rejects over a bad or missing policy or a
   * failed engine: the instance then denies every call, and `status()` says why.
   */
  static async load(options: PersoOptions): Promise<Perso> {
    // Own options only, read once: a polluted Object.prototype.mode ("shadow") or .clock must not
    // reach the instance.
    const given: Partial<PersoOptions> = options !== null && typeof options === 'object' ? Object.assign(Object.create(null) as object, options) : {};
    const perso = new Perso(given);
    const problem = optionsProblem(options === null || typeof options !== 'object' ? options : given);
    if (problem !== null) perso.#reportFailure(perso.#fail([problem], []));
    else await perso.reload();
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
    const sync = this.#sync;
    if (!this.#auditing && sync !== null && this.#version !== null) {
      // The hot path: one engine call, one result object, no JSON.
      try {
        let now = ownNow(call);
        if (now === undefined) now = this.#clock !== null ? this.#clock() : this.#needsClock ? Date.now() / 1000 : Number.NaN;
        else if (typeof now !== 'number' || !Number.isFinite(now)) now = undefined;
        if (now !== undefined) return Promise.resolve(this.#result(sync.evaluateNow(call, now)));
      } catch {
        // A hostile or malformed call object: the checks below name the problem.
      }
    }
    let canonical: CanonicalArgs | null = null;
    // The worker engine gets the canonical copy (and the decision carries it, so the tool runs on
    // exactly what was checked); audit records carry it too.
    if (this.#auditing || this.#sync === null) {
      try {
        canonical = canonicalizeArgs(call.args);
      } catch (error) {
        canonical = { ok: false, error: `args: cannot be read (${errorText(error)}); pass plain JSON data` };
      }
    }
    return this.#decide(call, canonical);
  }

  /**
   * Redeems a person's approval of an Ask: `nonce` is the `approval.nonce` the Ask carried, `call`
   * the same call. Where the engine runs (the worker, or the inline engine), the ticket is checked
   * (same call, single use, not expired), the call decided again, and an Ask lifted to Allow; a
   * refused ticket is a Deny naming why. Audited like any decision. Never rejects.
   * A WebAuthn ticket (`approval.kind === 'webauthn'`) needs `evidence`: the assertion a
   * `requestWebAuthnApproval` ceremony made for it, or its failure (then a Deny saying which).
   */
  async approve(nonce: string, call: ToolCall, evidence?: ApprovalEvidence): Promise<DecisionResult> {
    let canonical: CanonicalArgs;
    try {
      canonical = canonicalizeArgs(call?.args);
    } catch (error) {
      canonical = { ok: false, error: `args: cannot be read (${errorText(error)}); pass plain JSON data` };
    }
    const facts = canonical.ok && this.#auditing ? recordedFacts(withArgs(call, canonical.value)) : null;
    const result = !canonical.ok
      ? this.#deny('invalid_request', `invalid request: ${canonical.error}`)
      : typeof facts === 'string'
        ? this.#deny('invalid_request', `invalid request: ${facts}`)
        : await this.#approveChecked(nonce, facts?.call ?? withArgs(call, canonical.value), facts, evidence);
    if (this.#auditing) this.#audit(call, result, canonical, typeof facts === 'string' ? null : facts);
    return result;
  }

  async #approveChecked(nonce: string, call: ToolCall, facts: RecordedFacts | null, evidence: ApprovalEvidence | undefined): Promise<DecisionResult> {
    if (this.#closed) return this.#deny('engine_fault', 'engine fault: perso is closed; load a new instance');
    if (this.#version === null) return this.#deny('no_policy', this.#noPolicyReason);
    const backend = this.#backend;
    if (backend === null || typeof backend.approve !== 'function') {
      return this.#deny('engine_fault', 'engine fault: this engine cannot redeem approvals; the call was not run');
    }
    try {
      const now = ownNow(call) ?? this.#now();
      if (typeof now !== 'number' || !Number.isFinite(now)) {
        return this.#deny('invalid_request', 'invalid request: now: expected seconds since the epoch as a finite number');
      }
      if (facts !== null) facts.now = now;
      return this.#result(await (evidence === undefined ? backend.approve(nonce, call, now) : backend.approve(nonce, call, now, evidence)));
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
      backend !== null && this.#sync === null && !this.#auditing && this.#version !== null && !this.#closed &&
      calls.every((call) => call !== null && typeof call === 'object' && ownNow(call) === undefined);
    if (!batchable) return Promise.all(calls.map((call) => this.evaluate(call)));
    const count = calls.length;
    if (count === 0) return [];
    const results = new Array<DecisionResult>(count);
    const now = this.#now();
    const slices: Promise<void>[] = [];
    // Each slice is canonicalized and posted before the next one starts (#batchSlice runs
    // synchronously up to its post); the answers are awaited together.
    const size = Math.ceil(count / Math.ceil(count / BATCH_SLICE));
    for (let start = 0; start < count; start += size) {
      slices.push(this.#batchSlice(backend, calls, start, Math.min(count, start + size), now, results));
    }
    await Promise.all(slices);
    return results;
  }

  /** Decides `calls[start..end)` in one worker message and writes their results in place. */
  async #batchSlice(
    backend: EvaluatorBackend,
    calls: readonly ToolCall[],
    start: number,
    end: number,
    now: number,
    results: DecisionResult[],
  ): Promise<void> {
    const count = end - start;
    // Canonical args for the worker, as for `evaluate`: one pass over the slice; when some call's
    // args are refused (or a call cannot be read), each call of the slice goes alone so that only
    // that one is Deny. Plain loops: no per-call callback, each call's args read once.
    const alone = async (): Promise<void> => {
      const each = await Promise.all(calls.slice(start, end).map((call) => this.evaluate(call)));
      for (let i = 0; i < count; i++) results[start + i] = each[i]!;
    };
    const given = new Array<unknown>(count);
    try {
      for (let i = 0; i < count; i++) {
        const args = (calls[start + i] as ToolCall).args;
        given[i] = args === undefined ? {} : args;
      }
    } catch {
      return alone();
    }
    const canonical = canonicalizeJson(given, 'args');
    // Over the one-call size bound in all: each call goes alone, so no message is larger than one call's bound.
    if (!canonical.ok || canonical.json.length > MAX_ARGS_SIZE) return alone();
    const argsList = canonical.value as readonly JsonValue[];
    const checkedCalls = new Array<ToolCall>(count);
    try {
      for (let i = 0; i < count; i++) {
        const args = argsList[i];
        if (!isJsonObject(args)) return alone();
        checkedCalls[i] = withArgs(calls[start + i] as ToolCall, args);
      }
    } catch {
      return alone();
    }
    let verdicts: Verdict[];
    try {
      // The canonical JSON text goes along: the worker backend sends args as text and need not make it again.
      verdicts = await backend.evaluateBatch(checkedCalls, now, canonical.json);
    } catch (error) {
      const reason = `engine fault: the batch failed (${errorText(error)}); retry`;
      for (let i = 0; i < count; i++) results[start + i] = this.#deny('engine_fault', reason);
      return;
    }
    if (!Array.isArray(verdicts) || verdicts.length !== count) {
      const reason = 'engine fault: the engine answered a batch with the wrong number of decisions; retry';
      for (let i = 0; i < count; i++) results[start + i] = this.#deny('engine_fault', reason);
      return;
    }
    for (let i = 0; i < count; i++) {
      const result = this.#result(verdicts[i]!);
      result.args = argsList[i] as Readonly<JsonObject>;
      results[start + i] = result;
    }
  }

  /**
   * Binds a principal: the returned session is frozen, its role and a deep-frozen copy of its
   * attributes fixed for good. Take the role from the host's session or token, never the model.
   */
  session(principal: Principal): PersoSession {
    return new PersoSession(this.#host, principal);
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
          this.#fail([{ severity: 'error', path: 'policy', message: `the policy could not be loaded (${errorText(error)}); reload to retry` }], []),
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
    await this.#auditChain;
    for (const transport of new Set(this.#transports)) {
      try {
        if (typeof transport.close === 'function') await transport.close();
        else await transport.flush?.();
      } catch (error) {
        this.#warnTransport(transport, error);
      }
    }
  }

  async #load(input: unknown): Promise<PolicyStatus> {
    if (this.#closed) return this.#fail([{ severity: 'error', path: 'policy', message: 'perso is closed; load a new instance' }], []);
    // The engine starts (a worker: its script and engine.wasm load) while the policy is fetched.
    const starting = this.#ensureBackend();
    const resolved = await this.#resolve(input);
    const backend = await starting;
    if (!resolved.ok) return this.#fail([{ severity: 'error', path: 'policy', message: resolved.error }], []);
    if (typeof backend === 'string') return this.#fail([{ severity: 'error', path: 'engine', message: backend }], []);
    // WebCrypto is missing outside secure contexts (a page on plain http): no hash, same policy.
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
      return this.#fail([{ severity: 'error', path: 'engine', message: `the engine failed to load the policy (${errorText(error)})` }], []);
    }
    if (this.#closed) return this.#status;
    if (!load.ok) return this.#fail(load.errors, load.warnings);
    const mode = this.#modeOption ?? load.policy.mode;
    this.#input = input;
    this.#version = load.policy.version;
    this.#enforced = mode !== 'shadow';
    // A rule key spells "rate_limit" literally or with \u escapes, the only escapes that can
    // stand for letters; without either, no rule has a rate limit and the time is never read.
    // (Were it wrong, the engine would deny rate-limited calls for want of a time: fail closed.)
    this.#needsClock = resolved.text.includes('rate_limit') || resolved.text.includes('\\u');
    this.#status = freezeStatus({
      ok: true,
      version: load.policy.version,
      hash,
      mode,
      source: resolved.source,
      errors: [],
      warnings: load.warnings,
      annotationDefaults: resolved.text.includes('annotation_defaults') && policyOptsIntoAnnotationDefaults(resolved.text),
      ...(load.policy.approval === 'webauthn' ? { approval: 'webauthn' as const } : {}),
      ...withToolPins(readToolPins(resolved.text)),
    });
    return this.#status;
  }

  // URL policies in a browser go through the verified policy cache (policy-loader.ts).
  async #resolve(input: unknown): Promise<ResolvedPolicy> {
    let target = input;
    if (typeof input === 'string' && typeof document !== 'undefined' && !input.trimStart().startsWith('{')) {
      // In a page, a path names a URL relative to the page, not a file.
      try {
        target = new URL(input, document.baseURI);
      } catch {
        // resolvePolicySource explains what was wrong with it.
      }
    }
    const resolved = await resolvePolicySource(target, this.#urlPolicy === null ? {} : { fetchPolicy: this.#urlPolicy });
    if (resolved.ok && this.#pinned && resolved.source !== 'network' && resolved.source !== 'cache') {
      // The host asked for verification: a policy that could not be verified must not pass silently.
      return { ok: false, error: `integrity and publicKeys apply to URL policies, but the policy was given ${resolved.source === 'file' ? 'as a file' : 'inline'}; pass its URL or drop them`, source: resolved.source, location: resolved.location };
    }
    return resolved;
  }

  async #ensureBackend(): Promise<EvaluatorBackend | string> {
    if (this.#backend !== null) return this.#backend;
    let backend: EvaluatorBackend;
    try {
      backend = await this.#createBackend();
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

  // `engine: 'worker'` (the default in a browser page) runs the engine in a Web Worker behind
  // Comlink. The bridge is a static import (it touches no browser global until a backend is made,
  // so Node can load it): a page's path to its first decision then has no dynamic-import chunk.
  async #createBackend(): Promise<EvaluatorBackend> {
    if (this.#engineOption !== undefined && this.#engineOption !== 'inline' && this.#engineOption !== 'worker') {
      throw new Error(`unknown engine ${JSON.stringify(this.#engineOption)}; use "inline" or "worker"`);
    }
    if ((this.#engineOption ?? (isBrowserPage() ? 'worker' : 'inline')) === 'worker') {
      // Started now rather than on the first load: the worker and its wasm load while the policy does.
      return new WorkerBackend({ timeoutMs: this.#timeoutMs, startNow: true });
    }
    // Imported lazily too: a page using the worker engine never downloads the in-thread engine host.
    const { InlineBackend } = await import('./inline-backend.ts');
    return InlineBackend.create();
  }

  // A failed load is told where a developer looks: their onError, else the console. Never throws.
  #reportFailure(status: PolicyStatus): void {
    try {
      if (this.#onError !== null) {
        this.#onError(status);
        return;
      }
      const kept = this.#version === null ? 'every call is denied until a load succeeds' : `policy ${JSON.stringify(this.#version)} stays active`;
      console.warn(`perso: the policy failed to load (${errorList(status.errors)}); ${kept}; pass onError to Perso.load to handle this yourself`);
    } catch {
      // A throwing onError (or console) must not turn a failed load into a rejection.
    }
  }

  #fail(errors: readonly Diagnostic[], warnings: readonly Diagnostic[]): PolicyStatus {
    this.#status = freezeStatus({ ...this.#status, ok: false, errors: [...errors], warnings: [...warnings] });
    if (this.#version === null) this.#noPolicyReason = noPolicyReason(errors);
    return this.#status;
  }

  async #decide(call: ToolCall, canonical: CanonicalArgs | null, toolFacts?: ToolFacts, annotations?: AnnotationHints): Promise<DecisionResult> {
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
        result = await this.#decideChecked(facts?.call ?? checked, facts);
        if (canonical !== null) result.args = canonical.value;
      }
    }
    // Annotation defaults (host layer) before the audit: the record says Ask when the tool asked.
    if (annotations !== undefined && this.#status.annotationDefaults === true) result = applyAnnotationDefaults(result, annotations);
    if (this.#auditing) this.#audit(call, result, canonical, typeof facts === 'string' ? null : facts, toolFacts);
    return result;
  }

  async #decideChecked(call: ToolCall, facts: RecordedFacts | null = null): Promise<DecisionResult> {
    if (this.#closed) return this.#deny('engine_fault', 'engine fault: perso is closed; load a new instance');
    if (this.#version === null) return this.#deny('no_policy', this.#noPolicyReason);
    if (call === null || typeof call !== 'object') {
      return this.#deny('invalid_request', 'invalid request: expected an object {tool, args, role}; pass the call as an object');
    }
    let now: unknown;
    try {
      now = ownNow(call) ?? this.#now();
    } catch (error) {
      return this.#deny('invalid_request', `invalid request: the time cannot be read (${errorText(error)}); check the call's "now" and the clock option`);
    }
    if (typeof now !== 'number' || !Number.isFinite(now)) {
      return this.#deny('invalid_request', `invalid request: now: expected seconds since the epoch as a finite number, got ${describe(now)}`);
    }
    if (facts !== null) facts.now = now;
    try {
      const sync = this.#sync;
      const backend = this.#backend;
      if (sync !== null) return this.#result(sync.evaluateNow(call, now));
      if (backend === null) return this.#deny('engine_fault', 'engine fault: no engine is running; reload the policy');
      return this.#result(await backend.evaluate(call, now));
    } catch (error) {
      return this.#deny('engine_fault', `engine fault: ${errorText(error)}; retry the call`);
    }
  }

  #now(): number {
    return this.#clock === null ? Date.now() / 1000 : this.#clock();
  }

  #result(verdict: Verdict): DecisionResult {
    const kind = verdict.kind;
    const result: DecisionResult = {
      decision: verdict.decision,
      reason: verdict.reason,
      kind,
      policyVersion: this.#version,
      enforced: this.#enforced || FAULT_KINDS.has(kind),
    };
    if (verdict.rule !== undefined) result.rule = verdict.rule;
    if (verdict.retryAfter !== undefined) result.retryAfter = verdict.retryAfter;
    if (verdict.failure !== undefined) result.failure = verdict.failure;
    if (verdict.approvalKind !== undefined) result.approvalKind = verdict.approvalKind;
    // Non-enumerable: the ticket is for the host's approval flow, not for JSON output or logs.
    if (verdict.approval !== undefined) Object.defineProperty(result, 'approval', { value: verdict.approval, enumerable: false });
    return result;
  }

  #deny(kind: ReasonKind, reason: string): DecisionResult {
    return { decision: 'Deny', reason, kind, policyVersion: this.#version, enforced: true };
  }

  #refuse(call: { tool: unknown; role: unknown }, reason: string, kind: ReasonKind = 'invalid_request', toolFacts?: ToolFacts): DecisionResult {
    const result = this.#deny(kind, reason);
    if (this.#auditing) this.#audit(call, result, null, null, toolFacts);
    return result;
  }

  #audit(call: { tool: unknown; role: unknown } | null, result: DecisionResult, canonical: CanonicalArgs | null, facts: RecordedFacts | null, toolFacts?: ToolFacts): void {
    let tool: unknown;
    let role: unknown;
    try {
      // The checked call's tool and role (plain data, read once), not the caller's object again: a
      // getter must not record another tool than the one decided.
      const decided = facts?.call ?? call;
      tool = decided?.tool;
      role = decided?.role;
    } catch {
      // An unreadable call is recorded with what could be read.
    }
    const checked = canonical !== null && canonical.ok ? canonical : null;
    const context: AuditContext = { policyHash: this.#status.hash };
    if (toolFacts !== undefined) context.toolFacts = toolFacts;
    // Replay needs the host facts and the time; `hashArgs` keeps the facts out of the record too.
    if (facts !== null) {
      if (facts.now !== undefined) context.now = facts.now;
      if (!this.#hashArgs && facts.agentAttributes !== undefined) context.agentAttributes = facts.agentAttributes;
      if (!this.#hashArgs && facts.resourceAttributes !== undefined) context.resourceAttributes = facts.resourceAttributes;
    }
    let record: AuditRecord;
    try {
      record = buildAuditRecord({ tool, role }, result, !this.#hashArgs && checked !== null ? { ...context, args: checked.value } : context);
    } catch (error) {
      // Auditing never throws into the decision path; say once that records are being lost.
      if (!this.#auditBroken) console.warn(`perso: audit records cannot be built (${errorText(error)}); decisions go on unaudited`);
      this.#auditBroken = true;
      return;
    }
    if (!this.#hashArgs) {
      this.#emit(record);
      return;
    }
    const hash = checked === null ? Promise.resolve(undefined) : sha256Hex(checked.json).catch(() => undefined);
    // Records leave in decision order even though hashing is asynchronous.
    this.#auditChain = this.#auditChain
      .then(() => hash)
      .then((argsSha256) => this.#emit(argsSha256 === undefined ? record : Object.freeze({ ...record, argsSha256 })));
  }

  #emit(record: AuditRecord): void {
    for (const transport of this.#transports) {
      try {
        const returned: unknown = transport.emit(record);
        if (returned instanceof Promise) returned.catch((error: unknown) => this.#warnTransport(transport, error));
      } catch (error) {
        this.#warnTransport(transport, error);
      }
    }
  }

  #warnTransport(transport: AuditTransport, error: unknown): void {
    if (this.#warnedTransports.has(transport)) return;
    this.#warnedTransports.add(transport);
    console.warn(
      `perso: an audit transport failed (${errorText(error)}); its records are being lost — fix the transport (further failures of it are not reported)`,
    );
  }
}

/** True in a browser page (a window with a DOM and Workers): the worker engine is the default there. */
function isBrowserPage(): boolean {
  return typeof window !== 'undefined' && typeof document !== 'undefined' && typeof Worker === 'function';
}

/** A call's own field; an inherited one (a polluted `Object.prototype`) reads as absent. */
function own<K extends keyof ToolCall>(call: ToolCall, key: K): ToolCall[K] | undefined {
  return Object.hasOwn(call, key) ? call[key] : undefined;
}

/** The call's own `now`: a polluted `Object.prototype.now` must not drive rate limits. */
function ownNow(call: ToolCall): ToolCall['now'] {
  return call !== null && typeof call === 'object' && Object.hasOwn(call, 'now') ? call.now : undefined;
}

/** What an audit record keeps of a call's host facts: the copies the engine decided on, and the time. */
interface RecordedFacts {
  /** The call as decided: the host facts replaced by their canonical copies. */
  call: ToolCall;
  agentAttributes?: JsonObject;
  resourceAttributes?: JsonObject;
  /** Set once the decision has read the time. */
  now?: number;
}

/**
 * Canonical copies of a call's host facts (one JSON pass each), or why one cannot be read. A fact
 * that is not a plain object goes to the engine as it is, which refuses it (never loosened here).
 */
function recordedFacts(call: ToolCall): RecordedFacts | string {
  const facts: RecordedFacts = { call };
  for (const key of ['agentAttributes', 'resourceAttributes'] as const) {
    const value: unknown = call[key];
    if (!isPlainObject(value)) continue;
    const canonical = canonicalizeArgs(value, key);
    if (!canonical.ok) return canonical.error;
    facts.call = { ...facts.call, [key]: canonical.value };
    facts[key] = canonical.value;
  }
  return facts;
}

function isPlainObject(value: unknown): value is object {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function withArgs(call: ToolCall, args: Readonly<JsonObject>): ToolCall {
  const checked: ToolCall = { tool: own(call, 'tool') as string, args, role: own(call, 'role') as string };
  // Absent fields stay absent: fewer keys for a worker message to copy. Inherited ones (a polluted
  // Object.prototype.resourceAttributes) are absent too.
  const agentAttributes = own(call, 'agentAttributes');
  const resourceAttributes = own(call, 'resourceAttributes');
  const now = own(call, 'now');
  if (agentAttributes !== undefined) checked.agentAttributes = agentAttributes;
  if (resourceAttributes !== undefined) checked.resourceAttributes = resourceAttributes;
  if (now !== undefined) checked.now = now;
  return checked;
}

/**
 * URL policies go through the verified cache in a browser, and wherever a pinned hash or keys are
 * configured; otherwise `resolvePolicySource` fetches them plainly.
 */
function urlPolicySource(options: Partial<PersoOptions>): ((url: URL) => Promise<ResolvedPolicy>) | null {
  const { cache, integrity, publicKeys } = options;
  const hasIndexedDb = typeof indexedDB !== 'undefined';
  if (!hasIndexedDb && integrity === undefined && (publicKeys?.length ?? 0) === 0 && !(cache instanceof PolicyStore)) return null;
  const store = cache instanceof PolicyStore ? cache : hasIndexedDb && cache !== false ? defaultPolicyStore() : null;
  return cachedPolicySource({ store, ...(integrity === undefined ? {} : { integrity }), ...(publicKeys === undefined ? {} : { publicKeys }) });
}

function optionsProblem(options: unknown): Diagnostic | null {
  if (options === null || typeof options !== 'object') {
    return { severity: 'error', path: 'options', message: 'expected an object {policy, ...}; pass Perso.load({ policy })' };
  }
  const { policy, mode, engine } = options as Partial<PersoOptions>;
  if (policy === undefined || policy === null) {
    return { severity: 'error', path: 'options.policy', message: 'missing; pass a policy object, JSON text, a file path or a URL' };
  }
  if (mode !== undefined && mode !== 'enforce' && mode !== 'shadow') {
    return { severity: 'error', path: 'options.mode', message: `unknown mode ${JSON.stringify(String(mode))}; expected "enforce" or "shadow"` };
  }
  if (engine !== undefined && engine !== 'inline' && engine !== 'worker') {
    return { severity: 'error', path: 'options.engine', message: `unknown engine ${JSON.stringify(String(engine))}; expected "inline" or "worker"` };
  }
  return null;
}

function errorList(errors: readonly Diagnostic[]): string {
  const shown = errors.slice(0, MAX_ERRORS_IN_REASON).map((error) => `${error.path}: ${error.message}`);
  if (errors.length > MAX_ERRORS_IN_REASON) shown.push(`and ${errors.length - MAX_ERRORS_IN_REASON} more`);
  return shown.length > 0 ? shown.join('; ') : 'the policy was refused';
}

function noPolicyReason(errors: readonly Diagnostic[]): string {
  const detail = errorList(errors);
  const engineFault = errors.some((error) => error.path === 'engine' || error.message.startsWith('engine fault'));
  const next = engineFault ? 'fix the engine and reload' : 'fix the policy and reload';
  return `no valid policy loaded: ${detail}; ${next}`;
}

function freezeStatus(status: PolicyStatus): PolicyStatus {
  return Object.freeze({
    ...status,
    errors: Object.freeze(status.errors.map((d) => Object.freeze({ ...d }))),
    warnings: Object.freeze(status.warnings.map((d) => Object.freeze({ ...d }))),
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 32 ? `${value.slice(0, 32)}…` : value);
  if (typeof value === 'number') return String(value);
  return `a ${typeof value}`;
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
}
