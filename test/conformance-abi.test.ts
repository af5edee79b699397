// Every conformance case through the raw ABI (alloc/init/evaluate/dealloc by hand, response bytes
// checked) and through Engine.evaluate; the two must agree on decision, reason, kind and rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { instantiateOriginalAbi, type OriginalAbiExports } from './support/original-abi.ts';
import type { ToolCall } from '../src/call/decision.ts';
import { fixtureJson } from './support/json-text.ts';

interface Case {
  id: string;
  policy: string | object;
  request: ToolCall & { args?: object };
  expect: string;
  reasonPrefix: string;
  why: string;
}

const fixturesUrl = new URL('./fixtures/conformance.json', import.meta.url);
const fixtures = JSON.parse(readFileSync(fixturesUrl, 'utf8')) as {
  policies: Record<string, string>;
  cases: Case[];
};

function policyText(policy: string | object): string {
  if (typeof policy !== 'string') return JSON.stringify(policy);
  const file = fixtures.policies[policy];
  assert.ok(file, `conformance policy "${policy}" is not in the policies map`);
  return readFileSync(new URL(file, fixturesUrl), 'utf8');
}

function contextJson(r: Case['request']): string {
  const context: Record<string, unknown> = {
    role: r.role,
    agent_attrs: r.agentAttributes ?? {},
    resource_attrs: r.resourceAttributes ?? {},
  };
  if (Object.hasOwn(r, 'now')) context.now = r.now;
  return fixtureJson(context);
}

/** A host written for the original perso.wasm: four exports, length-prefixed JSON. */
class RawHost {
  constructor(readonly x: OriginalAbiExports) {}
  put(text: string): [number, number] {
    const bytes = new TextEncoder().encode(text);
    const p = this.x.alloc(bytes.length);
    new Uint8Array(this.x.memory.buffer).set(bytes, p);
    return [p, bytes.length];
  }
  take(ptr: number): unknown {
    const mem = new Uint8Array(this.x.memory.buffer);
    assert.ok(ptr > 0 && ptr + 4 <= mem.length, 'response pointer inside memory');
    const n = new DataView(this.x.memory.buffer).getUint32(ptr, true);
    assert.ok(ptr + 4 + n <= mem.length, 'response length inside memory');
    const text = new TextDecoder('utf-8', { fatal: true }).decode(
      mem.subarray(ptr + 4, ptr + 4 + n),
    );
    this.x.dealloc(ptr, 4 + n);
    return JSON.parse(text);
  }
  init(policy: string): Record<string, unknown> {
    const [p, n] = this.put(policy);
    const r = this.take(this.x.init(p, n)) as Record<string, unknown>;
    this.x.dealloc(p, n);
    return r;
  }
  evaluate(tool: string, args: string, ctx: string): Record<string, unknown> {
    const t = this.put(tool);
    const a = this.put(args);
    const c = this.put(ctx);
    const r = this.take(this.x.evaluate(t[0], t[1], a[0], a[1], c[0], c[1])) as Record<
      string,
      unknown
    >;
    this.x.dealloc(...t);
    this.x.dealloc(...a);
    this.x.dealloc(...c);
    return r;
  }
  /** Additive exports (untrusted content): a tool result in, a response out; forget everything. */
  recordResult(record: object): Record<string, unknown> {
    const x = this.x as OriginalAbiExports & { recordResult(p: number, n: number): number };
    const [p, n] = this.put(JSON.stringify(record));
    const r = this.take(x.recordResult(p, n)) as Record<string, unknown>;
    this.x.dealloc(p, n);
    return r;
  }
  forget(): void {
    (this.x as OriginalAbiExports & { forget(): void }).forget();
  }
}

const module = await loadEngineModule();
const raw = new RawHost(await instantiateOriginalAbi(module));
const engine = await Engine.create(module);

test('the fixture file has cases', () => {
  assert.ok(
    fixtures.cases.length >= 30,
    `expected at least 30 cases, found ${fixtures.cases.length}`,
  );
});

for (const c of fixtures.cases) {
  test(`conformance ${c.id}`, () => {
    const text = policyText(c.policy);
    const init = raw.init(text);
    assert.equal(init.ok, true, `init: ${JSON.stringify(init)}`);
    const r = c.request;
    const argsJson = fixtureJson(r.args ?? {});
    const abi = raw.evaluate(r.tool, argsJson, contextJson(r));
    // A request the ABI refuses is an `{"error"}` response; hosts answer it as a Deny (DESIGN §2.3).
    const refused = typeof abi.error === 'string';
    const abiDecision = refused ? 'Deny' : abi.decision;
    const abiReason = refused ? `invalid request: ${String(abi.error)}` : String(abi.reason);
    assert.equal(abiDecision, c.expect, `raw ABI (${c.why}): ${JSON.stringify(abi)}`);
    assert.ok(abiReason.startsWith(c.reasonPrefix), `raw ABI reason: ${abiReason}`);

    const load = engine.load(text);
    assert.equal(load.ok, true);
    const v = engine.evaluate(r, 0);
    assert.equal(v.decision, c.expect, `Engine.evaluate (${c.why}): ${JSON.stringify(v)}`);
    assert.ok(v.reason.startsWith(c.reasonPrefix), `Engine.evaluate reason: ${v.reason}`);
    assert.deepEqual(JSON.parse(engine.evaluateAbi(r.tool, argsJson, contextJson(r))), abi);
    if (refused) {
      assert.equal(
        v.kind,
        'invalid_request',
        `Engine.evaluate refuses what the ABI refuses: ${JSON.stringify(v)}`,
      );
      return;
    }
    // The fast path and the original ABI agree exactly.
    assert.deepEqual({ ...v }, abi);
  });
}

