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
import type { ApprovalEvidence } from './backend/approval-evidence.ts';
import type { AnnotationHints } from './annotation-defaults.ts';
import type { DecisionResult, JsonObject, ReasonKind, ToolCall } from './decision.ts';
import type { AuditRecord, AuditTransport, ToolFacts } from './audit/audit-record.ts';
import type { HashKey } from './audit/hashed-args.ts';
import { sha256Hex } from './sha256-hex.ts';
import type { CanonicalArgs } from './canonical-args.ts';
import { canonicalizeArgs } from './canonical-args.ts';
import type { Diagnostic, PolicyLoad, Verdict } from './engine/types.ts';
import type { EvaluatorBackend, SyncEvaluatorBackend } from './backend/evaluator-backend.ts';
import { isSyncBackend } from './backend/evaluator-backend.ts';
import type { PolicyMode } from './policy/policy.ts';
import type { PolicyInput, PolicySourceKind, ResolvedPolicy } from './policy/policy-source.ts';
import { resolvePolicySource } from './policy/policy-source.ts';
import { PersoSession } from './session.ts';
import { own, ownCopy, ownItems } from './own-properties.ts';
import { withArgs } from './call-with-args.ts';
import { WorkerBackend } from './backend/worker-backend.ts';
import type { CodeIntegrity } from './backend/worker-backend.ts';
import { cachedPolicySource } from './policy/policy-loader.ts';
import type { PolicyPublicKey } from './policy/policy-integrity.ts';
import { PolicyStore, defaultPolicyStore } from './policy/policy-store.ts';
import type { Principal, SessionHost } from './session.ts';
import type { ToolPinsResult } from './tool-pins.ts';
import { errorText, formatDiagnostics, quote } from './text.ts';

export type { PolicyInput } from './policy/policy-source.ts';

/** Options of {@link Perso.load}. */
export interface PersoOptions {
  /** The policy: an object, JSON text, a file path (Node) or a URL. */
  policy: PolicyInput;
  /**
   * Whether decisions are enforced; the host's decision, not the policy's. `'enforce'` or
   * `'shadow'` (decide and report, but let calls run) win over the policy's own `mode`. Unset, a
   * policy given inline or as a file keeps its `mode`, and a policy fetched by URL is enforced even
   * when it asks for shadow mode (a status warning says so); `'policy'` lets a fetched policy's
   * `mode` decide.
   */
  mode?: PersoMode;
  /** Where audit records go; none by default. */
  audit?: AuditTransport | readonly AuditTransport[];
  /**
   * Audit records carry a keyed hash (HMAC-SHA-256) of the canonical args instead of the args, no
   * host facts, and reasons without values (paths and ops only). See `audit/hashed-args.ts`.
   */
  hashArgs?: boolean;
  /**
   * `hashArgs`' key: 32 or more random bytes, or an HMAC SHA-256 `CryptoKey`. Default in a browser:
   * one made for this installation and kept in IndexedDB; in Node, give one to compare records
   * across runs (else a key lasts the process, and a warning says so).
   */
  hashKey?: HashKey;
  /**
   * `'before-run'`: a decision is answered only once its audit record is stored durably by every
   * transport that can say so (`persisted()`: the IndexedDB transport), so no tool runs without a
   * record; a record that cannot be stored turns the decision into a Deny. Default: records are
   * written after the decision, without delaying it.
   */
  durable?: 'before-run';
  /** The rate-limit clock, in seconds since the epoch; default `Date.now() / 1000`. */
  clock?: () => number;
  /** Where the engine runs: `'inline'` (this thread) or `'worker'` (a Web Worker, browsers). */
  engine?: 'inline' | 'worker';
  /** Worker calls: milliseconds before a call is a Deny and the worker is replaced; default 500. */
  timeoutMs?: number;
  /**
   * Worker engine: check the worker script and engine.wasm against the SHA-256 the build recorded
   * and refuse other bytes. `true` (default): the worker starts from its URL once the script there
   * checked out; `'strict'`: it starts from the checked bytes themselves (a `blob:` URL: the page's
   * `worker-src` must allow `blob:`); `false` only in development, behind a server that rewrites
   * the JavaScript it serves (Vite's dev server does). See docs/browser.md#code-integrity.
   */
  codeIntegrity?: CodeIntegrity;
  /**
   * Worker engine, where engine.wasm cannot compile (a page CSP without `'wasm-unsafe-eval'`):
   * `'none'` (default) denies every call and says what to allow; `'js'` runs the reference evaluator
   * (plain JS, slower) in the worker instead. Each decision's `evaluator` says which one decided.
   */
  fallback?: 'none' | 'js';
  /**
   * URL policies: the IndexedDB cache (offline use, rollback memory); on by default where
   * IndexedDB exists. `false`: network only; or pass your own `PolicyStore`. See docs/policy-loading.md.
   */
  cache?: boolean | PolicyStore;
  /** URL policies: a pinned hash, `sha256-<base64>` (SRI syntax); any other bytes are refused. */
  integrity?: string;
  /** URL policies: trusted signing keys; a policy without a valid `<url>.sig` signature by one is refused. */
  publicKeys?: readonly PolicyPublicKey[];
  /** URL policies: the id signatures must name; default the policy's absolute URL (docs/policy-loading.md). */
  policyId?: string;
  /**
   * Called with the status after each failed load (the first one and any `reload`); the instance
   * still denies what no valid policy allows. Without it, a failed load is a `console.warn`.
   */
  onError?: (status: PolicyStatus) => void;
}

