/**
 * The reference evaluator: the policy language of docs/policy.md, decided plainly.
 * The differential tests compare every entry point with it, and a page whose CSP forbids
 * WebAssembly can run it instead of engine.wasm (`fallback: 'js'`).
 *
 * Checklist, in the docs' order (docs/policy.md, "How a decision is made"):
 * 1. a malformed request (tool or role not a string, a source not an object, `now` not a finite
 *    number) is Deny `invalid_request`; so is a call whose sources hold a non-finite number that a
 *    condition it needs reads;
 * 2. a Deny rule for the pair that holds (condition true or unknown, or none) → Deny;
 * 3. else the version-1 result: no Allow rule → default_action; an Allow rule whose condition is
 *    absent or true → Allow; false or unknown → Deny;
 * 4. an Allow from a rule with a rate limit that is used up (N Allowed calls in (now − S, now]), or
 *    without a usable time (none, or |now| > 2^43) → Deny;
 * 5. an Allow while an Ask rule holds → Ask. Only an Allow counts toward a rate limit.
 */
import {
  evaluateCondition,
  holdsNonFinite,
  FALSE,
  TRUE,
  UNKNOWN,
  type ReferenceSources,
  type Truths,
} from './reference-condition.ts';
import type { ReferencePair, ReferencePolicy, ReferenceRule } from './reference-policy.ts';
import { ReferenceUntrustedContent } from './reference-untrusted.ts';

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

/** The request, as the SDK shapes it. */
export interface ReferenceCall {
  readonly tool: unknown;
  readonly role: unknown;
  readonly args?: unknown;
  readonly agentAttributes?: unknown;
  readonly resourceAttributes?: unknown;
  /** The guard session whose untrusted content conditions read; absent: the default one. */
  readonly session?: unknown;
}

