/**
 * The worker's approvals, loaded on its first Ask: tickets for Ask decisions (offered with each
 * Ask, redeemed at most once by `approve`) and the approvals a person gave that cover later calls
 * (an Ask rule's `remember`), kept beside them (`worker-approvals.ts`).
 *
 * Checklist:
 * - the module comes from the URL the page named, once its bytes match the digest the page named
 *   (the build recorded it in the page's code), or unchecked where the page said so (the host's
 *   `codeIntegrity: false`); a built worker the page named neither to refuses it; unbuilt, the
 *   source next to this file, unchecked (as `recordedDigest` does);
 * - an Ask whose approvals cannot load is a Deny that says why; the next Ask tries again;
 * - approvals loaded after a policy get that policy (`engine-approvals.ts`);
 * - built, a policy that can ask starts loading them with its load (a hint read from its text and
 *   info: one it misses loads them on its first Ask), so that Ask need not wait for the network;
 *   unbuilt, they (and the WebAuthn check) load as the worker starts.
 */
import type { ToolCall } from '../call/decision.ts';
import type { PolicyInfo, Verdict } from '../engine/engine.ts';
import { ENGINE_WASM_SHA256, recordedDigest } from '../backend/code-integrity.ts';
import { errorText } from '../encoding/text.ts';
import { importNamed, type NamedModule } from './named-module.ts';
import type { ApprovalLedgerOptions, EngineApprovals } from './worker-approvals.ts';

/** The tickets and the remembered approvals, once loaded. */
export type Approvals = EngineApprovals;

/** Where the page said the module is: its recorded SHA-256 and its URL on this worker's origin. */
export type ApprovalsSource = NamedModule;

/** The worker's approvals, loaded on demand. */
export class ApprovalsOnDemand {
  readonly #source: ApprovalsSource;
  readonly #options: ApprovalLedgerOptions;
  #loaded: Approvals | null = null;
  #loading: Promise<Approvals> | null = null;
  #policy: string | null = null;

  /**
   * @param source where the page said the module is
   * @param options the ledger's options (origin, the WebAuthn check)
   */
  constructor(source: ApprovalsSource, options: ApprovalLedgerOptions) {
    this.#source = source;
    this.#options = options;
    // Unbuilt (a dev server serving the sources, module by module): nothing to save, and a first
    // Ask should not wait for a dozen transformed modules, so they load as the worker starts, and
    // the WebAuthn check after them.
    if (recordedDigest(ENGINE_WASM_SHA256) === null)
      this.load()
        .then(() => options.loadWebAuthnCheck?.())
        .catch(() => undefined);
  }

  /** The approvals, when loaded; `null` before the first Ask (none given, none remembered). */
  get loaded(): Approvals | null {
    return this.#loaded;
  }

  /** After the engine loaded `policyText`. */
  policyLoaded(policyText: string): void {
    this.#policy = policyText;
    this.#loaded?.policyLoaded(policyText);
  }

  /**
   * Starts loading the approvals, without waiting, for a policy that can ask (an Ask rule,
   * annotation defaults, a policy-wide `approval`), so that its first Ask need not wait for them.
   * A failure is reported by the Ask that needs them (which tries again).
   */
  prefetch(policyText: string, policy: PolicyInfo): void {
    const mayAsk =
      policy.annotationDefaults || policy.approval !== undefined || policyText.includes('"Ask"');
    if (this.#loaded === null && mayAsk) this.load().catch(() => undefined);
  }

  /** The approvals, loading them if need be; rejects when they cannot load (tried again next time). */
  load(): Promise<Approvals> {
    if (this.#loaded !== null) return Promise.resolve(this.#loaded);
    this.#loading ??= importNamed<typeof import('./worker-approvals.ts')>(
      this.#source,
      'approvals',
      './worker-approvals.ts',
    ).then(
      ({ EngineApprovals }) => (this.#loaded = new EngineApprovals(this.#options, this.#policy)),
      (error: unknown) => {
        this.#loading = null;
        throw error;
      },
    );
    return this.#loading;
  }

  /**
   * A verdict as the caller gets it: an Ask is lifted by a remembered approval that covers it, else
   * offered a ticket; one whose approvals cannot load is a Deny. Any other verdict as it is.
   *
   * @param nowSeconds the host's time of the call
   * @param decide the engine's decision of a call at that time (a remembered approval's check)
   */
  async decided(
    call: ToolCall,
    verdict: Verdict,
    nowSeconds: number,
    decide: (call: ToolCall) => Verdict,
  ): Promise<Verdict> {
    if (verdict.decision !== 'Ask') return verdict;
    let approvals: Approvals;
    try {
      approvals = await this.load();
    } catch (error) {
      return approvalsFault(error, verdict.rule);
    }
    return approvals.decided(call, verdict, nowSeconds, decide);
  }
}

/** The Deny for a call that needed the approvals when they could not load. */
export function approvalsFault(error: unknown, rule?: string): Verdict {
  return {
    decision: 'Deny',
    kind: 'engine_fault',
    reason: `engine fault: the worker's approval code did not load (${errorText(error)}); the call was not run, check that the page can fetch perso's files and retry`,
    ...(rule === undefined ? {} : { rule }),
  };
}
