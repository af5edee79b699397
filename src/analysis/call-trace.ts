/**
 * Why a call is decided as it is: the (tool, role) entry the engine uses (or the default), each
 * rule of that entry with every condition node's result (true, false or unknown) and the values
 * it read, which Deny and Ask rules hold, the state of the Allow rule's rate-limit window and
 * budget, the session's untrusted content (what was read, which piece of a value matched) and the
 * remembered approval an Ask rests on. Evaluated here from the policy language (docs/policy.md),
 * apart from the engine, so `perso explain` can check the two agree, and `perso.explain` can say
 * why without deciding anything.
 */
import type { Decision, JsonValue, ReasonKind } from '../call/decision.ts';
import type { CountedCall } from '../engine/counted-calls.ts';
import type { RememberedApprovalState } from '../engine/types.ts';
import type { Policy } from '../policy/policy.ts';
import type { BudgetState, RateLimitState } from './window-state.ts';
import { budgetState, rateLimitState } from './window-state.ts';
import { canonicalJson } from '../call/canonical-json.ts';
import type { RuleRef } from './policy-entries.ts';
import { expandPolicy, pairKey } from './policy-entries.ts';
import type { RememberTrace } from './remembered-trace.ts';
import { rememberTrace } from './remembered-trace.ts';
import type { SessionContent, UntrustedMatch, UntrustedState } from './untrusted-trace.ts';
import { fromUntrusted } from './untrusted-trace.ts';

/** A three-valued result. */
export type Truth = 'true' | 'false' | 'unknown';

/** One condition node and what it found. */
export interface ConditionTrace {
  /** JSON path in the policy, `rules[3].condition.All[0].NumericCheck`. */
  path: string;
  result: Truth;
  /** Leaves: each field read and its value (absent when the call lacks it). */
  reads?: { field: string; value?: JsonValue }[];
  /** Leaves: the check, e.g. `Lte 500`. */
  check?: string;
  /**
   * `FromUntrusted` leaves: where the value was found in untrusted content (null: nowhere, or a
   * saturated session, where every value counts and none is named).
   */
  match?: UntrustedMatch | null;
  children?: ConditionTrace[];
}

/** One rule of the entry. */
export interface RuleTrace {
  /** Its id, or its path. */
  rule: string;
  path: string;
  /** Its condition's result (`true` when it has none). */
  result: Truth;
  condition: ConditionTrace | null;
}

/** The whole trace. */
export interface CallTrace {
  tool: string;
  role: string;
  /** False when no rule names the pair: `default_action` decides. */
  entry: boolean;
  defaultAction: 'Allow' | 'Deny';
  denies: RuleTrace[];
  allow: RuleTrace | null;
  asks: RuleTrace[];
  /** The Allow rule's rate-limit window, or null when it has none. */
  rateLimit: RateLimitState | null;
  /** The Allow rule's budget, or null when it has none. */
  budget: BudgetState | null;
  /** The session's untrusted content, or null when the trace was made without it. */
  untrusted: UntrustedState | null;
  /**
   * When an Ask rule with `remember` asks: its fields, and the approval that lifts the Ask to
   * Allow (kind stays `ask_by_rule`), or why none does; else null.
   */
  remembered: RememberTrace | null;
  /** The decision these results give. */
  decision: Decision;
  /** Why, as a decision's `kind`. */
  kind: ReasonKind;
}

/**
 * The state a decision reads beyond the call: the calls counted so far, the time of the call
 * (seconds), and optionally the session's untrusted content and the remembered approvals.
 */
export interface WindowContext {
  now: number;
  counted: readonly CountedCall[];
  /** The session's untrusted content; absent: the session read none. */
  untrusted?: SessionContent;
  /** The remembered approvals the evaluator lists; absent: none. */
  remembered?: readonly RememberedApprovalState[] | null;
}

/** The call as explain reads it. */
export interface TracedCall {
  tool: string;
  role: string;
  args?: unknown;
  agentAttributes?: unknown;
  resourceAttributes?: unknown;
  /** The guard session whose untrusted content and remembered approvals apply (`''`: default). */
  session?: string;
}

/**
 * Traces a call through a policy the engine accepted.
 *
 * @param windows the counted calls and the time; default: fresh windows (nothing counted yet)
 */
