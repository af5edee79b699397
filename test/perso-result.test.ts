// A Perso's result built from a verdict (src/perso/perso-result.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decisionResult } from '../src/perso/perso-result.ts';

describe('perso result', () => {
  test('shadow mode: a decision is not enforced, a fault always is', () => {
    const allow = decisionResult(
      { decision: 'Allow', reason: 'r', kind: 'no_condition' },
      'v1',
      false,
    );
    assert.equal(allow.enforced, false);
    assert.equal(allow.evaluator, 'wasm');
    const fault = decisionResult(
      { decision: 'Deny', reason: 'r', kind: 'engine_fault' },
      'v1',
      false,
    );
    assert.equal(fault.enforced, true);
    assert.equal(fault.evaluator, undefined);
  });
  test("an Ask's approval ticket is there, but not in its JSON", () => {
    const ticket = { nonce: '0'.repeat(32), expiresAt: 1 };
    const ask = decisionResult(
      { decision: 'Ask', reason: 'r', kind: 'ask_by_rule', approval: ticket },
      'v1',
      true,
    );
    assert.equal(ask.approval, ticket);
    assert.equal(JSON.parse(JSON.stringify(ask)).approval, undefined);
  });
});
