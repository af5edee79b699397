// Approvals redeemed in the real evaluator worker: only the worker lifts an Ask to Allow.
import { expect } from 'chai';
import { WorkerBackend } from '../../src/backend/worker-backend.ts';
import type { ToolCall } from '../../src/call/decision.ts';
import { deleteDB } from 'idb';
import { AUTHENTICATOR_DB_NAME } from '../../src/backend/authenticator-store.ts';
import { approvalChallenge } from '../../src/backend/approval-challenge.ts';
import { sha256Hex } from '../../src/encoding/sha256-hex.ts';
import type { ApprovalTicket } from '../../src/call/decision.ts';
import type { ApprovalEvidence } from '../../src/backend/approval-evidence.ts';
import { toBase64Url } from '../../src/policy/base64.ts';
import { SoftwareAuthenticator } from '../support/software-authenticator.ts';

let askPolicy = '';
const call: ToolCall = {
  tool: 'update_customer',
  role: 'agent',
  args: { customer_id: 'c1', email: 'a@example.com' },
};

before(async () => {
  const demo = await (await fetch('/test/fixtures/perso-demo-policy.json')).json();
  demo.rules.push({
    id: 'confirm-update',
    tool_name: 'update_customer',
    roles: ['agent'],
    effect: 'Ask',
  });
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
    const changed = await backend.approve(
      ask.approval!.nonce,
      { ...call, args: { customer_id: 'c2', email: 'a@example.com' } },
      0,
    );
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

describe('WebAuthn approvals in the evaluator worker (a software authenticator, the real IndexedDB)', () => {
  let backend: WorkerBackend;
  let webauthnPolicy = '';
  const refund: ToolCall = {
    tool: 'process_refund',
    role: 'agent',
    args: { order_id: 'ORD-8821', amount: 200 },
  };

  beforeEach(async () => {
    await deleteDB(AUTHENTICATOR_DB_NAME);
    const demo = JSON.parse(askPolicy);
    demo.rules.push({
      id: 'big-refund',
      tool_name: 'process_refund',
      roles: ['agent'],
      effect: 'Ask',
      approval: 'webauthn',
    });
    webauthnPolicy = JSON.stringify(demo);
    backend = new WorkerBackend();
    expect((await backend.load(webauthnPolicy)).ok).to.equal(true);
  });

  afterEach(() => backend.close());

  /** The challenge of {tool, args, origin, policy hash, nonce, expiry}, as the page makes it. */
  async function challengeOf(ticket: ApprovalTicket, call: ToolCall = refund): Promise<string> {
    const policyHash = await sha256Hex(webauthnPolicy);
    return toBase64Url(
      await approvalChallenge({
        tool: call.tool,
        args: call.args,
        origin: location.origin,
        policyHash,
        nonce: ticket.nonce,
        expiresAt: ticket.expiresAt,
      }),
    );
  }

  it('a WebAuthn Ask carries a ticket of kind webauthn, and a click alone does not redeem it', async () => {
    const ask = await backend.evaluate(refund, 0);
    expect(ask.approvalKind).to.equal('webauthn');
    expect(ask.approval?.kind).to.equal('webauthn');
    const click = await backend.approve(ask.approval!.nonce, refund, 0);
    expect(click.reason).to.match(/a click is not enough/);
  });

  it('fault: assertion over the challenge of other arguments — refused', async () => {
    const authenticator = await SoftwareAuthenticator.create(-8);
    const ticket = (await backend.evaluate(refund, 0)).approval!;
    const other = { ...refund, args: { order_id: 'ORD-8821', amount: 300 } };
    const claims = { challenge: await challengeOf(ticket, other), origin: location.origin };
    const result = await backend.approve(ticket.nonce, refund, 0, {
      kind: 'webauthn',
      registration: await authenticator.register(claims),
      assertion: await authenticator.assert(claims),
    });
    expect(result.reason).to.match(/the authenticator signed a different call/);
  });

  it('an ES256 authenticator registers on first use and releases the call once', async () => {
    const authenticator = await SoftwareAuthenticator.create(-7);
    const ticket = (await backend.evaluate(refund, 0)).approval!;
    const claims = { challenge: await challengeOf(ticket), origin: location.origin };
    const evidence = {
      kind: 'webauthn' as const,
      registration: await authenticator.register(claims),
      assertion: await authenticator.assert(claims),
    };
    const approved = await backend.approve(ticket.nonce, refund, 0, evidence);
    expect(approved.decision).to.equal('Allow');
    expect(approved.reason).to.match(/approved by a person with a verified authenticator$/);
    const replay = await backend.approve(ticket.nonce, refund, 0, evidence);
    expect(replay.reason).to.match(/already used/);
    // The next approval asserts with the registered credential, no registration.
    const next = (await backend.evaluate(refund, 0)).approval!;
    const assertion = await authenticator.assert({
      challenge: await challengeOf(next),
      origin: location.origin,
    });
    expect(
      (await backend.approve(next.nonce, refund, 0, { kind: 'webauthn', assertion })).decision,
    ).to.equal('Allow');
  });

  it('fault: a second authenticator registered on top of the first — refused', async () => {
    const first = await SoftwareAuthenticator.create(-8);
    const ticket = (await backend.evaluate(refund, 0)).approval!;
    const claims = { challenge: await challengeOf(ticket), origin: location.origin };
    expect(
      (
        await backend.approve(ticket.nonce, refund, 0, {
          kind: 'webauthn',
          registration: await first.register(claims),
          assertion: await first.assert(claims),
        })
      ).decision,
    ).to.equal('Allow');
    const intruder = await SoftwareAuthenticator.create(-8);
    const next = (await backend.evaluate(refund, 0)).approval!;
    const nextClaims = { challenge: await challengeOf(next), origin: location.origin };
    const refused = await backend.approve(next.nonce, refund, 0, {
      kind: 'webauthn',
      registration: await intruder.register(nextClaims),
      assertion: await intruder.assert(nextClaims),
    });
    expect(refused.decision).to.equal('Deny');
    expect(refused.reason).to.match(
      /an authenticator is already registered for .*; approve with it/,
    );
    const unregistered = (await backend.evaluate(refund, 0)).approval!;
    const stranger = await backend.approve(unregistered.nonce, refund, 0, {
      kind: 'webauthn',
      assertion: await intruder.assert({
        challenge: await challengeOf(unregistered),
        origin: location.origin,
      }),
    });
    expect(stranger.reason).to.match(/from an authenticator not registered for/);
  });

  it('fault: no authenticator registered and none offered — a Deny that says so', async () => {
    const ticket = (await backend.evaluate(refund, 0)).approval!;
    const authenticator = await SoftwareAuthenticator.create(-8);
    const assertion = await authenticator.assert({
      challenge: await challengeOf(ticket),
      origin: location.origin,
    });
    const result = await backend.approve(ticket.nonce, refund, 0, { kind: 'webauthn', assertion });
    expect(result.reason).to.match(/none is registered for .* yet/);
  });

  it('fault: no WebAuthn in the browser, or malformed evidence — a Deny that says which', async () => {
    const unavailable = (await backend.evaluate(refund, 0)).approval!;
    const none = await backend.approve(unavailable.nonce, refund, 0, {
      kind: 'webauthn-failed',
      failure: 'unavailable',
      detail: 'no WebAuthn',
    });
    expect(none.reason).to.match(
      /needs a verified authenticator, and none is available here \(no WebAuthn\)/,
    );
    const malformed = (await backend.evaluate(refund, 0)).approval!;
    const bad = await backend.approve(malformed.nonce, refund, 0, {
      kind: 'webauthn',
      assertion: { credentialId: '***' },
    } as unknown as ApprovalEvidence);
    expect(bad.reason).to.match(/the WebAuthn evidence is malformed/);
  });
});

// The teammate's repro, in the worker: an Ask by 'big' (refund > 500) is approved after the session
// read untrusted content, when the same call asks by 'tainted' instead. The approval is refused and
// must spend nothing: not in the worker's budget, nor in the page's journal of counted calls (what
// a restarted worker would count again).
describe('a refused approval spends nothing in the evaluator worker', () => {
  let backend: WorkerBackend;
  const refund = (amount: number, session?: string): ToolCall => ({
    tool: 'process_refund',
    role: 'agent',
    args: { amount },
    ...(session === undefined ? {} : { session }),
  });
  const email = { tool: 'read_email', role: 'agent', session: 's1', result: { body: 'hi' } };
  /** `big` asks for a click or for `bigApproval`; `tainted` (first: of two that hold, it asks) for `taintedApproval`. */
  function budgetPolicy(bigApproval?: 'webauthn', taintedApproval?: 'webauthn'): string {
    const ask = (id: string, condition: object, approval?: 'webauthn') => ({
      id,
      tool_name: 'process_refund',
      roles: ['agent'],
      effect: 'Ask',
      condition,
      ...(approval === undefined ? {} : { approval }),
    });
    return JSON.stringify({
      version: 'ledger-budget-1',
      default_action: 'Deny',
      tools: ['process_refund', 'read_email'],
      roles: ['agent'],
      untrusted_tools: ['read_email'],
      rules: [
        { tool_name: 'read_email', roles: ['agent'] },
        {
          id: 'refunds',
          tool_name: 'process_refund',
          roles: ['agent'],
          budget: { sum: 'Arguments.amount', max: 1000, per_seconds: 86400 },
        },
        ask('tainted', { SessionUntrusted: true }, taintedApproval),
        ask(
          'big',
          { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 500 } },
          bigApproval,
        ),
      ],
    });
  }

  beforeEach(async () => {
    await deleteDB(AUTHENTICATOR_DB_NAME);
    backend = new WorkerBackend();
  });

  afterEach(() => backend.close());

  /** The refused approval spent nothing: the next refund of 500 fits the budget of 1000. */
  async function expectNothingSpent(): Promise<void> {
    expect(backend.countedCalls(), 'the journal').to.deep.equal([]);
    expect((await backend.state())?.budgets ?? []).to.deep.equal([]);
    const next = await backend.evaluate(refund(500), 1010);
    expect(next.decision, next.reason).to.equal('Allow');
    expect((await backend.state())?.budgets?.map((b) => [b.rule, b.used])).to.deep.equal([
      ['refunds', 500],
    ]);
    expect(backend.countedCalls().map((c) => c.spent)).to.deep.equal([500]);
  }

  it('fault: a click ticket for a call that now asks by another rule (a WebAuthn one) — Deny, no budget spent, nothing journaled', async () => {
    expect((await backend.load(budgetPolicy(undefined, 'webauthn'))).ok).to.equal(true);
    const ask = await backend.evaluate(refund(600, 's1'), 1000);
    expect(ask.rule).to.equal('big');
    expect((await backend.recordResult(email)).ok).to.equal(true);
    const result = await backend.approve(ask.approval!.nonce, refund(600, 's1'), 1001);
    expect(result).to.include({ decision: 'Deny', kind: 'invalid_request' });
    expect(result.reason).to.match(
      /given for the Ask of rule 'big', but the call now asks by rule 'tainted' \(a WebAuthn approval\)/,
    );
    await expectNothingSpent();
  });

  it('fault: a verified WebAuthn approval for a call that now asks by another rule — Deny, no budget spent, nothing journaled', async () => {
    const policy = budgetPolicy('webauthn', 'webauthn');
    expect((await backend.load(policy)).ok).to.equal(true);
    const ticket = (await backend.evaluate(refund(600, 's1'), 1000)).approval!;
    expect(ticket.kind).to.equal('webauthn');
    expect((await backend.recordResult(email)).ok).to.equal(true);
    const authenticator = await SoftwareAuthenticator.create(-7);
    const challenge = toBase64Url(
      await approvalChallenge({
        tool: 'process_refund',
        args: { amount: 600 },
        origin: location.origin,
        policyHash: await sha256Hex(policy),
        nonce: ticket.nonce,
        expiresAt: ticket.expiresAt,
      }),
    );
    const claims = { challenge, origin: location.origin };
    const result = await backend.approve(ticket.nonce, refund(600, 's1'), 1001, {
      kind: 'webauthn',
      registration: await authenticator.register(claims),
      assertion: await authenticator.assert(claims),
    });
    expect(result).to.include({ decision: 'Deny', kind: 'invalid_request' });
    expect(result.reason).to.match(
      /given for the Ask of rule 'big' \(a WebAuthn approval\), but the call now asks by rule 'tainted' \(a WebAuthn approval\)/,
    );
    await expectNothingSpent();
  });

  it('the same Ask approved spends once, in the worker and in the journal', async () => {
    expect((await backend.load(budgetPolicy())).ok).to.equal(true);
    const ask = await backend.evaluate(refund(600), 1000);
    const approved = await backend.approve(ask.approval!.nonce, refund(600), 1001);
    expect(approved.decision, approved.reason).to.equal('Allow');
    expect(backend.countedCalls().map((c) => c.spent)).to.deep.equal([600]);
    const next = await backend.evaluate(refund(500), 1002);
    expect(next.kind).to.equal('budget_exceeded');
  });

  it("an approval of a call that a remembered approval now covers: the person's approval, spent once (as inline)", async () => {
    const policy = JSON.parse(budgetPolicy());
    policy.rules = policy.rules.filter((rule: { id?: string }) => rule.id !== 'tainted');
    policy.rules.find((rule: { id?: string }) => rule.id === 'big').remember = {
      seconds: 600,
      same: [],
    };
    policy.rules.find((rule: { id?: string }) => rule.id === 'refunds').budget.max = 2000;
    expect((await backend.load(JSON.stringify(policy))).ok).to.equal(true);
    const first = await backend.evaluate(refund(600), 1000);
    const second = await backend.evaluate(refund(700), 1000);
    expect((await backend.approve(first.approval!.nonce, refund(600), 1001)).decision).to.equal(
      'Allow',
    );
    const result = await backend.approve(second.approval!.nonce, refund(700), 1002);
    expect(result.decision).to.equal('Allow');
    expect(result.reason).to.match(/; approved by a person$/);
    expect(backend.countedCalls().map((c) => c.spent)).to.deep.equal([600, 700]);
  });
});
