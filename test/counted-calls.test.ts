// Counted calls (src/engine/counted-calls.ts, src/backend/counted-call-journal.ts, the inline backend):
// the engine reports what its rate limits count, and a fresh engine given that list carries on
// the windows of the one it replaces. Each restart test is named after the fault behind it.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { APPROVED_CALL } from '../src/engine/approved-call.ts';
import type { CountedCall } from '../src/engine/counted-calls.ts';
import { CountedCallJournal } from '../src/backend/counted-call-journal.ts';
import { InlineBackend } from '../src/backend/inline-backend.ts';
import type { ToolCall } from '../src/call/decision.ts';
import type { Verdict } from '../src/engine/types.ts';

const module = await loadEngineModule();

const policy = JSON.stringify({
  version: 'counted-1',
  default_action: 'Deny',
  tools: ['pay', 'view', 'send'],
  roles: ['r', 'admin'],
  rules: [
    { tool_name: 'pay', roles: ['r'], rate_limit: { max: 3, per_seconds: 3600 } },
    {
      tool_name: 'pay',
      roles: ['r'],
      effect: 'Ask',
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 100 } },
    },
    {
      tool_name: 'pay',
      roles: ['r'],
      effect: 'Deny',
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 10000 } },
    },
    {
      tool_name: 'send',
      roles: ['r', 'admin'],
      rate_limit: { max: 2, per_seconds: 10 },
      condition: { NumericCheck: { source: 'Arguments', field: 'n', op: 'Lt', value: 5 } },
    },
    { tool_name: 'view', roles: ['r'] },
  ],
});
const pay = (amount: number, now?: number): ToolCall => ({
  tool: 'pay',
  role: 'r',
  args: { amount },
  ...(now === undefined ? {} : { now }),
});

async function engineWith(text = policy): Promise<{ engine: Engine; counted: CountedCall[] }> {
  const engine = await Engine.create(module);
  assert.equal(engine.load(text).ok, true);
  const counted: CountedCall[] = [];
  engine.countCalls((call) => counted.push(call));
  return { engine, counted };
}

/** A seeded generator, so a failure is reproducible. */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const shown = (v: Verdict): string =>
  `${v.decision}:${v.kind}${v.retryAfter === undefined ? '' : `:${v.retryAfter}`}`;

describe('the engine reports what it counts', () => {
  test('a final Allow on a rate-limited pair is counted at its time; Deny, Ask and unlimited pairs are not', async () => {
    const { engine, counted } = await engineWith();
    assert.equal(engine.evaluate(pay(10), 100).decision, 'Allow');
    assert.equal(engine.evaluate(pay(10, 150), 100).decision, 'Allow', "the call's own now");
    assert.equal(
      engine.evaluate(pay(500), 100).decision,
      'Ask',
      'an unapproved Ask spends nothing',
    );
    assert.equal(engine.evaluate(pay(20000), 100).kind, 'denied_by_rule');
    assert.equal(
      engine.evaluate({ tool: 'view', role: 'r' }, 100).decision,
      'Allow',
      'no rate limit',
    );
    assert.equal(
      engine.evaluate({ tool: 'send', role: 'r', args: { n: 9 } }, 100).decision,
      'Deny',
    );
    // keep: as many as the window remembers (4 x max, at least 64), so a restored window counts the same calls.
    assert.deepEqual(counted, [
      { tool: 'pay', role: 'r', at: 100, keep: 64 },
      { tool: 'pay', role: 'r', at: 150, keep: 64 },
    ]);
  });

  test('an Ask a person approved is counted (the backend lifts it to Allow); a rate-limited Deny is not', async () => {
    const { engine, counted } = await engineWith();
    const approved = { ...pay(500), [APPROVED_CALL]: true } as ToolCall;
    assert.equal(engine.evaluate(approved, 1).decision, 'Ask');
    assert.equal(engine.evaluate(approved, 2).decision, 'Ask');
    assert.equal(engine.evaluate(pay(1), 3).decision, 'Allow');
    assert.equal(engine.evaluate(pay(1), 4).kind, 'rate_limited');
    assert.deepEqual(
      counted.map((c) => c.at),
      [1, 2, 3],
    );
  });

  test('batches report in order, and a policy without rate limits reports nothing', async () => {
    const { engine, counted } = await engineWith();
    engine.evaluateBatch([pay(1), { tool: 'send', role: 'admin', args: { n: 1 } }, pay(2)], 7, [
      { amount: 1 },
      { n: 1 },
      { amount: 2 },
    ]);
    assert.deepEqual(
      counted.map((c) => `${c.tool}/${c.role}@${c.at}#${c.keep}`),
      ['pay/r@7#64', 'send/admin@7#64', 'pay/r@7#64'],
    );
    const plain = await engineWith(
      JSON.stringify({
        version: 'p',
        default_action: 'Allow',
        tools: ['t'],
        roles: ['r'],
        rules: [{ tool_name: 't', roles: ['r'] }],
      }),
    );
    plain.engine.evaluate({ tool: 't', role: 'r' }, 1);
    plain.engine.evaluate({ tool: 'other', role: 'r' }, 1);
    assert.deepEqual(plain.counted, []);
  });
});

