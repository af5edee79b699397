import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DecisionResult } from '../src/call/decision.ts';
import { appendDecision } from '../src/element/decision-log.ts';

const allow: DecisionResult = {
  decision: 'Allow',
  reason: 'rule matched',
  kind: 'no_condition',
  rule: 'view',
  policyVersion: '1',
  enforced: true,
};

test('a decision becomes one frozen line: its args as compact JSON, no rule as null', () => {
  const { rule: _rule, ...withoutRule } = allow;
  const log = appendDecision([], 1, 'view_customer', { customer_id: 'C-1' }, withoutRule);
  assert.equal(log.length, 1);
  assert.deepEqual(log[0], {
    id: 1,
    tool: 'view_customer',
    args: '{"customer_id":"C-1"}',
    decision: 'Allow',
    reason: 'rule matched',
    rule: null,
    enforced: true,
  });
  assert.equal(Object.isFrozen(log[0]), true);
});

test('the log keeps the newest 50 lines, oldest first, and never changes the log it was given', () => {
  let log = appendDecision([], 1, 'view_customer', {}, allow);
  const first = log;
  for (let id = 2; id <= 60; id++) log = appendDecision(log, id, 'view_customer', {}, allow);
  assert.equal(log.length, 50);
  assert.equal(log[0]?.id, 11);
  assert.equal(log[49]?.id, 60);
  assert.equal(first.length, 1);
});

test('long args are cut: a log line never carries more than 200 characters of them', () => {
  const log = appendDecision([], 1, 'send_email', { body: 'x'.repeat(1000) }, allow);
  assert.equal(log[0]!.args.length, 201);
  assert.ok(log[0]!.args.endsWith('…'));
  assert.match(log[0]!.args, /^\{"body":"x+/);
});
