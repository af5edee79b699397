/**
 * A `Perso`'s engine and the policy active in it: loading, reloading, and the status they leave.
 *
 * Checklist:
 * - `load` and `reload` never reject: a policy that cannot be loaded is a failed status, and the
 *   last good policy (or none: every call a `no_policy` Deny saying why) stays active;
 * - reloads run one at a time, in call order; a good one swaps the policy in atomically, and the
 *   reported version changes only then;
 * - a failed load is never silent: `onError` gets the status, or else one `console.warn` says what
 *   failed and what stays active;
 * - with audit transports, no policy becomes active that decides calls no record can be built for;
 *   a policy whose extensions cannot be read never reaches the engine;
 * - a fetched policy is cached, and its revision becomes the rollback floor, only with the
 *   engine's yes.
 */
import type { EvaluatorBackend, SyncEvaluatorBackend } from '../backend/evaluator-backend.ts';
import { isSyncBackend } from '../backend/evaluator-backend.ts';
import { sha256Hex } from '../encoding/sha256-hex.ts';
import { errorText } from '../encoding/text.ts';
import type { Diagnostic, PolicyLoad } from '../engine/types.ts';
import type { PolicyInput } from '../policy/policy-source.ts';
import type { AnnotationDefaults } from './perso-loading.ts';
import {
  createBackend,
  modeFor,
  readExtensions,
  resolvePolicy,
  toolPinsOf,
} from './perso-loading.ts';
import type { PersoSettings } from './perso-options.ts';
import type { PolicyStatus } from './policy-status.ts';
import {
  freezeStatus,
  initialStatus,
  loadFailureWarning,
  noPolicyReason,
  withToolPins,
} from './policy-status.ts';

/**
 * The engine a `Perso` runs and the policy active in it. Its fields are read by the instance's
 * decisions and written only here.
 */
export class PersoPolicy {
  /** The engine, once started; `null` before that and after {@link close}. */
  backend: EvaluatorBackend | null = null;
  /** The same engine when it decides in this thread (the inline engine); else `null`. */
  sync: SyncEvaluatorBackend | null = null;
  /** The active policy's text (what `explain` reads); `null` while none is active. */
  text: string | null = null;
  /** The active policy's `version` label; `null` while none is active. */
  version: string | null = null;
  /** Whether the active policy's decisions are enforced (`false` in shadow mode). */
  enforced = true;
  /**
   * Whether the active policy counts calls in a window of time (rate limits, budgets): only then
   * is the system clock read, which costs about as much as a decision.
   */
  needsClock = true;
  /** The annotation defaults module, loaded for the active policy when it opts in; else `null`. */
  annotationDefaults: AnnotationDefaults | null = null;
  /** The state of the active policy and of the last load attempt. */
  status: PolicyStatus;
  /** The reason of a `no_policy` Deny: why no policy is active. */
  noPolicyReason = 'no valid policy loaded: none was given; pass a policy to Perso.load and reload';
  /** Set by {@link close}: every later call is a Deny. */
  closed = false;
  #input: unknown;
  #reloading: Promise<unknown> = Promise.resolve();
  readonly #settings: PersoSettings;
  /** With transports: `null` once the record builder loaded, or why it could not. */
  readonly #recordsReady: Promise<string | null>;

  /**
   * @param settings the instance's settings
   * @param input the `policy` option, loaded by the first {@link reload}
   * @param recordsReady `null` once audit records can be built, or why they cannot
   */
  constructor(settings: PersoSettings, input: unknown, recordsReady: Promise<string | null>) {
    this.#settings = settings;
    this.#input = input;
    this.#recordsReady = recordsReady;
    this.status = initialStatus(settings.mode === 'shadow' ? 'shadow' : 'enforce');
  }

  /**
   * Loads a policy (or the current source again) and swaps it in atomically; on failure the last
   * good policy stays active and the status carries the errors. Never rejects.
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

  /** A load refused before it started (the options were refused), reported like any failed load. */
  refuse(problem: Diagnostic): void {
    this.#reportFailure(this.#fail([problem], []));
  }

