// Unit tests of the engine through its host: every condition, op and source, three-valued logic,
// the extensions, the parser's error paths, diagnostics, and the host's fail-closed paths.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import asc from 'assemblyscript/asc';
import { Engine, ENGINE_ABI_VERSION } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import type { PolicyLoad, Verdict } from '../src/engine/engine.ts';
import type { JsonObject, JsonValue, ToolCall } from '../src/call/decision.ts';

const module = await loadEngineModule();
const engine = await Engine.create(module);

type Rule = Record<string, unknown>;

function policy(rules: Rule[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: 'test-1',
    default_action: 'Deny',
    tools: ['t', 'u', 'crm_read', 'crm_write'],
    roles: ['r', 's'],
    rules,
    ...extra,
  });
}

function loaded(text: string, e: Engine = engine): PolicyLoad & { ok: true } {
  const r = e.load(text);
  assert.equal(r.ok, true, `load failed: ${JSON.stringify(r)}`);
  return r as PolicyLoad & { ok: true };
}

function failed(text: string, e: Engine = engine): PolicyLoad & { ok: false } {
  const r = e.load(text);
  assert.equal(r.ok, false, 'load should fail');
  return r as PolicyLoad & { ok: false };
}

/** Loads a one-rule policy granting t to r under `condition`, then decides a call. */
function withCondition(
  condition: unknown,
  args: JsonObject = {},
  agent: JsonObject = {},
  resource: JsonObject = {},
): Verdict {
  loaded(policy([{ tool_name: 't', roles: ['r'], condition }]));
  return call({ tool: 't', role: 'r', args, agentAttributes: agent, resourceAttributes: resource });
}

/** Decides through the fast path and the raw ABI, asserts they agree, returns the verdict. */
function call(c: ToolCall, now = 0): Verdict {
  const v = engine.evaluate(c, now);
  assert.deepEqual({ ...v }, abi(c, now), 'fast path and raw ABI disagree');
  return v;
}

function abi(c: ToolCall, now?: number): Record<string, unknown> {
  const ctx: Record<string, unknown> = {
    role: c.role,
    agent_attrs: c.agentAttributes ?? {},
    resource_attrs: c.resourceAttributes ?? {},
  };
  if (now !== undefined) ctx.now = now;
  return JSON.parse(
    engine.evaluateAbi(c.tool, JSON.stringify(c.args ?? {}), JSON.stringify(ctx)),
  ) as Record<string, unknown>;
}

const PREFIX = "rule matched tool 't' for role 'r'";

function num(op: string, value: number): unknown {
  return { NumericCheck: { source: 'Arguments', field: 'amount', op, value } };
}

describe('NumericCheck', () => {
  const cases: [string, number, number, boolean][] = [
    ['Lte', 500, 500, true],
    ['Lte', 500, 500.01, false],
    ['Gte', 10, 10, true],
    ['Gte', 10, 9.99, false],
    ['Lt', 10, 9, true],
    ['Lt', 10, 10, false],
    ['Gt', 10, 11, true],
    ['Gt', 10, 10, false],
    ['Eq', 5, 5, true],
    ['Eq', 5, 5.001, false],
  ];
  for (const [op, bound, amount, allowed] of cases) {
    test(`${amount} ${op} ${bound} is ${allowed}`, () => {
      const v = withCondition(num(op, bound), { amount });
      assert.equal(v.decision, allowed ? 'Allow' : 'Deny');
      if (!allowed) {
        assert.equal(
          v.reason,
          `${PREFIX}; condition failed: Arguments.amount = ${amount} is not ${op} ${bound}`,
        );
        assert.deepEqual(v.failure, {
          path: 'Arguments.amount',
          op,
          expected: bound,
          actual: amount,
        });
      } else {
        assert.equal(v.reason, `${PREFIX}; condition passed`);
        assert.equal(v.kind, 'condition_passed');
      }
    });
  }
  test('a string is not a number (no coercion)', () => {
    const v = withCondition(num('Lte', 500), { amount: '200' });
    assert.equal(v.decision, 'Deny');
    assert.equal(v.reason, `${PREFIX}; condition failed: Arguments.amount = "200" is not a number`);
  });
  for (const bad of [null, true, [1], { a: 1 }] as JsonValue[]) {
    test(`${JSON.stringify(bad)} is not a number`, () => {
      assert.equal(withCondition(num('Lte', 500), { amount: bad }).decision, 'Deny');
    });
  }
  test('a missing field is named in the reason', () => {
    const v = withCondition(num('Lte', 500), {});
    assert.equal(v.reason, `${PREFIX}; condition failed: Arguments.amount is missing`);
    assert.deepEqual(v.failure, { path: 'Arguments.amount', op: 'Lte', expected: 500 });
  });
  test('precision: 2000.01 is not Lte 2000', () => {
    assert.equal(withCondition(num('Lte', 2000), { amount: 2000.01 }).decision, 'Deny');
    assert.equal(withCondition(num('Lte', 2000.5), { amount: 2000.25 }).decision, 'Allow');
  });
});

describe('StringCheck', () => {
  const str = (op: string, value: string[], field = 'env') => ({
    StringCheck: { source: 'AgentAttributes', field, op, value },
  });
  test('In is exact and case-sensitive', () => {
    assert.equal(
      withCondition(str('In', ['production']), {}, { env: 'production' }).decision,
      'Allow',
    );
    const v = withCondition(str('In', ['production']), {}, { env: 'Production' });
    assert.equal(v.decision, 'Deny');
    assert.equal(
      v.reason,
      `${PREFIX}; condition failed: AgentAttributes.env = "Production" is not in ["production"]`,
    );
  });
  test('NotIn', () => {
    assert.equal(
      withCondition(str('NotIn', ['/etc/passwd'], 'p'), {}, { p: '/tmp/a' }).decision,
      'Allow',
    );
    assert.equal(
      withCondition(str('NotIn', ['/etc/passwd'], 'p'), {}, { p: '/etc/passwd' }).decision,
      'Deny',
    );
    assert.equal(withCondition(str('NotIn', ['/etc/passwd'], 'p'), {}, {}).decision, 'Deny');
  });
  test('Prefix and Suffix', () => {
    assert.equal(
      withCondition(str('Prefix', ['/home/', '/tmp/'], 'p'), {}, { p: '/tmp/x' }).decision,
      'Allow',
    );
    assert.equal(
      withCondition(str('Prefix', ['/home/'], 'p'), {}, { p: '/etc/x' }).decision,
      'Deny',
    );
    assert.equal(withCondition(str('Suffix', ['.csv'], 'p'), {}, { p: 'r.csv' }).decision, 'Allow');
    assert.equal(
      withCondition(str('Suffix', ['.csv'], 'p'), {}, { p: 'r.csv.exe' }).decision,
      'Deny',
    );
    assert.equal(
      withCondition(str('Suffix', ['long-suffix'], 'p'), {}, { p: 'x' }).decision,
      'Deny',
    );
  });
  test('non-ASCII strings compare by their UTF-8 bytes', () => {
    assert.equal(
      withCondition(str('In', ['café ☕ 𝄞']), {}, { env: 'café ☕ 𝄞' }).decision,
      'Allow',
    );
    assert.equal(withCondition(str('In', ['café']), {}, { env: 'cafe' }).decision, 'Deny');
  });
  test('a number is not a string', () => {
    const v = withCondition(str('In', ['1']), {}, { env: 1 });
    assert.equal(v.reason, `${PREFIX}; condition failed: AgentAttributes.env = 1 is not a string`);
  });
  test('attacker-controlled values are quoted and truncated to 64 characters', () => {
    const long = 'x'.repeat(500) + '"; condition passed';
    const v = withCondition(str('In', ['a']), {}, { env: long });
    assert.equal(v.decision, 'Deny');
    assert.ok(v.reason.includes(`"${'x'.repeat(64)}…"`), v.reason);
    assert.ok(!v.reason.includes('condition passed'), v.reason);
  });
});

