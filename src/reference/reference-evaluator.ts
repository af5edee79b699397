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
 * 5. an Allow from a rule with a budget the call does not fit in → Deny `budget_exceeded`, or one
 *    that cannot be checked (a missing or mistyped field, no usable time) → Deny `budget_unknown`;
 * 6. an Allow while an Ask rule holds → Ask, unless a person approved the call, or a remembered
 *    approval covers it: then Allow (kind `ask_by_rule`). Only an Allow counts toward a rate limit
 *    and a budget, an approved Ask as the Allow it becomes.
 */
import {
  choices,
  each,
  evaluateCondition,
  holdsNonFinite,
  FALSE,
  TRUE,
  type ReferenceSources,
  type Truths,
} from './reference-condition.ts';
import type { ReferencePair, ReferencePolicy, ReferenceRule } from './reference-policy.ts';
import {
  addOutcome,
  reasonStart,
  referenceRefusal,
  type ReferenceJudgement,
  type ReferenceVerdict,
} from './reference-verdict.ts';
export {
  referenceRefusal,
  type ReferenceJudgement,
  type ReferenceVerdict,
} from './reference-verdict.ts';
export type { CountListener, Spent } from './reference-budget.ts';
import { ReferenceUntrustedContent } from './reference-untrusted.ts';
import {
  BUDGET_KEEP,
  ReferenceBudgets,
  spentBy,
  type CountListener,
  type Spent,
} from './reference-budget.ts';
import { ReferenceRateLimits } from './reference-rate-limits.ts';
import { ReferenceRemembered, type Coverage } from './reference-remembered.ts';

/** The request, as the SDK shapes it. */
export interface ReferenceCall {
  readonly tool: unknown;
  readonly role: unknown;
  readonly args?: unknown;
  readonly agentAttributes?: unknown;
  readonly resourceAttributes?: unknown;
  /** The guard session whose untrusted content conditions read; absent: the default one. */
  readonly session?: unknown;
  /** A person approved this call (an Ask it gets becomes the Allow it was asked for). */
  readonly approved?: boolean;
}

/** Beyond 2^43 s, `now - per_seconds` rounds to `now` and every window would look empty. */
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

/** The reference evaluator over one compiled policy; keeps rate-limit windows per (tool, role). */
export class ReferenceEvaluator {
  readonly #policy: ReferencePolicy;
  readonly #rateLimits = new ReferenceRateLimits();

