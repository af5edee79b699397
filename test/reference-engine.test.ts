// The reference evaluator (src/reference/) on its own: every conformance case, the outside
// testers' repros of 2026-12-03 (their expected answers, from DESIGN §2), and the strict reading of
// policy text. The differential tests then compare every entry point with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ReferenceEngine } from '../src/reference/reference-engine.ts';
import { parseStrictJson } from '../src/reference/strict-json.ts';
import type { ToolCall } from '../src/call/decision.ts';
import type { CountedCall } from '../src/engine/counted-calls.ts';
import { APPROVED_CALL } from '../src/engine/approved-call.ts';

interface Case {
  id: string;
  policy: string | object;
  request: ToolCall;
  expect: string;
  reasonPrefix: string;
}
const fixturesUrl = new URL('./fixtures/conformance.json', import.meta.url);
const fixtures = JSON.parse(readFileSync(fixturesUrl, 'utf8')) as {
  policies: Record<string, string>;
  cases: Case[];
};
const policyText = (policy: string | object) =>
  typeof policy === 'string'
    ? readFileSync(new URL(fixtures.policies[policy]!, fixturesUrl), 'utf8')
    : JSON.stringify(policy);

test('every conformance case: decision and reason prefix', () => {
  assert.ok(fixtures.cases.length >= 40);
  for (const c of fixtures.cases) {
    const engine = new ReferenceEngine();
    assert.equal(engine.load(policyText(c.policy)).ok, true, c.id);
    const verdict = engine.evaluate(c.request, 0);
    assert.equal(verdict.decision, c.expect, `${c.id}: ${verdict.reason}`);
    // The documented part of the reason (DESIGN §2.1); the detail after ': ' is the engine's wording.
    const cut = c.reasonPrefix.indexOf(': ', c.reasonPrefix.indexOf(';'));
    const documented =
      c.reasonPrefix.includes(';') && cut >= 0 ? c.reasonPrefix.slice(0, cut) : c.reasonPrefix;
    assert.ok(verdict.reason.startsWith(documented), `${c.id}: ${verdict.reason}`);
    assert.equal(verdict.evaluator, 'js');
  }
});

function decide(policy: object, calls: Array<ToolCall & { now?: unknown }>): string[] {
  const engine = new ReferenceEngine();
  assert.equal(engine.load(JSON.stringify(policy)).ok, true);
  return calls.map((call) => {
    const v = engine.evaluate(call as ToolCall, 0);
    return `${v.decision} ${v.kind}`;
  });
}

test('repro A: Equals with the literal null never holds (unknown): Deny, Deny', () => {
  const policy = {
    version: 'A',
    default_action: 'Deny',
    tools: ['delete_record', 'export'],
    roles: ['agent'],
    rules: [
      {
        id: 'top-level-only',
        tool_name: 'delete_record',
        roles: ['agent'],
        condition: { Equals: { source: 'Arguments', field: 'parent_id', value: null } },
      },
      { tool_name: 'export', roles: ['agent'] },
      {
        id: 'no-override',
        tool_name: 'export',
        roles: ['agent'],
        effect: 'Deny',
        condition: { Not: { Equals: { source: 'Arguments', field: 'override', value: null } } },
      },
    ],
  };
  assert.deepEqual(
    decide(policy, [
      { tool: 'delete_record', role: 'agent', args: { parent_id: null } },
      { tool: 'export', role: 'agent', args: { override: null } },
    ]),
    ['Deny condition_failed', 'Deny denied_by_rule'],
  );
});

