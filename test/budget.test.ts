// Budgets on Allow rules (engine/assembly/budget.ts, through Engine and the raw ABI): the sum of a
// field or the count of its distinct values over the calls the rule allowed in a window of the
// host's time, per principal with `per`; unknown fields never allow; the state survives a restart.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { APPROVED_CALL } from '../src/engine/approved-call.ts';
import type { CountedCall } from '../src/engine/counted-calls.ts';
import { CountedCallJournal } from '../src/backend/counted-call-journal.ts';
import { ReferenceEngine } from '../src/reference/reference-engine.ts';
import type { ToolCall } from '../src/call/decision.ts';
import type { Verdict } from '../src/engine/types.ts';

const module = await loadEngineModule();
const DAY = 86400;

const policy = JSON.stringify({
  version: 'budget-1',
  default_action: 'Deny',
  tools: ['refund', 'send', 'pay'],
  roles: ['agent'],
  rules: [
    {
      id: 'refunds',
      tool_name: 'refund',
      roles: ['agent'],
      budget: { sum: 'Arguments.amount', max: 1000, per_seconds: DAY },
    },
    {
      id: 'recipients',
      tool_name: 'send',
      roles: ['agent'],
      budget: {
        distinct: 'Arguments.to',
        max: 2,
        per_seconds: 3600,
        per: 'AgentAttributes.user_id',
      },
    },
    {
      id: 'payments',
      tool_name: 'pay',
      roles: ['agent'],
      rate_limit: { max: 4, per_seconds: 60 },
      budget: { sum: 'Arguments.amount', max: 100, per_seconds: 60 },
    },
    {
      id: 'big-payments-ask',
      tool_name: 'pay',
      roles: ['agent'],
      effect: 'Ask',
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 50 } },
    },
  ],
});

const refund = (amount: unknown, now: number): ToolCall =>
  ({ tool: 'refund', role: 'agent', args: { amount }, now }) as ToolCall;
const send = (to: unknown, user: unknown, now: number): ToolCall =>
  ({
    tool: 'send',
    role: 'agent',
    args: { to },
    agentAttributes: user === undefined ? {} : { user_id: user },
    now,
  }) as ToolCall;
const pay = (amount: number, now: number, approved = false): ToolCall =>
  ({
    tool: 'pay',
    role: 'agent',
    args: { amount },
    now,
    ...(approved ? { [APPROVED_CALL]: true } : {}),
  }) as ToolCall;
const shown = (v: Verdict): string =>
  `${v.decision}:${v.kind}${v.retryAfter === undefined ? '' : `:${v.retryAfter}`}`;

async function engineWith(text = policy): Promise<{ engine: Engine; counted: CountedCall[] }> {
  const engine = await Engine.create(module);
  const load = engine.load(text);
  assert.equal(load.ok, true, JSON.stringify(load));
  const counted: CountedCall[] = [];
  engine.countCalls((call) => counted.push(call));
  return { engine, counted };
}