  readonly #untrusted: ReferenceUntrustedContent;
  readonly #budgets = new ReferenceBudgets();
  readonly #remembered = new ReferenceRemembered();
  /** The latest time a call was decided at. */
  #latest = Number.NEGATIVE_INFINITY;

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
    const sources = this.#sources(call);
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
    const session = typeof call.session === 'string' ? call.session : '';
    const asked = { approved: call.approved === true, session };
    // One set of answers per combination of the truths a non-finite value could give; within a
    // set, the answers the docs leave open (see reference-budget.ts, reference-remembered.ts).
    const groups = new Map<string, Map<string, ReferenceVerdict>>();
    for (const alternatives of this.#candidates(tool, role, pair, sources, now, asked)) {
      const merged = new Map<string, ReferenceVerdict>();
      for (const verdict of alternatives) addOutcome(merged, verdict);
      const key = [...merged.keys()].sort().join('|');
      const group = groups.get(key);
      if (group === undefined) groups.set(key, merged);
      else for (const verdict of merged.values()) addOutcome(group, verdict);
    }
    // A non-finite value that changes the answer must be refused: no other answer is right.
    if (groups.size !== 1) return { outcomes: [], mayRefuse: true };
    const [outcomes] = groups.values();
    return { outcomes: [...outcomes!.values()], mayRefuse };
  }

  #sources(call: ReferenceCall): ReferenceSources {
    return {
      Arguments: call.args ?? {},
      AgentAttributes: call.agentAttributes ?? {},
      ResourceAttributes: call.resourceAttributes ?? {},
      untrusted: this.#untrusted.of(typeof call.session === 'string' ? call.session : ''),
    };
  }

  /** The single answer the reference gives (a fallback evaluator's): a refusal when one is allowed. */
  decide(call: ReferenceCall, now: number | undefined): ReferenceVerdict {
    const judgement = this.judge(call, now);
    // Where the docs leave the answer open, the first reading is the reference's.
    const [only] = judgement.outcomes;
    if (only !== undefined && (!judgement.mayRefuse || only.kind === 'invalid_request'))
      return this.commit(call, now, only);
    return referenceRefusal(
      'the call holds a value that is not plain JSON (a non-finite number, a lone surrogate, or a __proto__, constructor or prototype key); send plain JSON',
    );
  }

  /**
   * Records the answer taken for `call`: an Allow counts toward its rule's rate limit and budget (an
   * approved or remembered Ask as the Allow it became), and a person's approval of an Ask rule with
   * `remember` is remembered. Returns the answer.
   */
  commit(
    call: ReferenceCall,
    now: number | undefined,
    verdict: ReferenceVerdict,
  ): ReferenceVerdict {
    if (now !== undefined && now > this.#latest) this.#latest = now;
    if (
      verdict.decision !== 'Allow' ||
      typeof call.tool !== 'string' ||
      typeof call.role !== 'string' ||
      now === undefined
    )
      return verdict;
    const { tool, role } = call;
    const pair = this.#policy.pairs.get(tool)?.get(role);
    const budget = pair?.allow?.budget;
    let spent: Spent | null = null;
    if (budget != null) {
      const sources = this.#sources(call);
      const [check] = this.#budgets.check(budget, sources, now);
      this.#budgets.record(check!, now);
      spent = spentBy(budget, sources);
    }
    const asker = pair?.ask.length === 1 ? pair.ask[0]! : null;
    if (call.approved === true && verdict.kind === 'ask_by_rule' && asker?.remember != null) {
      const session = typeof call.session === 'string' ? call.session : '';
      const sources = this.#sources(call);
      this.#remembered.approved(asker.label, asker.remember, tool, role, session, sources, now);
    }
    const max = this.count(tool, role, now);
    // With a budget the page keeps, as the engine's host does, 10,000 calls and what each spent.
    if (spent !== null) this.#onCount?.(tool, role, now, Math.max(max, BUDGET_KEEP), spent);
    else if (max > 0) this.#onCount?.(tool, role, now, max);
    return verdict;
  }

  /**
   * Counts an Allowed call at `at` toward the pair's rate limit (a restored one too); returns the
   * limit's max, or 0 when the pair counts nothing.
   */
  count(tool: string, role: string, at: number): number {
    const rule = this.#policy.pairs.get(tool)?.get(role)?.allow;
    if (rule?.rateLimit == null || !Number.isFinite(at)) return 0;
    this.#rateLimits.count(tool, role, at);
    return rule.rateLimit.max;
  }

  /** Told of each call `commit` counts (the worker reports them so windows outlive it). */
  onCount(listener: CountListener | null): void {
    this.#onCount = listener;
  }

  #onCount: CountListener | null = null;

  /**
   * Counts, in a fresh evaluator, a call an earlier one counted toward the pair's budget: true when
   * counted, false when it cannot be (nothing spent given), null when the pair has no budget.
   */
  restoreSpent(tool: string, role: string, at: number, spent: Spent): boolean | null {
    const budget = this.#policy.pairs.get(tool)?.get(role)?.allow?.budget;
    if (budget == null) return null;
    return this.#budgets.restore(budget, at, spent);
  }

  /** Every verdict over every combination of the truths the pair's conditions can take. */
  *#candidates(
    tool: string,
    role: string,
    pair: ReferencePair | undefined,
    sources: ReferenceSources,
    now: number | undefined,
    asked: { readonly approved: boolean; readonly session: string },
  ): Generator<ReferenceVerdict[]> {
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
        yield [verdict('Deny', 'denied_by_rule', holding)];
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
          const limited = this.#rateLimits.limited(tool, role, rule.rateLimit, now);
          if (limited !== null) v1 = verdict('Deny', 'rate_limited', [rule], limited);
        }
        if (v1.decision !== 'Allow') {
          yield [v1];
          continue;
        }
        const budget = rule?.budget ?? null;
        const readings =
          budget === null ? [true] : this.#budgets.check(budget, sources, now).map((c) => c.fits);
        for (const askTruths of choices(ask)) {
          const asking = (pair?.ask ?? []).filter((_, i) => askTruths[i] !== FALSE);
          const alternatives: ReferenceVerdict[] = [];
          for (const fits of readings) {
            if (fits === 'unknown') alternatives.push(verdict('Deny', 'budget_unknown', [rule!]));
            else if (!fits) alternatives.push(verdict('Deny', 'budget_exceeded', [rule!]));
            else if (asking.length === 0) alternatives.push(v1);
            else if (asked.approved) alternatives.push(verdict('Allow', 'ask_by_rule', asking));
            else {
              const coverage = this.#coverage(
                tool,
                role,
                pair!,
                asking,
                sources,
                now,
                asked.session,
              );
              if (coverage !== 'yes') alternatives.push(verdict('Ask', 'ask_by_rule', asking));
              if (coverage !== 'no') alternatives.push(verdict('Allow', 'ask_by_rule', asking));
            }
          }
          yield alternatives;
        }
      }
    }
  }

  /** Whether a remembered approval lifts the Ask of `asking` (the docs: only the pair's one Ask rule). */
  #coverage(
    tool: string,
    role: string,
    pair: ReferencePair,
    asking: readonly ReferenceRule[],
    sources: ReferenceSources,
    now: number | undefined,
    session: string,
  ): Coverage {
    const [rule] = asking;
    if (pair.ask.length !== 1 || rule?.remember == null) return 'no';
    const found = this.#remembered.covers(
      rule.label,
      rule.remember,
      tool,
      role,
      session,
      sources,
      now,
      this.#latest,
    );
    // Two rules with one label: which of them asked cannot be told from the label.
    return found === 'yes' && this.#policy.sharedLabels.has(rule.label) ? 'either' : found;
  }
}
