/**
 * The `<perso-guard>` element as its controllers see it: its properties, and Lit's controller host.
 */
import type { ReactiveControllerHost } from 'lit';
import type { JsonObject } from '../call/decision.ts';
import type { PersoMode } from '../perso/perso.ts';
import type { AuditTransport } from '../audit/audit-record.ts';
import type { PolicyPublicKey } from '../policy/policy-integrity.ts';

/** The host element as the controller sees it. */
export interface GuardHost extends ReactiveControllerHost, HTMLElement {
  /** Policy URL. */
  src: string | null;
  /** The principal's role. */
  role: string | null;
  /** Host-owned facts about the principal. */
  agentAttributes: JsonObject | undefined;
  /** How long a WebAuthn approval waits for the authenticator, in ms. */
  authenticatorTimeoutMs?: number;
  /** The host's mode (`policy`: the fetched policy's `mode` decides); `null`: enforced. */
  mode: PersoMode | null;
  /** The policy's pinned hash. */
  integrity: string | null;
  /** Trusted signing keys. */
  publicKeys: readonly PolicyPublicKey[] | null;
  /** The id signatures must name; `null`: the policy's absolute URL. */
  policyId?: string | null;
  /** Worker call timeout, ms. */
  timeout: number | null;
  /** Check the worker script and engine.wasm (default true; `'strict'`: from the checked bytes). */
  codeIntegrity: boolean | 'strict';
  /** Where audit records go (the host's transports; the guard flushes them, never closes them). */
  audit?: AuditTransport | readonly AuditTransport[] | null;
}