describe('a fresh engine carries on the windows it is given', () => {
  test('engine replaced mid-window: "3 per hour" stays 3, with the same retry time', async () => {
    const first = await engineWith();
    for (let t = 0; t < 3; t++)
      assert.equal(first.engine.evaluate(pay(1), 1000 + t).decision, 'Allow');
    const second = await engineWith();
    assert.equal(second.engine.restoreCounted(first.counted), 3);
    const fourth = second.engine.evaluate(pay(1), 1010);
    assert.equal(fourth.kind, 'rate_limited');
    assert.equal(fourth.retryAfter, first.engine.evaluate(pay(1), 1010).retryAfter);
    assert.equal(
      second.engine.evaluate(pay(1), 4600).decision,
      'Allow',
      'the oldest left the window',
    );
  });

  test('restore skips what the policy does not count, and times the engine refuses', async () => {
    const { engine } = await engineWith();
    const calls: CountedCall[] = [
      { tool: 'view', role: 'r', at: 1, keep: 3 },
      { tool: 'nope', role: 'r', at: 1, keep: 3 },
      { tool: 'pay', role: 'r', at: 2 ** 44, keep: 3 },
      { tool: 'pay', role: 'r', at: 5, keep: 3 },
    ];
    assert.equal(engine.restoreCounted(calls), 1);
  });

  test('a restart after every call decides exactly as one engine does (2,000 calls, time moving forward)', async () => {
    const rand = generator(15);
    const one = await engineWith();
    const journal = new CountedCallJournal();
    let now = 0;
    for (let i = 0; i < 2000; i++) {
      now += Math.floor(rand() * 4);
      const call =
        rand() < 0.6
          ? pay(rand() < 0.2 ? 500 : 1)
          : ({
              tool: 'send',
              role: rand() < 0.5 ? 'r' : 'admin',
              args: { n: Math.floor(rand() * 6) },
            } as ToolCall);
      const fresh = await Engine.create(module);
      fresh.load(policy);
      assert.equal(fresh.restoreCounted(journal.calls()), journal.calls().length);
      fresh.countCalls((c) => journal.add(c));
      const expected = shown(one.engine.evaluate(call, now));
      assert.equal(shown(fresh.evaluate(call, now)), expected, `call ${i} at ${now}`);
    }
  });

  test('time going backwards: a restored window is never less strict than the one it replaces', async () => {
    const rand = generator(9);
    const one = await engineWith();
    const journal = new CountedCallJournal();
    one.engine.countCalls((c) => journal.add(c));
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const now = 1000 + Math.floor(rand() * 40) - 20 + i / 10;
      const call = { tool: 'send', role: 'r', args: { n: 1 } } as ToolCall;
      const fresh = await Engine.create(module);
      fresh.load(policy);
      fresh.restoreCounted(journal.calls());
      const restored = fresh.evaluate(call, now);
      const kept = one.engine.evaluate(call, now);
      if (restored.decision === 'Allow')
        assert.equal(kept.decision, 'Allow', `call ${i} at ${now}: allowed only after the restore`);
      seen.add(kept.decision);
    }
    assert.deepEqual([...seen].sort(), ['Allow', 'Deny'], 'both answers were tried');
  });
});

describe('CountedCallJournal', () => {
  test('keeps the newest `keep` per pair, oldest first, and forgets all on clear', () => {
    const journal = new CountedCallJournal();
    for (let at = 1; at <= 5; at++) journal.add({ tool: 'pay', role: 'r', at, keep: 3 });
    journal.add({ tool: 'send', role: 'r', at: 9, keep: 2 });
    assert.deepEqual(
      journal.calls().map((c) => `${c.tool}@${c.at}`),
      ['pay@3', 'pay@4', 'pay@5', 'send@9'],
    );
    journal.clear();
    assert.deepEqual(journal.calls(), []);
  });
});

