// Red-team tests: each one is an attack that once made perso allow what the policy does not, crash,
// hang, or answer something other than a decision — or an attack tried and held, kept so that it
// stays held. Each test is named after the attack it injects.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { Perso } from '../src/perso.ts';
import type { Policy } from '../src/policy.ts';
import type { JsonValue, ToolCall } from '../src/decision.ts';

const module = await loadEngineModule();

function capPolicy(extra: Record<string, unknown> = {}, value: JsonValue = 500): Policy {
  return {
    version: 'attack-1',
    default_action: 'Deny',
    tools: ['t'],
    roles: ['r'],
    rules: [
      {
        tool_name: 't',
        roles: ['r'],
        condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value } },
        ...extra,
      },
    ],
  } as Policy;
}

function abi(engine: Engine, tool: string, argsJson: string, role = 'r'): Record<string, unknown> {
  return JSON.parse(engine.evaluateAbi(tool, argsJson, JSON.stringify({ role, now: 1000 }))) as Record<string, unknown>;
}

describe('attack: hostile call objects against the engine host', () => {
  test('a throwing getter in the args does not kill the engine and reset rate-limit windows', async () => {
    const perso = await Perso.load({ policy: capPolicy({ rate_limit: { max: 1, per_seconds: 3600 } }), clock: () => 1000 });
    assert.equal((await perso.evaluate({ tool: 't', role: 'r', args: { amount: 1 } })).decision, 'Allow');
    assert.equal((await perso.evaluate({ tool: 't', role: 'r', args: { amount: 1 } })).kind, 'rate_limited');
    const evil = {
      get amount(): number {
        throw new Error('boom');
      },
    };
    const refused = await perso.evaluate({ tool: 't', role: 'r', args: evil });
    assert.equal(refused.decision, 'Deny');
    assert.equal(refused.kind, 'invalid_request');
    await new Promise((resolve) => setTimeout(resolve, 30));
    const again = await perso.evaluate({ tool: 't', role: 'r', args: { amount: 1 } });
    assert.equal(again.decision, 'Deny', 'the window must still be full');
    assert.equal(again.kind, 'rate_limited');
    await perso.close();
  });

  test('a Proxy whose getPrototypeOf trap throws is an invalid request, and Engine.evaluate does not throw', async () => {
    const engine = await Engine.create(module);
    assert.equal(engine.load(JSON.stringify(capPolicy())).ok, true);
    const args = new Proxy({}, {
      getPrototypeOf(): object {
        throw new Error('trap');
      },
    });
    const v = engine.evaluate({ tool: 't', role: 'r', args } as ToolCall, 0);
    assert.equal(v.decision, 'Deny');
    assert.equal(v.kind, 'invalid_request');
    assert.equal(engine.fault, null);
    assert.equal(engine.evaluate({ tool: 't', role: 'r', args: { amount: 1 } }, 0).decision, 'Allow');
  });

  test('a call whose tool getter throws is an invalid request, not an exception', async () => {
    const engine = await Engine.create(module);
    engine.load(JSON.stringify(capPolicy()));
    const call = {
      get tool(): string {
        throw new Error('no tool for you');
      },
      role: 'r',
    };
    const v = engine.evaluate(call as unknown as ToolCall, 0);
    assert.equal(v.kind, 'invalid_request');
    assert.equal(engine.fault, null);
  });

  test('a getter that throws only when the failure is explained does not kill the engine', async () => {
    const engine = await Engine.create(module);
    engine.load(JSON.stringify(capPolicy()));
    let reads = 0;
    const args = {
      get amount(): number {
        if (++reads > 1) throw new Error('second read');
        return 900;
      },
    };
    const v = engine.evaluate({ tool: 't', role: 'r', args }, 0);
    assert.equal(v.decision, 'Deny');
    assert.equal(v.kind, 'condition_failed');
    assert.equal(engine.fault, null);
  });

  test('a getter returning a different value on each read is decided on the first read only', async () => {
    const engine = await Engine.create(module);
    engine.load(JSON.stringify(capPolicy()));
    let reads = 0;
    const args = {
      get amount(): number {
        return ++reads === 1 ? 900 : 1;
      },
    };
    assert.equal(engine.evaluate({ tool: 't', role: 'r', args }, 0).decision, 'Deny');
  });
});