describe('FieldPresent, FieldEquals, Equals', () => {
  const present = { FieldPresent: { source: 'ResourceAttributes', field: 'owner_id' } };
  test('false, 0 and "" count as present; null and missing do not', () => {
    for (const value of [false, 0, '', {}])
      assert.equal(withCondition(present, {}, {}, { owner_id: value }).decision, 'Allow');
    assert.equal(
      withCondition(present, {}, {}, { owner_id: null }).reason,
      `${PREFIX}; condition failed: ResourceAttributes.owner_id is null`,
    );
    assert.equal(
      withCondition(present, {}, {}, {}).reason,
      `${PREFIX}; condition failed: ResourceAttributes.owner_id is missing`,
    );
  });
  const eq = {
    FieldEquals: {
      source_a: 'AgentAttributes',
      field_a: 'user_id',
      source_b: 'ResourceAttributes',
      field_b: 'owner_id',
    },
  };
  test('FieldEquals is type-strict and deep', () => {
    assert.equal(withCondition(eq, {}, { user_id: 'u1' }, { owner_id: 'u1' }).decision, 'Allow');
    assert.equal(withCondition(eq, {}, { user_id: 1 }, { owner_id: '1' }).decision, 'Deny');
    assert.equal(withCondition(eq, {}, { user_id: 1 }, { owner_id: 1 }).decision, 'Allow');
    assert.equal(withCondition(eq, {}, { user_id: true }, { owner_id: true }).decision, 'Allow');
    assert.equal(
      withCondition(eq, {}, { user_id: { a: [1, 2], b: 'x' } }, { owner_id: { b: 'x', a: [1, 2] } })
        .decision,
      'Allow',
    );
    assert.equal(
      withCondition(eq, {}, { user_id: { a: [1, 2] } }, { owner_id: { a: [2, 1] } }).decision,
      'Deny',
    );
    const v = withCondition(eq, {}, { user_id: 'u1' }, { owner_id: 'u2' });
    assert.equal(
      v.reason,
      `${PREFIX}; condition failed: AgentAttributes.user_id = "u1" does not equal ResourceAttributes.owner_id = "u2"`,
    );
    assert.deepEqual(v.failure, {
      path: 'AgentAttributes.user_id',
      op: 'FieldEquals',
      expected: 'u2',
      actual: 'u1',
    });
  });
  test('null never equals null (two nulls prove no ownership)', () => {
    assert.equal(withCondition(eq, {}, { user_id: null }, { owner_id: null }).decision, 'Deny');
    assert.equal(withCondition(eq, {}, {}, {}).decision, 'Deny');
  });
  const equals = (value: unknown) => ({
    Equals: { source: 'AgentAttributes', field: 'mfa_verified', value },
  });
  test('Equals tests booleans that FieldPresent cannot', () => {
    assert.equal(withCondition(equals(true), {}, { mfa_verified: true }).decision, 'Allow');
    const v = withCondition(equals(true), {}, { mfa_verified: false });
    assert.equal(
      v.reason,
      `${PREFIX}; condition failed: AgentAttributes.mfa_verified = false does not equal true`,
    );
    assert.equal(withCondition(equals(true), {}, { mfa_verified: 'true' }).decision, 'Deny');
    assert.equal(withCondition(equals(true), {}, {}).decision, 'Deny');
  });
  test('Equals with string, number, null and object literals', () => {
    assert.equal(withCondition(equals('yes'), {}, { mfa_verified: 'yes' }).decision, 'Allow');
    assert.equal(withCondition(equals(2), {}, { mfa_verified: 2 }).decision, 'Allow');
    assert.equal(
      withCondition(equals({ k: [1, { z: null }] }), {}, { mfa_verified: { k: [1, { z: null }] } })
        .decision,
      'Allow',
    );
    assert.equal(
      withCondition(equals({ k: 1 }), {}, { mfa_verified: { k: 1, extra: 2 } }).decision,
      'Deny',
    );
  });
  test('Equals with value null is unknown, never true: null is absent (issue 9 fix 3)', () => {
    const v = withCondition(equals(null), {}, { mfa_verified: null });
    assert.equal(v.decision, 'Deny');
    assert.equal(v.reason, `${PREFIX}; condition failed: AgentAttributes.mfa_verified is null`);
    assert.equal(withCondition(equals(null), {}, {}).decision, 'Deny');
    assert.equal(
      withCondition(equals(null), {}, { mfa_verified: 0 }).reason,
      `${PREFIX}; condition failed: AgentAttributes.mfa_verified Equals null never holds (null counts as absent)`,
    );
    // Unknown: Not(unknown) is unknown, so a Deny rule over Not(Equals null) holds.
    assert.equal(withCondition({ Not: equals(null) }, {}, { mfa_verified: null }).decision, 'Deny');
    // A null inside an object literal is a value like any other (deep equality, type-strict).
    assert.equal(
      withCondition(equals({ z: null }), {}, { mfa_verified: { z: null } }).decision,
      'Allow',
    );
    assert.equal(
      withCondition(equals({ z: null }), {}, { mfa_verified: { z: 0 } }).decision,
      'Deny',
    );
  });
  test('the validator warns that Equals null never holds and suggests Not(FieldPresent)', () => {
    const r = loaded(
      policy([
        {
          tool_name: 't',
          roles: ['r'],
          condition: { All: [{ Equals: { source: 'Arguments', field: ['a', 'b'], value: null } }] },
        },
      ]),
    );
    assert.deepEqual(
      r.warnings.map((d) => `${d.path}: ${d.message}`),
      [
        'rules[0].condition.All[0].Equals.value: Equals with value null never holds: null counts as absent, so the check is unknown (a Deny or Ask rule holds, an Allow rule fails); to test that the field is absent or null, use {"Not": {"FieldPresent": {"source": "Arguments", "field": ["a","b"]}}}',
      ],
    );
  });
  test('nested field arrays walk objects and stop at anything else', () => {
    const cond = {
      StringCheck: {
        source: 'Arguments',
        field: ['customer', 'address', 'country'],
        op: 'In',
        value: ['FR'],
      },
    };
    assert.equal(
      withCondition(cond, { customer: { address: { country: 'FR' } } }).decision,
      'Allow',
    );
    assert.equal(withCondition(cond, { customer: { address: ['FR'] } }).decision, 'Deny');
    const v = withCondition(cond, { customer: 'FR' });
    assert.equal(
      v.reason,
      `${PREFIX}; condition failed: Arguments.customer.address.country is missing`,
    );
    // "a.b" is a key literally named a.b, not a path
    const dotted = { StringCheck: { source: 'Arguments', field: 'a.b', op: 'In', value: ['x'] } };
    assert.equal(withCondition(dotted, { 'a.b': 'x' }).decision, 'Allow');
    assert.equal(withCondition(dotted, { a: { b: 'x' } }).decision, 'Deny');
  });
  test('inherited properties are not fields', () => {
    const args = Object.create(null) as JsonObject;
    assert.equal(withCondition(num('Lte', 5), args).decision, 'Deny');
    assert.equal(
      withCondition({ FieldPresent: { source: 'Arguments', field: 'toString' } }, {}).decision,
      'Deny',
    );
  });
});

describe('three-valued logic', () => {
  const missing = num('Gt', 500); // amount absent → unknown
  test('Not(unknown) is unknown: missing data never grants', () => {
    assert.equal(withCondition({ Not: missing }, {}).decision, 'Deny');
    assert.equal(withCondition({ Not: missing }, { amount: 100 }).decision, 'Allow');
    assert.equal(
      withCondition({ Not: missing }, { amount: 900 }).reason,
      `${PREFIX}; condition failed: negated condition held: Arguments.amount = 900 is Gt 500`,
    );
  });
  test('Not(FieldPresent) is a real absence test', () => {
    assert.equal(
      withCondition({ Not: { FieldPresent: { source: 'Arguments', field: 'x' } } }, {}).decision,
      'Allow',
    );
    assert.equal(
      withCondition({ Not: { FieldPresent: { source: 'Arguments', field: 'x' } } }, { x: 1 })
        .decision,
      'Deny',
    );
  });
  test('All: false wins over unknown; Any: true wins over unknown', () => {
    const t = { FieldPresent: { source: 'Arguments', field: 'x' } };
    assert.equal(withCondition({ Any: [missing, t] }, { x: 1 }).decision, 'Allow');
    assert.equal(withCondition({ Any: [missing, { Not: missing }] }, { x: 1 }).decision, 'Deny');
    assert.equal(withCondition({ All: [t, missing] }, { x: 1 }).decision, 'Deny');
    assert.equal(withCondition({ All: [] }, {}).decision, 'Allow');
    assert.equal(withCondition({ Any: [] }, {}).decision, 'Deny');
  });
  test('All explains its first failing child', () => {
    const v = withCondition(
      { All: [{ FieldPresent: { source: 'Arguments', field: 'x' } }, num('Lte', 5)] },
      { x: 1, amount: 6 },
    );
    assert.equal(v.reason, `${PREFIX}; condition failed: Arguments.amount = 6 is not Lte 5`);
  });
});