describe('the inline backend: an engine replaced after a trap keeps its windows', () => {
  // A real trap inside engine.wasm, as test/browser/fixtures/fault-hooks.ts makes one in the
  // worker: once armed, the next `decide` first frees a pointer far past the end of memory.
  const instantiate = WebAssembly.instantiate;
  let armed = false;
  afterEach(() => {
    WebAssembly.instantiate = instantiate;
    armed = false;
  });
  function hookTraps(): void {
    WebAssembly.instantiate = (async (m: WebAssembly.Module, imports?: WebAssembly.Imports) => {
      const instance = await (
        instantiate as (
          m: WebAssembly.Module,
          i?: WebAssembly.Imports,
        ) => Promise<WebAssembly.Instance>
      )(m, imports);
      const real = instance.exports as Record<string, unknown> & {
        dealloc(p: number, n: number): void;
        decide(...a: number[]): number;
      };
      const decide = (...args: number[]): number => {
        if (armed) {
          armed = false;
          real.dealloc(0x7ffffff0, 16);
        }
        return real.decide(...args);
      };
      return { exports: { ...real, decide } } as unknown as WebAssembly.Instance;
    }) as typeof WebAssembly.instantiate;
  }

  test('wasm trap mid-window: "3 per hour" stays 3 once the fresh engine is up', async () => {
    hookTraps();
    const backend = await InlineBackend.create({ module });
    assert.equal(backend.loadNow(policy).ok, true);
    for (let t = 0; t < 3; t++)
      assert.equal(backend.evaluateNow(pay(1), 1000 + t).decision, 'Allow');
    armed = true;
    const trapped = backend.evaluateNow(pay(1), 1003);
    assert.equal(trapped.kind, 'engine_fault');
    assert.match(trapped.reason, /memory access out of bounds/);
    let after = backend.evaluateNow(pay(1), 1004);
    for (let i = 0; i < 50 && after.kind === 'engine_fault'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      after = backend.evaluateNow(pay(1), 1004);
    }
    assert.equal(after.kind, 'rate_limited', after.reason);
    assert.equal(
      backend.evaluateNow({ tool: 'view', role: 'r' }, 1004).decision,
      'Allow',
      'the fresh engine has the policy',
    );
  });

  test('wasm trap after a reload of the same text: the windows it kept stay 3 per hour', async () => {
    hookTraps();
    const backend = await InlineBackend.create({ module });
    assert.equal(backend.loadNow(policy).ok, true);
    for (let t = 0; t < 3; t++)
      assert.equal(backend.evaluateNow(pay(1), 1000 + t).decision, 'Allow');
    assert.equal(backend.loadNow(policy).ok, true);
    assert.equal(backend.evaluateNow(pay(1), 1003).kind, 'rate_limited', 'kept by the reload');
    assert.equal(backend.countedCalls().length, 3);
    armed = true;
    assert.equal(backend.evaluateNow(pay(1), 1004).kind, 'engine_fault');
    let after = backend.evaluateNow(pay(1), 1005);
    for (let i = 0; i < 50 && after.kind === 'engine_fault'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      after = backend.evaluateNow(pay(1), 1005);
    }
    assert.equal(after.kind, 'rate_limited', after.reason);
  });

  test('a reload of other text starts new windows, in the engine and in what a fresh one restores', async () => {
    hookTraps();
    const backend = await InlineBackend.create({ module });
    assert.equal(backend.loadNow(policy).ok, true);
    for (let t = 0; t < 3; t++) backend.evaluateNow(pay(1), 1000 + t);
    const other = policy.replace('counted-1', 'counted-2');
    assert.equal(backend.loadNow(other).ok, true);
    assert.deepEqual(backend.countedCalls(), []);
    assert.equal(backend.evaluateNow(pay(1), 1003).decision, 'Allow');
    armed = true;
    assert.equal(backend.evaluateNow(pay(1), 1004).kind, 'engine_fault');
    let after = backend.evaluateNow(pay(1), 1005);
    for (let i = 0; i < 50 && after.kind === 'engine_fault'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      after = backend.evaluateNow(pay(1), 1005);
    }
    // The new policy's one call is restored, the old three are not.
    assert.equal(after.decision, 'Allow', after.reason);
    assert.equal(backend.evaluateNow(pay(1), 1006).decision, 'Allow');
    assert.equal(backend.evaluateNow(pay(1), 1007).kind, 'rate_limited');
  });
});
