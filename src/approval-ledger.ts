/**
 * Approvals for Ask decisions, kept where the engine runs (the worker, or the inline backend).
 *
 * When the engine answers Ask, the backend offers a ticket: a random nonce bound to that exact call.
 * A person approves in the page; the host then sends the nonce back with the call, and the backend
 * — not a flag on the main thread — redeems it, decides the call again, and only then turns the Ask
 * into Allow. The main thread can ask for an approval to be honoured, never mint one.
 *
 * Invariants:
 * - a ticket is bound to (tool, role, canonical args, agent and resource attributes, nonce);
 *   the canonical form sorts object keys, so key order cannot make two calls differ or match;
 * - a ticket is single use: any redeem, successful or not, consumes it;
 * - a ticket expires `ttlMs` after it was offered, on the ledger's own clock;
 * - the ledger holds at most `capacity` tickets; the oldest go first;
 * - an approval only lifts an Ask: the call is decided again and a Deny stays a Deny;
 * - an approved call spends its rule's rate-limit budget like any Allow;
 * - a WebAuthn ticket (the Ask's rule says `"approval": "webauthn"`) carries the challenge of
 *   {tool, args, origin, policy hash, nonce, expiry} and is released only by an assertion over it,
 *   verified here against the credential registered for this origin, with the user-verified flag;
 *   a click alone, a failed or cancelled ceremony, or an assertion over another challenge is a Deny
 *   that says which, and consumes the ticket like any redeem.
 */
import type { ApprovalTicket, Decision, ReasonKind, ToolCall } from './decision.ts';
import { APPROVED_CALL } from './engine/approved-call.ts';
import { canonicalJson } from './canonical-json.ts';
import { approvalChallenge, sha256HexSync } from './approval-challenge.ts';
import type { ApprovalEvidence } from './approval-evidence.ts';
import { readEvidence } from './approval-evidence.ts';
import type { CredentialStore } from './authenticator-store.ts';
import { toBase64Url } from './base64.ts';
import { verifyAssertion, verifyRegistration } from './webauthn-verify.ts';

export type { ApprovalTicket } from './decision.ts';

/** The result of redeeming a ticket. */
export type ApprovalCheck = { ok: true; webauthn: WebAuthnBinding | null } | { ok: false; reason: string };

/** What a WebAuthn ticket was bound to when it was offered. */
export interface WebAuthnBinding {
  /** The challenge the assertion must sign, URL-safe base64. */
  challenge: string;
  /** The origin it must be made on, or `null` where the host has none (Node). */
  origin: string | null;
}

/** The fields of a decision the ledger reads and writes. */
export interface ApprovableVerdict {
  decision: Decision;
  reason: string;
  kind: ReasonKind;
  rule?: string;
  /** On an Ask: `webauthn` when only an authenticator's assertion releases it (the engine reports it). */
  approvalKind?: 'webauthn';
}

/** Options for {@link ApprovalLedger}. */
export interface ApprovalLedgerOptions {
  /** How long a ticket is honoured after it was offered; default 120 000 ms. */
  ttlMs?: number;
  /** Most tickets kept at once; default 256. */
  capacity?: number;
  /** Milliseconds since the epoch; `Date.now` by default (tests pass their own). */
  clock?: () => number;
  /** The page origin WebAuthn approvals are bound to; `null` (the default) where there is none. */
  origin?: string | null;
  /** The registered authenticators; `null` (the default) where there is no IndexedDB. */
  credentials?: CredentialStore | null;
}

/** Appended to the reason of an Ask that a person approved. */
export const APPROVED_SUFFIX = '; approved by a person';
/** Appended to the reason of an Ask that a person approved with a verified authenticator. */
export const WEBAUTHN_APPROVED_SUFFIX = '; approved by a person with a verified authenticator';

interface PendingApproval {
  binding: string;
  tool: string;
  expiresAt: number;
  webauthn: WebAuthnBinding | null;
}

/** Pending approvals: offered with an Ask, redeemed at most once before they expire. */
export class ApprovalLedger {
  readonly #pending = new Map<string, PendingApproval>();
  readonly #ttlMs: number;
  readonly #capacity: number;
  readonly #clock: () => number;
  readonly #origin: string | null;
  readonly #credentials: CredentialStore | null;
  #policyText = '';
  #policyHash: string | null = null;

  /** @param options lifetime, capacity and clock of the tickets; origin and credentials for WebAuthn */
  constructor(options: ApprovalLedgerOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 120_000;
    this.#capacity = Math.max(1, options.capacity ?? 256);
    this.#clock = options.clock ?? Date.now;
    this.#origin = typeof options.origin === 'string' ? options.origin : null;
    this.#credentials = options.credentials ?? null;
  }