describe('extensions', () => {
  const grant = { tool_name: 't', roles: ['r'], condition: null };
  const denyPii = {
    id: 'no-pii',
    tool_name: 't',
    roles: ['r'],
    effect: 'Deny',
    condition: { StringCheck: { source: 'Arguments', field: 'kind', op: 'In', value: ['pii'] } },
  };
  test('a Deny rule that holds wins over a grant and names its id', () => {
    loaded(policy([grant, denyPii]));
    const v = call({ tool: 't', role: 'r', args: { kind: 'pii' } });
    assert.equal(v.decision, 'Deny');
    assert.equal(v.kind, 'denied_by_rule');
    assert.equal(v.rule, 'no-pii');
    assert.equal(
      v.reason,
      `${PREFIX}; denied by rule 'no-pii': Arguments.kind = "pii" is in ["pii"]`,
    );
  });
  test('a Deny rule holds when its condition is unknown', () => {
    loaded(policy([grant, denyPii]));
    const v = call({ tool: 't', role: 'r', args: {} });
    assert.equal(v.decision, 'Deny');
    assert.match(
      v.reason,
      /denied by rule 'no-pii': its condition cannot be decided \(Arguments\.kind is missing\)/,
    );
  });
  test('a false Deny rule lets the grant stand; Deny rules hold even under default Allow', () => {
    loaded(policy([grant, denyPii]));
    assert.equal(call({ tool: 't', role: 'r', args: { kind: 'revenue' } }).decision, 'Allow');
    loaded(policy([{ ...denyPii, condition: null }], { default_action: 'Allow' }));
    assert.equal(call({ tool: 't', role: 'r', args: {} }).decision, 'Deny');
    assert.equal(call({ tool: 'u', role: 'r', args: {} }).decision, 'Allow');
  });
  test('Ask turns an Allow into Ask but never lifts a Deny', () => {
    const ask = {
      id: 'big',
      tool_name: 't',
      roles: ['r'],
      effect: 'Ask',
      condition: num('Gt', 100),
    };
    loaded(policy([{ tool_name: 't', roles: ['r'], condition: num('Lte', 1000) }, ask]));
    assert.equal(call({ tool: 't', role: 'r', args: { amount: 50 } }).decision, 'Allow');
    const v = call({ tool: 't', role: 'r', args: { amount: 500 } });
    assert.equal(v.decision, 'Ask');
    assert.equal(v.kind, 'ask_by_rule');
    assert.equal(
      v.reason,
      `${PREFIX}; approval required by rule 'big': Arguments.amount = 500 is Gt 100`,
    );
    assert.equal(call({ tool: 't', role: 'r', args: { amount: 5000 } }).decision, 'Deny');
    // With no grant the default Deny stands
    loaded(policy([ask]));
    assert.equal(call({ tool: 't', role: 'r', args: { amount: 500 } }).decision, 'Deny');
  });
  test('rules are named by id or rules[N]', () => {
    loaded(
      policy([
        { tool_name: 'u', roles: ['r'] },
        { id: 'grant-t', tool_name: 't', roles: ['r'] },
      ]),
    );
    assert.equal(call({ tool: 't', role: 'r' }).rule, 'grant-t');
    assert.equal(call({ tool: 'u', role: 'r' }).rule, 'rules[0]');
    assert.equal(call({ tool: 'crm_read', role: 'r' }).rule, undefined);
  });
  test('globs expand against tools only', () => {
    loaded(policy([{ tool_name: 'crm_*', roles: ['r'] }]));
    assert.equal(call({ tool: 'crm_read', role: 'r' }).decision, 'Allow');
    assert.equal(call({ tool: 'crm_delete', role: 'r' }).decision, 'Deny');
    loaded(policy([{ tool_name: '*', roles: ['s'] }]));
    for (const tool of ['t', 'u', 'crm_read', 'crm_write'])
      assert.equal(call({ tool, role: 's' }).decision, 'Allow');
  });
  test('rate limit: a sliding window of allowed calls with host time', () => {
    loaded(policy([{ tool_name: 't', roles: ['r'], rate_limit: { max: 2, per_seconds: 60 } }]));
    const c = { tool: 't', role: 'r' };
    assert.equal(engine.evaluate(c, 1000).decision, 'Allow');
    assert.equal(engine.evaluate(c, 1010).decision, 'Allow');
    const v = engine.evaluate(c, 1020);
    assert.equal(v.decision, 'Deny');
    assert.equal(v.kind, 'rate_limited');
    assert.equal(v.retryAfter, 40);
    assert.equal(v.reason, `${PREFIX}; rate limit of 2 per 60 s reached; retry in 40 s`);
    assert.equal(engine.evaluate(c, 1059).decision, 'Deny');
    assert.equal(engine.evaluate(c, 1060).decision, 'Allow'); // the call at 1000 left the window
    assert.equal(engine.evaluate(c, 1061).decision, 'Deny');
    assert.equal(engine.evaluate({ ...c, role: 's' }, 1061).decision, 'Deny'); // other pair: no rule
  });
  test('rate limit: denied calls do not use the budget, and call.now overrides the host clock', () => {
    loaded(
      policy([
        {
          tool_name: 't',
          roles: ['r'],
          condition: num('Lte', 10),
          rate_limit: { max: 1, per_seconds: 10 },
        },
      ]),
    );
    assert.equal(
      engine.evaluate({ tool: 't', role: 'r', args: { amount: 50 } }, 0).decision,
      'Deny',
    );
    assert.equal(
      engine.evaluate({ tool: 't', role: 'r', args: { amount: 5 } }, 0).decision,
      'Allow',
    );
    assert.equal(
      engine.evaluate({ tool: 't', role: 'r', args: { amount: 5 }, now: 100 }, 0).decision,
      'Allow',
    );
  });
  test('rate limit without a clock fails closed', () => {
    loaded(policy([{ tool_name: 't', roles: ['r'], rate_limit: { max: 5, per_seconds: 10 } }]));
    const v = engine.evaluate({ tool: 't', role: 'r' }, Number.NaN);
    assert.equal(v.decision, 'Deny');
    assert.equal(v.kind, 'rate_limited');
    assert.equal(abi({ tool: 't', role: 'r' }).decision, 'Deny');
    assert.equal(abi({ tool: 't', role: 'r' }, 5).decision, 'Allow');
  });
  test('shadow mode is reported; decisions are unchanged', () => {
    const r = loaded(policy([], { mode: 'shadow' }));
    assert.equal(r.policy.mode, 'shadow');
    assert.equal(call({ tool: 't', role: 'r' }).decision, 'Deny');
    assert.equal(loaded(policy([])).policy.mode, 'enforce');
  });
  test('policy facts: version, default, tools, roles, rule count', () => {
    const r = loaded(policy([grant, grant]));
    assert.deepEqual(r.policy, {
      version: 'test-1',
      mode: 'enforce',
      defaultAction: 'Deny',
      tools: ['t', 'u', 'crm_read', 'crm_write'],
      roles: ['r', 's'],
      ruleCount: 2,
      hasRateLimits: false,
      hasBudgets: false,
      annotationDefaults: false,
    });
    assert.deepEqual(engine.policy, r.policy);
    const noRoles = JSON.parse(policy([{ tool_name: 't', roles: ['x', 'y'] }])) as Record<
      string,
      unknown
    >;
    delete noRoles.roles;
    assert.deepEqual(loaded(JSON.stringify(noRoles)).policy.roles, ['x', 'y']);
    assert.equal(call({ tool: 't', role: 'y' }).decision, 'Allow');
  });
  test('policy facts the host needs: rate limits, budgets and annotation defaults, however spelled', () => {
    const facts = (text: string) => {
      const { hasRateLimits, hasBudgets, annotationDefaults } = loaded(text).policy;
      return { hasRateLimits, hasBudgets, annotationDefaults };
    };
    const limited = { tool_name: 't', roles: ['r'], rate_limit: { max: 1, per_seconds: 1 } };
    const budgeted = {
      tool_name: 't',
      roles: ['r'],
      budget: { sum: 'Arguments.n', max: 1, per_seconds: 1 },
    };
    const doc = JSON.parse(policy([limited])) as Record<string, unknown>;
    doc.annotation_defaults = true;
    // Escaped keys are the same keys: a text search for "rate_limit" would miss them.
    const escaped = JSON.stringify(doc)
      .replace('"rate_limit"', '"rate\\u005flimit"')
      .replace('"annotation_defaults"', '"annotation\\u005fdefaults"');
    assert.deepEqual(facts(escaped), {
      hasRateLimits: true,
      hasBudgets: false,
      annotationDefaults: true,
    });
    assert.deepEqual(facts(policy([budgeted])), {
      hasRateLimits: false,
      hasBudgets: true,
      annotationDefaults: false,
    });
    // A rate limit on a Deny rule is ignored (with a warning), so nothing needs the time.
    assert.equal(facts(policy([{ ...limited, effect: 'Deny' }])).hasRateLimits, false);
  });
});