function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('a sum budget', () => {
  test('five $400 refunds in a row stop at $1,000 with a reason that says what is used and when it frees up', async () => {
    const { engine } = await engineWith();
    const answers = [0, 1, 2, 3, 4].map((i) => engine.evaluate(refund(400, 1000 + i * 3600), 0));
    assert.deepEqual(
      answers.map((v) => v.decision),
      ['Allow', 'Allow', 'Deny', 'Deny', 'Deny'],
    );
    const third = answers[2]!;
    assert.equal(third.kind, 'budget_exceeded');
    assert.equal(third.rule, 'refunds');
    assert.equal(
      third.reason,
      "rule matched tool 'refund' for role 'agent'; budget of rule 'refunds' reached: 800 of 1000 (the sum of Arguments.amount) used in the last 86400 s, and this call adds 400; 400 frees up in 79200 s",
    );
    assert.equal(third.retryAfter, 79200);
    assert.equal(
      engine.evaluate(refund(200, 1000 + 4 * 3600), 0).decision,
      'Allow',
      'what still fits is allowed',
    );
    assert.equal(
      engine.evaluate(refund(400, 1000 + DAY), 0).decision,
      'Allow',
      'the first refund left the window',
    );
  });

  test('a call larger than the whole budget never fits, and says so without a retry time', async () => {
    const { engine } = await engineWith();
    const v = engine.evaluate(refund(1001, 5), 0);
    assert.equal(v.kind, 'budget_exceeded');
    assert.equal(v.retryAfter, undefined);
    assert.match(v.reason, /this call adds 1001, more than the whole budget$/);
    // An amount too large to round to 10 decimals (x * 1e10 is not finite) is shown as JSON writes it.
    const huge = engine.evaluate(refund(1e300, 5), 0);
    assert.match(huge.reason, /this call adds 1e\+300, more than the whole budget$/);
  });

  test('missing, mistyped or negative amounts and a missing time are unknown: the rule does not allow', async () => {
    const { engine } = await engineWith();
    const cases: [ToolCall, RegExp][] = [
      [
        { tool: 'refund', role: 'agent', args: {}, now: 1 } as ToolCall,
        /Arguments\.amount is missing; pass a number of 0 or more$/,
      ],
      [refund('400', 1), /Arguments\.amount is not a number; pass a number of 0 or more$/],
      [refund(null, 1), /Arguments\.amount is missing/],
      [refund(-400, 1), /Arguments\.amount is negative; pass a number of 0 or more$/],
      [
        { tool: 'refund', role: 'agent', args: { amount: 1 } } as ToolCall,
        /the host must pass "now" in seconds/,
      ],
    ];
    for (const [call, reason] of cases) {
      const v = engine.evaluate(call, Number.NaN);
      assert.equal(`${v.decision}:${v.kind}`, 'Deny:budget_unknown', JSON.stringify(call));
      assert.match(v.reason, reason);
    }
    assert.equal(
      engine.evaluate(refund(1000, 2), 0).decision,
      'Allow',
      'none of them spent anything',
    );
  });

  test('only what the rule allowed counts: an unapproved Ask and a rate-limited call spend nothing, an approved Ask does', async () => {
    const { engine, counted } = await engineWith();
    assert.equal(engine.evaluate(pay(60, 1), 0).decision, 'Ask');
    assert.equal(
      engine.evaluate(pay(60, 2, true), 0).decision,
      'Ask',
      'approved: the backend lifts it to Allow',
    );
    assert.equal(engine.evaluate(pay(60, 3, true), 0).kind, 'budget_exceeded', '60 + 60 > 100');
    assert.equal(engine.evaluate(pay(40, 4), 0).decision, 'Allow');
    assert.equal(engine.evaluate(pay(0, 5), 0).decision, 'Allow');
    assert.equal(engine.evaluate(pay(0, 6), 0).decision, 'Allow');
    assert.equal(engine.evaluate(pay(0, 7), 0).kind, 'rate_limited', 'four calls per minute');
    assert.deepEqual(
      counted.map((c) => `${c.at}:${String(c.spent)}`),
      ['2:60', '4:40', '5:0', '6:0'],
    );
  });

  test('the raw ABI and the fast path keep the same budget (one state per instance)', async () => {
    const { engine } = await engineWith();
    assert.equal(
      JSON.parse(engine.evaluateAbi('refund', '{"amount":700}', '{"role":"agent","now":10}'))
        .decision,
      'Allow',
    );
    const v = engine.evaluate(refund(400, 11), 0);
    assert.equal(v.kind, 'budget_exceeded');
    const abi = JSON.parse(
      engine.evaluateAbi('refund', '{"amount":400}', '{"role":"agent","now":11}'),
    );
    assert.deepEqual(abi, { ...v });
  });
});

