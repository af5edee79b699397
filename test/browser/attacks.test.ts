// Red-team attacks that need the worker engine: each test is named after the attack it injects.
import { expect } from 'chai';
import { Perso } from '../../src/perso/perso.ts';
import type { ToolCall } from '../../src/call/decision.ts';
import type { Policy } from '../../src/policy/policy.ts';

const policy = {
  version: 'attack-worker-1',
  default_action: 'Deny',
  tools: ['pay'],
  roles: ['r'],
  rules: [
    { tool_name: 'pay', roles: ['r'], rate_limit: { max: 2, per_seconds: 3600 } },
    {
      tool_name: 'pay',
      roles: ['r'],
      effect: 'Ask',
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 100 } },
    },
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
      expect(outcomes).to.deep.equal([
        'Allow:ask_by_rule',
        'Allow:ask_by_rule',
        'Deny:rate_limited',
      ]);
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
        {
          tool_name: 'send',
          roles: ['r'],
          effect: 'Deny',
          condition: { Equals: { source: 'Arguments', field: 'to', value: 'attacker@evil.test' } },
        },
      ],
    } as unknown as Policy;
    const perso = await Perso.load({ policy: denyTo, engine: 'worker' });
    try {
      const d = await perso.evaluate({
        tool: 'send',
        role: 'r',
        args: { to: new String('attacker@evil.test') as unknown as string },
      });
      expect(d.decision).to.equal('Deny');
    } finally {
      await perso.close();
    }
  });
});

