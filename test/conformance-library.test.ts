// Every conformance case through the library API in Node: Perso.load + Perso.evaluate.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Perso } from '../src/perso/perso.ts';
import type { ToolCall } from '../src/call/decision.ts';

interface ConformanceCase {
  id: string;
  policy: string | object;
  request: ToolCall;
  expect: 'Allow' | 'Deny' | 'Ask';
  reasonPrefix: string;
  why: string;
}

const fixturesUrl = new URL('./fixtures/conformance.json', import.meta.url);
const fixtures = JSON.parse(readFileSync(fixturesUrl, 'utf8')) as {
  policies: Record<string, string>;
  cases: ConformanceCase[];
};

function policyFor(policy: string | object): object | string {
  if (typeof policy !== 'string') return policy;
  const file = fixtures.policies[policy];
  assert.ok(file !== undefined, `unknown policy name ${policy}`);
  return fileURLToPath(new URL(file, fixturesUrl));
}

describe('conformance cases through Perso.evaluate (Node)', () => {
  assert.ok(fixtures.cases.length >= 40, 'the fixtures hold the conformance cases');
  for (const conformanceCase of fixtures.cases) {
    test(conformanceCase.id, async () => {
      const perso = await Perso.load({ policy: policyFor(conformanceCase.policy) as string });
      try {
        assert.equal(perso.status().ok, true, JSON.stringify(perso.status().errors));
        const result = await perso.evaluate(conformanceCase.request);
        assert.equal(
          result.decision,
          conformanceCase.expect,
          `${result.reason} — why: ${conformanceCase.why}`,
        );
        assert.ok(
          result.reason.startsWith(conformanceCase.reasonPrefix),
          `reason ${JSON.stringify(result.reason)} does not start with ${JSON.stringify(conformanceCase.reasonPrefix)}`,
        );
        assert.equal(result.policyVersion, perso.policyVersion);
        assert.equal(result.enforced, true);
      } finally {
        await perso.close();
      }
    });
  }
});

interface SequenceStep {
  request: ToolCall;
  toolResult?: { tool: string; role: string; result: unknown };
  untrusted?: boolean;
  expect: 'Allow' | 'Deny' | 'Ask';
  kind: string;
  reasonPrefix: string;
}
const sequences = JSON.parse(
  readFileSync(new URL('./fixtures/conformance-sequences.json', import.meta.url), 'utf8'),
) as {
  policies: Record<string, object>;
  sequences: { id: string; policy: string; why: string; steps: SequenceStep[] }[];
};

describe('conformance sequences through Perso.evaluate (Node): state across calls', () => {
  for (const s of sequences.sequences) {
    test(s.id, async () => {
      const perso = await Perso.load({ policy: sequences.policies[s.policy] as never });
      try {
        for (const [i, step] of s.steps.entries()) {
          if (step.toolResult !== undefined) {
            assert.deepEqual(
              await perso.recordResult(step.toolResult),
              { ok: true, untrusted: step.untrusted },
              `step ${i}: perso.recordResult`,
            );
            continue;
          }
          const result = await perso.evaluate(step.request);
          assert.equal(
            `${result.decision}:${result.kind}`,
            `${step.expect}:${step.kind}`,
            `step ${i}: ${result.reason} — why: ${s.why}`,
          );
          assert.ok(
            result.reason.startsWith(step.reasonPrefix),
            `step ${i}: ${JSON.stringify(result.reason)}`,
          );
        }
      } finally {
        await perso.close();
      }
    });
  }
});
