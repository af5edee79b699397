import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { APPROVED_SUFFIX, ApprovalLedger, approved } from '../src/backend/approval-ledger.ts';
import type { ApprovableVerdict } from '../src/backend/approval-ledger.ts';
import type { ToolCall } from '../src/call/decision.ts';
import { APPROVED_CALL } from '../src/engine/approved-call.ts';
import { InlineBackend } from '../src/backend/inline-backend.ts';
import { Perso } from '../src/perso/perso.ts';
import type { Policy } from '../src/policy/policy.ts';

const call: ToolCall = { tool: 'delete_customer', role: 'agent', args: { id: 7, reason: 'dup' } };
const ask: ApprovableVerdict = {
  decision: 'Ask',
  kind: 'ask_by_rule',
  reason:
    "rule matched tool 'delete_customer' for role 'agent'; approval required by rule 'confirm'",
  rule: 'confirm',
};

function ledgerAt(start = 1_000_000) {
  const time = { now: start };
  return { time, ledger: new ApprovalLedger({ ttlMs: 60_000, clock: () => time.now }) };
}

describe('ApprovalLedger', async () => {
  it('turns an Ask into Allow for the exact call, keeping the reason', async () => {
    const { ledger } = ledgerAt();
    const ticket = ledger.offer(call, 'click', 'confirm');
    assert.ok(ticket);
    assert.match(ticket.nonce, /^[0-9a-f]{32}$/);
    const result = await ledger.approve(ticket.nonce, call, () => ask);
    assert.equal(result.decision, 'Allow');
    assert.equal(result.reason, ask.reason + APPROVED_SUFFIX);
    assert.equal(result.rule, 'confirm');
  });

  it('binds canonical args: key order does not matter, values do', async () => {
    const { ledger } = ledgerAt();
    const reordered = { ...call, args: { reason: 'dup', id: 7 } };
    const first = ledger.offer(call);
    assert.ok(first);
    assert.equal(ledger.redeem(first.nonce, reordered).ok, true);
    const second = ledger.offer(call);
    assert.ok(second);
    const check = ledger.redeem(second.nonce, { ...call, args: { id: 8, reason: 'dup' } });
    assert.equal(check.ok, false);
    assert.match(
      check.ok ? '' : check.reason,
      /different call to 'delete_customer'; ask the person again/,
    );
  });

  it('fault: approval replayed — a ticket is single use', async () => {
    const { ledger } = ledgerAt();
    const ticket = ledger.offer(call, 'click', 'confirm');
    assert.ok(ticket);
    assert.equal((await ledger.approve(ticket.nonce, call, () => ask)).decision, 'Allow');
    const replay = await ledger.approve(ticket.nonce, call, () => ask);
    assert.equal(replay.decision, 'Deny');
    assert.equal(replay.kind, 'invalid_request');
    assert.match(replay.reason, /unknown or already used/);
  });

  it('fault: approval expired — denied after the ttl', async () => {
    const { time, ledger } = ledgerAt();
    const ticket = ledger.offer(call);
    assert.ok(ticket);
    assert.equal(ticket.expiresAt, time.now + 60_000);
    time.now += 60_000;
    const result = await ledger.approve(ticket.nonce, call, () => ask);
    assert.equal(result.decision, 'Deny');
    assert.match(result.reason, /expired after 60 s/);
  });

  it('fault: approval for another principal — the role is part of the binding', async () => {
    const { ledger } = ledgerAt();
    const ticket = ledger.offer(call);
    assert.ok(ticket);
    assert.equal(ledger.redeem(ticket.nonce, { ...call, role: 'admin' }).ok, false);
  });

  it('fault: forged nonce — the main thread cannot mint an approval', async () => {
    const { ledger } = ledgerAt();
    ledger.offer(call);
    const forged = await ledger.approve('0'.repeat(32), call, () => ask);
    assert.equal(forged.decision, 'Deny');
    assert.equal(
      (await ledger.approve(undefined as unknown as string, call, () => ask)).decision,
      'Deny',
    );
  });

  it('fault: policy now denies — approval never lifts a Deny', async () => {
    const { ledger } = ledgerAt();
    const ticket = ledger.offer(call);
    assert.ok(ticket);
    const deny: ApprovableVerdict = {
      decision: 'Deny',
      kind: 'denied_by_rule',
      reason: 'denied by rule',
    };
    assert.equal(await ledger.approve(ticket.nonce, call, () => deny), deny);
  });

  it('fault: args not plain JSON — no ticket is offered', async () => {
    const { ledger } = ledgerAt();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(ledger.offer({ ...call, args: cyclic }), null);
    assert.equal(ledger.offer({ ...call, args: { when: new Date(0) } }), null);
    assert.equal(ledger.attach({ ...call, args: cyclic }, ask).approval, undefined);
  });

  it('attaches tickets to Ask verdicts only', async () => {
    const { ledger } = ledgerAt();
    assert.ok(ledger.attach(call, ask).approval);
    const allow: ApprovableVerdict = { decision: 'Allow', kind: 'no_condition', reason: 'ok' };
    assert.equal(ledger.attach(call, allow), allow);
  });

  it('keeps at most capacity tickets, dropping the oldest', async () => {
    const ledger = new ApprovalLedger({ capacity: 2 });
    const first = ledger.offer(call);
    ledger.offer(call);
    ledger.offer(call);
    assert.equal(ledger.size, 2);
    assert.ok(first);
    assert.equal(ledger.redeem(first.nonce, call).ok, false);
  });
});

