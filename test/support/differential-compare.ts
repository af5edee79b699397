/**
 * Compares what an entry point answered with what the reference allows, and drives one case of
 * calls through an entry point. Shared by the Node tests, the browser test and `npm run fuzz`.
 *
 * What is compared (docs/policy.md fixes no more): the decision, the kind, the deciding rule (one
 * of those the reference allows), `enforced` where the entry point reports it, and the reason's
 * documented beginning — exactly when the tool and role names are plain, else its shape only
 * (reasons quote and truncate names). A refusal (Deny `invalid_request`, or the raw ABI's
 * `{"error"}`) is right only where the reference allows one.
 */
import { compileReferencePolicy } from '../../src/reference/reference-policy.ts';
import {
  ReferenceEvaluator,
  type ReferenceCall,
  type ReferenceJudgement,
  type ReferenceVerdict,
} from '../../src/reference/reference-evaluator.ts';
import { toJsonText, type DiffCall, type DiffCase } from './differential-cases.ts';

/** An entry point's answer, as much of it as that entry point gives. */
export interface Observed {
  readonly decision?: unknown;
  readonly kind?: unknown;
  readonly reason?: unknown;
  readonly rule?: unknown;
  readonly enforced?: unknown;
  readonly error?: unknown;
  /** For a call a person approved: the Ask the entry point answered first. */
  readonly asked?: Observed;
}

/**
 * Which of a case's steps besides its calls an entry point took: none (merged runs), the tool
 * results (recorded before a call), or the results and a person's approvals too.
 */
export type Steps = 'none' | 'results' | 'all';

const PLAIN = /^[A-Za-z0-9_.-]{1,40}$/;

function isRefusal(o: Observed): boolean {
  return typeof o.error === 'string' || (o.decision === 'Deny' && o.kind === 'invalid_request');
}

function matches(
  expected: ReferenceVerdict,
  o: Observed,
  tool: string,
  role: string,
): string | null {
  if (o.decision !== expected.decision)
    return `decision ${String(o.decision)}, expected ${expected.decision}`;
  // Without a usable time a rate-limited rule denies; the docs do not name that Deny's kind.
  const timeless = expected.kind === 'rate_limited' && expected.retryAfter === undefined;
  if (timeless) return null;
  if (o.kind !== expected.kind) return `kind ${String(o.kind)}, expected ${expected.kind}`;
  if (
    expected.rules.length > 0 ? !expected.rules.includes(o.rule as string) : o.rule !== undefined
  ) {
    return `rule ${JSON.stringify(o.rule)}, expected ${expected.rules.length > 0 ? `one of ${JSON.stringify(expected.rules)}` : 'none'}`;
  }
  if (o.enforced !== undefined && o.enforced !== expected.enforced)
    return `enforced ${String(o.enforced)}, expected ${expected.enforced}`;
  const reason = String(o.reason);
  if (PLAIN.test(tool) && PLAIN.test(role)) {
    if (!reason.startsWith(expected.reason))
      return `reason ${JSON.stringify(reason)} does not begin ${JSON.stringify(expected.reason)}`;
  } else if (
    !reason.startsWith(
      expected.kind === 'no_rule' ? "no rule matched tool '" : "rule matched tool '",
    )
  ) {
    return `reason ${JSON.stringify(reason)} has not the documented shape`;
  }
  return null;
}

/** Null when `o` is an answer the reference allows; else what is wrong, and the answer to record. */
export function compare(
  judgement: ReferenceJudgement,
  o: Observed,
  tool: string,
  role: string,
): { problem: string | null; taken: ReferenceVerdict | null } {
  if (isRefusal(o)) {
    const refusalExpected =
      judgement.outcomes.length === 1 && judgement.outcomes[0]!.kind === 'invalid_request';
    return judgement.mayRefuse || refusalExpected
      ? { problem: null, taken: null }
      : {
          problem: `refused (${String(o.error ?? o.reason)}), expected ${describe(judgement)}`,
          taken: null,
        };
  }
  if (judgement.outcomes.length === 0)
    return {
      problem: `${String(o.decision)} ${String(o.kind)}, expected a refusal (a non-finite value decides the call)`,
      taken: null,
    };
  const problems: string[] = [];
  for (const expected of judgement.outcomes) {
    const problem = matches(expected, o, tool, role);
    if (problem === null) return { problem: null, taken: expected };
    problems.push(problem);
  }
  return { problem: problems.join('; or '), taken: null };
}