/**
 * The host's `mode` option: a {@link PolicyMode}, or `'policy'` to let a fetched policy's own
 * `mode` turn enforcement off.
 */
export type PersoMode = PolicyMode | 'policy';

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

const FAULT_KINDS: ReadonlySet<string> = new Set<ReasonKind>([
  'invalid_request',
  'no_policy',
  'engine_fault',
]);
const MAX_ERRORS_IN_REASON = 3;

/**
 * A policy guard. `const perso = await Perso.load({ policy })`, then
 * `await perso.evaluate({ tool, args, role, agentAttributes, resourceAttributes })`.
 */
export class Perso {
  #backend: EvaluatorBackend | null = null;
  #sync: SyncEvaluatorBackend | null = null;
  #input: unknown;
  #modeOption: PersoMode | undefined;
  #engineOption: 'inline' | 'worker' | undefined;
  #timeoutMs: number | undefined;
  #codeIntegrity: CodeIntegrity;
  #jsFallback: boolean;
  #clock: (() => number) | null;
  #transports: readonly AuditTransport[];
  #auditing: boolean;
  /**
   * The record builder (decision-record.ts), loaded with an instance that has transports, before
   * its first decision; `#recordsReady` says why it could not be (then no policy becomes active).
   */
  #records: typeof import('./decision-record.ts') | null = null;
  #recordsReady: Promise<string | null> = Promise.resolve(null);
  #hashArgs: boolean;
  #durableBeforeRun: boolean;
  /** `hashArgs`' key, or why there is none. */
  #hashKey: Promise<CryptoKey | string> | null = null;
  #warnedTransports = new WeakSet<AuditTransport>();
  #auditBroken = false;
  #auditChain: Promise<void> = Promise.resolve();
  #reloading: Promise<unknown> = Promise.resolve();
  #version: string | null = null;
  #enforced = true;
  // Whether the active policy can have a rate limit. Reading the system clock costs about as much
  // as a decision here, and only rate limits use the time; see #load for why the test is exact.
  #needsClock = true;
  /** The annotation defaults module, loaded for the active policy when it opts in; else `null`. */
  #annotationDefaults: AnnotationDefaults | null = null;
  #status: PolicyStatus;
  #noPolicyReason =
    'no valid policy loaded: none was given; pass a policy to Perso.load and reload';
  #closed = false;
  #host: SessionHost;
  #urlPolicy: ((url: URL) => Promise<ResolvedPolicy>) | null;
  #pinned: boolean;
  #onError: ((status: PolicyStatus) => void) | null;

