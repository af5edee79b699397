// Differential test through the worker in Chromium: random policies and calls aimed at them
// (test/support/differential-cases.ts, fixed seed), decided by Perso with its worker engine and
// compared with the reference evaluator; at least 2,000 pairs. Cases are merged into a few
// policies (test/support/differential-merge.ts) and each policy's calls go in one evaluateBatch.
import { expect } from 'chai';
import { Perso } from '../../src/perso/perso.ts';
import type { Policy } from '../../src/policy/policy.ts';
import type { ToolCall } from '../../src/call/decision.ts';
import { sampleCases, type DiffCase } from '../support/differential-cases.ts';
import { checkAnswers } from '../support/differential-compare.ts';
import { groupForMerge, mergeCases, splitAnswers } from '../support/differential-merge.ts';

const PAIRS = 2_000;
const SEED = 20261204;

function casesForPairs(pairs: number): DiffCase[] {
  const cases: DiffCase[] = [];
  let total = 0;
  for (let seed = SEED; total < pairs; seed++) {
    for (const c of sampleCases(seed, 200)) {
      cases.push(c);
      total += c.calls.length;
    }
  }
  return cases;
}

describe('differential: the worker engine agrees with the reference', function () {
  this.timeout(120_000);

  it(`at least ${PAIRS} pairs through Perso with engine 'worker', zero disagreements`, async () => {
    let compared = 0;
    for (const group of groupForMerge(casesForPairs(PAIRS), 100)) {
      const merged = mergeCases(group);
      const perso = await Perso.load({
        policy: merged.policy as unknown as Policy,
        engine: 'worker',
      });
      try {
        expect(perso.status().ok, JSON.stringify(perso.status().errors)).to.equal(true);
        const answers = splitAnswers(
          group,
          await perso.evaluateBatch(merged.calls as unknown as ToolCall[]),
        );
        group.forEach((c, k) => {
          const found = checkAnswers('worker', c, answers[k]!, 'objects');
          compared += found.compared;
          expect(
            found.disagreement,
            `${JSON.stringify(found.disagreement)} in ${JSON.stringify(c)}`,
          ).to.equal(null);
        });
      } finally {
        await perso.close();
      }
    }
    expect(compared).to.be.at.least(PAIRS);
    console.log(`worker: ${compared} pairs, 0 disagreements`);
  });
});
