// Remembered approvals (src/backend/remembered-approvals.ts, the engine's check of `remember`, the
// inline backend, Perso): an Ask rule's `remember` lets a person's approval cover later calls with
// the same values of the listed fields, until it runs out; a reload or forget() ends them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { Perso } from '../src/perso/perso.ts';
import type { AuditRecord } from '../src/audit/audit-record.ts';
import type { DecisionResult, ToolCall } from '../src/call/decision.ts';
import type { Policy } from '../src/policy/policy.ts';

const policy: Policy = {
  version: 'remember-1',
  default_action: 'Deny',
  tools: ['process_refund', 'view'],
  roles: ['agent'],
  rules: [
    { tool_name: 'process_refund', roles: ['agent'] },
    {
      id: 'big-refund',
      tool_name: 'process_refund',
      roles: ['agent'],
      effect: 'Ask',
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 100 } },
      remember: { seconds: 600, same: ['Arguments.order_id'] },
    },
  ],
};
const refund = (order_id: string, amount: number): ToolCall => ({
  tool: 'process_refund',
  role: 'agent',
  args: { order_id, amount },
});

async function persoAt(p: Policy = policy) {
  const clock = { now: 1000 };
  const records: AuditRecord[] = [];
  const perso = await Perso.load({
    policy: p,
    clock: () => clock.now,
    audit: { emit: (record: AuditRecord) => void records.push(record) },
  });
  return { perso, clock, records };
}

async function approveOnce(perso: Perso, call: ToolCall): Promise<DecisionResult> {
  const asked = await perso.evaluate(call);
  assert.equal(asked.decision, 'Ask');
  const nonce = (asked as { approval?: { nonce: string } }).approval?.nonce;
  assert.ok(nonce, 'the Ask carries a ticket');
  return perso.approve(nonce, call);
}

