// Red-team attacks that need the worker engine: each test is named after the attack it injects.
import { expect } from 'chai';
import { Perso } from '../../src/perso.ts';
import type { ToolCall } from '../../src/decision.ts';
import type { Policy } from '../../src/policy.ts';

const policy = {
  version: 'attack-worker-1',
  default_action: 'Deny',
  tools: ['pay'],
  roles: ['r'],
  rules: [
    { tool_name: 'pay', roles: ['r'], rate_limit: { max: 2, per_seconds: 3600 } },
    { tool_name: 'pay', roles: ['r'], effect: 'Ask', condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 100 } } },
  ],
} as unknown as Policy;
const pay = (amount: number): ToolCall => ({ tool: 'pay', role: 'r', args: { amount } });

describe('attack: approvals past the rate limit, in the worker engine', () => {
  it('approved Asks spend the budget: the third approved call is rate limited', async () => {
    const perso = await Perso.load({ policy, engine: 'worker', clock: () => 1000 });
    try {
      const outcomes: string[] = [];
      for (let i = 0; i < 3; i++) {
        const asked = await perso.evaluate(pay(500));
        if (asked.decision !== 'Ask' || asked.approval === undefined) {
          outcomes.push(`${asked.decision}:${asked.kind}`);
          continue;
        }
        const lifted = await perso.approve(asked.approval.nonce, pay(500));
        outcomes.push(`${lifted.decision}:${lifted.kind}`);
      }
      expect(outcomes).to.deep.equal(['Allow:ask_by_rule', 'Allow:ask_by_rule', 'Deny:rate_limited']);
    } finally {
      await perso.close();
    }
  });

  it('a boxed string in the args slips past no Deny rule (the worker gets the canonical copy)', async () => {
    const denyTo = {
      version: 'attack-worker-2',
      default_action: 'Deny',
      tools: ['send'],
      roles: ['r'],
      rules: [
        { tool_name: 'send', roles: ['r'] },
        { tool_name: 'send', roles: ['r'], effect: 'Deny', condition: { Equals: { source: 'Arguments', field: 'to', value: 'attacker@evil.test' } } },
      ],
    } as unknown as Policy;
    const perso = await Perso.load({ policy: denyTo, engine: 'worker' });
    try {
      const d = await perso.evaluate({ tool: 'send', role: 'r', args: { to: new String('attacker@evil.test') as unknown as string } });
      expect(d.decision).to.equal('Deny');
    } finally {
      await perso.close();
    }
  });
});