test('repro B: a non-finite number nested in a value the policy reads is refused', () => {
  const policy = {
    version: 'B',
    default_action: 'Deny',
    tools: ['view', 'transfer'],
    roles: ['agent'],
    rules: [
      { tool_name: 'view', roles: ['agent'] },
      {
        id: 'single-tenant',
        tool_name: 'view',
        roles: ['agent'],
        effect: 'Deny',
        condition: {
          Not: { Equals: { source: 'Arguments', field: 'scope', value: { tenant: null } } },
        },
      },
      {
        id: 'own-account',
        tool_name: 'transfer',
        roles: ['agent'],
        condition: {
          FieldEquals: {
            source_a: 'Arguments',
            field_a: 'account',
            source_b: 'ResourceAttributes',
            field_b: 'owner',
          },
        },
      },
    ],
  };
  assert.deepEqual(
    decide(policy, [
      { tool: 'view', role: 'agent', args: { scope: { tenant: Infinity } } },
      {
        tool: 'transfer',
        role: 'agent',
        args: { account: { id: Infinity } },
        resourceAttributes: { owner: { id: -Infinity } } as never,
      },
      {
        tool: 'transfer',
        role: 'agent',
        args: { account: [Infinity] },
        resourceAttributes: { owner: [null] },
      },
      { tool: 'view', role: 'agent', args: { scope: Infinity } },
    ]),
    [
      'Deny invalid_request',
      'Deny invalid_request',
      'Deny invalid_request',
      'Deny invalid_request',
    ],
  );
});

test('repro C: a window holds only the calls in (now - S, now], also when time goes back', () => {
  const policy = {
    version: 'C',
    default_action: 'Deny',
    tools: ['send'],
    rules: [{ tool_name: 'send', roles: ['agent'], rate_limit: { max: 2, per_seconds: 10 } }],
  };
  assert.deepEqual(
    decide(
      policy,
      [100, 50, 105, 105, 106].map((now) => ({ tool: 'send', role: 'agent', args: {}, now })),
    ),
    [
      'Allow no_condition',
      'Allow no_condition',
      'Allow no_condition',
      'Deny rate_limited',
      'Deny rate_limited',
    ],
  );
});

test('repro E: now null is refused; a later now still counts', () => {
  const policy = {
    version: 'E',
    default_action: 'Deny',
    tools: ['send'],
    rules: [{ tool_name: 'send', roles: ['agent'], rate_limit: { max: 1, per_seconds: 60 } }],
  };
  assert.deepEqual(
    decide(policy, [
      { tool: 'send', role: 'agent', args: {}, now: null as unknown as number },
      { tool: 'send', role: 'agent', args: {}, now: 1000 },
    ]),
    ['Deny invalid_request', 'Allow no_condition'],
  );
});

test('policy text is read strictly: duplicate keys, nesting over 64, out-of-range numbers, lone surrogates, trailing text', () => {
  assert.match(
    String((parseStrictJson('{"a":1,"a":2}') as { error: string }).error),
    /duplicate key "a"/,
  );
  assert.match(
    String((parseStrictJson(`${'['.repeat(65)}${']'.repeat(65)}`) as { error: string }).error),
    /deeper than 64/,
  );
  assert.equal(parseStrictJson(`${'['.repeat(64)}${']'.repeat(64)}`).ok, true);
  assert.match(String((parseStrictJson('{"n":1e400}') as { error: string }).error), /out of range/);
  assert.match(
    String((parseStrictJson('["\\ud800"]') as { error: string }).error),
    /lone surrogate/,
  );
  assert.match(
    String((parseStrictJson('{} x') as { error: string }).error),
    /text after the value/,
  );
  assert.deepEqual(parseStrictJson(' {"__proto__":{"a":[1,-0.5e1,true,null,"\\u00e9"]}} '), {
    ok: true,
    value: JSON.parse('{"__proto__":{"a":[1,-5,true,null,"é"]}}'),
  });
  const engine = new ReferenceEngine();
  assert.equal(
    engine.load(
      '{"version":"v","default_action":"Deny","tools":["t"],"rules":[{"tool_name":"t","roles":["r"],"effect":"Deny","effect":"Allow"}]}',
    ).ok,
    false,
  );
  assert.equal(engine.evaluate({ tool: 't', role: 'r' }, 0).kind, 'no_policy');
});

