/**
 * The guard's link to the page's WebMCP embed (`window.perso`): the embed reports its decisions as
 * CustomEvents on document, and asks an approver about Ask decisions.
 *
 * Checklist:
 * - an event that is not a well-formed embed decision is ignored (the guard's own
 *   PersoDecisionEvents are logged where they are made);
 * - the embed's worker still redeems an approval: the person's answer is a request, not a permission.
 */
import type { DecisionResult } from '../call/decision.ts';
import { PersoDecisionEvent } from './guard-events.ts';

/** What the embed asks its approver. */
export interface EmbedQuestion {
  tool: string;
  args: unknown;
  reason: string;
  rule: string | null;
  expiresAt?: number | null;
  /** `webauthn` when the embed's session will ask the person's authenticator after a yes. */
  approval?: 'click' | 'webauthn';
  /** Aborts when the agent cancels the call. */
  signal?: AbortSignal;
}

/** The part of the embed's `window.perso` the guard uses. */
export interface EmbedApi {
  setApprover(approver: ((question: EmbedQuestion) => Promise<boolean>) | null): void;
}

/** The page's WebMCP embed, when it runs on this page. */
export function embedApi(): EmbedApi | null {
  const candidate = (window as { perso?: unknown }).perso;
  if (candidate === null || typeof candidate !== 'object') return null;
  return typeof (candidate as Partial<EmbedApi>).setApprover === 'function'
    ? (candidate as EmbedApi)
    : null;
}

/** A decision the embed reported: the tool, its args and the decision. */
export interface EmbedDecision {
  readonly tool: string;
  readonly args: unknown;
  readonly decision: DecisionResult;
}

/** The embed decision `event` reports, or `null` when it is not one. */
export function embedDecision(event: Event): EmbedDecision | null {
  if (event instanceof PersoDecisionEvent || !(event instanceof CustomEvent)) return null;
  const detail: unknown = event.detail;
  if (detail === null || typeof detail !== 'object') return null;
  const { tool, args, decision } = detail as {
    tool?: unknown;
    args?: unknown;
    decision?: DecisionResult;
  };
  if (typeof tool !== 'string' || decision === undefined || typeof decision?.decision !== 'string')
    return null;
  return { tool, args, decision };
}

/** What the approval prompt shows of an embed's question: its reason, rule and ticket. */
export function questionDecision(
  question: EmbedQuestion,
): Pick<DecisionResult, 'reason' | 'rule' | 'approval'> {
  return {
    reason: question.reason,
    rule: question.rule ?? undefined,
    approval:
      typeof question.expiresAt === 'number'
        ? {
            nonce: '',
            expiresAt: question.expiresAt,
            ...(question.approval === 'webauthn' ? { kind: 'webauthn' as const } : {}),
          }
        : undefined,
  };
}