describe('approved', async () => {
  it('lifts only Ask', async () => {
    assert.equal(approved(ask).decision, 'Allow');
    const deny: ApprovableVerdict = { decision: 'Deny', kind: 'no_rule', reason: 'x' };
    assert.equal(approved(deny), deny);
  });
});

describe('ApprovalLedger with a deciding backend that offers tickets itself', async () => {
  it('voids the ticket the re-decision offered and returns a plain Allow', async () => {
    const ledger = new ApprovalLedger();
    const ticket = ledger.offer(call, 'click', 'confirm');
    assert.ok(ticket);
    const result = await ledger.approve(ticket.nonce, call, (again) => ledger.attach(again, ask));
    assert.equal(result.decision, 'Allow');
    assert.equal((result as { approval?: unknown }).approval, undefined);
    assert.equal(ledger.size, 0);
  });
});

describe('ApprovalLedger, the Ask a ticket was offered for', () => {
  it('fault: the call re-decided asks by another rule — a Deny naming it, the ticket spent', async () => {
    const { ledger } = ledgerAt();
    const ticket = ledger.attach(call, ask).approval!;
    const other: ApprovableVerdict = { ...ask, rule: 'late', reason: 'asked by late' };
    const result = await ledger.approve(ticket.nonce, call, () => other);
    assert.equal(result.decision, 'Deny');
    assert.match(
      result.reason,
      /^approval "[0-9a-f]+…" was given for the Ask of rule 'confirm', but the call now asks by rule 'late'; the call was not run, ask the person again$/,
    );
    assert.equal(ledger.size, 0);
  });

  it('fault: a click ticket for a call that now needs a WebAuthn approval — a Deny', async () => {
    const { ledger } = ledgerAt();
    const ticket = ledger.attach(call, ask).approval!;
    const strict: ApprovableVerdict = { ...ask, approvalKind: 'webauthn' };
    const result = await ledger.approve(ticket.nonce, call, () => strict);
    assert.equal(result.decision, 'Deny');
    assert.match(
      result.reason,
      /was given for the Ask of rule 'confirm', but the call now asks by rule 'confirm' \(a WebAuthn approval\);/,
    );
  });

  it('fault: the call now asks by another rule — it is never decided as approved (nothing is spent)', async () => {
    const { ledger } = ledgerAt();
    const ticket = ledger.attach(call, ask).approval!;
    const marks: boolean[] = [];
    const result = await ledger.approve(ticket.nonce, call, (again) => {
      marks.push(Object.hasOwn(again, APPROVED_CALL));
      return { ...ask, rule: 'late' };
    });
    assert.equal(result.decision, 'Deny');
    assert.deepEqual(marks, [false], 'decided once, unmarked: an Ask the engine does not count');
  });

  it('the same Ask is decided unmarked, then once as approved', async () => {
    const { ledger } = ledgerAt();
    const ticket = ledger.attach(call, ask).approval!;
    const marks: boolean[] = [];
    const result = await ledger.approve(ticket.nonce, call, (again) => {
      marks.push(Object.hasOwn(again, APPROVED_CALL));
      return ask;
    });
    assert.equal(result.decision, 'Allow');
    assert.deepEqual(marks, [false, true]);
  });

  it('a policy load with other text voids every ticket; the same text keeps them', async () => {
    const { ledger } = ledgerAt();
    ledger.policyLoaded('{"version":"a"}');
    const kept = ledger.attach(call, ask).approval!;
    ledger.policyLoaded('{"version":"a"}');
    assert.equal((await ledger.approve(kept.nonce, call, () => ask)).decision, 'Allow');
    const voided = ledger.attach(call, ask).approval!;
    ledger.policyLoaded('{"version":"b"}');
    const result = await ledger.approve(voided.nonce, call, () => ask);
    assert.equal(result.decision, 'Deny');
    assert.match(result.reason, /unknown or already used/);
  });
});