  /** Stops the engine; every later call is a Deny. Never throws. */
  close(): void {
    this.closed = true;
    this.sync = null;
    const backend = this.backend;
    this.backend = null;
    try {
      backend?.close();
    } catch {
      // Closing is best effort; every later call is a Deny either way.
    }
  }

  async #load(input: unknown): Promise<PolicyStatus> {
    if (this.closed) return this.#failWith('policy', 'perso is closed; load a new instance');
    // The engine starts (a worker: its script and engine.wasm load) while the policy is fetched.
    const starting = this.#ensureBackend();
    const resolved = await resolvePolicy(input, this.#settings.urlPolicy, this.#settings.pinned);
    const backend = await starting;
    const recordsProblem = await this.#recordsReady;
    if (recordsProblem !== null) return this.#failWith('audit', recordsProblem);
    if (!resolved.ok) return this.#failWith('policy', resolved.error);
    if (typeof backend === 'string') return this.#failWith('engine', backend);
    const extensions = await readExtensions(resolved.text);
    if (typeof extensions === 'string') return this.#failWith('annotation_defaults', extensions);
    // Plain JavaScript where WebCrypto is missing (plain http); a hash that fails leaves none.
    const hashing = sha256Hex(resolved.text).catch(() => null);
    let hash: string | null;
    let load: PolicyLoad;
    try {
      if (this.sync !== null) {
        // Same turn for the inline engine: no evaluation runs between the swap and the new state.
        hash = await hashing;
        load = this.sync.loadNow(resolved.text);
      } else {
        // The worker loads the policy while this thread hashes it.
        [load, hash] = await Promise.all([backend.load(resolved.text), hashing]);
      }
    } catch (error) {
      return this.#failWith('engine', `the engine failed to load the policy (${errorText(error)})`);
    }
    if (this.closed) return this.status;
    if (!load.ok) return this.#fail(load.errors, load.warnings);
    const warnings = [...load.warnings];
    const mode = modeFor(this.#settings.mode, load.policy.mode, resolved.source, warnings);
    this.#input = input;
    this.text = resolved.text;
    this.version = load.policy.version;
    this.enforced = mode !== 'shadow';
    this.needsClock = load.policy.hasRateLimits || load.policy.hasBudgets;
    // The module is loaded when the text may name the key; whether the policy opts in is the engine's word.
    this.annotationDefaults = load.policy.annotationDefaults ? extensions.annotationDefaults : null;
    this.status = freezeStatus({
      ok: true,
      version: load.policy.version,
      hash,
      mode,
      source: resolved.source,
      errors: [],
      warnings,
      annotationDefaults: this.annotationDefaults !== null,
      ...(load.policy.approval === 'webauthn' ? { approval: 'webauthn' as const } : {}),
      ...(load.policy.untrustedTools === undefined
        ? {}
        : { untrustedTools: load.policy.untrustedTools }),
      ...withToolPins(toolPinsOf(extensions.toolPins, load.policy.toolPins)),
    });
    await resolved.commit?.();
    return this.status;
  }

  async #ensureBackend(): Promise<EvaluatorBackend | string> {
    if (this.backend !== null) return this.backend;
    let backend: EvaluatorBackend;
    try {
      backend = await createBackend(this.#settings);
    } catch (error) {
      return `the engine could not start (${errorText(error)}); rebuild it with "npm run build:engine" or reinstall perso`;
    }
    if (this.closed) {
      backend.close();
      return 'perso is closed; load a new instance';
    }
    this.backend = backend;
    this.sync = isSyncBackend(backend) ? backend : null;
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
      console.warn(loadFailureWarning(status, this.version));
    } catch {
      // A throwing onError (or console) must not turn a failed load into a rejection.
    }
  }

  #fail(errors: readonly Diagnostic[], warnings: readonly Diagnostic[]): PolicyStatus {
    this.status = freezeStatus({
      ...this.status,
      ok: false,
      errors: [...errors],
      warnings: [...warnings],
    });
    if (this.version === null) this.noPolicyReason = noPolicyReason(errors);
    return this.status;
  }

  /** A failed load with one error at `path`. */
  #failWith(path: string, message: string): PolicyStatus {
    return this.#fail([{ severity: 'error', path, message }], []);
  }
}