/** Beyond 2^43 s, `now - per_seconds` rounds to `now` and every window would look empty. */
const LARGEST_TIME = 2 ** 43;
const KEEP_AT_MOST = 10_000;
const KEYS_REFUSED = new Set(['__proto__', 'constructor', 'prototype']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A key that could reach a prototype, or a string no UTF-8 text can carry (a lone surrogate). */
function holdsRefusedText(value: unknown): boolean {
  if (typeof value === 'string') return LONE_SURROGATE.test(value);
  if (Array.isArray(value)) return value.some(holdsRefusedText);
  if (!isObject(value)) return false;
  return Object.keys(value).some(
    (key) => KEYS_REFUSED.has(key) || LONE_SURROGATE.test(key) || holdsRefusedText(value[key]),
  );
}

/** The reason's documented start for a pair and a kind. */
function reasonStart(
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

/** The reference evaluator over one compiled policy; keeps rate-limit windows per (tool, role). */
export class ReferenceEvaluator {
  readonly #policy: ReferencePolicy;
  /** (tool, role) → the times of the Allowed calls a rate-limited rule counted. */
  readonly #allowed = new Map<string, Map<string, number[]>>();

  readonly #untrusted: ReferenceUntrustedContent;

  /** `untrusted`: the sessions' untrusted content, which outlives a policy (the engine's keeps it). */
  constructor(policy: ReferencePolicy, untrusted = new ReferenceUntrustedContent()) {
    this.#policy = policy;
    this.#untrusted = untrusted;
  }

  /** Records a tool's result for `session`; true when the tool (or `hint`) makes it untrusted. */
  recordResult(session: string, tool: string, result: unknown, hint: boolean): boolean {
    const untrusted = hint || this.#policy.untrustedTools.has(tool);
    if (untrusted) this.#untrusted.record(session, result);
    return untrusted;
  }

  /** The compiled policy. */
  get policy(): ReferencePolicy {
    return this.#policy;
  }

  /**
   * Every answer a correct engine may give for `call` at time `now` (seconds, or undefined when
   * the host gave none). Changes nothing: call {@link commit} with the answer taken.
   */
  judge(call: ReferenceCall, now: number | undefined): ReferenceJudgement {
    const { tool, role } = call;
    if (typeof tool !== 'string' || typeof role !== 'string')
      return { outcomes: [referenceRefusal('tool and role must be strings')], mayRefuse: true };
    const sources: ReferenceSources = {
      Arguments: call.args ?? {},
      AgentAttributes: call.agentAttributes ?? {},
      ResourceAttributes: call.resourceAttributes ?? {},
      untrusted: this.#untrusted.of(typeof call.session === 'string' ? call.session : ''),
    };
    for (const name of ['Arguments', 'AgentAttributes', 'ResourceAttributes'] as const) {
      // (untrusted is the session's state, not a source of the call)
      if (!isObject(sources[name]))
        return { outcomes: [referenceRefusal(`${name} must be an object`)], mayRefuse: true };
    }
    if (now !== undefined && (typeof now !== 'number' || !Number.isFinite(now))) {
      return {
        outcomes: [referenceRefusal('now must be a finite number of seconds or absent')],
        mayRefuse: true,
      };
    }
    // A non-finite number is refused where a condition reads it, and may be refused anywhere; the
    // library also refuses the keys that could reach an object's prototype, and text that is not
    // Unicode (a lone surrogate) may be refused as invalid JSON text.
    const mayRefuse = Object.values(sources).some((s) => holdsNonFinite(s) || holdsRefusedText(s));
    const pair = this.#policy.pairs.get(tool)?.get(role);
    const outcomes = new Map<string, ReferenceVerdict>();
    for (const verdict of this.#candidates(tool, role, pair, sources, now)) {
      const key = `${verdict.decision} ${verdict.kind}`;
      const seen = outcomes.get(key);
      outcomes.set(
        key,
        seen === undefined
          ? verdict
          : { ...seen, rules: [...new Set([...seen.rules, ...verdict.rules])] },
      );
    }
    // A non-finite value that changes the answer must be refused: no other answer is right.
    if (outcomes.size > 1) return { outcomes: [], mayRefuse: true };
    return { outcomes: [...outcomes.values()], mayRefuse };
  }

  /** The single answer the reference gives (a fallback evaluator's): a refusal when one is allowed. */
  decide(call: ReferenceCall, now: number | undefined): ReferenceVerdict {
    const judgement = this.judge(call, now);
    const [only] = judgement.outcomes;
    if (
      judgement.outcomes.length === 1 &&
      (!judgement.mayRefuse || only!.kind === 'invalid_request')
    )
      return this.commit(call, now, only!);
    return referenceRefusal(
      'the call holds a value that is not plain JSON (a non-finite number, a lone surrogate, or a __proto__, constructor or prototype key); send plain JSON',
    );
  }

  /** Records the answer taken for `call` (an Allow counts toward its rule's rate limit); returns it. */
  commit(
    call: ReferenceCall,
    now: number | undefined,
    verdict: ReferenceVerdict,
  ): ReferenceVerdict {
    if (
      verdict.decision !== 'Allow' ||
      typeof call.tool !== 'string' ||
      typeof call.role !== 'string' ||
      now === undefined
    )
      return verdict;
    const max = this.count(call.tool, call.role, now);
    if (max > 0) this.#onCount?.(call.tool, call.role, now, max);
    return verdict;
  }

  /**
   * Counts an Allowed call at `at` toward the pair's rate limit (a restored one too); returns the
   * limit's max, or 0 when the pair counts nothing.
   */
  count(tool: string, role: string, at: number): number {
    const rule = this.#policy.pairs.get(tool)?.get(role)?.allow;
    if (rule?.rateLimit == null || !Number.isFinite(at)) return 0;
    let byRole = this.#allowed.get(tool);
    if (byRole === undefined) this.#allowed.set(tool, (byRole = new Map()));
    const times = [...(byRole.get(role) ?? []), at];
    // Bounded, as a long-lived fallback needs: the oldest times go first past 10,000 a pair (only
    // when time goes far back could one of them still be in a window).
    if (times.length > KEEP_AT_MOST)
      times.sort((a, b) => a - b).splice(0, times.length - KEEP_AT_MOST);
    byRole.set(role, times);
    return rule.rateLimit.max;
  }

  /** Told of each call `commit` counts (the worker reports them so windows outlive it). */
  onCount(listener: ((tool: string, role: string, at: number, max: number) => void) | null): void {
    this.#onCount = listener;
  }

  #onCount: ((tool: string, role: string, at: number, max: number) => void) | null = null;

  /** Every verdict over every combination of the truths the pair's conditions can take. */
  *#candidates(
    tool: string,
    role: string,
    pair: ReferencePair | undefined,
    sources: ReferenceSources,
    now: number | undefined,
  ): Generator<ReferenceVerdict> {
    const enforced = this.#policy.mode === 'enforce';
    const verdict = (
      decision: ReferenceVerdict['decision'],
      kind: ReferenceVerdict['kind'],
      rules: ReferenceRule[] = [],
      extra: Partial<ReferenceVerdict> = {},
    ): ReferenceVerdict => ({
      decision,
      kind,
      reason: reasonStart(tool, role, kind, rules[0]),
      rules: rules.map((r) => r.label),
      enforced,
      ...extra,
    });
    const truthsOf = (rule: ReferenceRule): Truths =>
      rule.condition === null ? TRUE : evaluateCondition(rule.condition, sources);
    const deny = (pair?.deny ?? []).map(truthsOf);
    const ask = (pair?.ask ?? []).map(truthsOf);
    const allow =
      pair?.allow == null ? null : pair.allow.condition === null ? null : truthsOf(pair.allow);
    for (const denyTruths of choices(deny)) {
      const holding = (pair?.deny ?? []).filter((_, i) => denyTruths[i] !== FALSE);
      if (holding.length > 0) {
        yield verdict('Deny', 'denied_by_rule', holding);
        continue;
      }
      for (const allowTruth of allow === null ? [TRUE] : each(allow)) {
        let v1: ReferenceVerdict;
        const rule = pair?.allow ?? null;
        if (rule === null) v1 = verdict(this.#policy.defaultAction, 'no_rule');
        else if (rule.condition === null) v1 = verdict('Allow', 'no_condition', [rule]);
        else if (allowTruth === TRUE) v1 = verdict('Allow', 'condition_passed', [rule]);
        else v1 = verdict('Deny', 'condition_failed', [rule]);
        if (v1.decision === 'Allow' && rule?.rateLimit != null) {
          const limited = this.#rateLimited(tool, role, rule, now);
          if (limited !== null) v1 = verdict('Deny', 'rate_limited', [rule], limited);
        }
        if (v1.decision !== 'Allow') {
          yield v1;
          continue;
        }
        for (const askTruths of choices(ask)) {
          const asking = (pair?.ask ?? []).filter((_, i) => askTruths[i] !== FALSE);
          yield asking.length > 0 ? verdict('Ask', 'ask_by_rule', asking) : v1;
        }
      }
    }
  }

  /** Null when the rule's window has room at `now`; else what the Deny carries. */
  #rateLimited(
    tool: string,
    role: string,
    rule: ReferenceRule,
    now: number | undefined,
  ): Partial<ReferenceVerdict> | null {
    // Without a usable time a window cannot be counted: denied (docs/policy.md, Rate limits).
    if (now === undefined || Math.abs(now) > LARGEST_TIME) return {};
    const { max, perSeconds } = rule.rateLimit!;
    const inWindow = (this.#allowed.get(tool)?.get(role) ?? []).filter(
      (t) => t > now - perSeconds && t <= now,
    );
    if (inWindow.length < max) return null;
    return { retryAfter: Math.min(...inWindow) + perSeconds - now };
  }
}

/** The single truths of a set. */
function each(truths: Truths): Truths[] {
  return [TRUE, FALSE, UNKNOWN].filter((t) => truths & t);
}

/** Every combination of single truths, one per set. */
function* choices(sets: readonly Truths[]): Generator<Truths[]> {
  if (sets.length === 0) {
    yield [];
    return;
  }
  const [first, ...rest] = sets as [Truths, ...Truths[]];
  for (const t of each(first)) for (const tail of choices(rest)) yield [t, ...tail];
}