describe('policy errors', () => {
  function errorText(text: string | Uint8Array): string[] {
    return failed(text as string).errors.map((d) => `${d.path}: ${d.message}`);
  }
  test('unknown op, with the exact path text', () => {
    const errs = errorText(
      policy([
        grant(),
        grant(),
        grant(),
        { tool_name: 't', roles: ['r'], condition: num('lte', 500) },
      ]),
    );
    assert.deepEqual(errs, [
      'rules[3].condition.NumericCheck.op: unknown op "lte"; expected one of Lte, Gte, Lt, Gt, Eq',
    ]);
  });
  test('host keys revision and annotation_defaults are checked, not ignored', () => {
    assert.deepEqual(errorText(policy([], { revision: -1, annotation_defaults: 'yes' })), [
      'revision: expected a non-negative integer (raise it with every signed release), got -1',
      'annotation_defaults: expected true or false, got "yes"',
    ]);
    assert.deepEqual(loaded(policy([], { revision: 7, annotation_defaults: true })).warnings, []);
  });
  test("a policy's own tests and its $schema are known keys the engine ignores when deciding", () => {
    const text = policy([grant()], {
      $schema: 'https://example.test/policy.schema.json',
      tests: [{ name: 'x', request: { tool: 't', args: {}, role: 'r' }, expect: 'Deny' }],
    });
    assert.deepEqual(loaded(text).warnings, []);
  });
  test('unknown variant', () => {
    assert.deepEqual(
      errorText(policy([{ tool_name: 't', roles: ['r'], condition: { Numeric: {} } }])),
      [
        'rules[0].condition: unknown condition "Numeric"; expected one of All, Any, Not, NumericCheck, StringCheck, FieldPresent, FieldEquals, Equals, SessionUntrusted, FromUntrusted',
      ],
    );
  });
  test('several errors are collected', () => {
    const errs = errorText(
      policy(
        [
          { tool_name: 5, roles: ['r'] },
          { tool_name: 't', roles: 'r' },
          { tool_name: 't', roles: ['r', 3] },
          { tool_name: 't', roles: ['r'], condition: { A: 1, B: 2 } },
          {
            tool_name: 't',
            roles: ['r'],
            condition: { StringCheck: { source: 'Args', field: [], op: 'In', value: 'x' } },
          },
          {
            tool_name: 't',
            roles: ['r'],
            condition: {
              All: [{ NumericCheck: { source: 'Arguments', field: 'a', op: 'Lt', value: '5' } }],
            },
          },
          { tool_name: 't', roles: ['r'], effect: 'Maybe' },
          { tool_name: 't', roles: ['r'], rate_limit: { max: 0, per_seconds: -1 } },
        ],
        { default_action: 'Maybe' },
      ),
    );
    assert.deepEqual(errs, [
      'default_action: expected "Allow" or "Deny", got "Maybe"',
      'rules[0].tool_name: expected a non-empty string, got 5',
      'rules[1].roles: expected an array of role names, got string',
      'rules[2].roles[1]: expected a string, got number',
      'rules[3].condition: expected exactly one key (the condition variant), got 2; expected one of All, Any, Not, NumericCheck, StringCheck, FieldPresent, FieldEquals, Equals, SessionUntrusted, FromUntrusted',
      'rules[4].condition.StringCheck.source: unknown source "Args"; expected one of Arguments, AgentAttributes, ResourceAttributes',
      'rules[4].condition.StringCheck.value: expected an array of strings, got string',
      'rules[5].condition.All[0].NumericCheck.value: got "5"; expected a number',
      'rules[6].effect: unknown effect "Maybe"; expected one of Allow, Deny, Ask',
      'rules[7].rate_limit.max: got 0; expected an integer from 1 to 10000',
      'rules[7].rate_limit.per_seconds: got -1; expected a number of seconds greater than 0',
    ]);
  });
  test('bad field', () => {
    assert.deepEqual(
      errorText(
        policy([
          {
            tool_name: 't',
            roles: ['r'],
            condition: { FieldPresent: { source: 'Arguments', field: [] } },
          },
        ]),
      ),
      [
        'rules[0].condition.FieldPresent.field: expected a key name or a non-empty array of key names, got an empty array',
      ],
    );
    assert.deepEqual(
      errorText(
        policy([
          {
            tool_name: 't',
            roles: ['r'],
            condition: { FieldPresent: { source: 'Arguments', field: ['a', 1] } },
          },
        ]),
      ),
      ['rules[0].condition.FieldPresent.field[1]: expected a string key, got number'],
    );
  });
  test('missing keys', () => {
    assert.deepEqual(errorText('{}'), [
      'version: missing; expected a string such as "perso-1.0.0"',
      'default_action: missing; expected "Allow" or "Deny"',
      'tools: missing; expected an array of tool names',
      'rules: missing; expected an array of rules',
    ]);
    assert.deepEqual(errorText('[]'), ['policy: expected a JSON object, got array']);
  });
  test('invalid JSON says where and what was expected', () => {
    assert.deepEqual(errorText('{\n  "version": "x",\n  "rules": [1 2]\n}'), [
      "policy: invalid JSON at 3:15: expected ',' or ']' after an array element",
    ]);
    assert.deepEqual(errorText('{"a":1,}'), [
      "policy: invalid JSON at 1:8: expected a string key after ','",
    ]);
    assert.deepEqual(errorText(''), [
      'policy: invalid JSON at 1:1: expected a JSON value, found empty input',
    ]);
    assert.deepEqual(errorText('{"a":01}'), [
      "policy: invalid JSON at 1:7: expected ',' or '}' after an object member",
    ]);
    assert.deepEqual(errorText('{"a":NaN}'), [
      'policy: invalid JSON at 1:6: expected a value (object, array, string, number, true, false or null)',
    ]);
    assert.deepEqual(errorText('{"a":1} x'), [
      'policy: invalid JSON at 1:9: unexpected characters after the JSON value',
    ]);
    assert.deepEqual(errorText('{"a":"x\ny"}'), [
      'policy: invalid JSON at 1:8: control character in a string; escape it as \\u00XX',
    ]);
  });
  test('bad UTF-8: overlong, encoded surrogate, truncated, out of range', () => {
    const wrap = (bytes: number[]) =>
      new Uint8Array([...Buffer.from('{"version":"'), ...bytes, ...Buffer.from('"}')]);
    for (const bad of [
      [0xc0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xe2, 0x82],
      [0xf4, 0x90, 0x80, 0x80],
      [0xff],
      [0x80],
    ]) {
      const errs = failed(wrap(bad) as unknown as string).errors;
      assert.equal(errs.length, 1);
      assert.equal(
        errs[0]!.message,
        'invalid JSON at 1:13: invalid UTF-8 (overlong, surrogate, truncated or out-of-range sequence)',
        JSON.stringify(bad),
      );
    }
    // A valid sequence (€) parses: the policy then fails on its missing keys, not on UTF-8.
    const euro = failed(wrap([0xe2, 0x82, 0xac]) as unknown as string).errors;
    assert.equal(euro[0]!.path, 'default_action');
  });
  test('too deep', () => {
    const deep = '['.repeat(65) + ']'.repeat(65);
    assert.deepEqual(errorText(deep), [
      'policy: invalid JSON at 1:65: nesting is deeper than 64 levels',
    ]);
    assert.deepEqual(errorText('['.repeat(64) + ']'.repeat(64)), [
      'policy: expected a JSON object, got array',
    ]);
    assert.equal(engine.load('['.repeat(100000)).ok, false);
  });
  test('out-of-range number', () => {
    assert.deepEqual(errorText('{"a":1e400}'), [
      'policy: invalid JSON at 1:6: number is out of range for a 64-bit float',
    ]);
    assert.deepEqual(errorText('{"a":-1e309}'), [
      'policy: invalid JSON at 1:6: number is out of range for a 64-bit float',
    ]);
  });
  test('duplicate key in a policy', () => {
    assert.deepEqual(errorText('{"version":"a","version":"b"}'), [
      'policy: invalid JSON at 1:16: duplicate key "version"; each key may appear once',
    ]);
    const many = '{' + Array.from({ length: 40 }, (_, i) => `"k${i}":1`).join(',') + ',"k7":2}';
    assert.deepEqual(errorText(many), [
      `policy: invalid JSON at 1:${many.length - 6}: duplicate key "k7"; each key may appear once`,
    ]);
  });
  test('string escapes: surrogate pairs decode, lone surrogates are rejected', () => {
    loaded(
      policy([
        {
          tool_name: 't',
          roles: ['r'],
          condition: {
            StringCheck: { source: 'Arguments', field: 'e', op: 'In', value: ['PLACEHOLDER'] },
          },
        },
      ]).replace('PLACEHOLDER', '\\ud834\\udd1e \\u00e9 \\"\\\\\\/\\b\\f\\n\\r\\t'),
    );
    assert.equal(
      call({ tool: 't', role: 'r', args: { e: '𝄞 é "\\/\b\f\n\r\t' } }).decision,
      'Allow',
    );
    assert.deepEqual(errorText('{"a":"\\ud834"}'), [
      'policy: invalid JSON at 1:7: lone surrogate in a \\u escape; a high surrogate must be followed by a low one',
    ]);
    assert.deepEqual(errorText('{"a":"\\udd1e"}'), [
      'policy: invalid JSON at 1:7: lone surrogate in a \\u escape; a high surrogate must be followed by a low one',
    ]);
    assert.deepEqual(errorText('{"a":"\\x"}'), [
      'policy: invalid JSON at 1:7: invalid escape; expected one of \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX',
    ]);
    assert.deepEqual(errorText('{"a":"\\u12G4"}'), [
      'policy: invalid JSON at 1:7: expected four hex digits after \\u',
    ]);
  });
  test('input size is bounded', () => {
    assert.deepEqual(errorText(' '.repeat((1 << 20) + 1)), [
      'policy: invalid JSON at 1:1: input is too large; the limit is 1048576 bytes',
    ]);
  });
  test('a failed load keeps the previous policy', () => {
    loaded(policy([{ tool_name: 't', roles: ['r'] }], { version: 'good-1' }));
    failed(
      policy([{ tool_name: 't', roles: ['r'], condition: num('lte', 1) }], { version: 'bad-2' }),
    );
    failed('{not json');
    assert.equal(engine.policy?.version, 'good-1');
    assert.equal(call({ tool: 't', role: 'r' }).decision, 'Allow');
    assert.equal(call({ tool: 't', role: 'r' }).reason, `${PREFIX}; no condition required`);
  });
});