export function traceCall(
  policy: Policy,
  call: TracedCall,
  windows: WindowContext = { now: 0, counted: [] },
): CallTrace {
  const entries = expandPolicy(policy);
  const entry = entries.get(pairKey(call.tool, call.role));
  const roots: Record<string, unknown> = {
    Arguments: call.args ?? {},
    AgentAttributes: call.agentAttributes ?? {},
    ResourceAttributes: call.resourceAttributes ?? {},
  };
  const scope: Scope = { roots, untrusted: windows.untrusted ?? null };
  const ruleTrace = (ref: RuleRef): RuleTrace => {
    const condition = ref.rule.condition
      ? traceNode(ref.rule.condition as Record<string, unknown>, `${ref.path}.condition`, scope)
      : null;
    return { rule: ref.name, path: ref.path, result: condition?.result ?? 'true', condition };
  };
  const denies = (entry?.denies ?? []).map(ruleTrace);
  const allow = entry?.allow ? ruleTrace(entry.allow) : null;
  const asks = (entry?.asks ?? []).map(ruleTrace);
  const limit = entry?.allow?.rateLimit ?? null;
  const rateLimit =
    limit === null
      ? null
      : rateLimitState(limit, windows.counted, call.tool, call.role, windows.now);
  const budget =
    entry?.allow === null || entry?.allow === undefined
      ? null
      : budgetState(
          (entry.allow.rule as { budget?: unknown }).budget,
          windows.counted,
          // A budget is its rule's: the calls of every pair it is the Allow rule of spend from it.
          (counted) => entries.get(pairKey(counted.tool, counted.role))?.allow === entry.allow,
          roots,
          windows.now,
        );
  // docs/policy.md, the decision: a holding Deny; else the version-1 result; an Allow then meets
  // its rate limit and budget; a remaining Allow becomes Ask when an Ask holds.
  let decision: Decision;
  let kind: ReasonKind;
  if (denies.some((deny) => deny.result !== 'false')) [decision, kind] = ['Deny', 'denied_by_rule'];
  else if (allow === null) [decision, kind] = [policy.default_action, 'no_rule'];
  else if (allow.result !== 'true') [decision, kind] = ['Deny', 'condition_failed'];
  else if (rateLimit?.full) [decision, kind] = ['Deny', 'rate_limited'];
  else if (budget !== null && budget.fits !== 'true')
    [decision, kind] = ['Deny', budget.fits === 'false' ? 'budget_exceeded' : 'budget_unknown'];
  else [decision, kind] = ['Allow', allow.condition === null ? 'no_condition' : 'condition_passed'];
  let remembered: RememberTrace | null = null;
  const asking = asks.find((ask) => ask.result !== 'false');
  if (decision === 'Allow' && asking !== undefined) {
    [decision, kind] = ['Ask', 'ask_by_rule'];
    remembered = rememberTrace(
      policy,
      asking.rule,
      { tool: call.tool, role: call.role, session: call.session ?? '', roots },
      windows.now,
      windows.remembered ?? null,
    );
    // docs/policy.md, "Remembered approvals": the Ask a covering approval lifts becomes Allow.
    if (remembered?.approval) decision = 'Allow';
  }
  return {
    tool: call.tool,
    role: call.role,
    entry: entry !== undefined,
    defaultAction: policy.default_action,
    denies,
    allow,
    asks,
    rateLimit,
    budget,
    untrusted: windows.untrusted?.state ?? null,
    remembered,
    decision,
    kind,
  };
}

/** The value at a field (own properties of plain objects only), or undefined. */
function read(roots: Record<string, unknown>, source: unknown, field: unknown): unknown {
  let value: unknown = roots[String(source)];
  for (const key of Array.isArray(field) ? field : [field]) {
    if (
      value === null ||
      typeof value !== 'object' ||
      Array.isArray(value) ||
      !Object.hasOwn(value, String(key))
    )
      return undefined;
    value = (value as Record<string, unknown>)[String(key)];
  }
  return value;
}

function fieldName(source: unknown, field: unknown): string {
  return `${String(source)}.${(Array.isArray(field) ? field : [field]).map(String).join('.')}`;
}

function shown(field: string, value: unknown): { field: string; value?: JsonValue } {
  return value === undefined ? { field } : { field, value: value as JsonValue };
}

const same = (a: unknown, b: unknown): boolean =>
  typeof a === 'object' && a !== null
    ? typeof b === 'object' && b !== null && canonicalJson(a) === canonicalJson(b)
    : a === b;