test('counted calls: each counted Allow is reported, and a fresh instance restored from them keeps the window', () => {
  const policy = JSON.stringify({
    version: 'C',
    default_action: 'Deny',
    tools: ['send'],
    rules: [{ tool_name: 'send', roles: ['agent'], rate_limit: { max: 2, per_seconds: 10 } }],
  });
  const first = new ReferenceEngine();
  const counted: Array<{ tool: string; role: string; at: number; keep: number }> = [];
  first.countCalls((call) => counted.push(call));
  first.load(policy);
  for (const now of [100, 101])
    assert.equal(first.evaluate({ tool: 'send', role: 'agent', now }, 0).decision, 'Allow');
  assert.equal(first.evaluate({ tool: 'send', role: 'agent', now: 102 }, 0).kind, 'rate_limited');
  assert.deepEqual(counted, [
    { tool: 'send', role: 'agent', at: 100, keep: 2 },
    { tool: 'send', role: 'agent', at: 101, keep: 2 },
  ]);
  const fresh = new ReferenceEngine();
  fresh.load(policy);
  assert.equal(
    fresh.restoreCounted([...counted, { tool: 'other', role: 'agent', at: 1, keep: 1 }]),
    2,
  );
  assert.equal(fresh.evaluate({ tool: 'send', role: 'agent', now: 105 }, 0).kind, 'rate_limited');
  assert.equal(fresh.evaluate({ tool: 'send', role: 'agent', now: 111 }, 0).decision, 'Allow');
});

test('budgets in the JS fallback: five $400 refunds stop at $1,000, per principal, and a restart restored from the counted calls keeps them', () => {
  const policy = JSON.stringify({
    version: 'budget',
    default_action: 'Deny',
    tools: ['refund', 'send'],
    rules: [
      {
        id: 'refunds',
        tool_name: 'refund',
        roles: ['agent'],
        budget: { sum: 'Arguments.amount', max: 1000, per_seconds: 86400 },
      },
      {
        id: 'recipients',
        tool_name: 'send',
        roles: ['agent'],
        budget: { distinct: 'Arguments.to', max: 1, per_seconds: 60, per: 'AgentAttributes.user' },
      },
    ],
  });
  const counted: CountedCall[] = [];
  const engine = new ReferenceEngine();
  assert.equal(engine.load(policy).ok, true);
  engine.countCalls((call) => counted.push(call));
  const refund = (e: ReferenceEngine, amount: unknown, now: number) =>
    e.evaluate({ tool: 'refund', role: 'agent', args: { amount } } as ToolCall, now);
  assert.deepEqual(
    [400, 400, 400].map((amount, i) => refund(engine, amount, 100 + i).decision),
    ['Allow', 'Allow', 'Deny'],
  );
  const over = refund(engine, 400, 103);
  assert.equal(over.kind, 'budget_exceeded');
  assert.match(
    over.reason,
    /^rule matched tool 'refund' for role 'agent'; budget of rule 'refunds' reached: /,
  );
  assert.equal(refund(engine, '40', 104).kind, 'budget_unknown', 'a string amount is unknown');
  assert.equal(refund(engine, 200, 105).decision, 'Allow', '$1,000 exactly fits');
  const send = (e: ReferenceEngine, to: string, user: unknown, now: number) =>
    e.evaluate(
      { tool: 'send', role: 'agent', args: { to }, agentAttributes: { user } } as ToolCall,
      now,
    ).kind;
  assert.equal(send(engine, 'a', 'u1', 1), 'no_condition');
  assert.equal(send(engine, 'b', 'u1', 2), 'budget_exceeded');
  assert.equal(send(engine, 'b', 'u2', 3), 'no_condition', 'another principal');
  assert.equal(send(engine, 'b', 7, 4), 'no_condition', 'a number is a principal');
  assert.deepEqual(
    counted.map((c) => [c.tool, c.spent, c.per ?? null]),
    [
      ['refund', 400, null],
      ['refund', 400, null],
      ['refund', 200, null],
      ['send', 'a', 'u1'],
      ['send', 'b', 'u2'],
      ['send', 'b', 7],
    ],
  );
  const fresh = new ReferenceEngine();
  assert.equal(fresh.load(policy).ok, true);
  assert.equal(fresh.restoreCounted(counted), counted.length);
  assert.equal(refund(fresh, 1, 106).kind, 'budget_exceeded', 'the fresh instance carries on');
  assert.equal(send(fresh, 'c', 'u1', 5), 'budget_exceeded');
  assert.equal(
    fresh.restoreCounted([{ tool: 'refund', role: 'agent', at: 1, keep: 10_000 }]),
    0,
    'a call without what it spent is not restored (the caller then fails closed)',
  );
});