function grant(): Rule {
  return { tool_name: 'u', roles: ['r'] };
}

describe('policy warnings', () => {
  function warnings(text: string): string[] {
    return loaded(text).warnings.map((d) => `${d.severity} ${d.path}: ${d.message}`);
  }
  test('a later rule shadows an earlier one for the same pair', () => {
    assert.deepEqual(
      warnings(
        policy([
          { tool_name: 't', roles: ['r'] },
          { tool_name: 't', roles: ['s'] },
          { tool_name: 't', roles: ['r'], condition: num('Lte', 5) },
        ]),
      ),
      [
        'warning rules[2]: shadows rules[0] for (t, r); the later rule replaces the earlier one — merge or remove one',
      ],
    );
  });
  test('an undeclared role warns and its grant is ignored', () => {
    assert.deepEqual(warnings(policy([{ tool_name: 't', roles: ['r', 'agnt'] }])), [
      'warning rules[0].roles[1]: role "agnt" is not declared in roles; this grant is ignored — declare it or fix its spelling',
    ]);
    assert.equal(call({ tool: 't', role: 'agnt' }).decision, 'Deny');
    assert.equal(call({ tool: 't', role: 'r' }).decision, 'Allow');
  });
  test('a glob matching no tool, empty All/Any, unknown keys, rate_limit on a Deny rule', () => {
    assert.deepEqual(
      warnings(
        policy(
          [
            { tool_name: 'zz_*', roles: ['r'] },
            {
              tool_name: 't',
              roles: ['r'],
              condition: { Any: [{ All: [] }, { Any: [] }] },
              priority: 9,
            },
            {
              tool_name: 'u',
              roles: ['r'],
              effect: 'Deny',
              rate_limit: { max: 1, per_seconds: 1 },
            },
          ],
          { extra: true },
        ),
      ),
      [
        'warning extra: unknown key "extra" is ignored; check its spelling',
        'warning rules[0].tool_name: glob "zz_*" matches no tool in tools; the rule has no effect',
        'warning rules[1].priority: unknown key "priority" is ignored; check its spelling',
        'warning rules[1].condition.Any[0].All: empty All is always true; give it conditions or remove it',
        'warning rules[1].condition.Any[1].Any: empty Any is always false; give it conditions or remove it',
        'warning rules[2].rate_limit: rate_limit applies only to Allow rules; it is ignored here',
      ],
    );
  });
  test('FieldPresent on a boolean-looking field suggests Equals', () => {
    assert.deepEqual(
      warnings(
        policy([
          {
            tool_name: 't',
            roles: ['r'],
            condition: {
              All: [
                { FieldPresent: { source: 'AgentAttributes', field: 'mfa_verified' } },
                { FieldPresent: { source: 'AgentAttributes', field: 'is_admin' } },
                { FieldPresent: { source: 'AgentAttributes', field: 'user_id' } },
              ],
            },
          },
        ]),
      ),
      [
        'warning rules[0].condition.All[0].FieldPresent.field: "mfa_verified" looks boolean; FieldPresent passes for false too — use {"Equals": {"source": "AgentAttributes", "field": "mfa_verified", "value": true}}',
        'warning rules[0].condition.All[1].FieldPresent.field: "is_admin" looks boolean; FieldPresent passes for false too — use {"Equals": {"source": "AgentAttributes", "field": "is_admin", "value": true}}',
      ],
    );
  });
});

