// The reference evaluator as the worker's fallback where a page's CSP forbids WebAssembly (no
// 'wasm-unsafe-eval'): by default every call is a Deny that says what to allow; with the JS
// fallback (`fallback: 'js'`, the worker named `perso-evaluator fallback=js`) the real evaluator
// worker, under that CSP, runs the reference instead and passes the conformance cases and the
// differential test, every verdict saying `evaluator: 'js'`.
import { expect } from 'chai';
import { WorkerBackend } from '../../src/backend/worker-backend.ts';
import { Perso } from '../../src/perso/perso.ts';
import type { ToolCall } from '../../src/call/decision.ts';
import type { Policy } from '../../src/policy/policy.ts';
import { EVALUATOR_JS_FALLBACK, EVALUATOR_WORKER_NAME } from '../../src/worker/evaluator-api.ts';
import { sampleCases, type DiffCase } from '../support/differential-cases.ts';
import { checkAnswers } from '../support/differential-compare.ts';
import { groupForMerge, mergeCases, splitAnswers } from '../support/differential-merge.ts';

const NO_WASM_CSP_URL = new URL(
  '/src/worker/evaluator.worker.ts?perso-test-csp=no-wasm',
  location.origin,
);

interface ConformanceCase {
  id: string;
  policy: string | object;
  request: ToolCall;
  expect: string;
  reasonPrefix: string;
}
const fixtures = (await (await fetch('/test/fixtures/conformance.json')).json()) as {
  policies: Record<string, string>;
  cases: ConformanceCase[];
};
const policyTexts = new Map<string, string>();
for (const [name, file] of Object.entries(fixtures.policies)) {
  policyTexts.set(name, await (await fetch(`/test/fixtures/${file}`)).text());
}
const demoText = policyTexts.get('demo')!;
const policyText = (policy: string | object) =>
  typeof policy === 'string' ? policyTexts.get(policy)! : JSON.stringify(policy);

const backends: WorkerBackend[] = [];
/** The real evaluator worker under a CSP without 'wasm-unsafe-eval', with or without the JS fallback. */
function noWasmBackend(jsFallback: boolean): WorkerBackend {
  const name = jsFallback
    ? `${EVALUATOR_WORKER_NAME} ${EVALUATOR_JS_FALLBACK}`
    : EVALUATOR_WORKER_NAME;
  const backend = new WorkerBackend({
    createWorker: () => new Worker(NO_WASM_CSP_URL, { type: 'module', name }),
    timeoutMs: 10_000,
  });
  backends.push(backend);
  return backend;
}
afterEach(() => {
  for (const backend of backends.splice(0)) backend.close();
});