test('raw ABI: pointers outside memory are an error response, not a trap', () => {
  const mem = raw.x.memory.buffer.byteLength;
  const bad = raw.take(raw.x.evaluate(mem - 2, 10, 0, 2, 0, 2)) as { error?: string };
  assert.equal(
    bad.error,
    "input buffer is outside the engine's memory; pass pointers returned by alloc",
  );
  const badInit = raw.take(raw.x.init(mem + 100, 5)) as { error?: string };
  assert.match(badInit.error ?? '', /outside the engine's memory/);
});

test('raw ABI: mutated bytes (invalid UTF-8 included) always get a well-formed response', () => {
  const demo = readFileSync(new URL(fixtures.policies.demo!, fixturesUrl), 'utf8');
  assert.equal(raw.init(demo).ok, true);
  let s = 99;
  const rand = () => (s = (s * 1664525 + 1013904223) >>> 0) / 4294967296;
  const enc = new TextEncoder();
  const args = enc.encode('{"customer_id":"C-1","amount":800,"note":"é 𝄞"}');
  const ctx = enc.encode(
    '{"role":"manager","agent_attrs":{"user_id":"m1","mfa_verified":true},"resource_attrs":{"owner_id":"m1"}}',
  );
  const put = (bytes: Uint8Array): number => {
    const p = raw.x.alloc(bytes.length);
    new Uint8Array(raw.x.memory.buffer).set(bytes, p);
    return p;
  };
  const mutate = (b: Uint8Array): Uint8Array => {
    const out = new Uint8Array(b);
    for (let k = 0; k < 3; k++) out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
    return out;
  };
  let decisions = 0;
  for (let i = 0; i < 3000; i++) {
    const tool = enc.encode(rand() < 0.5 ? 'delete_customer' : 'process_refund');
    const a = rand() < 0.7 ? mutate(args) : args;
    const c = rand() < 0.7 ? mutate(ctx) : ctx;
    const [tp, ap, cp] = [put(tool), put(a), put(c)];
    const r = raw.take(raw.x.evaluate(tp, tool.length, ap, a.length, cp, c.length)) as {
      error?: string;
      decision?: string;
    };
    raw.x.dealloc(tp, tool.length);
    raw.x.dealloc(ap, a.length);
    raw.x.dealloc(cp, c.length);
    assert.ok(
      typeof r.error === 'string' || r.decision === 'Allow' || r.decision === 'Deny',
      JSON.stringify(r),
    );
    if (r.decision) decisions++;
  }
  assert.ok(decisions > 100, `${decisions} decisions`);
});

// Sequences (test/fixtures/conformance-sequences.json): state across calls (budgets), each
// sequence on a freshly loaded policy, every step through the raw ABI and Engine.evaluate.
interface Step {
  request: ToolCall & { args?: object; now: number };
  /** A tool result handed to the evaluator instead of a request (untrusted content). */
  toolResult?: { tool: string; role: string; result: unknown };
  untrusted?: boolean;
  expect: string;
  kind: string;
  reasonPrefix: string;
}
const sequencesUrl = new URL('./fixtures/conformance-sequences.json', import.meta.url);
const sequences = JSON.parse(readFileSync(sequencesUrl, 'utf8')) as {
  policies: Record<string, object>;
  sequences: { id: string; policy: string; why: string; steps: Step[] }[];
};

for (const s of sequences.sequences) {
  test(`conformance sequence ${s.id}`, async () => {
    const text = JSON.stringify(sequences.policies[s.policy]);
    // Untrusted content outlives a policy load: each sequence starts with none.
    raw.forget();
    assert.equal(raw.init(text).ok, true);
    const fast = await Engine.create(module);
    assert.equal(fast.load(text).ok, true);
    s.steps.forEach((step, i) => {
      if (step.toolResult !== undefined) {
        const abi = raw.recordResult(step.toolResult);
        assert.deepEqual(
          abi,
          { recorded: true, untrusted: step.untrusted },
          `${s.id} step ${i} raw ABI`,
        );
        assert.deepEqual(
          fast.recordResult(step.toolResult),
          { ok: true, untrusted: step.untrusted },
          `${s.id} step ${i} Engine.recordResult`,
        );
        return;
      }
      const r = step.request;
      const ctx = JSON.stringify({
        role: r.role,
        agent_attrs: r.agentAttributes ?? {},
        resource_attrs: r.resourceAttributes ?? {},
        now: r.now,
      });
      const abi = raw.evaluate(r.tool, JSON.stringify(r.args ?? {}), ctx);
      assert.equal(
        `${String(abi.decision)}:${String(abi.kind)}`,
        `${step.expect}:${step.kind}`,
        `${s.id} step ${i} raw ABI (${s.why}): ${JSON.stringify(abi)}`,
      );
      assert.ok(
        String(abi.reason).startsWith(step.reasonPrefix),
        `${s.id} step ${i} raw ABI reason: ${String(abi.reason)}`,
      );
      const v = fast.evaluate(r, 0);
      assert.deepEqual({ ...v }, abi, `${s.id} step ${i}: Engine.evaluate and the raw ABI agree`);
    });
  });
}