describe('a distinct budget per principal', () => {
  test('at most 2 recipients per user per hour; a repeated recipient is free; users do not share', async () => {
    const { engine } = await engineWith();
    assert.equal(engine.evaluate(send('a@x', 'u1', 10), 0).decision, 'Allow');
    assert.equal(engine.evaluate(send('b@x', 'u1', 20), 0).decision, 'Allow');
    assert.equal(engine.evaluate(send('a@x', 'u1', 30), 0).decision, 'Allow', 'not a new value');
    const third = engine.evaluate(send('c@x', 'u1', 40), 0);
    assert.equal(
      third.reason,
      "rule matched tool 'send' for role 'agent'; budget of rule 'recipients' reached: 2 of 2 distinct values of Arguments.to used in the last 3600 s for AgentAttributes.user_id = \"u1\", and this call adds a new one; one frees up in 3580 s",
    );
    assert.equal(
      third.retryAfter,
      3580,
      'b@x (last sent at 20) leaves first; a@x was sent again at 30',
    );
    assert.equal(
      engine.evaluate(send('c@x', 'u2', 40), 0).decision,
      'Allow',
      'another principal has its own budget',
    );
    assert.equal(
      engine.evaluate(send('c@x', 7, 40), 0).decision,
      'Allow',
      'a number is a principal too',
    );
    assert.equal(
      engine.evaluate(send('c@x', 'u1', 3620), 0).decision,
      'Allow',
      'b@x left the window',
    );
  });

  test('values are told apart exactly: numbers one ulp apart, a number and its string, -0 and 0', async () => {
    const { engine } = await engineWith();
    const near = 0.1 + 0.2; // 0.30000000000000004, one ulp above 0.3
    assert.equal(engine.evaluate(send(0.3, 'u1', 1), 0).decision, 'Allow');
    assert.equal(engine.evaluate(send(near, 'u1', 2), 0).decision, 'Allow');
    assert.equal(
      engine.evaluate(send('0.3', 'u1', 3), 0).kind,
      'budget_exceeded',
      'the string "0.3" is a third value, not the number 0.3',
    );
    assert.equal(engine.evaluate(send(0.3, 'u1', 4), 0).decision, 'Allow', 'a known value');
    assert.equal(engine.evaluate(send(near, 'u1', 5), 0).decision, 'Allow', 'a known value');
    assert.equal(engine.evaluate(send(0, 'u3', 6), 0).decision, 'Allow');
    assert.equal(engine.evaluate(send(2 ** 53, 'u3', 7), 0).decision, 'Allow');
    assert.equal(engine.evaluate(send(-0, 'u3', 8), 0).decision, 'Allow', 'JSON -0 is 0');
    assert.equal(
      engine.evaluate(send(2 ** 53 + 2, 'u3', 9), 0).kind,
      'budget_exceeded',
      '2^53 + 2 is a third value',
    );
    const byNumber = engine.evaluate(send('x', 1e21, 10), 0);
    assert.equal(byNumber.decision, 'Allow');
    engine.evaluate(send('y', 1e21, 11), 0);
    assert.match(
      engine.evaluate(send('z', 1e21, 12), 0).reason,
      / for AgentAttributes\.user_id = 1e\+21, and this call adds a new one; /,
      'a number principal is shown as JSON writes it',
    );
    assert.deepEqual(
      engine.state()?.budgets?.map((b) => [b.per, b.calls, b.used]),
      [
        ['u1', 4, 2],
        ['u3', 3, 2],
        [1e21, 2, 2],
      ],
    );
  });

  test('a missing principal or a mistyped value is unknown', async () => {
    const { engine } = await engineWith();
    assert.match(
      engine.evaluate(send('a', undefined, 1), 0).reason,
      /AgentAttributes\.user_id is missing; pass a string or a number$/,
    );
    assert.match(
      engine.evaluate(send({ a: 1 }, 'u', 1), 0).reason,
      /Arguments\.to is not a string or a number/,
    );
    assert.match(
      engine.evaluate(send('a', true, 1), 0).reason,
      /AgentAttributes\.user_id is not a string or a number/,
    );
  });

  test('bound on principals: past 10,000 live budgets a new principal is denied (fail closed), an old one still decides', async () => {
    const { engine } = await engineWith();
    for (let i = 0; i < 10000; i++)
      assert.equal(engine.evaluate(send('a', `u${i}`, 5), 0).decision, 'Allow');
    const v = engine.evaluate(send('a', 'new', 6), 0);
    assert.equal(`${v.decision}:${v.kind}`, 'Deny:budget_unknown');
    assert.match(
      v.reason,
      /it already keeps 10000 budgets by AgentAttributes\.user_id; retry when older ones run out$/,
    );
    assert.equal(engine.evaluate(send('a', 'u1', 6), 0).decision, 'Allow');
    assert.equal(
      engine.evaluate(send('a', 'new', 3606), 0).decision,
      'Allow',
      'the empty windows were swept',
    );
  });

  test('bound on calls: past 10,000 calls in one window the next is denied (fail closed)', async () => {
    const { engine } = await engineWith();
    for (let i = 0; i < 10000; i++)
      assert.equal(engine.evaluate(refund(0, 1), 0).decision, 'Allow');
    const v = engine.evaluate(refund(0, 2), 0);
    assert.equal(v.kind, 'budget_exceeded');
    assert.match(
      v.reason,
      /it keeps at most 10000 calls in the last 86400 s; one frees up in 86399 s$/,
    );
  });
});

