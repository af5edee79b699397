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
 * - it lifts only the Ask the person saw: decided again, the call must ask by the same rule for the
 *   same kind of approval (a session that read untrusted content meanwhile may make a WebAuthn rule
 *   ask, which a click must not release), else it is a Deny;
 * - a policy load with other text voids every ticket (an approval is given under one policy);
 * - an approved call spends its rule's rate limit and budget like any Allow; a refused one spends
 *   nothing (the call is decided unmarked, and checked, before it is decided as approved);
 * - a WebAuthn ticket (the Ask's rule says `"approval": "webauthn"`) is released only by an
 *   assertion over the challenge of {tool, args, origin, policy hash, nonce, expiry},
 *   verified here against the credential registered for this origin, with the user-verified flag;
 *   a click alone, a failed or cancelled ceremony, or an assertion over another challenge is a Deny
 *   that says which, and consumes the ticket like any redeem.
 */
import type { ApprovalTicket, Decision, ReasonKind, ToolCall } from '../call/decision.ts';
import { APPROVED_CALL } from '../engine/approved-call.ts';
import { canonicalJson } from '../call/canonical-json.ts';
import type { CredentialStore } from './authenticator-store.ts';
import type { checkWebAuthnEvidence } from './webauthn-approval.ts';
import { toHex } from '../encoding/hex.ts';
import { notLoaded, quote, quoteName } from '../encoding/text.ts';

/** The WebAuthn check of `webauthn-approval.ts`. */
export type WebAuthnCheck = typeof checkWebAuthnEvidence;

export type { ApprovalTicket } from '../call/decision.ts';

/** The result of redeeming a ticket. */
export type ApprovalCheck =
  | {
      ok: true;
      webauthn: WebAuthnBinding | null;
      rule: string | undefined;
      kind: 'click' | 'webauthn';
    }
  | { ok: false; reason: string };

/** What a WebAuthn ticket was bound to when it was offered: what its challenge is made of. */
export interface WebAuthnBinding {
  /** The tool the engine decided. */
  tool: string;
  /** The call's args as the engine decided them. */
  args: unknown;
  /** The origin it must be made on, or `null` where the host has none (Node). */
  origin: string | null;
  /** The text of the policy that asked (hashed only when an assertion is checked). */
  policyText: string;
  /** The ticket's nonce. */
  nonce: string;
  /** The ticket's expiry, ms since the epoch. */
  expiresAt: number;
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
  /**
   * The registered authenticators: a store, `null` for none, or `indexeddb` (the default) for the
   * IndexedDB store where IndexedDB exists, opened on the first WebAuthn approval.
   */
  credentials?: CredentialStore | null | 'indexeddb';
  /**
   * Loads the WebAuthn check (`() => import('./webauthn-approval.ts')`), on the first WebAuthn
   * redeem. Without it (the inline engine) no WebAuthn ticket is ever released: the page bundles
   * that carry the inline engine then do not carry the verifier.
   */
  loadWebAuthnCheck?: () => Promise<{ checkWebAuthnEvidence: WebAuthnCheck }>;
}

/** Appended to the reason of an Ask that a person approved. */
export const APPROVED_SUFFIX = '; approved by a person';
/** Appended to the reason of an Ask that a person approved with a verified authenticator. */
export const WEBAUTHN_APPROVED_SUFFIX = '; approved by a person with a verified authenticator';

interface PendingApproval {
  binding: string;
  tool: string;
  /** The rule the Ask was by, and what releases it: the Ask the person saw. */
  rule: string | undefined;
  kind: 'click' | 'webauthn';
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
  readonly #credentials: CredentialStore | null | 'indexeddb';
  readonly #loadWebAuthnCheck: (() => Promise<{ checkWebAuthnEvidence: WebAuthnCheck }>) | null;
  #policyText = '';

  /** @param options lifetime, capacity and clock of the tickets; origin and credentials for WebAuthn */
  constructor(options: ApprovalLedgerOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 120_000;
    this.#capacity = Math.max(1, options.capacity ?? 256);
    this.#clock = options.clock ?? Date.now;
    this.#origin = typeof options.origin === 'string' ? options.origin : null;
    this.#credentials = options.credentials === undefined ? 'indexeddb' : options.credentials;
    this.#loadWebAuthnCheck = options.loadWebAuthnCheck ?? null;
  }

  /**
   * Tells the ledger which policy now decides, for the policy hash WebAuthn challenges carry
   * (hashed only when an assertion is checked).
   *
   * @param policyText the JSON text of the policy the engine loaded
   */
  policyLoaded(policyText: string): void {
    if (policyText !== this.#policyText) this.#pending.clear();
    this.#policyText = policyText;
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
   * @param rule the rule the Ask was by (the call must still ask by it when redeemed)
   */
  offer(
    call: ToolCall,
    kind: 'click' | 'webauthn' = 'click',
    rule?: string,
  ): ApprovalTicket | null {
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
      this.#pending.set(nonce, { binding, tool: call.tool, rule, kind, expiresAt, webauthn: null });
      return Object.freeze({ nonce, expiresAt });
    }
    const webauthn = {
      tool: call.tool,
      args: call.args ?? {},
      origin: this.#origin,
      policyText: this.#policyText,
      nonce,
      expiresAt,
    };
    this.#pending.set(nonce, { binding, tool: call.tool, rule, kind, expiresAt, webauthn });
    return Object.freeze({ nonce, expiresAt, kind: 'webauthn' as const });
  }

  /**
   * Attaches a ticket to an Ask verdict; any other verdict is returned as it is.
   *
   * @param call the call that was decided
   * @param verdict the engine's answer for it
   */
  attach<V extends ApprovableVerdict>(
    call: ToolCall,
    verdict: V,
  ): V & { approval?: ApprovalTicket } {
    if (verdict.decision !== 'Ask') return verdict;
    const approval = this.offer(
      call,
      verdict.approvalKind === 'webauthn' ? 'webauthn' : 'click',
      verdict.rule,
    );
    return approval === null ? verdict : { ...verdict, approval };
  }

  /**
   * Redeems a ticket for `call`. Consumes it whatever the outcome.
   *
   * @param nonce the ticket's nonce, as the host sent it back
   * @param call the call the person approved
   */
  redeem(nonce: string, call: ToolCall): ApprovalCheck {
    const shown = typeof nonce === 'string' ? quote(nonce, 8) : 'without a nonce';
    const pending = typeof nonce === 'string' ? this.#pending.get(nonce) : undefined;
    if (pending === undefined) {
      return {
        ok: false,
        reason: `approval ${shown} is unknown or already used; approvals are single use, ask the person again`,
      };
    }
    this.#pending.delete(nonce);
    if (this.#clock() >= pending.expiresAt) {
      return {
        ok: false,
        reason: `approval ${shown} expired after ${Math.round(this.#ttlMs / 1000)} s; ask the person again`,
      };
    }
    if (bindingOf(call) !== pending.binding) {
      return {
        ok: false,
        reason: `approval ${shown} was given for a different call to ${quoteName(pending.tool)}; ask the person again for this exact call`,
      };
    }
    return { ok: true, webauthn: pending.webauthn, rule: pending.rule, kind: pending.kind };
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
      const load = this.#loadWebAuthnCheck;
      if (load === null) {
        return refused(
          `approval ${quote(nonce, 8)} needs a verified authenticator, which only the worker engine checks (the default in a page); the call was not run`,
        );
      }
      // Loaded on demand: pages whose policies never ask for WebAuthn do not fetch the verifier.
      let verifier: { checkWebAuthnEvidence: WebAuthnCheck };
      try {
        verifier = await load();
      } catch (error) {
        return refused(
          `approval ${quote(nonce, 8)} needs a verified authenticator, but ${notLoaded('the verifier', error)}; the call was not run`,
        );
      }
      const problem = await verifier.checkWebAuthnEvidence(
        nonce,
        check.webauthn,
        evidence,
        this.#credentials,
        this.#clock(),
      );
      if (problem !== null) return refused(problem);
    }
    // Decided unmarked first (an Ask spends nothing), then marked: the engine counts an approved
    // Ask against its rule's rate limit and budget (approved-call.ts), so only once it is the same Ask.
    let verdict!: V;
    for (const again of [call, { ...call, [APPROVED_CALL]: true }]) {
      verdict = decide(again);
      // `decide` may be a backend's own evaluate, which offers a fresh ticket with an Ask: void it.
      const fresh = (verdict as { approval?: ApprovalTicket }).approval;
      if (fresh !== undefined) this.#pending.delete(fresh.nonce);
      if (verdict.decision !== 'Ask') return verdict;
      const changed = askChanged(`approval ${quote(nonce, 8)}`, check, verdict);
      if (changed !== null) return refused(changed);
    }
    return approved(verdict, check.webauthn === null ? APPROVED_SUFFIX : WEBAUTHN_APPROVED_SUFFIX);
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
export function approved<V extends ApprovableVerdict>(
  verdict: V,
  suffix: string = APPROVED_SUFFIX,
): V {
  if (verdict.decision !== 'Ask') return verdict;
  const lifted: V & { approval?: ApprovalTicket } = {
    ...verdict,
    decision: 'Allow',
    reason: `${verdict.reason}${suffix}`,
  };
  delete lifted.approval;
  return lifted;
}

/**
 * The canonical text of everything an approval is bound to, or `null` when the call is not plain
 * JSON. Object keys are sorted so that key order neither splits nor merges calls. `perso replay`
 * keys the Asks it covered by it too (one call, one approval).
 *
 * @param call the call the approval is for
 */
export function bindingOf(call: ToolCall): string | null {
  try {
    return canonicalJson([
      call.tool,
      call.role,
      call.args ?? {},
      call.agentAttributes ?? {},
      call.resourceAttributes ?? {},
      // The session, as the engine reads it: its untrusted content is part of what was decided.
      typeof call.session === 'string' ? call.session : '',
    ]);
  } catch {
    return null;
  }
}

/**
 * Why an Ask decided again is not the one the person approved (another rule, or another kind of
 * approval), or null when it is. `perso replay` gives a recorded approval the same answer.
 *
 * @param approval the approval, as the reason names it (`approval "3f9a12c0…"`)
 * @param offered the rule and kind of the Ask the person approved
 * @param verdict the call decided again
 */
export function askChanged(
  approval: string,
  offered: { rule: string | undefined; kind: 'click' | 'webauthn' },
  verdict: ApprovableVerdict,
): string | null {
  const kind = verdict.approvalKind === 'webauthn' ? 'webauthn' : 'click';
  if (verdict.rule === offered.rule && kind === offered.kind) return null;
  return `${approval} was given for the Ask of ${askOf(offered.rule, offered.kind)}, but the call now asks by ${askOf(verdict.rule, kind)}; the call was not run, ask the person again`;
}

// An Ask as a reason names it: its rule, and what releases it when that is not a click.
function askOf(rule: string | undefined, kind: 'click' | 'webauthn'): string {
  return `${rule === undefined ? 'no rule' : `rule ${quoteName(rule)}`}${kind === 'webauthn' ? ' (a WebAuthn approval)' : ''}`;
}

function refused(reason: string): ApprovableVerdict {
  return { decision: 'Deny', reason, kind: 'invalid_request' };
}

function randomNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return toHex(bytes);
}