describe('ApprovalLedger, WebAuthn tickets', () => {
  const webauthnAsk: ApprovableVerdict = { ...ask, approvalKind: 'webauthn' };

  it('a WebAuthn Ask gets a ticket of kind webauthn; a click ticket has no kind', () => {
    const { ledger } = ledgerAt();
    const attached = ledger.attach(call, webauthnAsk);
    assert.equal(attached.approval?.kind, 'webauthn');
    assert.equal(ledger.attach(call, ask).approval?.kind, undefined);
  });

  it('fault: a click alone (no evidence) — a Deny that says a click is not enough, and the ticket is spent', async () => {
    const ledger = new ApprovalLedger({
      origin: 'https://shop.example',
      credentials: null,
      loadWebAuthnCheck: () => import('../src/backend/webauthn-approval.ts'),
    });
    const ticket = ledger.attach(call, webauthnAsk).approval!;
    const click = await ledger.approve(ticket.nonce, call, () => webauthnAsk);
    assert.equal(click.decision, 'Deny');
    assert.match(
      click.reason,
      /needs a verified authenticator \(the policy says "approval": "webauthn"\); a click is not enough/,
    );
    assert.match(
      (await ledger.approve(ticket.nonce, call, () => webauthnAsk)).reason,
      /already used/,
    );
  });

  it('fault: the WebAuthn verifier chunk does not load (altered or missing) — a Deny naming it, the call not run, the ticket spent', async () => {
    const ledger = new ApprovalLedger({
      origin: 'https://shop.example',
      credentials: null,
      loadWebAuthnCheck: () =>
        Promise.reject(
          new Error(
            'the worker\'s chunk ("webauthn-approval-x.js") could not be fetched (HTTP 404)',
          ),
        ),
    });
    const ticket = ledger.attach(call, webauthnAsk).approval!;
    let decided = false;
    const result = await ledger.approve(
      ticket.nonce,
      call,
      () => {
        decided = true;
        return webauthnAsk;
      },
      {
        kind: 'webauthn',
        credentialId: 'AA',
        clientDataJSON: 'AA',
        authenticatorData: 'AA',
        signature: 'AA',
      },
    );
    assert.equal(result.decision, 'Deny');
    assert.match(
      result.reason,
      /needs a verified authenticator, but the verifier did not load \(the worker's chunk \("webauthn-approval-x\.js"\) could not be fetched \(HTTP 404\)\); the call was not run$/,
    );
    assert.equal(decided, false);
    assert.match(
      (await ledger.approve(ticket.nonce, call, () => webauthnAsk)).reason,
      /already used/,
    );
  });

  it('fault: an engine that cannot check WebAuthn (the inline engine) — never releases such a ticket', async () => {
    const { ledger } = ledgerAt();
    const ticket = ledger.attach(call, webauthnAsk).approval!;
    const result = await ledger.approve(ticket.nonce, call, () => webauthnAsk, {
      kind: 'webauthn-failed',
      failure: 'failed',
      detail: '',
    });
    assert.match(result.reason, /which only the worker engine checks/);
  });

  it('fault: no page origin (Node) or no IndexedDB — a Deny that says which', async () => {
    const assertion = {
      credentialId: 'AA',
      clientDataJSON: 'AA',
      authenticatorData: 'AA',
      signature: 'AA',
    };
    const noOrigin = new ApprovalLedger({
      credentials: null,
      loadWebAuthnCheck: () => import('../src/backend/webauthn-approval.ts'),
    });
    const first = noOrigin.attach(call, webauthnAsk).approval!;
    assert.match(
      (
        await noOrigin.approve(first.nonce, call, () => webauthnAsk, {
          kind: 'webauthn',
          assertion,
        })
      ).reason,
      /needs a page origin/,
    );
    const noStore = new ApprovalLedger({
      origin: 'https://shop.example',
      credentials: null,
      loadWebAuthnCheck: () => import('../src/backend/webauthn-approval.ts'),
    });
    const second = noStore.attach(call, webauthnAsk).approval!;
    assert.match(
      (
        await noStore.approve(second.nonce, call, () => webauthnAsk, {
          kind: 'webauthn',
          assertion,
        })
      ).reason,
      /no authenticator registry here/,
    );
  });
});

// The teammate's repro, on the real engine: an Ask by 'big' (refund > 500) is approved after the
// session read untrusted content, when the same call asks by 'tainted' instead. The approval is
// refused, and the refund rules' budget (sum of amount, max 1000) must not have spent the 600.
const budgetPolicy: Policy = {
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
    // First: of two Ask rules that hold, the call asks by the first.
    {
      id: 'tainted',
      tool_name: 'process_refund',
      roles: ['agent'],
      effect: 'Ask',
      condition: { SessionUntrusted: true },
    },
    {
      id: 'big',
      tool_name: 'process_refund',
      roles: ['agent'],
      effect: 'Ask',
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 500 } },
    },
  ],
};
const refund = (amount: number, session?: string): ToolCall => ({
  tool: 'process_refund',
  role: 'agent',
  args: { amount },
  ...(session === undefined ? {} : { session }),
});
const email = { tool: 'read_email', role: 'agent', session: 's1', result: { body: 'hi' } };

