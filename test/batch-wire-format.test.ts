// A batch as the worker receives it (src/backend/batch-wire-format.ts): the calls without their
// args, shared where they can be, and the args as one JSON text, or a refusal naming the value;
// and the batch's verdicts as they come back, checked.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkVerdicts, encodeBatch, sendBatch } from '../src/backend/batch-wire-format.ts';
import type { ToolCall } from '../src/call/decision.ts';

describe('batch wire format', () => {
  test('the args travel apart, as one JSON text, in order', () => {
    const calls: ToolCall[] = [
      { tool: 'pay', role: 'agent', args: { amount: 1 } },
      { tool: 'pay', role: 'agent' },
    ];
    const message = encodeBatch(calls);
    assert.equal(message.argsJson, '[{"amount":1},{}]');
    assert.deepEqual(message.calls[0], { tool: 'pay', role: 'agent' });
  });
  test('calls that share tool, role, time and attribute objects share one object', () => {
    const agentAttributes = { team: 'a' };
    const calls: ToolCall[] = [
      { tool: 'pay', role: 'agent', agentAttributes, args: { n: 1 } },
      { tool: 'view', role: 'agent', agentAttributes },
      { tool: 'pay', role: 'agent', agentAttributes, args: { n: 2 } },
    ];
    const { calls: bare } = encodeBatch(calls);
    assert.equal(bare[0], bare[2]);
    assert.notEqual(bare[0], bare[1]);
  });
  test('each call keeps its guard session, and calls of two sessions share no object (redteam R8)', () => {
    const calls: ToolCall[] = [
      { tool: 'pay', role: 'agent', session: 'conv-7', args: { n: 1 } },
      { tool: 'pay', role: 'agent', args: { n: 2 } },
      { tool: 'pay', role: 'agent', session: 'conv-7', args: { n: 3 } },
      { tool: 'pay', role: 'agent', session: 'conv-8', args: { n: 4 } },
    ];
    const { calls: bare } = encodeBatch(calls);
    assert.deepEqual(
      bare.map((call) => call.session),
      ['conv-7', undefined, 'conv-7', 'conv-8'],
    );
    assert.equal(Object.hasOwn(bare[1]!, 'session'), false);
    assert.equal(bare[0], bare[2]);
  });
  test('canonical args given are sent as they are', () => {
    const message = encodeBatch([{ tool: 't', role: 'r', args: { a: 1 } }], '[{"a":2}]');
    assert.equal(message.argsJson, '[{"a":2}]');
  });
  test('fault: a polluted Object.prototype adds no host fact', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.resourceAttributes = { owner: 'attacker' };
    try {
      const { calls } = encodeBatch([{ tool: 't', role: 'r' }]);
      assert.equal(Object.hasOwn(calls[0]!, 'resourceAttributes'), false);
    } finally {
      delete proto.resourceAttributes;
    }
  });
  test('fault: args JSON would silently change are refused, naming the value', () => {
    assert.throws(() => encodeBatch([{ tool: 't', role: 'r', args: { n: Number.NaN } }]), {
      message: 'args: NaN at "n" is not a JSON number',
    });
    const fn = { f: () => 1 } as unknown as ToolCall['args'];
    assert.throws(() => encodeBatch([{ tool: 't', role: 'r', args: fn }]), {
      message: 'args: a function at "f" is not a JSON value',
    });
    const holes = { list: [1, undefined] } as unknown as ToolCall['args'];
    assert.throws(() => encodeBatch([{ tool: 't', role: 'r', args: holes }]), {
      message: 'args: undefined at "1" is not a JSON value',
    });
  });
});

describe('batch wire format: the verdicts that come back', () => {
  const allow = {
    decision: 'Allow',
    reason: 'rule "r1" allows it',
    kind: 'no_condition',
    rule: 'r1',
  };
  test('a batch answers exactly as many verdicts as it sent, equal ones shared and frozen', () => {
    const checked = checkVerdicts(3)([allow, allow, allow]);
    assert.ok(checked.ok);
    assert.equal(checked.value.length, 3);
    assert.equal(checked.value[0], checked.value[2]);
    assert.ok(Object.isFrozen(checked.value[0]));
  });
  test('malformed: a batch with one verdict too few', () => {
    assert.deepEqual(checkVerdicts(2)([allow]), {
      ok: false,
      problem: 'expected 2 verdicts, got 1',
    });
  });
  test('malformed: one bad verdict in a batch names its index', () => {
    const checked = checkVerdicts(2)([allow, { ...allow, kind: 'nope' }]);
    assert.deepEqual(checked, { ok: false, problem: 'verdicts[1]: unknown kind "nope"' });
  });
  test('fault: args that cannot be encoded deny every call (invalid_request) and send nothing', async () => {
    let sent = 0;
    const verdicts = await sendBatch(
      () => {
        sent++;
        return Promise.resolve([]);
      },
      [
        { tool: 't', role: 'r', args: { n: 1 } },
        { tool: 't', role: 'r', args: { n: Number.NaN } },
      ],
      0,
      undefined,
    );
    assert.equal(sent, 0);
    assert.equal(verdicts.length, 2);
    for (const verdict of verdicts) {
      assert.equal(verdict.decision, 'Deny');
      assert.equal(verdict.kind, 'invalid_request');
      assert.match(verdict.reason, /^invalid request: the batch cannot be sent to the worker \(/);
    }
  });
  test('fault: a worker fault denies every call of the batch, naming the fault', async () => {
    const verdicts = await sendBatch(
      (plan) => Promise.resolve(plan.fault('the evaluator worker stopped', 'engine_fault')),
      [
        { tool: 't', role: 'r', args: {} },
        { tool: 'u', role: 'r', args: {} },
      ],
      0,
      undefined,
    );
    assert.equal(verdicts.length, 2);
    for (const verdict of verdicts) {
      assert.equal(verdict.decision, 'Deny');
      assert.equal(verdict.kind, 'engine_fault');
      assert.equal(verdict.reason, 'engine fault: the evaluator worker stopped');
    }
  });
});
