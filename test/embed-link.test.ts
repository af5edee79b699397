import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DecisionResult } from '../src/call/decision.ts';
import { embedDecision, questionDecision } from '../src/element/embed-link.ts';
import { PersoDecisionEvent } from '../src/element/guard-events.ts';

const deny: DecisionResult = {
  decision: 'Deny',
  reason: 'no rule',
  kind: 'no_rule',
  policyVersion: '1',
  enforced: true,
};

test('an embed decision event is read as its tool, args and decision', () => {
  const event = new CustomEvent('perso-decision', {
    detail: { tool: 'process_refund', args: { amount: 800 }, decision: deny },
  });
  assert.deepEqual(embedDecision(event), {
    tool: 'process_refund',
    args: { amount: 800 },
    decision: deny,
  });
});

test("the guard's own decision events and malformed details are not embed decisions", () => {
  assert.equal(embedDecision(new PersoDecisionEvent('process_refund', {}, deny)), null);
  assert.equal(embedDecision(new Event('perso-decision')), null);
  for (const detail of [
    null,
    'Deny',
    { args: {}, decision: deny },
    { tool: 7, decision: deny },
    { tool: 'process_refund' },
    { tool: 'process_refund', decision: { reason: 'no decision field' } },
  ])
    assert.equal(embedDecision(new CustomEvent('perso-decision', { detail })), null);
});

test("an embed's question becomes what the prompt shows: its reason, rule and ticket", () => {
  const question = { tool: 't', args: {}, reason: 'asks', rule: 'r1' };
  assert.deepEqual(questionDecision(question), {
    reason: 'asks',
    rule: 'r1',
    approval: undefined,
  });
  assert.deepEqual(questionDecision({ ...question, rule: null, expiresAt: 1234 }), {
    reason: 'asks',
    rule: undefined,
    approval: { nonce: '', expiresAt: 1234 },
  });
  assert.deepEqual(
    questionDecision({ ...question, expiresAt: 1234, approval: 'webauthn' }).approval,
    { nonce: '', expiresAt: 1234, kind: 'webauthn' },
  );
});