  /**
   * Tells the ledger which policy now decides, for the policy hash WebAuthn challenges carry
   * (hashed when the first WebAuthn ticket needs it).
   *
   * @param policyText the JSON text of the policy the engine loaded
   */
  policyLoaded(policyText: string): void {
    this.#policyText = policyText;
    this.#policyHash = null;
  }

  /** How many tickets are pending (expired ones included until they are swept). */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Records a pending approval for `call` and returns its ticket, or `null` when the call cannot be
   * bound (its arguments are not plain JSON) — such an Ask can never be approved.
   *
   * @param call the call the engine answered Ask for
   * @param kind what releases it: a click (the default) or an authenticator's assertion
   */
  offer(call: ToolCall, kind: 'click' | 'webauthn' = 'click'): ApprovalTicket | null {
    const binding = bindingOf(call);
    if (binding === null) return null;
    this.#sweep();
    while (this.#pending.size >= this.#capacity) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
    }
    const nonce = randomNonce();
    const expiresAt = this.#clock() + this.#ttlMs;
    if (kind !== 'webauthn') {
      this.#pending.set(nonce, { binding, tool: call.tool, expiresAt, webauthn: null });
      return Object.freeze({ nonce, expiresAt });
    }
    this.#policyHash ??= sha256HexSync(this.#policyText);
    const origin = this.#origin;
    const challenge = toBase64Url(approvalChallenge({ tool: call.tool, args: call.args, origin: origin ?? 'null', policyHash: this.#policyHash, nonce, expiresAt }));
    this.#pending.set(nonce, { binding, tool: call.tool, expiresAt, webauthn: { challenge, origin } });
    return Object.freeze({ nonce, expiresAt, kind: 'webauthn' as const, challenge });
  }

  /**
   * Attaches a ticket to an Ask verdict; any other verdict is returned as it is.
   *
   * @param call the call that was decided
   * @param verdict the engine's answer for it
   */
  attach<V extends ApprovableVerdict>(call: ToolCall, verdict: V): V & { approval?: ApprovalTicket } {
    if (verdict.decision !== 'Ask') return verdict;
    const approval = this.offer(call, verdict.approvalKind === 'webauthn' ? 'webauthn' : 'click');
    return approval === null ? verdict : { ...verdict, approval };
  }

  /**
   * Redeems a ticket for `call`. Consumes it whatever the outcome.
   *
   * @param nonce the ticket's nonce, as the host sent it back
   * @param call the call the person approved
   */
  redeem(nonce: string, call: ToolCall): ApprovalCheck {
    const shown = typeof nonce === 'string' ? `"${nonce.slice(0, 8)}"` : 'without a nonce';
    const pending = typeof nonce === 'string' ? this.#pending.get(nonce) : undefined;
    if (pending === undefined) {
      return { ok: false, reason: `approval ${shown} is unknown or already used; approvals are single use, ask the person again` };
    }
    this.#pending.delete(nonce);
    if (this.#clock() >= pending.expiresAt) {
      return { ok: false, reason: `approval ${shown} expired after ${Math.round(this.#ttlMs / 1000)} s; ask the person again` };
    }
    if (bindingOf(call) !== pending.binding) {
      return {
        ok: false,
        reason: `approval ${shown} was given for a different call to '${pending.tool.slice(0, 64)}'; ask the person again for this exact call`,
      };
    }
    return { ok: true, webauthn: pending.webauthn };
  }

  /**
   * The whole approval: redeems the ticket, checks the WebAuthn evidence a WebAuthn ticket needs,
   * decides the call again with `decide`, and lifts an Ask to Allow. A refused ticket or evidence is
   * a Deny (`invalid_request`) naming why; a Deny stays a Deny.
   *
   * @param nonce the ticket's nonce
   * @param call the call the person approved
   * @param decide decides the call now (the engine, in the backend's realm)
   * @param evidence for a WebAuthn ticket: the page's assertion, or why its ceremony gave none
   */
  async approve<V extends ApprovableVerdict>(
    nonce: string,
    call: ToolCall,
    decide: (call: ToolCall) => V,
    evidence?: unknown,
  ): Promise<V | ApprovableVerdict> {
    // Consumed before anything is awaited: two redeems of one ticket cannot both get past here.
    const check = this.redeem(nonce, call);
    if (!check.ok) return refused(check.reason);
    if (check.webauthn !== null) {
      const problem = await this.#checkWebAuthn(nonce, check.webauthn, evidence);
      if (problem !== null) return refused(problem);
    }
    // Marked: the engine counts an approved Ask against the rule's rate limit (see approved-call.ts).
    const verdict = decide({ ...call, [APPROVED_CALL]: true } as ToolCall);
    // `decide` may be a backend's own evaluate, which offers a fresh ticket with an Ask: void it.
    const fresh = (verdict as { approval?: ApprovalTicket }).approval;
    if (fresh !== undefined) this.#pending.delete(fresh.nonce);
    return approved(verdict, check.webauthn === null ? APPROVED_SUFFIX : WEBAUTHN_APPROVED_SUFFIX);
  }

  // Why the evidence does not release a WebAuthn ticket, or null when it does.
  async #checkWebAuthn(nonce: string, binding: WebAuthnBinding, given: unknown): Promise<string | null> {
    const shown = `approval "${nonce.slice(0, 8)}"`;
    const again = 'ask the person again';
    const evidence: ApprovalEvidence | null = given === undefined ? null : readEvidence(given);
    if (given === undefined) {
      return `${shown} needs a verified authenticator (the policy says "approval": "webauthn"); a click is not enough, so the call was not run`;
    }
    if (evidence === null) return `${shown}: the WebAuthn evidence is malformed; ${again}`;
    if (evidence.kind === 'webauthn-failed') {
      const detail = evidence.detail === '' ? '' : ` (${evidence.detail})`;
      if (evidence.failure === 'unavailable') return `${shown} needs a verified authenticator, and none is available here${detail}; approve from a browser with a passkey or security key`;
      if (evidence.failure === 'cancelled') return `${shown} needs a verified authenticator, and the ceremony was cancelled or timed out${detail}; ${again}`;
      return `${shown} needs a verified authenticator, and the ceremony failed${detail}; ${again}`;
    }
    if (binding.origin === null) return `${shown} needs a page origin to check an authenticator against, and this host has none; approve in the browser`;
    const credentials = this.#credentials;
    if (credentials === null) return `${shown}: no authenticator registry here (IndexedDB is unavailable), so no assertion can be checked`;
    const expected = { challenge: binding.challenge, origin: binding.origin };
    try {
      let registered = await credentials.list(binding.origin);
      if (evidence.registration !== undefined) {
        if (registered.length > 0) return `${shown}: an authenticator is already registered for ${binding.origin}; approve with it (a new one is not registered on top)`;
        const registration = await verifyRegistration(evidence.registration, expected, this.#clock());
        if (!registration.ok) return `${shown}: ${registration.reason}; ${again}`;
        if (!(await credentials.addFirst(registration.value))) return `${shown}: an authenticator was registered for ${binding.origin} meanwhile; ${again}`;
        registered = [registration.value];
      }
      if (registered.length === 0) return `${shown} needs a verified authenticator, and none is registered for ${binding.origin} yet; ${again} (the first approval registers one)`;
      const credential = registered.find((known) => known.id === evidence.assertion.credentialId);
      if (credential === undefined) return `${shown}: the assertion comes from an authenticator not registered for ${binding.origin}; approve with the registered one`;
      const assertion = await verifyAssertion(evidence.assertion, credential, expected);
      if (!assertion.ok) return `${shown}: ${assertion.reason}; ${again}`;
      await credentials.raiseSignCount(credential.id, assertion.value);
      return null;
    } catch (error) {
      return `${shown}: the authenticator registry failed (${error instanceof Error ? error.message : String(error)}); ${again}`;
    }
  }

  #sweep(): void {
    const now = this.#clock();
    for (const [nonce, pending] of this.#pending) {
      if (now >= pending.expiresAt) this.#pending.delete(nonce);
    }
  }
}

/**
 * Lifts an Ask that a person approved to Allow, keeping its reason and rule; anything else is
 * returned as it is (approval cannot grant more than the policy allows).
 *
 * @param verdict the call's decision, made again after the ticket was redeemed
 * @param suffix what the reason gains: how the person approved
 */
export function approved<V extends ApprovableVerdict>(verdict: V, suffix: string = APPROVED_SUFFIX): V {
  if (verdict.decision !== 'Ask') return verdict;
  const lifted: V & { approval?: ApprovalTicket } = { ...verdict, decision: 'Allow', reason: `${verdict.reason}${suffix}` };
  delete lifted.approval;
  return lifted;
}

/**
 * The canonical text of everything an approval is bound to, or `null` when the call is not plain
 * JSON. Object keys are sorted so that key order neither splits nor merges calls.
 */
function bindingOf(call: ToolCall): string | null {
  try {
    return canonicalJson([
      call.tool,
      call.role,
      call.args ?? {},
      call.agentAttributes ?? {},
      call.resourceAttributes ?? {},
    ]);
  } catch {
    return null;
  }
}

function refused(reason: string): ApprovableVerdict {
  return { decision: 'Deny', reason, kind: 'invalid_request' };
}

function randomNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
