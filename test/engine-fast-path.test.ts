// The fast path (typed slots, packed codes, memoised explanations) and the original ABI (JSON in,
// JSON out) give identical verdicts: every field of every answer, over a few hundred generated calls
// on a policy that uses every condition, op, source and extension. Two engines run the same calls
// in the same order, so rate-limit windows advance identically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import type { JsonObject, JsonValue, ToolCall } from '../src/call/decision.ts';

const policy = {
  version: 'fast-path-1',
  default_action: 'Deny',
  tools: ['refund', 'export', 'delete', 'view', 'crm_a', 'crm_b'],
  roles: ['agent', 'admin'],
  rules: [
    {
      tool_name: 'view',
      roles: ['agent', 'admin'],
      condition: null,
      rate_limit: { max: 3, per_seconds: 10 },
    },
    {
      tool_name: 'refund',
      roles: ['agent'],
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 500 } },
    },
    {
      tool_name: 'refund',
      roles: ['admin'],
      condition: {
        All: [
          { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lt', value: 2000 } },
          { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gte', value: 0 } },
          { Not: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Eq', value: 13 } } },
          {
            Any: [
              { Equals: { source: 'AgentAttributes', field: 'mfa', value: true } },
              { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: -1 } },
            ],
          },
        ],
      },
    },
    {
      id: 'big-refund',
      tool_name: 'refund',
      roles: ['agent', 'admin'],
      effect: 'Ask',
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 400 } },
    },
    {
      tool_name: 'export',
      roles: ['agent', 'admin'],
      condition: {
        Any: [
          {
            StringCheck: {
              source: 'AgentAttributes',
              field: 'env',
              op: 'In',
              value: ['production', 'é', '𝄞'],
            },
          },
          {
            StringCheck: { source: 'Arguments', field: 'path', op: 'Prefix', value: ['/reports/'] },
          },
        ],
      },
    },
    {
      id: 'no-pii',
      tool_name: 'export',
      roles: ['agent', 'admin'],
      effect: 'Deny',
      condition: {
        Any: [
          {
            StringCheck: {
              source: 'Arguments',
              field: 'path',
              op: 'Suffix',
              value: ['.pii', '.ssn'],
            },
          },
          {
            StringCheck: {
              source: 'Arguments',
              field: ['filter', 'kind'],
              op: 'NotIn',
              value: ['summary'],
            },
          },
        ],
      },
    },
    {
      tool_name: 'delete',
      roles: ['admin', 'agent'],
      condition: {
        Any: [
          {
            FieldEquals: {
              source_a: 'AgentAttributes',
              field_a: 'user_id',
              source_b: 'ResourceAttributes',
              field_b: 'owner_id',
            },
          },
          {
            Equals: {
              source: 'ResourceAttributes',
              field: 'scope',
              value: { team: ['a', 'b'], open: true },
            },
          },
        ],
      },
    },
    {
      tool_name: 'crm_*',
      roles: ['agent'],
      condition: {
        All: [
          { FieldPresent: { source: 'ResourceAttributes', field: 'owner_id' } },
          { Not: { FieldPresent: { source: 'Arguments', field: 'force' } } },
        ],
      },
    },
  ],
};

// A small seeded generator, so a failure names a reproducible call.
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const values: (JsonValue | undefined)[] = [
  undefined,
  null,
  true,
  false,
  0,
  -1,
  13,
  5,
  400,
  400.5,
  500,
  800,
  1999.99,
  2000,
  1e21,
  0.1,
  -0,
  '',
  'a',
  'production',
  'Production',
  'é',
  '𝄞',
  '"quoted" \\ \n',
  'x'.repeat(100),
  'ü'.repeat(70) + '𝄞',
  '/reports/q3.csv',
  '/reports/q3.pii',
  'mgr-1',
  'mgr-2',
  '800',
  [],
  [1, 2],
  { kind: 'summary' },
  { kind: 'full' },
  { team: ['a', 'b'], open: true },
  { open: true, team: ['a', 'b'] },
  { big: 'y'.repeat(300) },
];

const amounts = [13, 100, 400.5, 450, 500, 800, 1999.99, 2500];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

function attrs(rand: () => number, keys: string[]): JsonObject {
  const o: JsonObject = {};
  for (const k of keys) {
    const v = pick(rand, values);
    if (v !== undefined) o[k] = v;
  }
  return o;
}

