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
    cases.map((c) => [c, checkAnswers('abi', c, viaAbi(x, c), 'text')]),
  );
});

test(`Engine.evaluate: at least ${PAIRS} pairs agree with the reference`, async () => {
  const engine = await Engine.create(module);
  tally(
    'Engine',
    cases.map((c) => [c, checkAnswers('engine', c, viaEngine(engine, c), 'objects')]),
  );
});

test(`Perso.evaluate (Node, inline engine): at least ${PAIRS} pairs agree with the reference`, async () => {
  const checks: Array<[DiffCase, CaseCheck]> = [];
  for (const c of cases) checks.push([c, checkAnswers('perso', c, await viaPerso(c), 'objects')]);
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