describe('remembered approvals through Perso (the inline backend)', () => {
  test('an approved Ask with remember lets the next matching call through, and not a different one', async () => {
    const { perso, clock, records } = await persoAt();
    try {
      const first = await approveOnce(perso, refund('ORD-1', 400));
      assert.equal(first.decision, 'Allow');
      clock.now = 1100;
      const again = await perso.evaluate(refund('ORD-1', 250));
      assert.equal(again.decision, 'Allow');
      assert.equal(again.kind, 'ask_by_rule');
      const remembered = again.rememberedApproval;
      assert.ok(remembered, 'the Allow says which approval it rests on');
      assert.equal(remembered.rule, 'big-refund');
      assert.equal(remembered.expiresAt, 1600);
      assert.match(
        again.reason,
        new RegExp(
          `^rule matched tool 'process_refund' for role 'agent'; approval required by rule 'big-refund': Arguments\\.amount = 250 is Gt 100; approved earlier by a person \\(remembered approval "${remembered.id}", until 1600 s\\)$`,
        ),
      );
      assert.equal((await perso.evaluate(refund('ORD-2', 250))).decision, 'Ask', 'another order');
      clock.now = 1600;
      assert.equal((await perso.evaluate(refund('ORD-1', 250))).decision, 'Ask', 'run out');
      await new Promise((resolve) => setTimeout(resolve, 0));
      const audited = records.find((r) => r.rememberedApproval !== undefined);
      assert.deepEqual(audited?.rememberedApproval, remembered, 'the audit record shows it');
    } finally {
      await perso.close();
    }
  });

  test('perso.state() lists it; forget() and a reload end every remembered approval', async () => {
    const { perso, clock } = await persoAt();
    try {
      await approveOnce(perso, refund('ORD-1', 400));
      const state = await perso.state();
      assert.deepEqual(
        state?.remembered?.map(({ rule, tool, role, session, same, approvedAt, expiresAt }) => ({
          rule,
          tool,
          role,
          session,
          same,
          approvedAt,
          expiresAt,
        })),
        [
          {
            rule: 'big-refund',
            tool: 'process_refund',
            role: 'agent',
            session: '',
            same: { 'Arguments.order_id': 'ORD-1' },
            approvedAt: 1000,
            expiresAt: 1600,
          },
        ],
      );
      await perso.forget();
      assert.equal((await perso.evaluate(refund('ORD-1', 250))).decision, 'Ask', 'forgotten');
      await approveOnce(perso, refund('ORD-1', 400));
      clock.now = 1001;
      assert.equal((await perso.evaluate(refund('ORD-1', 250))).decision, 'Allow');
      await perso.reload(policy);
      assert.equal((await perso.evaluate(refund('ORD-1', 250))).decision, 'Ask', 'reloaded');
      assert.deepEqual((await perso.state())?.remembered, []);
    } finally {
      await perso.close();
    }
  });

  test('sessions are apart: an approval in one session does not cover another principal', async () => {
    const { perso } = await persoAt();
    try {
      const alice = perso.session({ role: 'agent', agentAttributes: { user_id: 'alice' } });
      const bob = perso.session({ role: 'agent', agentAttributes: { user_id: 'bob' } });
      const asked = await alice.evaluate({
        tool: 'process_refund',
        args: { order_id: 'O', amount: 300 },
      });
      const nonce = (asked as { approval?: { nonce: string } }).approval?.nonce;
      assert.ok(nonce);
      const call = {
        tool: 'process_refund',
        role: 'agent',
        args: { order_id: 'O', amount: 300 },
        agentAttributes: alice.agentAttributes,
        session: 'session-1',
      };
      assert.equal((await perso.approve(nonce, call)).decision, 'Allow');
      const args = { order_id: 'O', amount: 200 };
      assert.equal((await alice.evaluate({ tool: 'process_refund', args })).decision, 'Allow');
      assert.equal((await bob.evaluate({ tool: 'process_refund', args })).decision, 'Ask');
    } finally {
      await perso.close();
    }
  });

  test('another Ask rule for the same tool and role: nothing is remembered (its reason was never shown)', async () => {
    const { perso, clock } = await persoAt({
      ...policy,
      rules: [
        ...policy.rules,
        {
          id: 'huge-refund',
          tool_name: 'process_*',
          roles: ['agent'],
          effect: 'Ask',
          condition: {
            NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 1000 },
          },
        },
      ],
    });
    try {
      await approveOnce(perso, refund('ORD-1', 400));
      clock.now = 1001;
      assert.equal((await perso.evaluate(refund('ORD-1', 5000))).decision, 'Ask');
      assert.equal((await perso.evaluate(refund('ORD-1', 400))).decision, 'Ask');
    } finally {
      await perso.close();
    }
  });

  test('another Ask rule with the same id (or the label of an unnamed one): nothing is remembered, so an approval cannot cover a reason never shown', async () => {
    const [allow, ask] = policy.rules as [Policy['rules'][0], Policy['rules'][0]];
    // 'rules[1]' is the label the unnamed Ask rule at index 1 goes by.
    for (const id of ['big-refund', 'rules[1]']) {
      const { perso, clock } = await persoAt({
        ...policy,
        rules: [
          allow,
          id === 'big-refund' ? ask : { ...ask, id: undefined },
          {
            id,
            tool_name: 'process_refund',
            roles: ['agent'],
            effect: 'Ask',
            condition: { Equals: { source: 'Arguments', field: 'to', value: 'offshore' } },
          },
        ],
      });
      try {
        await approveOnce(perso, refund('ORD-1', 400));
        clock.now = 1001;
        const offshore: ToolCall = {
          tool: 'process_refund',
          role: 'agent',
          args: { order_id: 'ORD-1', amount: 50, to: 'offshore' },
        };
        assert.equal((await perso.evaluate(offshore)).decision, 'Ask', id);
        assert.deepEqual((await perso.state())?.remembered, [], id);
      } finally {
        await perso.close();
      }
    }
  });

  test('a remembered Allow spends the budget as any Allow; a Deny stays a Deny', async () => {
    const { perso, clock } = await persoAt({
      ...policy,
      rules: [
        {
          tool_name: 'process_refund',
          roles: ['agent'],
          budget: { sum: 'Arguments.amount', max: 1000, per_seconds: 86400 },
        },
        policy.rules[1]!,
      ],
    });
    try {
      await approveOnce(perso, refund('ORD-1', 400));
      clock.now = 1001;
      assert.equal((await perso.evaluate(refund('ORD-1', 400))).decision, 'Allow');
      clock.now = 1002;
      const over = await perso.evaluate(refund('ORD-1', 400));
      assert.equal(`${over.decision}:${over.kind}`, 'Deny:budget_exceeded');
    } finally {
      await perso.close();
    }
  });
});

describe('the engine checks remember', () => {
  test('errors name the path; remember on an Allow rule warns', async () => {
    const engine = await Engine.create(await loadEngineModule());
    const bad = engine.load(
      JSON.stringify({
        ...policy,
        rules: [
          { tool_name: 'view', roles: ['agent'], remember: { seconds: 60, same: [] } },
          {
            tool_name: 'process_refund',
            roles: ['agent'],
            effect: 'Ask',
            remember: { seconds: 0, same: ['order_id'] },
          },
        ],
      }),
    );
    assert.equal(bad.ok, false);
    assert.deepEqual(bad.ok ? [] : bad.errors.map((e) => `${e.path}: ${e.message}`), [
      'rules[1].remember.seconds: got 0; expected a number of seconds greater than 0',
      'rules[1].remember.same[0]: expected "<Source>.<field>" with a source of Arguments, AgentAttributes, ResourceAttributes (e.g. "Arguments.order_id"), got "order_id"',
    ]);
    const warned = engine.load(
      JSON.stringify({
        ...policy,
        rules: [{ tool_name: 'view', roles: ['agent'], remember: { seconds: 60, same: [] } }],
      }),
    );
    assert.equal(warned.ok, true);
    assert.deepEqual(
      warned.warnings.map((w) => `${w.path}: ${w.message}`),
      ['rules[0].remember: remember applies only to Ask rules; it is ignored here'],
    );
  });
});
