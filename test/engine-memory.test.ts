// Memory stays flat over millions of calls when the host frees what it allocates (the original
// engine leaked every response). Raw ABI calls allocate and free by hand; Engine.evaluate uses the
// reserved region. Both mixes include allowed and denied calls (denials render reasons).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { instantiateOriginalAbi } from './support/original-abi.ts';
import type { ToolCall } from '../src/call/decision.ts';

const CALLS = 1_000_000;
const demo = readFileSync(new URL('./fixtures/perso-demo-policy.json', import.meta.url), 'utf8');
const module = await loadEngineModule();

test(`raw ABI: memory is flat over ${CALLS} evaluations with host-side alloc/dealloc`, async () => {
  const x = await instantiateOriginalAbi(module);
  const enc = new TextEncoder();
  const put = (bytes: Uint8Array): number => {
    const p = x.alloc(bytes.length);
    new Uint8Array(x.memory.buffer).set(bytes, p);
    return p;
  };
  const free = (ptr: number): number => {
    const n = new DataView(x.memory.buffer).getUint32(ptr, true);
    x.dealloc(ptr, 4 + n);
    return n;
  };
  const policy = enc.encode(demo);
  const pp = put(policy);
  free(x.init(pp, policy.length));
  x.dealloc(pp, policy.length);
  const calls = [
    [
      'process_refund',
      '{"order_id":"ORD-1","amount":200}',
      '{"role":"agent","agent_attrs":{"env":"staging"}}',
    ],
    [
      'process_refund',
      '{"order_id":"ORD-1","amount":800}',
      '{"role":"agent","agent_attrs":{"env":"staging"}}',
    ],
    [
      'delete_customer',
      '{"customer_id":"C-1"}',
      '{"role":"manager","agent_attrs":{"user_id":"m1"},"resource_attrs":{"owner_id":"m2"}}',
    ],
    ['nope', '{}', '{"role":"agent"}'],
  ].map((c) => c.map((s) => enc.encode(s)) as [Uint8Array, Uint8Array, Uint8Array]);
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const [t, a, c] = calls[i & 3]!;
      const tp = put(t);
      const ap = put(a);
      const cp = put(c);
      const r = x.evaluate(tp, t.length, ap, a.length, cp, c.length);
      x.dealloc(tp, t.length);
      x.dealloc(ap, a.length);
      x.dealloc(cp, c.length);
      assert.ok(free(r) > 0);
    }
  };
  run(50_000);
  const before = x.memory.buffer.byteLength;
  run(CALLS);
  assert.equal(x.memory.buffer.byteLength, before, 'memory grew during the measured calls');
});

test(`Engine.evaluate: memory is flat over ${CALLS} evaluations`, async () => {
  const engine = await Engine.create(module);
  assert.equal(engine.load(demo).ok, true);
  const calls: ToolCall[] = [
    {
      tool: 'process_refund',
      args: { order_id: 'ORD-1', amount: 200 },
      role: 'agent',
      agentAttributes: { env: 'staging' },
    },
    {
      tool: 'process_refund',
      args: { order_id: 'ORD-1', amount: 800 },
      role: 'agent',
      agentAttributes: { env: 'staging' },
    },
    {
      tool: 'delete_customer',
      args: { customer_id: 'C-1' },
      role: 'manager',
      agentAttributes: { user_id: 'm1' },
      resourceAttributes: { owner_id: 'm2' },
    },
    { tool: 'export_data', args: {}, role: 'admin', agentAttributes: { env: 'production' } },
  ];
  let denies = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) if (engine.evaluate(calls[i & 3]!, 0).decision === 'Deny') denies++;
  };
  run(50_000);
  const before = engine.memoryBytes;
  assert.ok(before > 0);
  denies = 0;
  run(CALLS);
  assert.equal(engine.memoryBytes, before, 'memory grew during the measured calls');
  assert.equal(denies, CALLS / 2);
});

test('Engine.evaluate: memory is flat when decisions parse JSON values (deep equality) and rate-limit', async () => {
  const engine = await Engine.create(module);
  const policy = {
    version: 'mem',
    default_action: 'Deny',
    tools: ['t', 'u'],
    roles: ['r'],
    rules: [
      {
        tool_name: 't',
        roles: ['r'],
        condition: {
          Any: [
            {
              Equals: {
                source: 'Arguments',
                field: 'scope',
                value: { team: ['a', 'b'], open: true },
              },
            },
            {
              FieldEquals: {
                source_a: 'Arguments',
                field_a: 'scope',
                source_b: 'ResourceAttributes',
                field_b: 'scope',
              },
            },
          ],
        },
      },
      { tool_name: 'u', roles: ['r'], rate_limit: { max: 5, per_seconds: 1 } },
    ],
  };
  assert.equal(engine.load(JSON.stringify(policy)).ok, true);
  const calls: ToolCall[] = [
    { tool: 't', role: 'r', args: { scope: { open: true, team: ['a', 'b'] } } },
    {
      tool: 't',
      role: 'r',
      args: { scope: { x: [1, 2, 3] } },
      resourceAttributes: { scope: { x: [1, 2, 3] } },
    },
    {
      tool: 't',
      role: 'r',
      args: { scope: { x: [1, 2, 3], n: Math.PI } },
      resourceAttributes: { scope: { x: [1, 2] } },
    },
    { tool: 'u', role: 'r' },
  ];
  let allowed = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++)
      if (engine.evaluate(calls[i & 3]!, i / 10).decision === 'Allow') allowed++;
  };
  run(20_000);
  const before = engine.memoryBytes;
  allowed = 0;
  run(300_000);
  assert.equal(engine.memoryBytes, before, 'memory grew during the measured calls');
  assert.ok(allowed > 150_000, `allowed ${allowed}`);
});