describe('request handling', () => {
  test('duplicate key in request JSON is an error at the ABI, never ambiguous', () => {
    loaded(policy([{ tool_name: 't', roles: ['r'], condition: num('Lte', 500) }]));
    const r = JSON.parse(engine.evaluateAbi('t', '{"amount":1,"amount":900}', '{"role":"r"}')) as {
      error: string;
    };
    assert.equal(
      r.error,
      'arguments: invalid JSON at 1:13: duplicate key "amount"; each key may appear once',
    );
  });
  test('ABI errors: bad arguments, context, role, attributes, now, tool, no policy', () => {
    loaded(policy([{ tool_name: 't', roles: ['r'] }]));
    const err = (tool: string, args: string, ctx: string) =>
      (JSON.parse(engine.evaluateAbi(tool, args, ctx)) as { error?: string }).error;
    assert.equal(err('t', '[1]', '{"role":"r"}'), 'arguments must be a JSON object');
    assert.equal(
      err('t', '{', '{"role":"r"}'),
      "arguments: invalid JSON at 1:2: expected a string key or '}'",
    );
    assert.equal(
      err('t', '{}', '{"role":""}'),
      "context.role is missing or not a non-empty string; the host must pass the caller's role",
    );
    assert.equal(
      err('t', '{}', '{}'),
      "context.role is missing or not a non-empty string; the host must pass the caller's role",
    );
    assert.equal(
      err('t', '{}', '"r"'),
      'context must be a JSON object {"role": ..., "agent_attrs": {...}, "resource_attrs": {...}}',
    );
    assert.equal(
      err('t', '{}', '{"role":"r","agent_attrs":[]}'),
      'context.agent_attrs must be a JSON object',
    );
    assert.equal(
      err('t', '{}', '{"role":"r","resource_attrs":1}'),
      'context.resource_attrs must be a JSON object',
    );
    assert.equal(
      err('t', '{}', '{"role":"r","now":"soon"}'),
      'context.now must be a number of seconds; leave it out when there is no time (null is refused)',
    );
    assert.equal(
      err('t', '{}', '{"role":"r","now":null}'),
      'context.now must be a number of seconds; leave it out when there is no time (null is refused)',
    );
    assert.equal(
      err('', '{}', '{"role":"r"}'),
      'tool name is empty; pass the name of the tool being called',
    );
    assert.equal(err('t', '{}', '{"role":"r","agent_attrs":null}'), undefined);
  });
  test('reasons print numbers as String(x) and JSON.stringify do: shortest round trip (issue 9 fix 7)', () => {
    loaded(policy([{ tool_name: 't', roles: ['r'], condition: num('Eq', 0.5) }]));
    const shown = (x: number): string => {
      const reason = call({ tool: 't', role: 'r', args: { amount: x } }).reason;
      return reason.slice(reason.indexOf(' = ') + 3, reason.indexOf(' is not'));
    };
    const fixed = [
      0.1 + 0.2,
      9007199254740994,
      2 ** 60,
      1e21,
      1e-7,
      1.5e-7,
      5e-324,
      1.7976931348623157e308,
      123456789012345680000,
      -0.1,
      4.35,
      1e-6,
      0.000123,
      100.5,
    ];
    for (const x of fixed) assert.equal(shown(x), String(x));
    // Random bit patterns and random decimals, against the platform's own printer.
    const bits = new DataView(new ArrayBuffer(8));
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 300; i++) {
      bits.setUint32(0, (rnd() * 2 ** 32) >>> 0);
      bits.setUint32(4, (rnd() * 2 ** 32) >>> 0);
      const x = bits.getFloat64(0);
      if (Number.isFinite(x) && x !== 0.5) assert.equal(shown(x), String(x));
      const y = Number((rnd() * 10 ** Math.floor(rnd() * 8)).toFixed(Math.floor(rnd() * 8)));
      if (y !== 0.5) assert.equal(shown(y), String(y));
    }
  });
  test('invalid_request: a call whose own now is null or not a finite number (issue 9 fix 6)', () => {
    loaded(policy([{ tool_name: 't', roles: ['r'], rate_limit: { max: 1, per_seconds: 60 } }]));
    for (const now of [null, Number.NaN, Infinity, '1000']) {
      const v = engine.evaluate({ tool: 't', role: 'r', now } as unknown as ToolCall, 1000);
      assert.equal(v.kind, 'invalid_request', String(now));
      assert.match(
        v.reason,
        /^invalid request: now: expected seconds since the epoch as a finite number, got /,
      );
    }
    assert.equal(
      engine.evaluate({ tool: 't', role: 'r', now: null } as unknown as ToolCall, 1000).reason,
      "invalid request: now: expected seconds since the epoch as a finite number, got null; leave it out to use the host's clock",
    );
    // Absent (or undefined, which JSON drops) is the host's time.
    assert.equal(engine.evaluate({ tool: 't', role: 'r', now: undefined }, 1000).decision, 'Allow');
  });
  test('invalid_request: Engine.evaluate validates the call', () => {
    loaded(policy([{ tool_name: 't', roles: ['r'] }], { default_action: 'Allow' }));
    const bad: unknown[] = [
      null,
      { tool: '', role: 'r' },
      { tool: 't', role: '' },
      { tool: 't' },
      { tool: 5, role: 'r' },
      { tool: 't', role: 'r', args: [1] },
      { tool: 't', role: 'r', args: new Date() },
      { tool: 't', role: 'r', args: 'x' },
      { tool: 't', role: 'r', agentAttributes: [] },
      { tool: 't', role: 'r', resourceAttributes: new Map() },
    ];
    for (const c of bad) {
      const v = engine.evaluate(c as ToolCall, 0);
      assert.equal(v.decision, 'Deny', JSON.stringify(c));
      assert.equal(v.kind, 'invalid_request');
      assert.match(v.reason, /^invalid request: /);
    }
  });
  test('wrong argument types at the host API: answers, and the engine survives', () => {
    loaded(policy([{ tool_name: 't', roles: ['r'] }]));
    assert.equal(engine.load(42 as unknown as string).ok, false);
    assert.match(engine.evaluateAbi(undefined as unknown as string, '{}', '{}'), /must be strings/);
    assert.deepEqual(engine.evaluateBatch(null as unknown as ToolCall[], 0), []);
    assert.equal(engine.fault, null);
    assert.equal(call({ tool: 't', role: 'r' }).decision, 'Allow');
  });
  test('evaluateBatch with an args list decides each call as evaluate does, reading a shared call once', () => {
    loaded(
      policy([
        { id: 'small', tool_name: 't', roles: ['r'], condition: num('Lte', 500) },
        {
          id: 'owner',
          tool_name: 'u',
          roles: ['r'],
          condition: {
            FieldEquals: {
              source_a: 'Arguments',
              field_a: 'owner',
              source_b: 'AgentAttributes',
              field_b: 'id',
            },
          },
        },
      ]),
    );
    let reads = 0;
    const shared = {
      get tool() {
        reads++;
        return 't';
      },
      role: 'r',
    } as unknown as ToolCall;
    const owner: ToolCall = { tool: 'u', role: 'r', agentAttributes: { id: 'a-1' } };
    const calls = [
      shared,
      owner,
      shared,
      shared,
      owner,
      { tool: 'nope', role: 'r' },
      { tool: '', role: 'r' },
    ];
    const argsList: unknown[] = [
      { amount: 100 },
      { owner: 'a-1' },
      { amount: 900 },
      [1],
      { owner: 'b-2' },
      {},
      {},
    ];
    const batch = engine.evaluateBatch(calls, 0, argsList);
    assert.equal(reads, 1, 'one read of the shared call object for the whole batch');
    const oneByOne = calls.map((c, i) =>
      engine.evaluate(
        {
          tool: i === 0 || i === 2 || i === 3 ? 't' : c.tool,
          role: c.role,
          agentAttributes: c.agentAttributes,
          args: argsList[i],
        } as ToolCall,
        0,
      ),
    );
    assert.deepEqual(batch, oneByOne);
    assert.deepEqual(
      batch.map((v) => v.decision),
      ['Allow', 'Allow', 'Deny', 'Deny', 'Deny', 'Deny', 'Deny'],
    );
    assert.equal(batch[3]!.reason, 'invalid request: args must be a plain JSON object');
    assert.deepEqual(batch[4]!.failure, {
      path: 'Arguments.owner',
      op: 'FieldEquals',
      expected: 'a-1',
      actual: 'b-2',
    });
    assert.equal(batch[6]!.reason, 'invalid request: tool must be a non-empty string');
  });
  test('evaluateBatch refuses an args list that does not fit the calls', () => {
    loaded(policy([{ tool_name: 't', roles: ['r'] }]));
    const verdicts = engine.evaluateBatch(
      [
        { tool: 't', role: 'r' },
        { tool: 't', role: 'r' },
      ],
      0,
      [{}],
    );
    assert.deepEqual(
      verdicts.map((v) => v.kind),
      ['invalid_request', 'invalid_request'],
    );
    assert.equal(engine.evaluateBatch([{ tool: 't', role: 'r' }], 0, [{}])[0]!.decision, 'Allow');
  });
  test('invalid_request: values the rules read must be JSON', () => {
    loaded(policy([{ tool_name: 't', roles: ['r'], condition: { Not: num('Gt', 5) } }]));
    for (const amount of [Number.NaN, Number.POSITIVE_INFINITY, 10n, () => 1, Symbol('x')]) {
      const v = engine.evaluate(
        { tool: 't', role: 'r', args: { amount } as unknown as JsonObject },
        0,
      );
      assert.equal(v.kind, 'invalid_request', String(typeof amount));
    }
    const lone = engine.evaluate({ tool: 't', role: 'r', args: { amount: '\ud800' } }, 0);
    assert.equal(lone.kind, 'invalid_request');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(
      engine.evaluate(
        { tool: 't', role: 'r', args: { amount: cyclic } as unknown as JsonObject },
        0,
      ).kind,
      'invalid_request',
    );
  });
  test('invalid_request: a non-finite number nested in a value the rules read is refused at its path (issue 9 fix 1)', () => {
    loaded(
      policy([
        {
          tool_name: 't',
          roles: ['r'],
          condition: { Equals: { source: 'Arguments', field: 'scope', value: { tenant: null } } },
        },
        {
          tool_name: 'u',
          roles: ['r'],
          condition: {
            FieldEquals: {
              source_a: 'Arguments',
              field_a: 'account',
              source_b: 'ResourceAttributes',
              field_b: 'owner',
            },
          },
        },
      ]),
    );
    const reason = (c: ToolCall): string => {
      const v = engine.evaluate(c, 0);
      assert.equal(v.kind, 'invalid_request', JSON.stringify(v));
      return v.reason;
    };
    // JSON.stringify writes each of these as null: the policy would check null, the tool get Infinity.
    assert.equal(
      reason({ tool: 't', role: 'r', args: { scope: { tenant: Infinity } } }),
      'invalid request: Arguments.scope.tenant is Infinity, not a finite number; pass finite numbers only',
    );
    assert.equal(
      reason({ tool: 't', role: 'r', args: { scope: { tenant: Number.NaN } } }),
      'invalid request: Arguments.scope.tenant is NaN, not a finite number; pass finite numbers only',
    );
    assert.equal(
      reason({ tool: 't', role: 'r', args: { scope: { list: [1, { x: -Infinity }] } } }),
      'invalid request: Arguments.scope.list[1].x is -Infinity, not a finite number; pass finite numbers only',
    );
    assert.equal(
      reason({
        tool: 't',
        role: 'r',
        args: { scope: { list: [undefined] } } as unknown as JsonObject,
      }),
      'invalid request: Arguments.scope.list[0] is undefined, which JSON writes as null; pass null or remove it',
    );
    assert.equal(
      reason({
        tool: 'u',
        role: 'r',
        args: { account: { id: 1 } },
        resourceAttributes: { owner: { id: Number.NaN } },
      }),
      'invalid request: ResourceAttributes.owner.id is NaN, not a finite number; pass finite numbers only',
    );
    assert.equal(
      reason({
        tool: 'u',
        role: 'r',
        args: { account: [Infinity] },
        resourceAttributes: { owner: [null] },
      }),
      'invalid request: Arguments.account[0] is Infinity, not a finite number; pass finite numbers only',
    );
    // A toJSON that returns a non-finite number is read as JSON would read it, and refused too.
    assert.equal(
      reason({
        tool: 't',
        role: 'r',
        args: { scope: { tenant: { toJSON: () => Infinity } } } as unknown as JsonObject,
      }),
      'invalid request: Arguments.scope.tenant is Infinity, not a finite number; pass finite numbers only',
    );
    // What JSON keeps as null is null: the literal still decides.
    assert.equal(
      call({ tool: 't', role: 'r', args: { scope: { tenant: null } } }).decision,
      'Allow',
    );
    assert.equal(
      call({
        tool: 'u',
        role: 'r',
        args: { account: { id: 2 } },
        resourceAttributes: { owner: { id: 2 } },
      }).decision,
      'Allow',
    );
  });
  test('oversized values: invalid_request, and the engine keeps working', () => {
    loaded(
      policy([
        {
          tool_name: 't',
          roles: ['r'],
          condition: { FieldPresent: { source: 'Arguments', field: 's' } },
        },
      ]),
    );
    const v = engine.evaluate({ tool: 't', role: 'r', args: { s: 'x'.repeat((1 << 20) + 1) } }, 0);
    assert.equal(v.kind, 'invalid_request');
    assert.equal(engine.fault, null);
    assert.equal(call({ tool: 't', role: 'r', args: { s: 'x' } }).decision, 'Allow');
  });
  test('policy expansion is bounded: a glob times roles cannot exhaust memory', () => {
    const tools = Array.from({ length: 400 }, (_, i) => `t${i}`);
    const roles = Array.from({ length: 300 }, (_, i) => `r${i}`);
    const r = failed(
      JSON.stringify({
        version: 'v',
        default_action: 'Deny',
        tools,
        roles,
        rules: [{ tool_name: '*', roles }],
      }),
    );
    assert.deepEqual(
      r.errors.map((d) => `${d.path}: ${d.message}`),
      [
        'rules[0]: the policy expands to more than 100000 (tool, role) pairs; split it or narrow its globs',
      ],
    );
    assert.equal(engine.fault, null);
  });
  test("a tool name cannot borrow another pair's entry", () => {
    loaded(policy([{ tool_name: 't', roles: ['r'] }]));
    assert.equal(call({ tool: 't\u0000r', role: 'r' }).decision, 'Deny');
    assert.equal(call({ tool: 't', role: 'r' }).decision, 'Allow');
  });
  test('large and non-ASCII values grow the region and still decide', () => {
    loaded(
      policy([
        {
          tool_name: 't',
          roles: ['r'],
          condition: {
            StringCheck: { source: 'Arguments', field: 's', op: 'Prefix', value: ['é'] },
          },
        },
      ]),
    );
    const big = 'é' + 'ü'.repeat(200000);
    assert.equal(call({ tool: 't', role: 'r', args: { s: big } }).decision, 'Allow');
    assert.equal(call({ tool: 't', role: 'r', args: { s: 'x' + big } }).decision, 'Deny');
  });
});

