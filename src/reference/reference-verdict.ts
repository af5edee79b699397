/**
 * The reference evaluator's answers: what it decides for a call, every answer a correct engine may
 * give, and the documented beginnings of their reasons (docs/policy.md, "Reasons and kinds").
 */
import type { ReferenceRule } from './reference-policy.ts';

/** What the reference decides for one call. */
export interface ReferenceVerdict {
  readonly decision: 'Allow' | 'Deny' | 'Ask';
  readonly kind:
    | 'no_rule'
    | 'no_condition'
    | 'condition_passed'
    | 'condition_failed'
    | 'denied_by_rule'
    | 'ask_by_rule'
    | 'rate_limited'
    | 'budget_exceeded'
    | 'budget_unknown'
    | 'invalid_request';
  /** The documented beginning of the reason (the docs fix no more of it). */
  readonly reason: string;
  /** The labels any of which may be named as the deciding rule (several Deny or Ask rules may hold). */
  readonly rules: readonly string[];
  /** False in shadow mode, except for faults. */
  readonly enforced: boolean;
  /** For rate_limited: seconds until the oldest counted call leaves the window. */
  readonly retryAfter?: number;
}

/**
 * Every answer a correct engine may give: one of `outcomes`, or, when `mayRefuse`, a Deny
 * `invalid_request`. When `outcomes` is empty, only the refusal is right.
 */
export interface ReferenceJudgement {
  readonly outcomes: readonly ReferenceVerdict[];
  readonly mayRefuse: boolean;
}

/** The reason's documented start for a pair and a kind. */
export function reasonStart(
  tool: string,
  role: string,
  kind: ReferenceVerdict['kind'],
  rule?: ReferenceRule,
): string {
  const matched = `rule matched tool '${tool}' for role '${role}'; `;
  switch (kind) {
    case 'no_rule':
      return `no rule matched tool '${tool}' for role '${role}'; applying default_action`;
    case 'no_condition':
      return `${matched}no condition required`;
    case 'condition_passed':
      return `${matched}condition passed`;
    case 'condition_failed':
      return `${matched}condition failed`;
    case 'denied_by_rule':
      return `${matched}denied by rule '`;
    case 'ask_by_rule':
      return `${matched}approval required by rule '`;
    case 'rate_limited':
      return `${matched}rate limit of ${rule!.rateLimit!.max} per ${rule!.rateLimit!.perSeconds} s reached; retry in `;
    case 'budget_exceeded':
    case 'budget_unknown':
      return `${matched}budget of rule '`;
    case 'invalid_request':
      return 'invalid request: ';
  }
}

/** A Deny `invalid_request` saying why. */
export function referenceRefusal(why: string): ReferenceVerdict {
  return {
    decision: 'Deny',
    kind: 'invalid_request',
    reason: `invalid request: ${why}`,
    rules: [],
    enforced: true,
  };
}

/** Adds `verdict` to the answers by decision and kind (the rules any of which may be named). */
export function addOutcome(
  outcomes: Map<string, ReferenceVerdict>,
  verdict: ReferenceVerdict,
): void {
  const key = `${verdict.decision} ${verdict.kind}`;
  const seen = outcomes.get(key);
  outcomes.set(
    key,
    seen === undefined
      ? verdict
      : { ...seen, rules: [...new Set([...seen.rules, ...verdict.rules])] },
  );
}
