// The policy's and rules' "approval" key in the engine: validated at its JSON path, reported on the
// Ask it governs, and the strictest holding Ask rule is the one reported.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';

const engine = await Engine.create(await loadEngineModule());

function policy(rules: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: 'approval-1',
    default_action: 'Deny',
    tools: ['refund'],
    roles: ['agent'],
    rules,
    ...extra,
  });
}

const grant = { tool_name: 'refund', roles: ['agent'] };
const above = (value: number) => ({
  NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value },
});

describe('approval kinds', () => {
  test('a rule saying "webauthn" makes its Ask report approvalKind webauthn; "click" and no key report none', () => {
    for (const [approval, expected] of [
      ['webauthn', 'webauthn'],
      ['click', undefined],
      [undefined, undefined],
    ] as const) {
      const load = engine.load(
        policy([grant, { id: 'ask', ...grant, effect: 'Ask', ...(approval ? { approval } : {}) }]),
      );
      assert.equal(load.ok, true);
      const verdict = engine.evaluate({ tool: 'refund', role: 'agent', args: { amount: 1 } }, 0);
      assert.equal(verdict.decision, 'Ask');
      assert.equal(verdict.approvalKind, expected, `approval ${String(approval)}`);
    }
  });

  test('the policy\'s "approval" is every Ask rule\'s default, a rule may say "click" for itself, and PolicyInfo reports it', () => {
    const load = engine.load(
      policy(
        [
          grant,
          { id: 'small', ...grant, effect: 'Ask', approval: 'click' },
          { id: 'large', ...grant, effect: 'Ask', condition: above(500) },
        ],
        { approval: 'webauthn' },
      ),
    );
    assert.equal(load.ok && load.policy.approval, 'webauthn');
    const small = engine.evaluate({ tool: 'refund', role: 'agent', args: { amount: 100 } }, 0);
    assert.deepEqual([small.rule, small.approvalKind], ['small', undefined]);
    const large = engine.evaluate({ tool: 'refund', role: 'agent', args: { amount: 800 } }, 0);
    assert.deepEqual(
      [large.rule, large.approvalKind],
      ['large', 'webauthn'],
      'a holding webauthn Ask rule wins over an earlier click one',
    );
    const clickPolicy = engine.load(policy([grant]));
    assert.equal(clickPolicy.ok && clickPolicy.policy.approval, undefined);
  });

  test('batches report it too', () => {
    engine.load(policy([grant, { ...grant, effect: 'Ask', approval: 'webauthn' }]));
    const [verdict] = engine.evaluateBatch([{ tool: 'refund', role: 'agent', args: {} }], 0);
    assert.equal(verdict?.approvalKind, 'webauthn');
  });

  test('an unknown approval kind is an error at its path, for the policy and for a rule', () => {
    const load = engine.load(
      policy([{ ...grant, effect: 'Ask', approval: 'webauth' }], { approval: true }),
    );
    assert.equal(load.ok, false);
    const errors = load.ok ? [] : load.errors.map((d) => `${d.path}: ${d.message}`);
    assert.deepEqual(errors, [
      'approval: unknown approval true; expected "click" or "webauthn"',
      'rules[0].approval: unknown approval "webauth"; expected "click" or "webauthn"',
    ]);
  });

  test('approval on an Allow or Deny rule is ignored with a warning', () => {
    const load = engine.load(policy([{ ...grant, approval: 'webauthn' }]));
    assert.equal(load.ok, true);
    assert.deepEqual(
      load.warnings.map((d) => `${d.path}: ${d.message}`),
      ['rules[0].approval: approval applies only to Ask rules; it is ignored here'],
    );
    assert.equal(engine.evaluate({ tool: 'refund', role: 'agent', args: {} }, 0).decision, 'Allow');
  });
});