// ---- fault injection with small purpose-built modules ---------------------------------------

async function compile(source: string): Promise<WebAssembly.Module> {
  const r = await asc.compileString(source, { runtime: 'stub', optimizeLevel: 0 });
  assert.ok(r.binary, String(r.stderr));
  return WebAssembly.compile(new Uint8Array(r.binary!));
}

describe('engine host faults', () => {
  test('no_policy: evaluating before any load denies', async () => {
    const fresh = await Engine.create(module);
    const v = fresh.evaluate({ tool: 't', role: 'r' }, 0);
    assert.deepEqual(v, {
      decision: 'Deny',
      reason: 'no policy loaded; load a valid policy first',
      kind: 'no_policy',
    });
    assert.equal(fresh.policy, null);
    assert.equal(
      (JSON.parse(fresh.evaluateAbi('t', '{}', '{"role":"r"}')) as { error: string }).error,
      'no policy loaded; call init with a valid policy first',
    );
  });
  test('foreign import: create refuses a module importing anything but env.abort', async () => {
    const m = await compile(
      'declare function leak(x: i32): void;\nexport function f(): void { leak(1); }',
    );
    await assert.rejects(Engine.create(m), /imports "input\.leak"; only env\.abort is allowed/);
  });
  test('wrong ABI version: create refuses it', async () => {
    const m = await compile(
      [
        'export const ABI_VERSION: i32 = 99;',
        'export function alloc(n: i32): i32 { return 0; }',
        'export function dealloc(p: i32, n: i32): void {}',
        'export function init(p: i32, n: i32): i32 { return 0; }',
        'export function evaluate(a: i32, b: i32, c: i32, d: i32, e: i32, f: i32): i32 { return 0; }',
        'export function plan(): i32 { return 0; }',
        'export function region(): i32 { return 0; }',
        'export function reserve(n: i32): i32 { return 0; }',
        'export function decide(e: i32, now: f64, h: i32): i32 { return 0; }',
        'export function explain(): i32 { return 0; }',
        'export function countedKeep(e: i32): i32 { return 0; }',
        'export function restoreCounted(e: i32, at: f64): i32 { return 0; }',
        'export function recordResult(p: i32, n: i32): i32 { return 0; }',
        'export function session(p: i32, n: i32): i32 { return 1; }',
        'export function state(): i32 { return 0; }',
        'export function forget(): void {}',
      ].join('\n'),
    );
    await assert.rejects(
      Engine.create(m),
      new RegExp(`ABI version 99; this host speaks ${ENGINE_ABI_VERSION}`),
    );
  });
  test('missing export: create refuses a module without the fast path', async () => {
    const m = await compile(
      'export const ABI_VERSION: i32 = 1;\nexport function alloc(n: i32): i32 { return 0; }',
    );
    await assert.rejects(Engine.create(m), /lacks the export "dealloc"/);
  });
  test('wasm trap in decide: engine_fault Deny, then the instance stays dead', async () => {
    const responses = {
      init: '{"ok":true,"version":"trap","mode":"enforce","default_action":"Allow","tools":["t"],"roles":["r"],"rule_count":1,"warnings":[]}',
      plan: '{"dataStart":32,"fields":[],"rules":["rules[0]"],"leaves":[],"entries":[{"tool":"t","role":"r","prefix":"p","fields":[]}]}',
    };
    const respond = (name: string, text: string) =>
      `export function ${name}(): i32 { const s = ${JSON.stringify(text)}; const n = String.UTF8.byteLength(s); const p = heap.alloc(<usize>n + 4); store<u32>(p, <u32>n); String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p + 4); return <i32>p; }`;
    const m = await compile(
      [
        'export const ABI_VERSION: i32 = 1;',
        'export function alloc(n: i32): i32 { return <i32>heap.alloc(<usize>n); }',
        'export function dealloc(p: i32, n: i32): void {}',
        respond('initResponse', responses.init),
        'export function init(p: i32, n: i32): i32 { return initResponse(); }',
        'export function evaluate(a: i32, b: i32, c: i32, d: i32, e: i32, f: i32): i32 { unreachable(); return 0; }',
        respond('plan', responses.plan),
        'let r: usize = 0;',
        'export function region(): i32 { if (r == 0) { r = heap.alloc(64); store<u32>(r, 64, 8); } return <i32>r; }',
        'export function reserve(n: i32): i32 { return <i32>r; }',
        'export function decide(e: i32, now: f64, h: i32): i32 { unreachable(); return 0; }',
        'export function explain(): i32 { return 0; }',
        'export function countedKeep(e: i32): i32 { return 0; }',
        'export function restoreCounted(e: i32, at: f64): i32 { return 0; }',
        'export function recordResult(p: i32, n: i32): i32 { return 0; }',
        'export function session(p: i32, n: i32): i32 { return 1; }',
        'export function state(): i32 { return 0; }',
        'export function forget(): void {}',
      ].join('\n'),
    );
    const trapping = await Engine.create(m);
    assert.equal(trapping.load('{}').ok, true);
    const v = trapping.evaluate({ tool: 't', role: 'r' }, 0);
    assert.equal(v.decision, 'Deny');
    assert.equal(v.kind, 'engine_fault');
    assert.match(v.reason, /^engine fault: .*unreachable.*create a new one$/);
    assert.ok(trapping.fault);
    // Dead: even a call that would never reach the module is an engine_fault now.
    assert.equal(trapping.evaluate({ tool: 'other', role: 'r' }, 0).kind, 'engine_fault');
    assert.equal(trapping.load('{}').ok, false);
    assert.match(trapping.evaluateAbi('t', '{}', '{"role":"r"}'), /engine fault/);
  });
  test('wasm trap in evaluate (raw ABI): an error response, never a decision', async () => {
    const m = await compile(
      [
        'export const ABI_VERSION: i32 = 1;',
        'export function alloc(n: i32): i32 { return <i32>heap.alloc(<usize>(n > 0 ? n : 1)); }',
        'export function dealloc(p: i32, n: i32): void {}',
        'export function init(p: i32, n: i32): i32 { unreachable(); return 0; }',
        'export function evaluate(a: i32, b: i32, c: i32, d: i32, e: i32, f: i32): i32 { unreachable(); return 0; }',
        'export function plan(): i32 { return 0; }',
        'export function region(): i32 { return 0; }',
        'export function reserve(n: i32): i32 { return 0; }',
        'export function decide(e: i32, now: f64, h: i32): i32 { return 0; }',
        'export function explain(): i32 { return 0; }',
        'export function countedKeep(e: i32): i32 { return 0; }',
        'export function restoreCounted(e: i32, at: f64): i32 { return 0; }',
        'export function recordResult(p: i32, n: i32): i32 { return 0; }',
        'export function session(p: i32, n: i32): i32 { return 1; }',
        'export function state(): i32 { return 0; }',
        'export function forget(): void {}',
      ].join('\n'),
    );
    const trapping = await Engine.create(m);
    const r = JSON.parse(trapping.evaluateAbi('t', '{}', '{"role":"r"}')) as {
      error?: string;
      decision?: string;
    };
    assert.equal(r.decision, undefined);
    assert.match(r.error ?? '', /engine fault/);
    assert.equal(trapping.evaluate({ tool: 't', role: 'r' }, 0).kind, 'engine_fault');
  });
});

