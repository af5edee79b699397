/**
 * Which remembered approval (an Ask rule's `remember`, docs/policy.md) covers a call explain
 * traces as an Ask, read from the approvals the evaluator lists in its state.
 *
 * Checklist (the backend's cover check, src/backend/remembered-approvals.ts, read as documented):
 * - only the Ask rule that asks, with `remember.seconds` above 0, and only when no other Ask rule
 *   names the call's (tool, role) (it may ask for a reason the person never saw);
 * - the same tool, role, session and agent attributes, and the same values (deep-equal) of every
 *   `same` field; a missing or null one matches nothing;
 * - in the host's time from `approvedAt` until before `expiresAt`.
 */
import type { RememberedApprovalState } from '../engine/types.ts';
import type { Policy, Rule } from '../policy/policy.ts';
import { canonicalJson } from '../call/canonical-json.ts';
import { ruleTools } from './policy-entries.ts';

/** What an Ask rule's `remember` says, and the approval that covers the call, if any. */
export interface RememberTrace {
  /** The Ask rule's id (or `rules[N]`). */
  rule: string;
  seconds: number;
  /** Its `same` fields and the call's values of them (absent: missing or null). */
  same: { field: string; value?: unknown }[];
  /** The approval the call rests on, or null: none covers it (the Ask stands). */
  approval: RememberedApprovalState | null;
  /** Why no approval can cover the call, when none can. */
  why?: string;
}

/** The call as the cover check reads it. */
export interface RememberedCall {
  tool: string;
  role: string;
  session: string;
  roots: Readonly<Record<string, unknown>>;
}

const label = (rule: Rule, index: number): string =>
  typeof rule.id === 'string' && rule.id !== '' ? rule.id : `rules[${index}]`;

/**
 * The remember trace of the Ask rule `asking` for `call` at `now`, or null when that rule has no
 * `remember`. `approvals` null: the evaluator could not list them (none is taken to cover the call).
 */
export function rememberTrace(
  policy: Policy,
  asking: string,
  call: RememberedCall,
  now: number,
  approvals: readonly RememberedApprovalState[] | null,
): RememberTrace | null {
  const asks = policy.rules
    .map((rule, index) => ({ rule, name: label(rule, index) }))
    .filter(({ rule }) => rule.effect === 'Ask');
  const mine = asks.filter(({ name }) => name === asking);
  const remember = (mine[0]?.rule as { remember?: { seconds: number; same: string[] } })?.remember;
  if (remember === undefined || remember === null) return null;
  const same = remember.same.map((field) => {
    const value = readRef(call.roots, field);
    return value === undefined || value === null ? { field } : { field, value };
  });
  const trace: RememberTrace = { rule: asking, seconds: remember.seconds, same, approval: null };
  const names = (rule: Rule): boolean =>
    rule.roles.includes(call.role) &&
    (rule.tool_name.includes('*')
      ? ruleTools(policy, rule).includes(call.tool)
      : rule.tool_name === call.tool);
  if (mine.length > 1) return { ...trace, why: `two Ask rules have the id "${asking}"` };
  const other = asks.find(({ rule, name }) => name !== asking && names(rule));
  if (other !== undefined)
    return { ...trace, why: `Ask rule ${other.name} also names this tool and role` };
  if (same.some((s) => !('value' in s)))
    return { ...trace, why: 'a "same" field is missing or null: it matches no approval' };
  const attributes = canonicalJson(call.roots.AgentAttributes ?? {});
  const values = canonicalJson(Object.fromEntries(same.map((s) => [s.field, s.value])));
  const approval = (approvals ?? []).find(
    (a) =>
      a.rule === asking &&
      a.tool === call.tool &&
      a.role === call.role &&
      a.session === call.session &&
      (a.agentAttributes === undefined || canonicalJson(a.agentAttributes) === attributes) &&
      canonicalJson(a.same) === values &&
      now >= a.approvedAt &&
      now < a.expiresAt,
  );
  return approval === undefined
    ? { ...trace, why: 'no approval a person gave covers this call now' }
    : { ...trace, approval };
}

/** `"<Source>.<field>"`: one top-level key of the call's source. */
function readRef(roots: Readonly<Record<string, unknown>>, ref: string): unknown {
  const dot = ref.indexOf('.');
  if (dot <= 0) return undefined;
  const source = roots[ref.slice(0, dot)];
  if (source === null || typeof source !== 'object' || Array.isArray(source)) return undefined;
  const name = ref.slice(dot + 1);
  return Object.hasOwn(source, name) ? (source as Record<string, unknown>)[name] : undefined;
}