describe("a budget is its rule's, shared by every (tool, role) it grants", () => {
  // A glob hands the model several tools; a budget per tool would let it spend max on each.
  const shared = JSON.stringify({
    version: 'budget-shared',
    default_action: 'Deny',
    tools: ['refund_card', 'refund_wallet', 'refund_cash'],
    roles: ['agent', 'support'],
    rules: [
      {
        id: 'refunds',
        tool_name: 'refund_*',
        roles: ['agent', 'support'],
        rate_limit: { max: 10, per_seconds: DAY },
        budget: { sum: 'Arguments.amount', max: 1000, per_seconds: DAY },
      },
      {
        id: 'cash',
        tool_name: 'refund_cash',
        roles: ['agent'],
        budget: { sum: 'Arguments.amount', max: 50, per_seconds: DAY },
      },
    ],
  });
  const call = (tool: string, role: string, amount: number, now: number): ToolCall =>
    ({ tool, role, args: { amount }, now }) as ToolCall;
  const steps: [string, string, number, string][] = [
    ['refund_card', 'agent', 600, 'Allow:no_condition'],
    ['refund_wallet', 'agent', 600, 'Deny:budget_exceeded:86399'],
    ['refund_wallet', 'agent', 400, 'Allow:no_condition'],
    ['refund_card', 'support', 1, 'Deny:budget_exceeded:86397'],
    // refund_cash's Allow rule for the agent is the later `cash` rule: its own budget.
    ['refund_cash', 'agent', 50, 'Allow:no_condition'],
    ['refund_cash', 'agent', 1, 'Deny:budget_exceeded:86399'],
    ['refund_cash', 'support', 1, 'Deny:budget_exceeded:86394'],
  ];

  test('a glob over three tools and two roles spends one $1,000 (a tool another rule replaces spends from that rule)', async () => {
    const { engine } = await engineWith(shared);
    const reference = new ReferenceEngine();
    assert.equal(reference.load(shared).ok, true);
    for (const [i, [tool, role, amount, expected]] of steps.entries()) {
      const now = 100 + i;
      const got = engine.evaluate(call(tool, role, amount, now), 0);
      assert.equal(shown(got), expected, `step ${i}: ${got.reason}`);
      // The reference gives no retry time.
      const ruled = reference.evaluate(call(tool, role, amount, now), 0);
      assert.equal(
        `${ruled.decision}:${ruled.kind}`,
        expected.split(':').slice(0, 2).join(':'),
        `reference step ${i}`,
      );
    }
    assert.deepEqual(engine.state()?.budgets, [
      { rule: 'refunds', per: null, calls: 2, used: 1000, max: 1000 },
      { rule: 'cash', per: null, calls: 1, used: 50, max: 50 },
    ]);
  });

  test('a fresh engine restores the shared budget from the calls counted on each pair', async () => {
    const first = await engineWith(shared);
    const journal = new CountedCallJournal();
    first.engine.countCalls((counted) => journal.add(counted));
    first.engine.evaluate(call('refund_card', 'agent', 300, 10), 0);
    first.engine.evaluate(call('refund_wallet', 'support', 300, 11), 0);
    first.engine.evaluate(call('refund_cash', 'support', 300, 12), 0);
    const second = await engineWith(shared);
    assert.equal(second.engine.restoreCounted(journal.calls()), 3);
    assert.equal(
      shown(second.engine.evaluate(call('refund_wallet', 'agent', 101, 20), 0)),
      'Deny:budget_exceeded:86390',
    );
    assert.equal(
      shown(second.engine.evaluate(call('refund_card', 'agent', 100, 21), 0)),
      'Allow:no_condition',
    );
  });
});

