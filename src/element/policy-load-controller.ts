/**
 * Loads the policy of one `<perso-guard>` and binds the host's principal into a session; holds the
 * status the element shows.
 *
 * Checklist:
 * - the principal comes from the host's properties only;
 * - no policy source, a policy that failed to load, a misconfigured element: a reason, never a throw;
 * - the latest load wins: a load that was superseded (by a new `src`, mode, integrity, keys or
 *   timeout, or by the element leaving the page) never sets the status or fires `perso-error`.
 */
import type { ReactiveController } from 'lit';
import { Perso } from '../perso/perso.ts';
import type { PolicyInput, PolicyStatus } from '../perso/perso.ts';
import type { PersoSession } from '../perso/session.ts';
import { PersoErrorEvent, PersoStatusEvent } from './guard-events.ts';
import type { GuardHost } from './guard-host.ts';
import { hostTransports, loadOptions, noPolicyStatus } from './guard-load-options.ts';
import { errorText, formatDiagnostics } from '../encoding/text.ts';

/** Loads the policy for one `<perso-guard>` and keeps its status and the principal's session. */
export class PolicyLoadController implements ReactiveController {
  /** A short status line (loading, the policy version, or the load error). */
  status = 'no policy';
  /** The policy's full status once the latest load settled; `null` while loading or without a policy. */
  policyStatus: PolicyStatus | null = null;

  readonly #host: GuardHost;
  #perso: Promise<Perso | null> = Promise.resolve(null);
  #loadedSrc: string | null = null;
  /** Counts loads; a load's answer counts only while it is still the latest. */
  #loadGeneration = 0;
  #loadedAudit: GuardHost['audit'] = null;
  #session: { key: string; session: PersoSession } | null = null;

  /** @param host the element */
  constructor(host: GuardHost) {
    this.#host = host;
    host.addController(this);
  }

  /** Starts loading when the host connects. */
  hostConnected(): void {
    this.#ensureLoaded();
  }

  /** Reloads when `src` (or another load input) changed. */
  hostUpdate(): void {
    this.#ensureLoaded();
  }

  /** Closes the engine when the host leaves the page. */
  hostDisconnected(): void {
    const perso = this.#perso;
    this.#perso = Promise.resolve(null);
    this.#loadedSrc = null;
    this.#loadGeneration += 1;
    this.#session = null;
    void perso.then((instance) => instance?.close());
  }

  // Loads again when the source, the audit transports or any input that decides how the policy is
  // verified and enforced changed.
  #ensureLoaded(): void {
    const src = this.#host.src;
    const options = loadOptions(this.#host);
    const audit = this.#host.audit ?? null;
    const key = JSON.stringify([src, options]);
    if (key === this.#loadedSrc && audit === this.#loadedAudit) return;
    this.#loadedSrc = key;
    this.#loadedAudit = audit;
    this.#session = null;
    this.policyStatus = null;
    const generation = ++this.#loadGeneration;
    const previous = this.#perso;
    if (src === null || src === '') {
      this.status = 'no policy';
      this.#perso = Promise.resolve(null);
    } else if (typeof options === 'string') {
      this.status = `perso-guard is misconfigured: ${options}`;
      this.#host.dispatchEvent(new PersoErrorEvent(this.status));
      this.#perso = Promise.resolve(null);
    } else {
      this.status = `loading ${src}`;
      const url = new URL(src, document.baseURI).href;
      // A superseded load's instance is closed with the rest (`previous` below, on the next load);
      // its answer must not overwrite what the latest load says.
      const latest = () => generation === this.#loadGeneration;
      this.#perso = Perso.load({ ...options, ...hostTransports(audit), policy: url }).then(
        (perso) => {
          if (latest()) this.#show(perso.status(), src);
          return perso;
        },
        (error: unknown) => {
          if (!latest()) return null;
          this.status = `policy ${src} failed to load: ${errorText(error)}`;
          this.#host.dispatchEvent(new PersoErrorEvent(this.status));
          this.#host.requestUpdate();
          return null;
        },
      );
    }
    void previous.then((instance) => instance?.close());
  }

  /**
   * Loads the policy again in place: `src` again, or `policy` (an edited policy object, or another
   * URL) instead. A failed reload keeps the active policy; sessions and the log carry on.
   */
  async reload(policy?: PolicyInput): Promise<PolicyStatus> {
    const generation = this.#loadGeneration;
    const src = this.#host.src ?? '';
    const perso = await this.#perso;
    if (perso === null) {
      const reason = await this.session();
      return noPolicyStatus(typeof reason === 'string' ? reason : this.status);
    }
    const status = await perso.reload(policy ?? new URL(src, document.baseURI).href);
    if (generation === this.#loadGeneration) this.#show(status, src);
    return status;
  }

  // The status line, `policyStatus`, and the events, for the latest load or reload.
  #show(status: PolicyStatus, src: string): void {
    this.policyStatus = status;
    const active = `policy ${status.version ?? '(unversioned)'}${status.mode === 'shadow' ? ' (shadow mode)' : ''}`;
    const errors = formatDiagnostics(status.errors);
    this.status = status.ok
      ? active
      : status.version === null
        ? `policy ${src} failed to load: ${errors}`
        : `${active}; a reload failed and it stays active: ${errors}`;
    if (!status.ok) this.#host.dispatchEvent(new PersoErrorEvent(this.status));
    this.#host.dispatchEvent(new PersoStatusEvent(status));
    this.#host.requestUpdate();
  }

  /** The session for the host's current principal, or why there is none; waits for the load. */
  async session(): Promise<PersoSession | string> {
    const perso = await this.#perso;
    if (perso === null) {
      return this.#host.src === null || this.#host.src === ''
        ? 'no policy: set the src of <perso-guard> to a policy URL'
        : `no policy: ${this.status}`;
    }
    const role = this.#host.role;
    if (role === null || role === '')
      return 'no principal: set the role of <perso-guard> from your own session';
    const key = JSON.stringify([role, this.#host.agentAttributes ?? {}]);
    if (this.#session?.key !== key) {
      this.#session = {
        key,
        // One named session for the element's life: a new principal keeps what the model read.
        session: perso.session({
          role,
          agentAttributes: this.#host.agentAttributes,
          session: 'perso-guard',
        }),
      };
    }
    return this.#session.session;
  }
}