describe('a page CSP without wasm-unsafe-eval', function () {
  this.timeout(120_000);

  it('wasm compile failure, no fallback (the default): every call is a Deny that says what to allow', async () => {
    const backend = noWasmBackend(false);
    const load = await backend.load(demoText);
    expect(load.ok).to.equal(false);
    const verdict = await backend.evaluate({ tool: 'view_customer', role: 'agent', args: {} }, 0);
    expect(verdict).to.include({ decision: 'Deny', kind: 'engine_fault' });
    expect(verdict.reason).to.match(/allow 'wasm-unsafe-eval' in script-src$/);
    expect(verdict.evaluator).to.equal(undefined);
  });

  it("wasm compile failure with the JS fallback: every conformance case passes, each verdict says evaluator 'js'", async () => {
    const backend = noWasmBackend(true);
    expect(fixtures.cases.length).to.be.at.least(40);
    for (const c of fixtures.cases) {
      const load = await backend.load(policyText(c.policy));
      expect(load.ok, `${c.id}: ${JSON.stringify(load)}`).to.equal(true);
      const verdict = await backend.evaluate(c.request, 0);
      expect(verdict.decision, `${c.id}: ${verdict.reason}`).to.equal(c.expect);
      // The documented part of the reason (DESIGN §2.1); the detail after ': ' is the engine's wording.
      const cut = c.reasonPrefix.indexOf(': ', c.reasonPrefix.indexOf(';'));
      const documented =
        c.reasonPrefix.includes(';') && cut >= 0 ? c.reasonPrefix.slice(0, cut) : c.reasonPrefix;
      expect(verdict.reason.startsWith(documented), `${c.id}: ${verdict.reason}`).to.equal(true);
      expect(verdict.evaluator).to.equal('js');
    }
  });

  it('wasm compile failure with the JS fallback: an invalid policy is refused and calls are denied (no_policy)', async () => {
    const backend = noWasmBackend(true);
    const load = await backend.load(
      '{"version":"v","default_action":"Deny","tools":[],"rules":[],"rules":[]}',
    );
    expect(load.ok).to.equal(false);
    if (!load.ok) expect(load.errors[0]!.message).to.match(/duplicate key "rules"/);
    const verdict = await backend.evaluate({ tool: 't', role: 'r', args: {} }, 0);
    expect(verdict).to.include({ decision: 'Deny', evaluator: 'js' });
  });

  it('wasm compile failure with the JS fallback: at least 2,000 differential pairs agree with the reference', async () => {
    const cases: DiffCase[] = [];
    let pairs = 0;
    for (let seed = 20261205; pairs < 2000; seed++) {
      for (const c of sampleCases(seed, 200)) {
        cases.push(c);
        pairs += c.calls.length;
      }
    }
    const backend = noWasmBackend(true);
    let compared = 0;
    for (const group of groupForMerge(cases, 100)) {
      const merged = mergeCases(group);
      const load = await backend.load(JSON.stringify(merged.policy));
      expect(load.ok, JSON.stringify(load).slice(0, 500)).to.equal(true);
      // One call at a time: a batch with one non-JSON value (NaN) is refused whole by the bridge
      // before it reaches the worker, and the differential cases hold such values on purpose.
      const verdicts = [];
      for (const call of merged.calls)
        verdicts.push(await backend.evaluate(call as unknown as ToolCall, 0));
      expect(verdicts.find((v) => v.evaluator !== 'js')).to.equal(undefined);
      const answers = splitAnswers(group, verdicts);
      group.forEach((c, k) => {
        const found = checkAnswers('js fallback worker', c, answers[k]!, 'objects');
        compared += found.compared;
        expect(found.disagreement, JSON.stringify(found.disagreement)).to.equal(null);
      });
    }
    expect(compared).to.be.at.least(2000);
    console.log(`js fallback worker: ${compared} pairs, 0 disagreements`);
  });

  it("self-approval through the JS fallback: a call's own approved key is an Ask, and an approval a person gives spends the rate limit", async () => {
    const backend = noWasmBackend(true);
    const load = await backend.load(
      JSON.stringify({
        version: 'approved-fallback',
        default_action: 'Deny',
        tools: ['pay'],
        roles: ['agent'],
        rules: [
          {
            id: 'pay',
            tool_name: 'pay',
            roles: ['agent'],
            rate_limit: { max: 1, per_seconds: 60 },
          },
          { id: 'ask-pay', tool_name: 'pay', roles: ['agent'], effect: 'Ask' },
        ],
      }),
    );
    expect(load.ok, JSON.stringify(load)).to.equal(true);
    const call: ToolCall = { tool: 'pay', role: 'agent', args: {} };
    const forged = await backend.evaluate({ ...call, approved: true } as ToolCall, 10);
    expect(forged).to.include({ decision: 'Ask', evaluator: 'js' });
    const first = await backend.evaluate(call, 10);
    const allowed = await backend.approve(first.approval!.nonce, call, 10);
    expect(allowed).to.include({ decision: 'Allow', kind: 'ask_by_rule' });
    expect(allowed.reason).to.match(/approved by a person$/);
    // The approval counted: the next call is over the limit before any Ask.
    const limited = await backend.evaluate(call, 11);
    expect(limited).to.include({ decision: 'Deny', kind: 'rate_limited', evaluator: 'js' });
  });

  it("Perso with fallback: 'js' where engine.wasm compiles: the wasm engine decides, and says so", async () => {
    const perso = await Perso.load({
      policy: JSON.parse(demoText) as Policy,
      engine: 'worker',
      fallback: 'js',
    });
    try {
      const decision = await perso.evaluate({ tool: 'view_customer', role: 'agent', args: {} });
      expect(decision).to.include({ decision: 'Allow', evaluator: 'wasm' });
    } finally {
      await perso.close();
    }
  });
});
