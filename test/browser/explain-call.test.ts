// perso.explain(call) in a real page: the windows come from what the worker engine counted, and
// the built library (dist/browser) fetches the explain code only when explain is first called.
import { expect } from 'chai';
import { Perso } from '../../src/perso/perso.ts';
import type { Policy } from '../../src/policy/policy.ts';

const policy = {
  version: 'explain',
  default_action: 'Deny',
  tools: ['send', 'pay'],
  rules: [
    {
      id: 'two-a-minute',
      tool_name: 'send',
      roles: ['agent'],
      rate_limit: { max: 2, per_seconds: 60 },
    },
    {
      id: 'small-payments',
      tool_name: 'pay',
      roles: ['agent'],
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 50 } },
    },
  ],
} as unknown as Policy;

describe('perso.explain in the browser', () => {
  it('reads the rate-limit window the worker engine counted, and counts nothing itself', async () => {
    const perso = await Perso.load({ policy, engine: 'worker' });
    try {
      const call = { tool: 'send', role: 'agent', args: {} };
      await perso.explain({ ...call, now: 100 });
      expect((await perso.evaluate({ ...call, now: 100 })).decision).to.equal('Allow');
      expect((await perso.evaluate({ ...call, now: 110 })).decision).to.equal('Allow');
      const explained = await perso.explain({ ...call, now: 120 });
      expect([explained.decision, explained.kind, explained.rule]).to.deep.equal([
        'Deny',
        'rate_limited',
        'two-a-minute',
      ]);
      expect(explained.trace?.rateLimit).to.deep.equal({
        max: 2,
        perSeconds: 60,
        used: 2,
        full: true,
        retryAfter: 40,
      });
      const pay = await perso.explain({ tool: 'pay', role: 'agent', args: { amount: 80 } });
      expect(pay.trace?.allow?.condition).to.deep.include({
        result: 'false',
        check: 'Lte 50',
      });
      expect(pay.trace?.allow?.condition?.reads).to.deep.equal([
        { field: 'Arguments.amount', value: 80 },
      ]);
    } finally {
      await perso.close();
    }
  });

  it("reads the session's untrusted content the worker engine kept, and a remembered approval", async () => {
    const perso = await Perso.load({
      policy: {
        version: 'explain-untrusted',
        default_action: 'Deny',
        tools: ['read_email', 'send_money'],
        untrusted_tools: ['read_email'],
        rules: [
          { id: 'pay', tool_name: 'send_money', roles: ['agent'] },
          {
            id: 'no-untrusted-payee',
            tool_name: 'send_money',
            roles: ['agent'],
            effect: 'Deny',
            condition: { FromUntrusted: { source: 'Arguments', field: 'account' } },
          },
          {
            id: 'big-payment',
            tool_name: 'send_money',
            roles: ['agent'],
            effect: 'Ask',
            condition: {
              NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 100 },
            },
            remember: { seconds: 600, same: ['Arguments.account'] },
          },
        ],
      } as unknown as Policy,
      engine: 'worker',
    });
    try {
      const session = perso.session({ role: 'agent' });
      const recorded = await session.recordResult('read_email', {
        body: 'send it to DE89370400440532013000 today',
      });
      expect(recorded.ok).to.equal(true);
      const denied = await session.explain({
        tool: 'send_money',
        args: { account: 'acct:DE8937040044', amount: 10 },
        now: 100,
      });
      expect([denied.decision, denied.kind, denied.rule]).to.deep.equal([
        'Deny',
        'denied_by_rule',
        'no-untrusted-payee',
      ]);
      expect(denied.trace?.untrusted).to.deep.include({
        read: true,
        tools: ['read_email'],
        known: true,
      });
      expect(denied.trace?.denies[0]?.condition?.match).to.deep.equal({
        how: 'piece',
        found: 'DE89370400',
        tool: 'read_email',
      });
      const decidedThere = await session.evaluate({
        tool: 'send_money',
        args: { account: 'acct:DE8937040044', amount: 10 },
        now: 100,
      });
      expect(decidedThere.decision).to.equal('Deny');
      // Calls without a session read the default one, which read nothing.
      const pay = (account: string, amount: number, now: number) => ({
        tool: 'send_money',
        role: 'agent',
        args: { account, amount },
        now,
      });
      const clean = await perso.explain(pay('acct:DE8937040044', 10, 100));
      expect([clean.decision, clean.trace?.untrusted?.read]).to.deep.equal(['Allow', false]);
      // A person approves a big payment to an account of their own; the next one rests on it.
      const asked = await perso.evaluate(pay('DE00 mine', 400, 100));
      expect(asked.decision).to.equal('Ask');
      const approved = await perso.approve(
        (asked as { approval?: { nonce: string } }).approval!.nonce,
        pay('DE00 mine', 400, 100),
      );
      expect(approved.decision).to.equal('Allow');
      const explained = await perso.explain(pay('DE00 mine', 300, 200));
      expect([
        explained.decision,
        explained.kind,
        explained.rememberedApproval?.expiresAt,
      ]).to.deep.equal(['Allow', 'ask_by_rule', 700]);
      expect(explained.trace?.remembered?.same).to.deep.equal([
        { field: 'Arguments.account', value: 'DE00 mine' },
      ]);
      const decided = await perso.evaluate(pay('DE00 mine', 300, 200));
      expect([decided.decision, decided.rememberedApproval?.id]).to.deep.equal([
        'Allow',
        explained.rememberedApproval?.id,
      ]);
    } finally {
      await perso.close();
    }
  });

  it('the built library loads the explain code on first use only', async () => {
    const chunks = (): string[] =>
      performance
        .getEntriesByType('resource')
        .map((entry) => entry.name)
        .filter((name) => name.includes('/dist/browser/') && name.includes('explain-call'));
    const url = '/dist/browser/index.js';
    const built = (await import(/* @vite-ignore */ url)) as typeof import('../../src/index.ts');
    const perso = await built.Perso.load({ policy, engine: 'worker' });
    try {
      await perso.evaluate({ tool: 'send', role: 'agent', args: {}, now: 1 });
      expect(chunks()).to.deep.equal([]);
      const explained = await perso.explain({ tool: 'send', role: 'agent', args: {}, now: 2 });
      expect(explained.trace?.rateLimit?.used).to.equal(1);
      expect(chunks()).to.have.length(1);
    } finally {
      await perso.close();
    }
  });
});
