// The engine boundary's one definition (src/engine/engine-boundary.ts): its names are the public
// API's, its codes index its name lists, and the engine built from it answers with those names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as boundary from '../src/engine/engine-boundary.ts';
import { Decision, ReasonKind } from '../src/call/decision.ts';
import { Source } from '../src/policy/policy.ts';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';

test('every reason kind and decision the engine names is one of the public API', () => {
  const kinds = new Set<string>(Object.values(ReasonKind));
  for (const name of boundary.KIND_NAMES) assert.ok(kinds.has(name), `unknown kind "${name}"`);
  assert.deepEqual([...boundary.DECISION_NAMES].sort(), Object.values(Decision).sort());
  assert.deepEqual(boundary.SOURCE_NAMES, Object.values(Source));
});

test('each code is the index of its name, within the bits a decision code gives it', () => {
  const pairs: [number, string][] = [
    [boundary.K_NO_RULE, boundary.KIND_NO_RULE],
    [boundary.K_NO_CONDITION, boundary.KIND_NO_CONDITION],
    [boundary.K_PASSED, boundary.KIND_CONDITION_PASSED],
    [boundary.K_FAILED, boundary.KIND_CONDITION_FAILED],
    [boundary.K_DENIED, boundary.KIND_DENIED_BY_RULE],
    [boundary.K_ASK, boundary.KIND_ASK_BY_RULE],
    [boundary.K_RATE, boundary.KIND_RATE_LIMITED],
    [boundary.K_BUDGET, boundary.KIND_BUDGET_EXCEEDED],
    [boundary.K_BUDGET_UNKNOWN, boundary.KIND_BUDGET_UNKNOWN],
  ];
  assert.equal(pairs.length, boundary.KIND_NAMES.length);
  for (const [code, name] of pairs) assert.equal(boundary.KIND_NAMES[code], name);
  // decision | kind << 2 | CODE_DETAIL | rule << 8: two bits of decision, four of kind.
  assert.ok(boundary.KIND_NAMES.length <= 16 && boundary.CODE_DETAIL === 1 << 6);
  assert.equal(boundary.DECISION_NAMES[boundary.D_ALLOW], 'Allow');
  assert.equal(boundary.DECISION_NAMES[boundary.D_DENY], 'Deny');
  assert.equal(boundary.DECISION_NAMES[boundary.D_ASK], 'Ask');
  const tags = [
    boundary.T_MISSING,
    boundary.T_NULL,
    boundary.T_FALSE,
    boundary.T_TRUE,
    boundary.T_NUMBER,
    boundary.T_STRING,
    boundary.T_JSON,
  ];
  assert.deepEqual(tags, [0, 1, 2, 3, 4, 5, 6]);
});

test('the engine words its constant reasons with the boundary texts, raw ABI and fast path alike', async () => {
  const engine = await Engine.create(await loadEngineModule());
  const load = engine.load(
    JSON.stringify({
      version: 'boundary',
      default_action: 'Deny',
      tools: ['a', 'b'],
      rules: [
        { tool_name: 'a', roles: ['r'] },
        {
          tool_name: 'b',
          roles: ['r'],
          condition: { FieldPresent: { source: 'Arguments', field: 'x' } },
        },
      ],
    }),
  );
  assert.ok(load.ok);
  const prefix = (tool: string) =>
    `${boundary.REASON_RULE_MATCHED}${tool}${boundary.REASON_FOR_ROLE}r'`;
  const expected = [
    ['a', {}, boundary.KIND_NO_CONDITION, `${prefix('a')}${boundary.REASON_NO_CONDITION}`],
    [
      'b',
      { x: 1 },
      boundary.KIND_CONDITION_PASSED,
      `${prefix('b')}${boundary.REASON_CONDITION_PASSED}`,
    ],
    [
      'c',
      {},
      boundary.KIND_NO_RULE,
      `${boundary.REASON_NO_RULE}c${boundary.REASON_FOR_ROLE}r${boundary.REASON_DEFAULT_ACTION}`,
    ],
  ] as const;
  for (const [tool, args, kind, reason] of expected) {
    const fast = engine.evaluate({ tool, args, role: 'r' }, 0);
    assert.equal(fast.kind, kind);
    assert.equal(fast.reason, reason);
    const raw = JSON.parse(engine.evaluateAbi(tool, JSON.stringify(args), '{"role":"r"}')) as {
      kind: string;
      reason: string;
    };
    assert.equal(raw.kind, kind);
    assert.equal(raw.reason, reason);
  }
});
