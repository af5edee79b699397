// Which remembered approval covers a call explain traces as an Ask (src/analysis/remembered-trace.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rememberTrace } from '../src/analysis/remembered-trace.ts';
import type { RememberedApprovalState } from '../src/engine/types.ts';
import type { Policy } from '../src/policy/policy.ts';

const ask = (id: string, tool = 'refund', extra: object = {}) => ({
  id,
  tool_name: tool,
  roles: ['agent'],
  effect: 'Ask',
  remember: { seconds: 600, same: ['Arguments.order'] },
  ...extra,
});
const policy = (...rules: object[]) =>
  ({
    version: 'v',
    default_action: 'Deny',
    tools: ['refund', 'refund_all'],
    rules,
  }) as unknown as Policy;
const approval: RememberedApprovalState = {
  id: 'a1',
  rule: 'big',
  tool: 'refund',
  role: 'agent',
  session: '',
  same: { 'Arguments.order': 'O-1' },
  agentAttributes: {},
  approvedAt: 100,
  expiresAt: 700,
};
const call = (order: unknown, session = '') => ({
  tool: 'refund',
  role: 'agent',
  session,
  roots: { Arguments: order === undefined ? {} : { order }, AgentAttributes: {} },
});

describe('rememberTrace', () => {
  test('the approval that covers the call, within its time', () => {
    const p = policy(ask('big'));
    assert.equal(rememberTrace(p, 'big', call('O-1'), 200, [approval])?.approval, approval);
    assert.equal(rememberTrace(p, 'big', call('O-1'), 700, [approval])?.approval, null);
    assert.equal(rememberTrace(p, 'big', call('O-1'), 99, [approval])?.approval, null);
    assert.equal(rememberTrace(p, 'big', call('O-2'), 200, [approval])?.approval, null);
    assert.equal(rememberTrace(p, 'big', call('O-1', 's2'), 200, [approval])?.approval, null);
    const otherUser = {
      ...call('O-1'),
      roots: { Arguments: { order: 'O-1' }, AgentAttributes: { u: 1 } },
    };
    assert.equal(rememberTrace(p, 'big', otherUser, 200, [approval])?.approval, null);
  });

  test('an Ask rule without remember: no trace', () => {
    assert.equal(
      rememberTrace(policy({ ...ask('big'), remember: undefined }), 'big', call('O-1'), 200, [
        approval,
      ]),
      null,
    );
  });

  test('says why none can cover: another Ask rule, a missing field, two rules with one id', () => {
    const why = (p: Policy, c = call('O-1')) => rememberTrace(p, 'big', c, 200, [approval])?.why;
    assert.equal(
      why(policy(ask('big'), ask('other', 'refund*'))),
      'Ask rule other also names this tool and role',
    );
    assert.equal(why(policy(ask('big'), ask('other', 'refund_all'))), undefined);
    assert.equal(
      why(policy(ask('big')), call(undefined)),
      'a "same" field is missing or null: it matches no approval',
    );
    assert.equal(
      why(policy(ask('big')), call(null)),
      'a "same" field is missing or null: it matches no approval',
    );
    assert.equal(
      why(policy(ask('big'), ask('big', 'refund_all'))),
      'two Ask rules have the id "big"',
    );
  });
});
