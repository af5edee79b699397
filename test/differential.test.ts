// Differential tests: random policies and calls aimed at them (test/support/differential-cases.ts),
// decided by the raw ABI, Engine, Perso (inline) and the `perso eval` command, each compared with
// the reference evaluator (src/reference/), written from the docs alone. Fixed seeds, at least
// 20,000 pairs per entry point; `npm run fuzz` runs open-ended and shrinks what it finds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { instantiateOriginalAbi } from './support/original-abi.ts';
import { sampleCases, type DiffCase } from './support/differential-cases.ts';
import { checkAnswers, type CaseCheck, type Observed } from './support/differential-compare.ts';
import { viaAbi, viaCli, viaEngine, viaPerso } from './support/differential-entry-points.ts';
import { groupForMerge, mergeCases, splitAnswers } from './support/differential-merge.ts';

const PAIRS = 20_000;
const SEED = 20261203;

/** Cases from consecutive seeds until they hold at least PAIRS calls. */
function casesForPairs(pairs: number): DiffCase[] {
  const cases: DiffCase[] = [];
  let total = 0;
  for (let seed = SEED; total < pairs; seed++) {
    for (const c of sampleCases(seed, 500)) {
      cases.push(c);
      total += c.calls.length;
    }
  }
  return cases;
}

const cases = casesForPairs(PAIRS);
const module = await loadEngineModule();

/** Sums the checks; fails on the first disagreement with the case that shows it. */
function tally(entryPoint: string, checks: Iterable<[DiffCase, CaseCheck]>): void {
  let compared = 0;
  for (const [diffCase, check] of checks) {
    compared += check.compared;
    if (check.disagreement !== null) {
      assert.fail(
        `${entryPoint} disagrees with the reference: ${check.disagreement.problem}\ncall ${check.disagreement.callIndex} of ${JSON.stringify(diffCase, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}`,
      );
    }
  }
  assert.ok(
    compared >= PAIRS,
    `${entryPoint}: ${compared} pairs compared, expected at least ${PAIRS}`,
  );
  console.log(`${entryPoint}: ${compared} pairs, 0 disagreements`);
}

test(`raw ABI: at least ${PAIRS} pairs agree with the reference`, async () => {
  const x = await instantiateOriginalAbi(module);
  tally(
    'raw ABI',
    cases.map((c) => [c, checkAnswers('abi', c, viaAbi(x, c), 'text', 'results')]),
  );
});

test(`Engine.evaluate: at least ${PAIRS} pairs agree with the reference`, async () => {
  const engine = await Engine.create(module);
  tally(
    'Engine',
    cases.map((c) => [c, checkAnswers('engine', c, viaEngine(engine, c), 'objects', 'results')]),
  );
});

test(`Perso.evaluate (Node, inline engine): at least ${PAIRS} pairs agree with the reference`, async () => {
  const checks: Array<[DiffCase, CaseCheck]> = [];
  for (const c of cases)
    checks.push([c, checkAnswers('perso', c, await viaPerso(c), 'objects', 'all')]);
  tally('Perso', checks);
});

test(`perso eval: at least ${PAIRS} pairs agree with the reference (cases merged into a few runs)`, async () => {
  const checks: Array<[DiffCase, CaseCheck]> = [];
  for (const group of groupForMerge(cases, 400)) {
    const answers = splitAnswers(group, await viaCli(mergeCases(group)));
    group.forEach((c, k) => checks.push([c, checkAnswers('cli', c, answers[k]!, 'text')]));
  }
  tally('perso eval', checks);
});

test('the comparison can fail: an Allow where the reference denies, a wrong kind, a refusal not allowed', () => {
  const diffCase: DiffCase = {
    policy: {
      version: 'v',
      default_action: 'Deny',
      tools: ['t'],
      rules: [
        {
          tool_name: 't',
          roles: ['r'],
          condition: {
            NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 500 },
          },
        },
      ],
    },
    calls: [
      {
        tool: 't',
        role: 'r',
        args: { amount: 800 },
        agentAttributes: {},
        resourceAttributes: {},
        now: 0,
      },
    ],
  };
  const right: Observed = {
    decision: 'Deny',
    kind: 'condition_failed',
    rule: 'rules[0]',
    reason:
      "rule matched tool 't' for role 'r'; condition failed: Arguments.amount = 800 is not Lte 500",
  };
  assert.equal(checkAnswers('test', diffCase, [right], 'objects').disagreement, null);
  for (const wrong of [
    { ...right, decision: 'Allow' },
    { ...right, kind: 'no_rule' },
    { ...right, rule: 'rules[1]' },
    { ...right, reason: "rule matched tool 't' for role 'r'; condition passed" },
    { decision: 'Deny', kind: 'invalid_request', reason: 'invalid request: x' },
    { error: 'bad' },
  ]) {
    assert.notEqual(
      checkAnswers('test', diffCase, [wrong], 'objects').disagreement,
      null,
      JSON.stringify(wrong),
    );
  }
});

