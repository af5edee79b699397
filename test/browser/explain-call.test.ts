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