test('fast path and raw ABI agree on generated calls, including memo hits and rate limits', async () => {
  const module = await loadEngineModule();
  const fast = await Engine.create(module);
  const raw = await Engine.create(module);
  const text = JSON.stringify(policy);
  assert.equal(fast.load(text).ok, true);
  assert.equal(raw.load(text).ok, true);
  const rand = generator(20261125);
  const tools = [...policy.tools, 'unknown_tool'];
  const roles = ['agent', 'admin', 'Agent'];
  let now = 1_000;
  const seen = new Map<string, number>();
  const kinds = new Set<string>();
  const history: ToolCall[] = [];
  for (let i = 0; i < 800; i++) {
    // Every third call repeats an earlier one, so explanations are reused from the memo.
    const call: ToolCall =
      i % 3 === 2 && history.length > 0
        ? pick(rand, history)
        : {
            tool: pick(rand, tools),
            role: pick(rand, roles),
            args: {
              ...attrs(rand, ['amount', 'path', 'filter', 'force']),
              ...(rand() < 0.5 ? { amount: pick(rand, amounts) } : {}),
            },
            agentAttributes: attrs(rand, ['env', 'mfa', 'user_id']),
            resourceAttributes: attrs(rand, ['owner_id', 'scope']),
          };
    history.push(call);
    if (rand() < 0.2) now += Math.floor(rand() * 6);
    const v = fast.evaluate(call, now);
    const ctx = {
      role: call.role,
      agent_attrs: call.agentAttributes,
      resource_attrs: call.resourceAttributes,
      now,
    };
    const expected = JSON.parse(
      raw.evaluateAbi(call.tool, JSON.stringify(call.args), JSON.stringify(ctx)),
    ) as Record<string, unknown>;
    assert.deepEqual({ ...v }, expected, `call ${i}: ${JSON.stringify(call)} at ${now}`);
    kinds.add(v.kind);
    const key = JSON.stringify([call, v.reason]);
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  // The generated calls reach every kind of answer the engine gives.
  assert.deepEqual([...kinds].sort(), [
    'ask_by_rule',
    'condition_failed',
    'condition_passed',
    'denied_by_rule',
    'no_condition',
    'no_rule',
    'rate_limited',
  ]);
  assert.ok(
    [...seen.values()].some((n) => n > 1),
    'some calls repeat',
  );
});

test('a memoised explanation is never reused for different values', async () => {
  const engine = await Engine.create(await loadEngineModule());
  assert.equal(engine.load(JSON.stringify(policy)).ok, true);
  const refund = (amount: JsonValue): string =>
    engine.evaluate({ tool: 'refund', role: 'agent', args: { amount } }, 0).reason;
  const first = refund(800);
  assert.equal(refund(800), first);
  // More distinct values than the memo has ways, then the first again.
  for (const amount of [801, 802, 803, 804, 805, '800', 800.5])
    assert.ok(refund(amount).includes(JSON.stringify(amount)), String(amount));
  assert.equal(refund(800), first);
  assert.ok(first.endsWith('Arguments.amount = 800 is not Lte 500'));
});

test('a large value through the raw ABI moves the region; the fast path follows it', async () => {
  const engine = await Engine.create(await loadEngineModule());
  assert.equal(engine.load(JSON.stringify(policy)).ok, true);
  const ctx = JSON.stringify({ role: 'agent', agent_attrs: { env: 'é' } });
  const big = JSON.stringify({ path: '/reports/' + 'z'.repeat(300_000) });
  const r = JSON.parse(engine.evaluateAbi('export', big, ctx)) as {
    decision: string;
    reason: string;
  };
  assert.equal(r.decision, 'Deny'); // the Deny rule cannot decide filter.kind
  for (let i = 0; i < 50; i++) {
    const v = engine.evaluate(
      {
        tool: 'export',
        role: 'agent',
        args: { path: '/reports/q.csv', filter: { kind: 'summary' } },
        agentAttributes: { env: 'x' },
      },
      0,
    );
    assert.equal(v.decision, 'Allow', v.reason);
  }
  const long = 'é'.repeat(100) + '𝄞';
  const v = engine.evaluate({ tool: long, role: 'agent' }, 0);
  const abi = JSON.parse(engine.evaluateAbi(long, '{}', '{"role":"agent"}')) as Record<
    string,
    unknown
  >;
  assert.deepEqual({ ...v }, abi);
  assert.ok(v.reason.startsWith(`no rule matched tool '${'é'.repeat(64)}…' for role 'agent'`));
});