  private constructor(options: Partial<PersoOptions>) {
    this.#input = options.policy;
    this.#modeOption =
      options.mode === 'shadow' || options.mode === 'enforce' || options.mode === 'policy'
        ? options.mode
        : undefined;
    this.#engineOption = options.engine;
    this.#timeoutMs = options.timeoutMs;
    this.#codeIntegrity =
      options.codeIntegrity === false
        ? false
        : options.codeIntegrity === 'strict'
          ? 'strict'
          : true;
    this.#jsFallback = own(options, 'fallback') === 'js';
    this.#clock = typeof options.clock === 'function' ? options.clock : null;
    const audit = options.audit;
    // Own items only: a hole in the list must not pick up a polluted Array.prototype[0].
    const transports = Array.isArray(audit)
      ? ownItems<AuditTransport>(audit)!.filter((t) => t !== undefined)
      : audit === undefined
        ? []
        : [audit as AuditTransport];
    this.#transports = Object.freeze(transports);
    this.#auditing = this.#transports.length > 0;
    this.#hashArgs = options.hashArgs === true;
    this.#durableBeforeRun = options.durable === 'before-run' && this.#auditing;
    if (this.#auditing) this.#recordsReady = this.#loadRecords(options.hashKey);
    this.#onError = typeof options.onError === 'function' ? options.onError : null;
    this.#urlPolicy = urlPolicySource(options);
    this.#pinned = options.integrity !== undefined || (options.publicKeys?.length ?? 0) > 0;
    this.#status = freezeStatus({
      ok: false,
      version: null,
      hash: null,
      mode: this.#modeOption === 'shadow' ? 'shadow' : 'enforce',
      source: null,
      errors: [],
      warnings: [],
    });
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