describe('a refused approval spends nothing (the real engine)', () => {
  it('fault: the session read untrusted content after the Ask — Perso (inline): Deny, no budget spent, the next refund of 500 allowed', async () => {
    const perso = await Perso.load({ policy: budgetPolicy, clock: () => 1000 });
    const asked = await perso.evaluate(refund(600, 's1'));
    assert.equal(asked.rule, 'big');
    const nonce = asked.approval?.nonce;
    assert.ok(nonce);
    assert.equal((await perso.recordResult(email)).ok, true);
    const result = await perso.approve(nonce, refund(600, 's1'));
    assert.equal(result.decision, 'Deny');
    assert.equal(result.kind, 'invalid_request');
    assert.match(
      result.reason,
      /given for the Ask of rule 'big', but the call now asks by rule 'tainted'/,
    );
    assert.deepEqual((await perso.state())?.budgets ?? [], []);
    const next = await perso.evaluate(refund(500));
    assert.equal(next.decision, 'Allow', next.reason);
    assert.deepEqual(
      (await perso.state())?.budgets?.map((b) => [b.rule, b.calls, b.used]),
      [['refunds', 1, 500]],
    );
  });

  it('fault: the same, on the inline backend — no counted call journaled; an approval that holds journals exactly one', async () => {
    const backend = await InlineBackend.create();
    assert.equal(backend.loadNow(JSON.stringify(budgetPolicy)).ok, true);
    const asked = backend.evaluateNow(refund(600, 's1'), 1000);
    const nonce = (asked as { approval?: { nonce: string } }).approval?.nonce;
    assert.ok(nonce);
    assert.equal((await backend.recordResult(email)).ok, true);
    const refusedOne = await backend.approve(nonce, refund(600, 's1'), 1001);
    assert.equal(refusedOne.decision, 'Deny');
    assert.deepEqual(backend.countedCalls(), []);
    const again = backend.evaluateNow(refund(600), 1002);
    const kept = (again as { approval?: { nonce: string } }).approval?.nonce;
    assert.ok(kept);
    const lifted = await backend.approve(kept, refund(600), 1003);
    assert.equal(lifted.decision, 'Allow', lifted.reason);
    assert.deepEqual(
      backend.countedCalls().map((c) => [c.tool, c.spent]),
      [['process_refund', 600]],
    );
  });

  it("an approval of a call that a remembered approval now covers: the person's approval, spent once (as in the worker)", async () => {
    const remembering: Policy = {
      ...budgetPolicy,
      // Without 'tainted': a rule is remembered only when it is the only Ask rule for the call.
      rules: budgetPolicy.rules.flatMap((rule) =>
        rule.id === 'tainted'
          ? []
          : rule.id === 'big'
            ? [{ ...rule, remember: { seconds: 600, same: [] } }]
            : rule.id === 'refunds'
              ? [{ ...rule, budget: { sum: 'Arguments.amount', max: 2000, per_seconds: 86400 } }]
              : [rule],
      ),
    };
    const perso = await Perso.load({ policy: remembering, clock: () => 1000 });
    const first = await perso.evaluate(refund(600));
    const second = await perso.evaluate(refund(700));
    assert.equal((await perso.approve(first.approval!.nonce, refund(600))).decision, 'Allow');
    const result = await perso.approve(second.approval!.nonce, refund(700));
    assert.equal(result.decision, 'Allow');
    assert.ok(result.reason.endsWith(APPROVED_SUFFIX), result.reason);
    assert.equal(result.rememberedApproval, undefined);
    assert.deepEqual(
      (await perso.state())?.budgets?.map((b) => [b.calls, b.used]),
      [[2, 1300]],
    );
  });
});
