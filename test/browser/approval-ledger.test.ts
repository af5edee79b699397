// Approvals redeemed in the real evaluator worker: only the worker lifts an Ask to Allow.
import { expect } from 'chai';
import { WorkerBackend } from '../../src/evaluator-bridge.ts';
import type { ToolCall } from '../../src/decision.ts';

let askPolicy = '';
const call: ToolCall = { tool: 'update_customer', role: 'agent', args: { customer_id: 'c1', email: 'a@example.com' } };

before(async () => {
  const demo = await (await fetch('/test/fixtures/perso-demo-policy.json')).json();
  demo.rules.push({ id: 'confirm-update', tool_name: 'update_customer', roles: ['agent'], effect: 'Ask' });
  askPolicy = JSON.stringify(demo);
});

describe('approvals in the evaluator worker', () => {
  let backend: WorkerBackend;

  beforeEach(async () => {
    backend = new WorkerBackend();
    expect((await backend.load(askPolicy)).ok).to.equal(true);
  });

  afterEach(() => backend.close());

  it('issues a ticket with an Ask and lifts that exact call to Allow once', async () => {
    const ask = await backend.evaluate(call, 0);
    expect(ask.decision).to.equal('Ask');
    expect(ask.approval?.nonce).to.match(/^[0-9a-f]{32}$/);
    expect(ask.approval?.expiresAt).to.be.greaterThan(Date.now());

    const approved = await backend.approve(ask.approval!.nonce, call, 0);
    expect(approved.decision).to.equal('Allow');
    expect(approved.kind).to.equal('ask_by_rule');
    expect(approved.reason).to.match(/approved by a person$/);
  });

  it('fault: approval replayed — the second redeem is a Deny', async () => {
    const ask = await backend.evaluate(call, 0);
    await backend.approve(ask.approval!.nonce, call, 0);
    const replay = await backend.approve(ask.approval!.nonce, call, 0);
    expect(replay).to.include({ decision: 'Deny', kind: 'invalid_request' });
    expect(replay.reason).to.match(/already used/);
  });

  it('fault: approval for changed arguments — a Deny', async () => {
    const ask = await backend.evaluate(call, 0);
    const changed = await backend.approve(ask.approval!.nonce, { ...call, args: { customer_id: 'c2', email: 'a@example.com' } }, 0);
    expect(changed).to.include({ decision: 'Deny', kind: 'invalid_request' });
    expect(changed.reason).to.match(/different call/);
  });

  it('fault: forged nonce from the main thread — a Deny', async () => {
    await backend.evaluate(call, 0);
    const forged = await backend.approve('f'.repeat(32), call, 0);
    expect(forged).to.include({ decision: 'Deny', kind: 'invalid_request' });
  });

  it('gives no ticket with Allow or Deny', async () => {
    const allow = await backend.evaluate({ tool: 'view_customer', role: 'agent', args: {} }, 0);
    expect(allow.decision).to.equal('Allow');
    expect(allow.approval).to.equal(undefined);
  });
});