describe('budget validation', () => {
  const load = async (budget: unknown, effect = 'Allow') => {
    const engine = await Engine.create(module);
    return engine.load(
      JSON.stringify({
        version: 'v',
        default_action: 'Deny',
        tools: ['t'],
        roles: ['r'],
        rules: [{ tool_name: 't', roles: ['r'], effect, budget }],
      }),
    );
  };
  test('errors at their JSON paths', async () => {
    const cases: [unknown, string[]][] = [
      [
        'x',
        [
          'rules[0].budget: expected {"sum" or "distinct": "Arguments.<field>", "max": N, "per_seconds": S}, got string',
        ],
      ],
      [
        { max: 1, per_seconds: 1 },
        [
          'rules[0].budget: missing "sum" and "distinct"; give exactly one, e.g. "sum": "Arguments.amount"',
        ],
      ],
      [
        { sum: 'Arguments.a', distinct: 'Arguments.b', max: 1, per_seconds: 1 },
        [
          'rules[0].budget: both "sum" and "distinct"; give exactly one, e.g. "sum": "Arguments.amount"',
        ],
      ],
      [
        { sum: 'amount', max: 1, per_seconds: 1 },
        [
          'rules[0].budget.sum: expected "<Source>.<field>" with a source of Arguments, AgentAttributes, ResourceAttributes (e.g. "Arguments.amount"), got "amount"',
        ],
      ],
      [
        { sum: 'Arguments.a', max: -1, per_seconds: 0, per: 'Agent.user' },
        [
          'rules[0].budget.per: expected "<Source>.<field>" with a source of Arguments, AgentAttributes, ResourceAttributes (e.g. "Arguments.amount"), got "Agent.user"',
          'rules[0].budget.max: got -1; expected a number of 0 or more',
          'rules[0].budget.per_seconds: got 0; expected a number of seconds greater than 0',
        ],
      ],
      [
        { distinct: 'Arguments.to', max: 1.5, per_seconds: 1 },
        [
          'rules[0].budget.max: got 1.5; a distinct budget counts values: expected an integer from 0 to 10000',
        ],
      ],
    ];
    for (const [budget, expected] of cases) {
      const r = await load(budget);
      assert.equal(r.ok, false);
      assert.deepEqual(r.ok ? [] : r.errors.map((d) => `${d.path}: ${d.message}`), expected);
    }
  });
  test('an unknown key and a budget on a Deny rule warn', async () => {
    const r = await load({ sum: 'Arguments.a', max: 1, per_seconds: 1, window: 3 }, 'Deny');
    assert.equal(r.ok, true);
    assert.deepEqual(
      r.warnings.map((d) => d.path),
      ['rules[0].budget.window', 'rules[0].budget'],
    );
    assert.match(r.warnings.map((d) => d.message).join('\n'), /budget applies only to Allow rules/);
  });
});

describe('a load of the text already active keeps the budgets (docs/policy.md)', () => {
  for (const [name, make] of [
    ['engine.wasm', async () => Engine.create(module)],
    ['the reference evaluator', async () => new ReferenceEngine()],
  ] as const) {
    test(`${name}: the same text keeps $1,000 a day spent; other text starts a new window`, async () => {
      const engine = await make();
      const first = engine.load(policy);
      assert.equal(first.ok, true);
      assert.equal(engine.evaluate(refund(1000, 10), 0).decision, 'Allow');
      assert.equal(engine.evaluate(refund(1, 11), 0).kind, 'budget_exceeded');
      assert.deepEqual(engine.load(policy), first, 'the same answer');
      assert.equal(engine.evaluate(refund(1, 12), 0).kind, 'budget_exceeded');
      assert.equal(engine.load(`${policy} `).ok, true);
      assert.equal(engine.evaluate(refund(1000, 13), 0).decision, 'Allow');
    });
  }
});

