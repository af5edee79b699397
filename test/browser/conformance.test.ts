// Every conformance case through the browser worker in real Chromium: the fixture JSON fetched
// from the test server, each case's policy loaded into the real evaluator worker, each request
// decided there, as in the Node entry points (engine ABI, library, CLI).
import { expect } from 'chai';
import { WorkerBackend } from '../../src/backend/worker-backend.ts';
import type { ToolCall } from '../../src/call/decision.ts';

interface ConformanceCase {
  id: string;
  policy: string | object;
  request: ToolCall;
  expect: 'Allow' | 'Deny' | 'Ask';
  reasonPrefix: string;
  why: string;
}
interface Fixtures {
  policies: Record<string, string>;
  cases: ConformanceCase[];
}

// Fetched before the suite is declared (top-level await), so each case is its own test.
const fixtures = (await (await fetch('/test/fixtures/conformance.json')).json()) as Fixtures;
const policyTexts = new Map<string, string>();
for (const [name, file] of Object.entries(fixtures.policies)) {
  policyTexts.set(name, await (await fetch(`/test/fixtures/${file}`)).text());
}

/** A case's policy as JSON text: a named fixture file, or the inline object. */
function policyText(policy: string | object): string {
  if (typeof policy !== 'string') return JSON.stringify(policy);
  const text = policyTexts.get(policy);
  if (text === undefined) throw new Error(`unknown policy name "${policy}" in conformance.json`);
  return text;
}

describe('conformance cases through the worker (WorkerBackend)', () => {
  let backend: WorkerBackend;
  before(() => {
    backend = new WorkerBackend();
  });
  after(() => backend.close());

  it('holds the conformance cases', () => {
    expect(fixtures.cases.length).to.be.at.least(40);
  });

  for (const c of fixtures.cases) {
    it(c.id, async () => {
      const load = await backend.load(policyText(c.policy));
      expect(load.ok, JSON.stringify(load)).to.equal(true);
      const verdict = await backend.evaluate(c.request, Date.now() / 1000);
      expect(verdict.decision, `${verdict.reason} — why: ${c.why}`).to.equal(c.expect);
      expect(
        verdict.reason.startsWith(c.reasonPrefix),
        `reason ${JSON.stringify(verdict.reason)} should start with ${JSON.stringify(c.reasonPrefix)}`,
      ).to.equal(true);
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
const sequences = (await (await fetch('/test/fixtures/conformance-sequences.json')).json()) as {
  policies: Record<string, object>;
  sequences: { id: string; policy: string; why: string; steps: SequenceStep[] }[];
};

describe('conformance sequences through the worker (WorkerBackend): state across calls', () => {
  for (const s of sequences.sequences) {
    it(s.id, async () => {
      const backend = new WorkerBackend();
      try {
        const load = await backend.load(JSON.stringify(sequences.policies[s.policy]));
        expect(load.ok, JSON.stringify(load)).to.equal(true);
        for (const [i, step] of s.steps.entries()) {
          if (step.toolResult !== undefined) {
            expect(await backend.recordResult(step.toolResult), `step ${i}`).to.deep.equal({
              ok: true,
              untrusted: step.untrusted,
            });
            continue;
          }
          const verdict = await backend.evaluate(step.request, 0);
          expect(
            `${verdict.decision}:${verdict.kind}`,
            `step ${i}: ${verdict.reason} — why: ${s.why}`,
          ).to.equal(`${step.expect}:${step.kind}`);
          expect(
            verdict.reason.startsWith(step.reasonPrefix),
            `step ${i}: ${JSON.stringify(verdict.reason)}`,
          ).to.equal(true);
        }
      } finally {
        backend.close();
      }
    });
  }
});