test('the comparison can fail on issue 14: a budget not kept, taint not seen, an approval remembered past its rule', () => {
  const call = (now: number, extra: object = {}) => ({
    tool: 'pay',
    role: 'agent',
    args: { amount: 400, to: 'DE89370400440532013000', order_id: 'o1' },
    agentAttributes: {},
    resourceAttributes: {},
    now,
    ...extra,
  });
  const policy = {
    version: 'v',
    default_action: 'Deny',
    tools: ['pay', 'read_email'],
    untrusted_tools: ['read_email'],
    rules: [
      {
        tool_name: 'pay',
        roles: ['agent'],
        budget: { sum: 'Arguments.amount', max: 1000, per_seconds: 100 },
      },
      {
        id: 'ask',
        tool_name: 'pay',
        roles: ['agent'],
        effect: 'Ask',
        condition: { SessionUntrusted: true },
        remember: { seconds: 10, same: ['Arguments.order_id'] },
      },
      {
        id: 'no-untrusted',
        tool_name: 'pay',
        roles: ['agent'],
        effect: 'Deny',
        condition: { FromUntrusted: { source: 'Arguments', field: 'to' } },
      },
    ],
  };
  const reason = (text: string) => `rule matched tool 'pay' for role 'agent'; ${text}`;
  const allowed: Observed = {
    decision: 'Allow',
    kind: 'no_condition',
    rule: 'rules[0]',
    reason: reason('no condition required'),
  };
  const exceeded: Observed = {
    decision: 'Deny',
    kind: 'budget_exceeded',
    rule: 'rules[0]',
    reason: reason("budget of rule 'rules[0]' reached: 800 of 1000"),
  };
  const budgetCase: DiffCase = { policy, calls: [call(1), call(2), call(3)] };
  assert.equal(
    checkAnswers('test', budgetCase, [allowed, allowed, exceeded], 'objects', 'all').disagreement,
    null,
  );
  assert.notEqual(
    checkAnswers('test', budgetCase, [allowed, allowed, allowed], 'objects', 'all').disagreement,
    null,
    'a third $400 inside $1,000 a window',
  );
  const read = { results: [{ tool: 'read_email', result: { body: 'to DE89370400440532013000' } }] };
  const tainted: DiffCase = { policy, calls: [call(1, read)] };
  assert.notEqual(
    checkAnswers('test', tainted, [allowed], 'objects', 'all').disagreement,
    null,
    'the payee came from the email',
  );
  const asked = (text: string): Observed => ({
    decision: 'Ask',
    kind: 'ask_by_rule',
    rule: 'ask',
    reason: reason(`approval required by rule 'ask': ${text}`),
  });
  const lifted: Observed = { ...asked('x'), decision: 'Allow' };
  const other = { args: { amount: 1, to: 'x', order_id: 'o2' } };
  const remembered: DiffCase = {
    policy,
    calls: [
      call(1, { results: [{ tool: 'read_email', result: 'hello' }], approve: true }),
      call(5),
      call(6, other),
    ],
  };
  const approvedFirst = { ...lifted, asked: asked('this session read untrusted content') };
  assert.equal(
    checkAnswers('test', remembered, [approvedFirst, lifted, asked('x')], 'objects', 'all')
      .disagreement,
    null,
  );
  assert.notEqual(
    checkAnswers('test', remembered, [approvedFirst, lifted, lifted], 'objects', 'all')
      .disagreement,
    null,
    'another order is asked about again',
  );
  assert.notEqual(
    checkAnswers('test', remembered, [approvedFirst, asked('x'), asked('x')], 'objects', 'all')
      .disagreement,
    null,
    'the same order within 10 s is not asked about',
  );
});
