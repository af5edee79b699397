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
 * - an approved call spends its rule's rate-limit budget like any Allow.
 */
import type { ApprovalTicket, Decision, ReasonKind, ToolCall } from './decision.ts';
import { APPROVED_CALL } from './engine/approved-call.ts';

export type { ApprovalTicket } from './decision.ts';

/** The result of redeeming a ticket. */
export type ApprovalCheck = { ok: true } | { ok: false; reason: string };

/** The fields of a decision the ledger reads and writes. */
export interface ApprovableVerdict {
  decision: Decision;
  reason: string;
  kind: ReasonKind;
  rule?: string;
}

/** Options for {@link ApprovalLedger}. */
export interface ApprovalLedgerOptions {
  /** How long a ticket is honoured after it was offered; default 120 000 ms. */
  ttlMs?: number;
  /** Most tickets kept at once; default 256. */
  capacity?: number;
  /** Milliseconds since the epoch; `Date.now` by default (tests pass their own). */
  clock?: () => number;
}

/** Appended to the reason of an Ask that a person approved. */
export const APPROVED_SUFFIX = '; approved by a person';

interface PendingApproval {
  binding: string;
  tool: string;
  expiresAt: number;
}

/** Pending approvals: offered with an Ask, redeemed at most once before they expire. */
export class ApprovalLedger {
  readonly #pending = new Map<string, PendingApproval>();
  readonly #ttlMs: number;
  readonly #capacity: number;
  readonly #clock: () => number;

  /** @param options lifetime, capacity and clock of the tickets */
  constructor(options: ApprovalLedgerOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 120_000;
    this.#capacity = Math.max(1, options.capacity ?? 256);
    this.#clock = options.clock ?? Date.now;
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
   */
  offer(call: ToolCall): ApprovalTicket | null {
    const binding = bindingOf(call);
    if (binding === null) return null;
    this.#sweep();
    while (this.#pending.size >= this.#capacity) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
    }
    const nonce = randomNonce();
    const expiresAt = this.#clock() + this.#ttlMs;
    this.#pending.set(nonce, { binding, tool: call.tool, expiresAt });
    return Object.freeze({ nonce, expiresAt });
  }

  /**
   * Attaches a ticket to an Ask verdict; any other verdict is returned as it is.
   *
   * @param call the call that was decided
   * @param verdict the engine's answer for it
   */
  attach<V extends ApprovableVerdict>(call: ToolCall, verdict: V): V & { approval?: ApprovalTicket } {
    if (verdict.decision !== 'Ask') return verdict;
    const approval = this.offer(call);
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
    return { ok: true };
  }

  /**
   * The whole approval: redeems the ticket, decides the call again with `decide`, and lifts an Ask
   * to Allow. A refused ticket is a Deny (`invalid_request`) naming why; a Deny stays a Deny.
   *
   * @param nonce the ticket's nonce
   * @param call the call the person approved
   * @param decide decides the call now (the engine, in the backend's realm)
   */
  approve<V extends ApprovableVerdict>(nonce: string, call: ToolCall, decide: (call: ToolCall) => V): V | ApprovableVerdict {
    const check = this.redeem(nonce, call);
    if (!check.ok) return { decision: 'Deny', reason: check.reason, kind: 'invalid_request' };
    // Marked: the engine counts an approved Ask against the rule's rate limit (see approved-call.ts).
    const verdict = decide({ ...call, [APPROVED_CALL]: true } as ToolCall);
    // `decide` may be a backend's own evaluate, which offers a fresh ticket with an Ask: void it.
    const fresh = (verdict as { approval?: ApprovalTicket }).approval;
    if (fresh !== undefined) this.#pending.delete(fresh.nonce);
    return approved(verdict);
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
 */
export function approved<V extends ApprovableVerdict>(verdict: V): V {
  if (verdict.decision !== 'Ask') return verdict;
  const lifted: V & { approval?: ApprovalTicket } = { ...verdict, decision: 'Allow', reason: `${verdict.reason}${APPROVED_SUFFIX}` };
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

/** JSON with sorted keys; throws on anything that is not plain JSON (cycles end at depth 64). */
function canonicalJson(value: unknown, depth = 0): string {
  if (depth > 64) throw new TypeError('too deep');
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('not a finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item, depth + 1)).join(',')}]`;
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new TypeError('not a plain object');
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key], depth + 1)}`).join(',')}}`;
  }
  throw new TypeError(`not JSON: ${typeof value}`);
}

function randomNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