  // Imported lazily: a page without audit transports never downloads the record builder. Never rejects.
  async #loadRecords(hashKey: HashKey | undefined): Promise<string | null> {
    let records: typeof import('./decision-record.ts');
    try {
      records = await import('./decision-record.ts');
    } catch (error) {
      return `audit records cannot be built: the record builder did not load (${errorText(error)}); check that the page can fetch perso's files, then load a new instance`;
    }
    this.#records = records;
    if (this.#hashArgs)
      this.#hashKey = records.argsHashKey(hashKey).then(
        ({ key, warning }) => {
          if (warning !== undefined) console.warn(`perso: ${warning}`);
          return key;
        },
        (error: unknown) => {
          const problem = `hashArgs: the key cannot be had (${errorText(error)}); records carry no args hash`;
          console.warn(`perso: ${problem}`);
          return problem;
        },
      );
    return null;
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
    if (this.#auditing)
      this.#audit(call, result, canonical, typeof facts === 'string' ? null : facts);
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
          this.#fail(
            [
              {
                severity: 'error',
                path: 'policy',
                message: `the policy could not be loaded (${errorText(error)}); reload to retry`,
              },
            ],
            [],
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
    if (this.#closed)
      return this.#fail(
        [{ severity: 'error', path: 'policy', message: 'perso is closed; load a new instance' }],
        [],
      );
    // The engine starts (a worker: its script and engine.wasm load) while the policy is fetched.
    const starting = this.#ensureBackend();
    const resolved = await this.#resolve(input);
    const backend = await starting;
    // With transports, no policy becomes active that decides calls no record can be built for.
    const recordsProblem = await this.#recordsReady;
    if (recordsProblem !== null)
      return this.#fail([{ severity: 'error', path: 'audit', message: recordsProblem }], []);
    if (!resolved.ok)
      return this.#fail([{ severity: 'error', path: 'policy', message: resolved.error }], []);
    if (typeof backend === 'string')
      return this.#fail([{ severity: 'error', path: 'engine', message: backend }], []);
    // Before the engine takes the policy: a policy whose extensions cannot be read never decides.
    const extensions = await readExtensions(resolved.text);
    if (typeof extensions === 'string')
      return this.#fail(
        [{ severity: 'error', path: 'annotation_defaults', message: extensions }],
        [],
      );
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
      return this.#fail(
        [
          {
            severity: 'error',
            path: 'engine',
            message: `the engine failed to load the policy (${errorText(error)})`,
          },
        ],
        [],
      );
    }
    if (this.#closed) return this.#status;
    if (!load.ok) return this.#fail(load.errors, load.warnings);
    const warnings = [...load.warnings];
    const mode = this.#modeFor(load.policy.mode, resolved.source, warnings);
    this.#input = input;
    this.#version = load.policy.version;
    this.#enforced = mode !== 'shadow';
    // A rule key spells "rate_limit" or "budget" literally or with \u escapes, the only escapes
    // that can stand for letters; without any, no rule counts calls and the time is never read.
    // (Were it wrong, the engine would deny counted calls for want of a time: fail closed.)
    this.#needsClock =
      resolved.text.includes('rate_limit') ||
      resolved.text.includes('budget') ||
      resolved.text.includes('\\u');
    this.#annotationDefaults = extensions.annotationDefaults;
    this.#status = freezeStatus({
      ok: true,
      version: load.policy.version,
      hash,
      mode,
      source: resolved.source,
      errors: [],
      warnings,
      annotationDefaults: extensions.annotationDefaults !== null,
      ...(load.policy.approval === 'webauthn' ? { approval: 'webauthn' as const } : {}),
      ...withToolPins(extensions.toolPins),
    });
    // Only with the engine's yes is a fetched policy cached and its revision the rollback floor.
    await resolved.commit?.();
    return this.#status;
  }

  /**
   * The mode decisions are made in. Enforcement is the host's decision: a policy fetched by URL
   * (the network or the cache, which a compromised server or an edited store controls) may turn
   * it off only where the host said `mode: 'policy'`; otherwise it is enforced, and a warning
   * says why and what to pass.
   */
  #modeFor(asked: PolicyMode, source: PolicySourceKind, warnings: Diagnostic[]): PolicyMode {
    const option = this.#modeOption;
    if (option === 'enforce' || option === 'shadow') return option;
    if (asked !== 'shadow' || option === 'policy' || (source !== 'network' && source !== 'cache'))
      return asked;
    const message =
      'the fetched policy asks for shadow mode, but only the host can turn enforcement off; decisions are enforced — ' +
      'pass mode: "policy" (data-mode="policy" on the embed, mode="policy" on <perso-guard>) to let the policy choose, or mode: "shadow"';
    warnings.push({ severity: 'warning', path: 'mode', message });
    console.warn(`perso: ${message}`);
    return 'enforce';
  }

  // URL policies in a browser go through the verified policy cache (policy-loader.ts).
  async #resolve(input: unknown): Promise<ResolvedPolicy> {
    let target = input;
    if (
      typeof input === 'string' &&
      typeof document !== 'undefined' &&
      !input.trimStart().startsWith('{')
    ) {
      // In a page, a path names a URL relative to the page, not a file.
      try {
        target = new URL(input, document.baseURI);
      } catch {
        // resolvePolicySource explains what was wrong with it.
      }
    }
    const resolved = await resolvePolicySource(
      target,
      this.#urlPolicy === null ? {} : { fetchPolicy: this.#urlPolicy },
    );
    if (
      resolved.ok &&
      this.#pinned &&
      resolved.source !== 'network' &&
      resolved.source !== 'cache'
    ) {
      // The host asked for verification: a policy that could not be verified must not pass silently.
      return {
        ok: false,
        error: `integrity and publicKeys apply to URL policies, but the policy was given ${resolved.source === 'file' ? 'as a file' : 'inline'}; pass its URL or drop them`,
        source: resolved.source,
        location: resolved.location,
      };
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
    if (
      this.#engineOption !== undefined &&
      this.#engineOption !== 'inline' &&
      this.#engineOption !== 'worker'
    ) {
      throw new Error(
        `unknown engine ${quote(String(this.#engineOption))}; use "inline" or "worker"`,
      );
    }
    if ((this.#engineOption ?? (isBrowserPage() ? 'worker' : 'inline')) === 'worker') {
      // Started now rather than on the first load: the worker and its wasm load while the policy does.
      return new WorkerBackend({
        timeoutMs: this.#timeoutMs,
        startNow: true,
        codeIntegrity: this.#codeIntegrity,
        jsFallback: this.#jsFallback,
      });
    }
    // Imported lazily too: a page using the worker engine never downloads the in-thread engine host.
    const { InlineBackend } = await import('./backend/inline-backend.ts');
    return InlineBackend.create();
  }

  // A failed load is told where a developer looks: their onError, else the console. Never throws.
  #reportFailure(status: PolicyStatus): void {
    try {
      if (this.#onError !== null) {
        this.#onError(status);
        return;
      }
      const kept =
        this.#version === null
          ? 'every call is denied until a load succeeds'
          : `policy ${quote(this.#version)} stays active`;
      console.warn(
        `perso: the policy failed to load (${errorList(status.errors)}); ${kept}; pass onError to Perso.load to handle this yourself`,
      );
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
    if (this.#auditing)
      this.#audit(call, result, canonical, typeof facts === 'string' ? null : facts, toolFacts);
    return this.#durableBeforeRun ? this.#stored(result) : result;
  }

  /**
   * `durable: 'before-run'`: the decision, once its record is stored by every transport that can
   * say so; a Deny when it cannot be (the tool must not run without its record).
   */
  async #stored(result: DecisionResult): Promise<DecisionResult> {
    try {
      await this.#auditChain;
      await Promise.all(
        this.#transports.map((transport) =>
          typeof transport.persisted === 'function' ? transport.persisted() : undefined,
        ),
      );
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
    const evaluator = verdict.evaluator ?? (FAULT_KINDS.has(kind) ? undefined : 'wasm');
    if (evaluator !== undefined) result.evaluator = evaluator;
    // Non-enumerable: the ticket is for the host's approval flow, not for JSON output or logs.
    if (verdict.approval !== undefined)
      Object.defineProperty(result, 'approval', { value: verdict.approval, enumerable: false });
    return result;
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
    if (this.#auditing) this.#audit(call, result, null, null, toolFacts);
    return result;
  }

  #audit(
    call: { tool: unknown; role: unknown } | null,
    result: DecisionResult,
    canonical: CanonicalArgs | null,
    facts: RecordedFacts | null,
    toolFacts?: ToolFacts,
  ): void {
    const checked = canonical?.ok ? canonical : null;
    const records = this.#records;
    let record: AuditRecord;
    try {
      if (records === null) throw new Error('the record builder is not loaded');
      // The checked call's tool and role (plain data, read once), not the caller's object again: a
      // getter must not record another tool than the one decided.
      record = records.decisionRecord(
        facts?.call ?? call,
        result,
        checked?.value ?? null,
        facts,
        this.#status.hash,
        this.#hashArgs,
        toolFacts,
      );
    } catch (error) {
      // Auditing never throws into the decision path; say once that records are being lost.
      if (!this.#auditBroken)
        console.warn(
          `perso: audit records cannot be built (${errorText(error)}); decisions go on unaudited`,
        );
      this.#auditBroken = true;
      return;
    }
    if (!this.#hashArgs) {
      this.#emit(record);
      return;
    }
    const keyed = this.#hashKey;
    const hash =
      checked === null || keyed === null
        ? Promise.resolve(undefined)
        : keyed
            .then((key) =>
              typeof key === 'string' ? undefined : records.hmacHex(key, checked.json),
            )
            .catch(() => undefined);
    // Records leave in decision order even though hashing is asynchronous.
    this.#auditChain = this.#auditChain
      .then(() => hash)
      .then((argsHmac) =>
        this.#emit(argsHmac === undefined ? record : Object.freeze({ ...record, argsHmac })),
      );
  }

  #emit(record: AuditRecord): void {
    for (const transport of this.#transports) {
      try {
        const returned: unknown = transport.emit(record);
        if (returned instanceof Promise)
          returned.catch((error: unknown) => this.#warnTransport(transport, error));
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

type AnnotationDefaults = typeof import('./annotation-defaults.ts');

/** A policy's host-layer extensions (see tool-pins.ts, annotation-defaults.ts). */
interface PolicyExtensions {
  /** The policy's `tool_pins`, or why they cannot be read; `null` when it pins nothing. */
  toolPins: ToolPinsResult | null;
  /** The module that applies annotation defaults, when the policy opts in; else `null`. */
  annotationDefaults: AnnotationDefaults | null;
}

/**
 * Reads a policy's host-layer extensions; their modules load only for a policy whose text names
 * them (literally or, possibly, with `\u` escapes): a page whose policy uses neither never
 * downloads them. Pins that cannot be read refuse every guarded call (the session says why); a
 * policy that may opt in to annotation defaults whose module cannot load is refused (the text
 * says why), since they can turn an Allow into an Ask.
 */
async function readExtensions(text: string): Promise<PolicyExtensions | string> {
  const escaped = text.includes('\\u');
  let toolPins: ToolPinsResult | null = null;
  let annotationDefaults: AnnotationDefaults | null = null;
  if (escaped || text.includes('tool_pins')) {
    try {
      toolPins = (await import('./tool-pins.ts')).readToolPins(text);
    } catch (error) {
      toolPins = {
        ok: false,
        error: `tool_pins: cannot be read, the reader did not load (${errorText(error)}); check that the page can fetch perso's files`,
      };
    }
  }
  if (escaped || text.includes('annotation_defaults')) {
    try {
      const defaults = await import('./annotation-defaults.ts');
      if (defaults.policyOptsIntoAnnotationDefaults(text)) annotationDefaults = defaults;
    } catch (error) {
      return `cannot be read, the annotation defaults did not load (${errorText(error)}); the previous policy stays active, check that the page can fetch perso's files and reload`;
    }
  }
  return { toolPins, annotationDefaults };
}

/** True in a browser page (a window with a DOM and Workers): the worker engine is the default there. */
function isBrowserPage(): boolean {
  return (
    typeof window !== 'undefined' && typeof document !== 'undefined' && typeof Worker === 'function'
  );
}

/** The call's own `now`: a polluted `Object.prototype.now` must not drive rate limits. */
function ownNow(call: ToolCall): ToolCall['now'] {
  return call !== null && typeof call === 'object' && Object.hasOwn(call, 'now')
    ? call.now
    : undefined;
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
    // Own facts only: a polluted Object.prototype.resourceAttributes is no host fact.
    const value: unknown = own(call, key);
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

/**
 * URL policies go through the verified cache in a browser, and wherever a pinned hash or keys are
 * configured; otherwise `resolvePolicySource` fetches them plainly.
 */
function urlPolicySource(
  options: Partial<PersoOptions>,
): ((url: URL) => Promise<ResolvedPolicy>) | null {
  const { cache, integrity, publicKeys, policyId } = options;
  const hasIndexedDb = typeof indexedDB !== 'undefined';
  if (
    !hasIndexedDb &&
    integrity === undefined &&
    (publicKeys?.length ?? 0) === 0 &&
    !(cache instanceof PolicyStore)
  )
    return null;
  const store =
    cache instanceof PolicyStore
      ? cache
      : hasIndexedDb && cache !== false
        ? defaultPolicyStore()
        : null;
  return cachedPolicySource({
    store,
    ...(integrity === undefined ? {} : { integrity }),
    ...(publicKeys === undefined ? {} : { publicKeys }),
    ...(typeof policyId === 'string' ? { policyId } : {}),
  });
}

function optionsProblem(options: unknown): Diagnostic | null {
  if (options === null || typeof options !== 'object') {
    return {
      severity: 'error',
      path: 'options',
      message: 'expected an object {policy, ...}; pass Perso.load({ policy })',
    };
  }
  const { policy, mode, engine } = options as Partial<PersoOptions>;
  if (policy === undefined || policy === null) {
    return {
      severity: 'error',
      path: 'options.policy',
      message: 'missing; pass a policy object, JSON text, a file path or a URL',
    };
  }
  if (mode !== undefined && mode !== 'enforce' && mode !== 'shadow' && mode !== 'policy') {
    return {
      severity: 'error',
      path: 'options.mode',
      message: `unknown mode ${quote(String(mode))}; expected "enforce", "shadow" or "policy"`,
    };
  }
  if (engine !== undefined && engine !== 'inline' && engine !== 'worker') {
    return {
      severity: 'error',
      path: 'options.engine',
      message: `unknown engine ${quote(String(engine))}; expected "inline" or "worker"`,
    };
  }
  return null;
}

function errorList(errors: readonly Diagnostic[]): string {
  return errors.length > 0
    ? formatDiagnostics(errors, MAX_ERRORS_IN_REASON)
    : 'the policy was refused';
}

function noPolicyReason(errors: readonly Diagnostic[]): string {
  const detail = errorList(errors);
  const engineFault = errors.some(
    (error) => error.path === 'engine' || error.message.startsWith('engine fault'),
  );
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
  if (typeof value === 'string') return quote(value, 32);
  if (typeof value === 'number') return String(value);
  return `a ${typeof value}`;
}