const askPolicy = JSON.stringify({
  version: 'approved-fallback',
  default_action: 'Deny',
  tools: ['pay', 'refund'],
  roles: ['agent'],
  rules: [
    { id: 'pay', tool_name: 'pay', roles: ['agent'], rate_limit: { max: 1, per_seconds: 60 } },
    { id: 'ask-pay', tool_name: 'pay', roles: ['agent'], effect: 'Ask' },
    {
      id: 'refund',
      tool_name: 'refund',
      roles: ['agent'],
      budget: { sum: 'Arguments.amount', max: 500, per_seconds: 3600 },
    },
    { id: 'ask-refund', tool_name: 'refund', roles: ['agent'], effect: 'Ask' },
  ],
});

test("self-approval in the JS fallback: a caller's own approved key never lifts an Ask, and spends nothing", () => {
  const engine = new ReferenceEngine();
  assert.equal(engine.load(askPolicy).ok, true);
  const call = { tool: 'pay', role: 'agent', args: {}, approved: true } as ToolCall;
  for (let i = 0; i < 3; i++) {
    const v = engine.evaluate(call, 10);
    assert.equal(`${v.decision} ${v.kind}`, 'Ask ask_by_rule', `call ${i}`);
  }
  // Nothing was counted: the host's first real approval still fits the rate limit.
  const marked = { tool: 'pay', role: 'agent', args: {}, [APPROVED_CALL]: true } as ToolCall;
  assert.equal(engine.evaluate(marked, 10).decision, 'Ask');
});

test('an approved Ask in the JS fallback spends the rate limit and the budget as the Allow it becomes (the host lifts the Ask)', () => {
  const engine = new ReferenceEngine();
  assert.equal(engine.load(askPolicy).ok, true);
  const pay = { tool: 'pay', role: 'agent', args: {}, [APPROVED_CALL]: true } as ToolCall;
  const first = engine.evaluate(pay, 10);
  assert.equal(`${first.decision} ${first.kind}`, 'Ask ask_by_rule', 'answered as the Ask it was');
  const second = engine.evaluate(pay, 11);
  assert.equal(
    `${second.decision} ${second.kind}`,
    'Deny rate_limited',
    'the first approval counted',
  );
  const refund = (amount: number, at: number) =>
    engine.evaluate(
      { tool: 'refund', role: 'agent', args: { amount }, [APPROVED_CALL]: true } as ToolCall,
      at,
    );
  assert.equal(refund(400, 20).decision, 'Ask');
  const over = refund(400, 21);
  assert.equal(
    `${over.decision} ${over.kind}`,
    'Deny budget_exceeded',
    'the first approval spent 400',
  );
});

test("budget bounds in the JS fallback are the engine's: a max past 2^53 - 1 (where a sum rounds down and lets one more call through), a distinct max past 10,000 and per_seconds past 2^43 are refused", async () => {
  const { Engine } = await import('../src/engine/engine.ts');
  const { loadEngineModule } = await import('../src/engine/engine-module.ts');
  const engine = await Engine.create(await loadEngineModule());
  const budget = (b: object) =>
    JSON.stringify({
      version: 'b',
      default_action: 'Deny',
      tools: ['t'],
      rules: [{ tool_name: 't', roles: ['r'], budget: { per_seconds: 60, ...b } }],
    });
  for (const b of [
    { sum: 'Arguments.a', max: 2 ** 53 },
    { sum: 'Arguments.a', max: 1e308 },
    { distinct: 'Arguments.a', max: 10_001 },
    { sum: 'Arguments.a', max: 1, per_seconds: 2 ** 43 + 1 },
  ]) {
    const text = budget(b);
    assert.equal(engine.load(text).ok, false, text);
    const load = new ReferenceEngine().load(text);
    assert.equal(load.ok, false, text);
  }
  for (const b of [
    { sum: 'Arguments.a', max: 2 ** 53 - 1 },
    { distinct: 'Arguments.a', max: 10_000, per_seconds: 2 ** 43 },
  ]) {
    assert.equal(engine.load(budget(b)).ok, true);
    assert.equal(new ReferenceEngine().load(budget(b)).ok, true);
  }
});
