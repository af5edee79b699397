// A worker's reply, checked (src/backend/worker-reply.ts): the tagged union it must be, rebuilt
// field by field. Each refusal is named after the malformation it injects; the browser tests
// (comlink-tampering, worker-backend) send the same forgeries through a real worker.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkApprovedVerdict,
  checkPolicyLoad,
  checkStatus,
  checkVerdict,
  openReply,
} from '../src/backend/worker-reply.ts';

const allow = {
  decision: 'Allow',
  reason: 'rule "r1" allows it',
  kind: 'no_condition',
  rule: 'r1',
};
const policyInfo = {
  version: 'v1',
  mode: 'enforce',
  defaultAction: 'Deny',
  tools: ['pay'],
  roles: ['agent'],
  ruleCount: 1,
  hasRateLimits: false,
  hasBudgets: false,
  annotationDefaults: false,
};

describe('worker reply: the envelope', () => {
  test('an ok reply opens to its value and counted calls', () => {
    const opened = openReply({ ok: true, value: 42 });
    assert.deepEqual(opened, { ok: true, value: 42, counted: undefined });
  });
  test('malformed: a reply that is not an object', () => {
    assert.deepEqual(openReply('Allow'), {
      ok: false,
      problem: 'expected a reply object, got string',
    });
  });
  test('malformed: counted is not a list of counted calls', () => {
    const opened = openReply({ ok: true, value: 1, counted: [{ tool: 1 }] });
    assert.deepEqual(opened, { ok: false, problem: 'counted is not a list of counted calls' });
  });
  test('a bad request and a wasm compile failure are told apart from a malformed reply', () => {
    assert.deepEqual(openReply({ ok: false, error: 'x', fault: 'bad_request' }), {
      ok: false,
      badRequest: 'x',
    });
    assert.deepEqual(openReply({ ok: false, error: 'y', fault: 'wasm_compile' }), {
      ok: false,
      compileError: 'y',
    });
    assert.deepEqual(openReply({ ok: false, error: 'z', fault: 'other' }), {
      ok: false,
      problem: 'unknown fault "other"',
    });
  });
});

describe('worker reply: verdicts', () => {
  test('a verdict is rebuilt from its known fields only', () => {
    const checked = checkVerdict({ ...allow, injected: 'x', __proto__: { decision: 'Deny' } });
    assert.deepEqual(checked, { ok: true, value: allow });
  });
  test('malformed: an Allow that names a fault', () => {
    const checked = checkVerdict({ ...allow, kind: 'engine_fault' });
    assert.deepEqual(checked, { ok: false, problem: 'Allow with kind "engine_fault"' });
  });
  test('malformed: an Ask with a Deny-only kind', () => {
    const checked = checkVerdict({ decision: 'Ask', reason: 'r', kind: 'denied_by_rule' });
    assert.deepEqual(checked, { ok: false, problem: 'Ask with kind "denied_by_rule"' });
  });
  test('malformed: a verdict with no reason, an unknown decision, an approval off an Ask', () => {
    assert.equal(checkVerdict({ ...allow, reason: '' }).ok, false);
    assert.equal(checkVerdict({ ...allow, decision: 'Maybe' }).ok, false);
    const ticket = { nonce: '0'.repeat(32), expiresAt: 1 };
    assert.equal(checkVerdict({ ...allow, approval: ticket }).ok, false);
  });
  test('an approved Ask (Allow, ask_by_rule) is accepted from approve only', () => {
    const approved = { decision: 'Allow', reason: 'approved', kind: 'ask_by_rule' };
    assert.equal(checkVerdict(approved).ok, false);
    assert.deepEqual(checkApprovedVerdict(approved), { ok: true, value: approved });
  });
});

describe('worker reply: loads and status', () => {
  test('a policy load keeps its info and diagnostics', () => {
    const load = { ok: true, policy: policyInfo, warnings: [] };
    assert.deepEqual(checkPolicyLoad(load), { ok: true, value: load });
  });
  test('malformed: policy info without the facts the host decides the clock and annotations by', () => {
    for (const key of ['hasRateLimits', 'hasBudgets', 'annotationDefaults'] as const) {
      const { [key]: _dropped, ...rest } = policyInfo;
      assert.equal(checkPolicyLoad({ ok: true, policy: rest, warnings: [] }).ok, false, key);
      const wrong = { ...policyInfo, [key]: 'yes' };
      assert.equal(checkPolicyLoad({ ok: true, policy: wrong, warnings: [] }).ok, false, key);
    }
  });
  test('malformed: a failed load with no errors', () => {
    const checked = checkPolicyLoad({ ok: false, errors: [], warnings: [] });
    assert.deepEqual(checked, { ok: false, problem: 'failed policy load has no errors' });
  });
  test('malformed: a status with no abiVersion, or with malformed policy info', () => {
    assert.equal(checkStatus({ policy: null }).ok, false);
    assert.equal(checkStatus({ abiVersion: 1, policy: { ...policyInfo, mode: 'off' } }).ok, false);
    assert.deepEqual(checkStatus({ abiVersion: 1, policy: null }), {
      ok: true,
      value: { abiVersion: 1, policy: null },
    });
  });
});
