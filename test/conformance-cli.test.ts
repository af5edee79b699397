// Every conformance case through the `perso` command: `perso test` on the fixtures file, and
// `perso eval` fed every request (one run per distinct policy).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runPerso } from './support/run-cli.ts';
import { fixtureJson } from './support/json-text.ts';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ConformanceCase {
  id: string;
  policy: string | object;
  request: Record<string, unknown>;
  expect: 'Allow' | 'Deny' | 'Ask';
  reasonPrefix: string;
  why: string;
}

const fixturesUrl = new URL('./fixtures/conformance.json', import.meta.url);
const fixturesPath = fileURLToPath(fixturesUrl);
const fixtures = JSON.parse(readFileSync(fixturesUrl, 'utf8')) as {
  policies: Record<string, string>;
  cases: ConformanceCase[];
};

const perso = runPerso;

describe('conformance cases through the CLI', () => {
  test('perso test on the fixtures file: every case passes', async () => {
    const run = await perso(['test', fixturesPath]);
    assert.equal(run.stderr, '');
    assert.equal(run.stdout, `${fixtures.cases.length} passed, 0 failed\n`);
    assert.equal(run.code, 0);
  });

  // Group the cases by policy: one `perso eval` run per distinct policy, fed all its requests.
  const groups = new Map<string, { policyArg: string; cases: ConformanceCase[] }>();
  for (const conformanceCase of fixtures.cases) {
    const policyArg =
      typeof conformanceCase.policy === 'string'
        ? fileURLToPath(new URL(fixtures.policies[conformanceCase.policy]!, fixturesUrl))
        : JSON.stringify(conformanceCase.policy);
    const group = groups.get(policyArg) ?? { policyArg, cases: [] };
    group.cases.push(conformanceCase);
    groups.set(policyArg, group);
  }

  for (const { policyArg, cases } of groups.values()) {
    test(`perso eval: ${cases.map((c) => c.id).join(', ')}`, async () => {
      const input = cases.map((c) => fixtureJson(c.request)).join('\n');
      const run = await perso(['eval', policyArg], `${input}\n`);
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trimEnd().split('\n');
      assert.equal(lines.length, cases.length);
      cases.forEach((conformanceCase, index) => {
        const result = JSON.parse(lines[index]!) as { decision: string; reason: string };
        assert.equal(
          result.decision,
          conformanceCase.expect,
          `${conformanceCase.id}: ${result.reason} — why: ${conformanceCase.why}`,
        );
        assert.ok(
          result.reason.startsWith(conformanceCase.reasonPrefix),
          `${conformanceCase.id}: ${JSON.stringify(result.reason)} does not start with ${JSON.stringify(conformanceCase.reasonPrefix)}`,
        );
      });
    });
  }
});

interface SequenceStep {
  request: Record<string, unknown>;
  toolResult?: object;
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

describe('conformance sequences through perso eval: one input stream is one session', () => {
  for (const s of sequences.sequences) {
    test(s.id, async () => {
      const input = s.steps
        .map((step) =>
          JSON.stringify(
            step.toolResult === undefined ? step.request : { toolResult: step.toolResult },
          ),
        )
        .join('\n');
      const run = await perso(['eval', JSON.stringify(sequences.policies[s.policy])], `${input}\n`);
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trimEnd().split('\n');
      assert.equal(lines.length, s.steps.length);
      s.steps.forEach((step, i) => {
        if (step.toolResult !== undefined) {
          assert.deepEqual(JSON.parse(lines[i]!), { recorded: true, untrusted: step.untrusted });
          return;
        }
        const result = JSON.parse(lines[i]!) as { decision: string; kind: string; reason: string };
        assert.equal(
          `${result.decision}:${result.kind}`,
          `${step.expect}:${step.kind}`,
          `step ${i}: ${result.reason} — why: ${s.why}`,
        );
        assert.ok(
          result.reason.startsWith(step.reasonPrefix),
          `step ${i}: ${JSON.stringify(result.reason)}`,
        );
      });
    });
  }
});