/** What conditions read: the call's sources and the session's untrusted content. */
interface Scope {
  roots: Record<string, unknown>;
  untrusted: SessionContent | null;
}

function traceNode(condition: Record<string, unknown>, path: string, scope: Scope): ConditionTrace {
  const roots = scope.roots;
  const [variant] = Object.keys(condition);
  const at = `${path}.${variant}`;
  const body = condition[variant!] as Record<string, unknown>;
  switch (variant) {
    case 'All':
    case 'Any': {
      const children = (condition[variant] as Record<string, unknown>[]).map((child, i) =>
        traceNode(child, `${at}[${i}]`, scope),
      );
      const results = children.map((child) => child.result);
      const decisive = variant === 'All' ? 'false' : 'true';
      const result: Truth = results.includes(decisive)
        ? decisive
        : results.includes('unknown')
          ? 'unknown'
          : variant === 'All'
            ? 'true'
            : 'false';
      return { path: at, result, children };
    }
    case 'Not': {
      const child = traceNode(condition.Not as Record<string, unknown>, at, scope);
      return {
        path: at,
        result: child.result === 'unknown' ? 'unknown' : child.result === 'true' ? 'false' : 'true',
        children: [child],
      };
    }
    case 'FieldEquals': {
      const a = read(roots, body.source_a, body.field_a);
      const b = read(roots, body.source_b, body.field_b);
      const reads = [
        shown(fieldName(body.source_a, body.field_a), a),
        shown(fieldName(body.source_b, body.field_b), b),
      ];
      const result: Truth =
        a === undefined || a === null || b === undefined || b === null
          ? 'unknown'
          : same(a, b)
            ? 'true'
            : 'false';
      return { path: at, result, reads, check: 'FieldEquals' };
    }
    case 'SessionUntrusted': {
      // docs/policy.md: true once the session read untrusted content, else false; never unknown
      // (unknown here only when the evaluator could not say).
      const read = scope.untrusted === null ? false : scope.untrusted.state.read;
      return {
        path: at,
        result: read === null ? 'unknown' : read ? 'true' : 'false',
        check: 'SessionUntrusted',
      };
    }
  }
  const name = fieldName(body.source, body.field);
  const value = read(roots, body.source, body.field);
  const leaf = (result: Truth, check: string): ConditionTrace => ({
    path: at,
    result,
    reads: [shown(name, value)],
    check,
  });
  switch (variant) {
    case 'NumericCheck': {
      const v = body.value as number;
      const check = `${String(body.op)} ${v}`;
      if (typeof value !== 'number') return leaf('unknown', check);
      const holds = {
        Lte: value <= v,
        Gte: value >= v,
        Lt: value < v,
        Gt: value > v,
        Eq: Math.abs(value - v) < Number.EPSILON,
      }[String(body.op)];
      return leaf(holds ? 'true' : 'false', check);
    }
    case 'StringCheck': {
      const list = body.value as string[];
      const check = `${String(body.op)} ${JSON.stringify(list)}`;
      if (typeof value !== 'string') return leaf('unknown', check);
      const hit =
        body.op === 'Prefix'
          ? list.some((p) => value.startsWith(p))
          : body.op === 'Suffix'
            ? list.some((p) => value.endsWith(p))
            : list.includes(value);
      return leaf((body.op === 'NotIn' ? !hit : hit) ? 'true' : 'false', check);
    }
    case 'FieldPresent':
      return leaf(value !== undefined && value !== null ? 'true' : 'false', 'FieldPresent');
    case 'FromUntrusted': {
      // docs/policy.md: unknown over a missing or null field; else where the value came from.
      if (value === undefined || value === null) return leaf('unknown', 'FromUntrusted');
      if (scope.untrusted === null) return { ...leaf('false', 'FromUntrusted'), match: null };
      const found = fromUntrusted(scope.untrusted, value);
      return { ...leaf(found.result, 'FromUntrusted'), match: found.match };
    }
    case 'Equals': {
      const literal = body.value;
      const check = `Equals ${JSON.stringify(literal)}`;
      // docs/policy.md, "Equals": a missing or null field is unknown, and so is a null literal (it never holds).
      if (value === undefined || value === null || literal === null) return leaf('unknown', check);
      return leaf(same(value, literal) ? 'true' : 'false', check);
    }
    default:
      return { path: at, result: 'unknown', check: `unknown condition ${JSON.stringify(variant)}` };
  }
}