describe('a fresh engine carries on the budgets it is given', () => {
  test('engine replaced mid-window: $1,000 a day stays $1,000, per principal too', async () => {
    const first = await engineWith();
    first.engine.evaluate(refund(700, 10), 0);
    first.engine.evaluate(send('a', 'u1', 10), 0);
    first.engine.evaluate(send('b', 'u1', 11), 0);
    const second = await engineWith();
    assert.equal(second.engine.restoreCounted(first.counted), 3);
    assert.equal(
      shown(second.engine.evaluate(refund(400, 20), 0)),
      shown(first.engine.evaluate(refund(400, 20), 0)),
    );
    assert.equal(second.engine.evaluate(refund(400, 20), 0).kind, 'budget_exceeded');
    assert.equal(second.engine.evaluate(send('c', 'u1', 20), 0).kind, 'budget_exceeded');
    assert.equal(second.engine.evaluate(send('c', 'u2', 20), 0).decision, 'Allow');
  });

  test('a journaled call without what it spent is not restored (the caller then fails closed)', async () => {
    const { engine } = await engineWith();
    assert.equal(engine.restoreCounted([{ tool: 'refund', role: 'agent', at: 1, keep: 10000 }]), 0);
    assert.equal(
      engine.restoreCounted([{ tool: 'send', role: 'agent', at: 1, keep: 10000, spent: 'a' }]),
      0,
      'no principal',
    );
    assert.equal(
      engine.restoreCounted([{ tool: 'refund', role: 'agent', at: 1, keep: 10000, spent: -5 }]),
      0,
    );
  });

  test('a restart after every call decides exactly as one engine does (1,500 calls, time moving forward)', async () => {
    const rand = generator(14);
    const one = await engineWith();
    const journal = new CountedCallJournal();
    let now = 0;
    for (let i = 0; i < 1500; i++) {
      now += Math.floor(rand() * 400);
      const r = rand();
      const call =
        r < 0.4
          ? refund(Math.floor(rand() * 5) * 100, now)
          : r < 0.7
            ? send(`to${Math.floor(rand() * 4)}`, `u${Math.floor(rand() * 3)}`, now)
            : pay(Math.floor(rand() * 8) * 10, now, rand() < 0.5);
      const fresh = await Engine.create(module);
      fresh.load(policy);
      const calls = journal.calls();
      assert.equal(fresh.restoreCounted(calls), calls.length);
      fresh.countCalls((c) => journal.add(c));
      assert.equal(
        shown(fresh.evaluate(call, 0)),
        shown(one.engine.evaluate(call, 0)),
        `call ${i} at ${now}`,
      );
    }
  });

  test('time going backwards: a restored budget is never less strict than the one it replaces', async () => {
    const rand = generator(3);
    const one = await engineWith();
    const journal = new CountedCallJournal();
    one.engine.countCalls((c) => journal.add(c));
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const now = 1000 + Math.floor(rand() * 200000) - 100000 + i * 50;
      const call = refund(Math.floor(rand() * 4) * 100, now);
      const fresh = await Engine.create(module);
      fresh.load(policy);
      fresh.restoreCounted(journal.calls());
      const restored = fresh.evaluate(call, 0);
      const kept = one.engine.evaluate(call, 0);
      if (restored.decision === 'Allow')
        assert.equal(kept.decision, 'Allow', `call ${i} at ${now}: allowed only after the restore`);
      seen.add(kept.decision);
    }
    assert.deepEqual([...seen].sort(), ['Allow', 'Deny'], 'both answers were tried');
  });

  test('the clock goes back: a call later than now still counts, and so do the calls after it until it leaves', async () => {
    const { engine } = await engineWith();
    const t = 100_000;
    assert.equal(engine.evaluate(refund(600, t), 0).decision, 'Allow');
    // The clock went back: the call at t (after now) still counts, 600 + 300 fits.
    assert.equal(engine.evaluate(refund(300, 1000), 0).decision, 'Allow');
    assert.equal(engine.evaluate(refund(200, 1000), 0).decision, 'Deny');
    // Later the call at 1000 is long out of (now - 1 day, now], but it leaves only after the call at t.
    const held = engine.evaluate(refund(200, t + 1000), 0);
    assert.equal(held.decision, 'Deny');
    assert.match(held.reason, /reached: 900 of 1000 /);
    assert.equal(engine.evaluate(refund(200, t + DAY), 0).decision, 'Allow');
  });
});

test('Engine.state() lists each budget window with what it used', async () => {
  const engine = await Engine.create(await loadEngineModule());
  const loaded = engine.load(
    JSON.stringify({
      version: 'budget-state',
      default_action: 'Deny',
      tools: ['refund'],
      rules: [
        {
          id: 'cap',
          tool_name: 'refund',
          roles: ['agent'],
          budget: {
            sum: 'Arguments.amount',
            max: 1000,
            per_seconds: 3600,
            per: 'AgentAttributes.user',
          },
        },
      ],
    }),
  );
  assert.equal(loaded.ok, true);
  const refund = (user: string, amount: number, now: number) =>
    engine.evaluate(
      { tool: 'refund', role: 'agent', args: { amount }, agentAttributes: { user } },
      now,
    ).decision;
  assert.equal(refund('u1', 400, 1000), 'Allow');
  assert.equal(refund('u1', 250.5, 1001), 'Allow');
  assert.equal(refund('u2', 100, 1002), 'Allow');
  assert.deepEqual(engine.state()?.budgets, [
    { rule: 'cap', per: 'u1', calls: 2, used: 650.5, max: 1000 },
    { rule: 'cap', per: 'u2', calls: 1, used: 100, max: 1000 },
  ]);
});