function describe(j: ReferenceJudgement): string {
  return j.outcomes.map((o) => `${o.decision} ${o.kind}`).join(' or ') || 'a refusal';
}

/** How an entry point receives a call: as JS objects, or as JSON text (what the reference then reads). */
export type Transport = 'objects' | 'text';

/** A call as the reference sees it through a transport. */
export function referenceView(call: DiffCall, transport: Transport): ReferenceCall {
  if (transport === 'objects') return call;
  const parse = (value: unknown): unknown => JSON.parse(toJsonText(value));
  return {
    tool: call.tool,
    role: call.role,
    args: parse(call.args),
    agentAttributes: parse(call.agentAttributes),
    resourceAttributes: parse(call.resourceAttributes),
  };
}

/** One disagreement, with what it needs to be replayed. */
export interface Disagreement {
  readonly entryPoint: string;
  readonly callIndex: number;
  readonly problem: string;
  readonly observed: Observed;
}

/** A fresh reference evaluator for a case's policy (through its JSON text, as every entry point loads it). */
export function referenceFor(diffCase: DiffCase): ReferenceEvaluator {
  const compiled = compileReferencePolicy(JSON.parse(JSON.stringify(diffCase.policy)));
  if (!compiled.ok)
    throw new Error(`the generator made a policy the reference refuses: ${compiled.error}`);
  return new ReferenceEvaluator(compiled.policy);
}

/** What checking one case's answers found. */
export interface CaseCheck {
  /** Pairs compared (every call up to and including a disagreement). */
  readonly compared: number;
  readonly disagreement: Disagreement | null;
}

/**
 * Checks one case's answers (one per call, in order) against a fresh reference; the first
 * disagreement ends the case (the windows of the two sides may differ after it).
 */
export function checkAnswers(
  entryPoint: string,
  diffCase: DiffCase,
  answers: readonly Observed[],
  transport: Transport,
  steps: Steps = 'none',
): CaseCheck {
  const reference = referenceFor(diffCase);
  for (let i = 0; i < diffCase.calls.length; i++) {
    const call = diffCase.calls[i]!;
    if (steps !== 'none')
      for (const r of call.results ?? [])
        reference.recordResult('', r.tool, JSON.parse(JSON.stringify(r.result)) as unknown, false);
    const view = referenceView(call, transport);
    let observed = answers[i]!;
    const asked = observed.asked;
    let approved = false;
    if (steps === 'all' && call.approve === true && asked !== undefined) {
      // The entry point was asked, and a person approved: the Ask first, then the approved answer.
      const first = compare(reference.judge(view, call.now), asked, call.tool, call.role);
      const problem =
        first.problem ??
        (first.taken?.decision === 'Ask' ? null : 'asked where the reference does not ask');
      if (problem !== null)
        return {
          compared: i + 1,
          disagreement: {
            entryPoint,
            callIndex: i,
            problem: `before approval: ${problem}`,
            observed: asked,
          },
        };
      approved = true;
      observed = { ...observed, asked: undefined };
    }
    const seen: ReferenceCall = approved ? { ...view, approved: true } : view;
    const judgement = reference.judge(seen, call.now);
    const { problem, taken } = compare(judgement, observed, call.tool, call.role);
    if (problem !== null)
      return {
        compared: i + 1,
        disagreement: { entryPoint, callIndex: i, problem, observed },
      };
    if (taken !== null) reference.commit(seen, call.now, taken);
  }
  return { compared: diffCase.calls.length, disagreement: null };
}