describe('hostile bytes', () => {
  // A seeded generator, so a failure is reproducible.
  function generator(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 4294967296;
    };
  }
  function mutate(rand: () => number, bytes: Uint8Array): Uint8Array {
    const out = new Uint8Array(bytes);
    const edits = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < edits; k++) {
      const at = Math.floor(rand() * out.length);
      const pick = rand();
      out[at] =
        pick < 0.3
          ? Math.floor(rand() * 256)
          : pick < 0.6
            ? '{}[]",:\\0-e.'.charCodeAt(Math.floor(rand() * 13))
            : out[at]! ^ (1 << Math.floor(rand() * 8));
    }
    return rand() < 0.2 ? out.subarray(0, Math.floor(rand() * out.length)) : out;
  }
  const demo = new TextEncoder().encode(
    JSON.stringify({
      version: 'f',
      default_action: 'Deny',
      tools: ['t', 'u'],
      roles: ['r'],
      rules: [
        {
          id: 'x',
          tool_name: 't',
          roles: ['r'],
          condition: {
            All: [
              { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 500 } },
              {
                Not: {
                  StringCheck: {
                    source: 'AgentAttributes',
                    field: ['a', 'b'],
                    op: 'Prefix',
                    value: ['é'],
                  },
                },
              },
            ],
          },
        },
        {
          tool_name: 'u',
          roles: ['r'],
          effect: 'Ask',
          rate_limit: { max: 1, per_seconds: 5 },
          condition: {
            Equals: { source: 'ResourceAttributes', field: 'o', value: { k: [1, null] } },
          },
        },
      ],
    }),
  );

  test('mutated policies: every load answers (ok or errors with paths); the engine never traps', async () => {
    const e = await Engine.create(module);
    const rand = generator(7);
    let ok = 0;
    for (let i = 0; i < 3000; i++) {
      const r = e.load(mutate(rand, demo));
      if (r.ok) ok++;
      else
        assert.ok(
          r.errors.length > 0 && r.errors.every((d) => d.path.length > 0 && d.message.length > 0),
        );
      assert.equal(e.fault, null, `policy mutation ${i} killed the engine`);
    }
    assert.ok(ok > 0 && ok < 3000, `${ok} of 3000 mutated policies loaded`);
  });

  test('mutated requests: every raw call answers an error or a decision; the engine never traps', async () => {
    const e = await Engine.create(module);
    assert.equal(e.load(demo).ok, true);
    const rand = generator(11);
    const args = new TextEncoder().encode('{"amount":400,"n":{"x":[1,2,{"y":"\\u00e9"}]}}');
    const ctx = new TextEncoder().encode(
      '{"role":"r","agent_attrs":{"a":{"b":"éa"}},"resource_attrs":{"o":{"k":[1,null]}},"now":5}',
    );
    const dec = new TextDecoder();
    const kinds = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const a = rand() < 0.6 ? mutate(rand, args) : args;
      const c = rand() < 0.6 ? mutate(rand, ctx) : ctx;
      const r = JSON.parse(
        e.evaluateAbi(rand() < 0.5 ? 't' : 'u', dec.decode(a), dec.decode(c)),
      ) as { error?: string; decision?: string };
      assert.ok(
        typeof r.error === 'string' ||
          r.decision === 'Allow' ||
          r.decision === 'Deny' ||
          r.decision === 'Ask',
        JSON.stringify(r),
      );
      const k = r.error !== undefined ? 'error' : r.decision!;
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
      assert.equal(e.fault, null, `request mutation ${i} killed the engine`);
    }
    assert.ok(
      (kinds.get('error') ?? 0) > 100 && (kinds.get('Deny') ?? 0) > 100,
      JSON.stringify([...kinds]),
    );
  });
});

test('a lone surrogate in a string field is refused wherever it sits (the ASCII fast path never lets one through)', async () => {
  const e = await Engine.create(module);
  const load = e.load(
    JSON.stringify({
      version: 'v',
      default_action: 'Deny',
      tools: ['t'],
      rules: [
        {
          tool_name: 't',
          roles: ['r'],
          condition: {
            StringCheck: { source: 'Arguments', field: 'to', op: 'NotIn', value: ['x'] },
          },
        },
      ],
    }),
  );
  assert.equal(load.ok, true);
  for (const to of ['\ud800', 'abc\udc00', 'é\ud800', '\udc00\ud800'])
    assert.equal(
      e.evaluate({ tool: 't', role: 'r', args: { to } }, 0).reason,
      'invalid request: Arguments.to is not well-formed UTF-16',
      JSON.stringify(to),
    );
  assert.equal(e.evaluate({ tool: 't', role: 'r', args: { to: 'é😀' } }, 0).decision, 'Allow');
});