describe('attack: a worker restart resets rate limits, and the model can cause one (issue 15, finding 4)', () => {
  const FAULT_URL = new URL('./fixtures/fault-injection.worker.ts', import.meta.url);
  const hourly = {
    version: 'attack-worker-3',
    default_action: 'Deny',
    tools: ['pay', 'view'],
    roles: ['r'],
    rules: [
      { tool_name: 'pay', roles: ['r'], rate_limit: { max: 3, per_seconds: 3600 } },
      { tool_name: 'view', roles: ['r'] },
    ],
  } as unknown as Policy;
  const payWith = (args: Record<string, unknown>, fault?: string): ToolCall =>
    ({
      tool: 'pay',
      role: 'r',
      args,
      ...(fault === undefined ? {} : { agentAttributes: { perso_fault: fault } }),
    }) as ToolCall;

  // The page's Worker constructor, watched: every worker Perso starts is kept (to kill it, and to
  // count restarts); with `script`, each starts that script instead (the real evaluator behind
  // the test-only fault hooks of fixtures/fault-hooks.ts).
  let restoreWorker: (() => void) | null = null;
  afterEach(() => {
    restoreWorker?.();
    restoreWorker = null;
  });
  function watchWorkers(script?: URL): Worker[] {
    const RealWorker = globalThis.Worker;
    const started: Worker[] = [];
    globalThis.Worker = class extends RealWorker {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(script ?? url, options);
        started.push(this);
      }
    };
    restoreWorker = () => {
      globalThis.Worker = RealWorker;
    };
    return started;
  }
  const outcome = (d: { decision: string; kind: string }) => `${d.decision}:${d.kind}`;

  it('worker killed mid-window (terminated; the next call times out): "3 per hour" stays 3', async () => {
    const workers = watchWorkers();
    let now = 1000;
    const perso = await Perso.load({
      policy: hourly,
      engine: 'worker',
      timeoutMs: 200,
      clock: () => now++,
    });
    try {
      for (let i = 0; i < 3; i++)
        expect(outcome(await perso.evaluate(payWith({ amount: 1 })))).to.equal(
          'Allow:no_condition',
        );
      workers[0]!.terminate();
      const killed = await perso.evaluate(payWith({ amount: 1 }));
      expect(killed.kind).to.equal('engine_fault');
      expect(killed.reason).to.match(/did not answer within 200 ms/);
      const fourth = await perso.evaluate(payWith({ amount: 1 }));
      expect(outcome(fourth)).to.equal('Deny:rate_limited');
      expect(fourth.retryAfter).to.be.within(3590, 3600);
      expect(workers).to.have.length(2);
    } finally {
      await perso.close();
    }
  });

  it('a call that hangs the worker past its timeout mid-window: "3 per hour" stays 3', async () => {
    const workers = watchWorkers(FAULT_URL);
    const perso = await Perso.load({
      policy: hourly,
      engine: 'worker',
      timeoutMs: 200,
      clock: () => 1000,
    });
    try {
      const before = [
        await perso.evaluate(payWith({ amount: 1 })),
        await perso.evaluate(payWith({ amount: 2 })),
      ];
      const hung = await perso.evaluate(payWith({ amount: 3 }, 'stall'));
      const after = [
        await perso.evaluate(payWith({ amount: 4 })),
        await perso.evaluate(payWith({ amount: 5 })),
      ];
      expect([...before, hung, ...after].map(outcome)).to.deep.equal([
        'Allow:no_condition',
        'Allow:no_condition',
        'Deny:engine_fault',
        'Allow:no_condition',
        'Deny:rate_limited',
      ]);
      expect(workers).to.have.length(2);
    } finally {
      await perso.close();
    }
  });

  it('a 20 MB argument is refused before it is sent: no restart, nothing forgotten, nothing counted', async () => {
    const workers = watchWorkers();
    const perso = await Perso.load({
      policy: hourly,
      engine: 'worker',
      timeoutMs: 200,
      clock: () => 1000,
    });
    try {
      const first = [
        await perso.evaluate(payWith({ amount: 1 })),
        await perso.evaluate(payWith({ amount: 2 })),
      ];
      const huge = await perso.evaluate(payWith({ note: 'x'.repeat(20 * 2 ** 20) }));
      expect(outcome(huge)).to.equal('Deny:invalid_request');
      expect(huge.reason).to.equal(
        'invalid request: args: 20971531 characters of JSON, more than the 1048576 one call may carry; send smaller args (large content by reference, such as an id or a URL)',
      );
      // A million small objects (21 MB of JSON) timed out the worker before the bound: refused too.
      const many = await perso.evaluate(
        payWith({ rows: Array.from({ length: 1_000_000 }, (_, i) => ({ i, n: 'ab' })) }),
      );
      expect(many.reason).to.match(
        /^invalid request: args: 21888900 characters of JSON, more than the 1048576/,
      );
      const after = [
        await perso.evaluate(payWith({ amount: 3 })),
        await perso.evaluate(payWith({ amount: 4 })),
      ];
      expect([...first, ...after].map(outcome)).to.deep.equal([
        'Allow:no_condition',
        'Allow:no_condition',
        'Allow:no_condition',
        'Deny:rate_limited',
      ]);
      expect(workers).to.have.length(1, 'the worker was never replaced');
    } finally {
      await perso.close();
    }
  });

  it('args nested 2,000 deep (the worker could not read them and timed out) are refused before they are sent, in a call and in a batch', async () => {
    const workers = watchWorkers();
    const perso = await Perso.load({
      policy: hourly,
      engine: 'worker',
      timeoutMs: 200,
      clock: () => 1000,
    });
    try {
      let deep: unknown = 0;
      for (let i = 0; i < 2000; i++) deep = [deep];
      const refused = await perso.evaluate(payWith({ deep }));
      expect(outcome(refused)).to.equal('Deny:invalid_request');
      expect(refused.reason).to.equal(
        'invalid request: args: nested 2001 deep, more than the 64 one call may carry; flatten the args',
      );
      const batch = await perso.evaluateBatch([
        payWith({ amount: 1 }),
        payWith({ deep }),
        payWith({ note: 'y'.repeat(2 ** 20) }),
        payWith({ amount: 2 }),
      ]);
      expect(batch.map(outcome)).to.deep.equal([
        'Allow:no_condition',
        'Deny:invalid_request',
        'Deny:invalid_request',
        'Allow:no_condition',
      ]);
      expect(outcome(await perso.evaluate(payWith({ amount: 3 })))).to.equal('Allow:no_condition');
      expect(outcome(await perso.evaluate(payWith({ amount: 4 })))).to.equal('Deny:rate_limited');
      expect(workers).to.have.length(1);
    } finally {
      await perso.close();
    }
  });
});
