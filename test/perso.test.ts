import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Perso } from '../src/perso/perso.ts';
import type { PersoOptions, PolicyStatus } from '../src/perso/perso.ts';
import type { AuditRecord, AuditTransport } from '../src/audit/audit-record.ts';
import type { Policy } from '../src/policy/policy.ts';
import type { ToolCall } from '../src/call/decision.ts';

const demoPath = fileURLToPath(new URL('./fixtures/perso-demo-policy.json', import.meta.url));

const refund = (amount: unknown): ToolCall => ({
  tool: 'process_refund',
  args: { order_id: 'ORD-8821', amount },
  role: 'agent',
  agentAttributes: { user_id: 'agt-099', env: 'staging' },
});

function policy(version: string, limit: number, extra: Partial<Policy> = {}): Policy {
  return {
    version,
    default_action: 'Deny',
    tools: ['process_refund', 'view_customer'],
    roles: ['agent'],
    rules: [
      {
        id: 'refund-cap',
        tool_name: 'process_refund',
        roles: ['agent'],
        condition: {
          NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: limit },
        },
      },
      { tool_name: 'view_customer', roles: ['agent'] },
    ],
    ...extra,
  };
}

const badPolicy = {
  version: 'bad',
  default_action: 'Deny',
  tools: ['t'],
  rules: [
    {
      tool_name: 't',
      roles: ['r'],
      condition: { NumericCheck: { source: 'Arguments', field: 'a', op: 'lte', value: 1 } },
    },
  ],
};

/** A transport that keeps what it is given. */
function memoryTransport(): AuditTransport & { records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  return { records, emit: (record) => void records.push(record) };
}

/** Replaces console.warn for one test; returns what it was called with. */
function captureWarnings(): { messages: string[]; restore: () => void } {
  const original = console.warn;
  const messages: string[] = [];
  console.warn = (...args: unknown[]) => void messages.push(args.map(String).join(' '));
  return { messages, restore: () => void (console.warn = original) };
}

describe('Perso.load and evaluate', () => {
  test('loads a policy file: status, version, hash of the exact bytes, source', async () => {
    const perso = await Perso.load({ policy: demoPath });
    const status = perso.status();
    assert.equal(status.ok, true);
    assert.equal(status.version, 'perso-1.0.0');
    assert.equal(perso.policyVersion, 'perso-1.0.0');
    assert.equal(status.source, 'file');
    assert.equal(status.mode, 'enforce');
    assert.equal(
      status.hash,
      createHash('sha256')
        .update(await readFile(demoPath))
        .digest('hex'),
    );
    assert.deepEqual(status.errors, []);
    assert.ok(status.warnings.some((w) => w.path === 'rules[5].condition.FieldPresent.field'));
    assert.ok(Object.isFrozen(status) && Object.isFrozen(status.warnings));
    await perso.close();
  });

  test('evaluate returns one decision object with policyVersion, enforced and rule', async () => {
    const perso = await Perso.load({ policy: policy('v1', 500) });
    const allowed = await perso.evaluate(refund(200));
    assert.deepEqual(allowed, {
      decision: 'Allow',
      reason: "rule matched tool 'process_refund' for role 'agent'; condition passed",
      kind: 'condition_passed',
      rule: 'refund-cap',
      policyVersion: 'v1',
      enforced: true,
      args: { order_id: 'ORD-8821', amount: 200 },
      evaluator: 'wasm',
    });
    const denied = await perso.evaluate(refund(800));
    assert.equal(denied.decision, 'Deny');
    assert.equal(denied.kind, 'condition_failed');
    assert.match(
      denied.reason,
      /^rule matched tool 'process_refund' for role 'agent'; condition failed: .*800/,
    );
    assert.deepEqual(denied.failure, {
      path: 'Arguments.amount',
      op: 'Lte',
      expected: 500,
      actual: 800,
    });
    await perso.close();
  });

  test('accepts JSON text as the policy', async () => {
    const perso = await Perso.load({ policy: JSON.stringify(policy('from-text', 10)) });
    assert.equal(perso.policyVersion, 'from-text');
    assert.equal(perso.status().source, 'inline');
    await perso.close();
  });
});

describe('the time a counted call is decided at', () => {
  test('a policy with only a budget, no clock option: its calls are decided at the system time, not denied for want of one', async () => {
    const perso = await Perso.load({
      engine: 'inline',
      policy: {
        version: 'budget-1',
        default_action: 'Deny',
        tools: ['pay'],
        roles: ['agent'],
        rules: [
          {
            tool_name: 'pay',
            roles: ['agent'],
            budget: { sum: 'Arguments.amount', max: 100, per_seconds: 60 },
          },
        ],
      } as never,
    });
    const first = await perso.evaluate({ tool: 'pay', role: 'agent', args: { amount: 60 } });
    assert.equal(first.decision, 'Allow', first.reason);
    const second = await perso.evaluate({ tool: 'pay', role: 'agent', args: { amount: 60 } });
    assert.equal(second.decision, 'Deny');
    assert.equal(second.kind, 'budget_exceeded');
    await perso.close();
  });
});

describe('bad or missing policy: deny everything, never reject', () => {
  test('invalid policy: status carries the errors, every call is a no_policy Deny with the reason', async () => {
    const perso = await Perso.load({ policy: badPolicy as unknown as Policy });
    const status = perso.status();
    assert.equal(status.ok, false);
    assert.equal(status.version, null);
    assert.equal(perso.policyVersion, null);
    assert.deepEqual(
      status.errors.map((e) => e.path),
      ['rules[0].condition.NumericCheck.op'],
    );
    const result = await perso.evaluate({ tool: 't', role: 'r', args: { a: 0 } });
    assert.equal(result.decision, 'Deny');
    assert.equal(result.kind, 'no_policy');
    assert.equal(
      result.reason,
      'no valid policy loaded: rules[0].condition.NumericCheck.op: unknown op "lte"; expected one of Lte, Gte, Lt, Gt, Eq; fix the policy and reload',
    );
    assert.equal(result.policyVersion, null);
    assert.equal(result.enforced, true);
    await perso.close();
  });

  test('missing policy file: the reason says it was read as a file path', async () => {
    const perso = await Perso.load({ policy: './no/such/policy.json' });
    const result = await perso.evaluate(refund(1));
    assert.equal(result.kind, 'no_policy');
    assert.match(
      result.reason,
      /^no valid policy loaded: policy: policy "\.\/no\/such\/policy\.json" was read as a file path, but it cannot be read: no such file/,
    );
    assert.match(result.reason, /; fix the policy and reload$/);
  });

  test('invalid JSON text: deny everything with the parse error', async () => {
    const perso = await Perso.load({ policy: '{"version": "x",' });
    assert.equal(perso.status().ok, false);
    const result = await perso.evaluate(refund(1));
    assert.equal(result.kind, 'no_policy');
    assert.match(result.reason, /^no valid policy loaded: .+; fix the policy and reload$/);
  });

  test('no options or no policy option: deny everything, say what to pass', async () => {
    for (const options of [undefined, {}, { policy: null }]) {
      const perso = await Perso.load(options as never);
      const result = await perso.evaluate(refund(1));
      assert.equal(result.decision, 'Deny');
      assert.equal(result.kind, 'no_policy');
      assert.match(result.reason, /^no valid policy loaded: options(\.policy)?: /);
    }
  });

  test('worker engine that cannot start (no Worker in Node): deny everything, say it is the engine', async () => {
    const perso = await Perso.load({ policy: demoPath, engine: 'worker' });
    assert.equal(perso.status().ok, false);
    const result = await perso.evaluate({ tool: 'view_customer', role: 'agent', args: {} });
    assert.equal(result.decision, 'Deny');
    assert.equal(result.kind, 'no_policy');
    assert.match(
      result.reason,
      /^no valid policy loaded: .*worker failed to start.*; fix the engine and reload$/,
    );
    await perso.close();
  });

  test('unknown mode option: deny everything rather than guess', async () => {
    const perso = await Perso.load({ policy: policy('v1', 500), mode: 'audit' as never });
    assert.equal(perso.status().errors[0]?.path, 'options.mode');
    assert.equal((await perso.evaluate(refund(1))).kind, 'no_policy');
  });
});

describe('a failed load is reported (issue 12, item 9)', () => {
  /** Runs `body` with console.warn captured. */
  async function warnings(body: () => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    const warn = console.warn;
    console.warn = (...parts: unknown[]) => void seen.push(parts.join(' '));
    try {
      await body();
    } finally {
      console.warn = warn;
    }
    return seen;
  }

  test('mistyped policy path, no onError: one console warning naming the path; the instance denies', async () => {
    let perso: Perso | undefined;
    const seen = await warnings(async () => {
      perso = await Perso.load({ policy: './no-such-policy.json' });
    });
    assert.equal(seen.length, 1);
    assert.match(
      seen[0]!,
      /^perso: the policy failed to load \(policy: .*no-such-policy\.json.*\); every call is denied until a load succeeds; pass onError/,
    );
    const decision = await perso!.evaluate(refund(10));
    assert.equal(decision.decision, 'Deny');
    assert.equal(decision.kind, 'no_policy');
  });

  test('mistyped policy path with onError: onError gets the failed status, nothing is warned', async () => {
    const statuses: PolicyStatus[] = [];
    let perso: Perso | undefined;
    const seen = await warnings(async () => {
      perso = await Perso.load({
        policy: './no-such-policy.json',
        onError: (status) => void statuses.push(status),
      });
    });
    assert.deepEqual(seen, []);
    assert.equal(statuses.length, 1);
    assert.equal(statuses[0]!.ok, false);
    assert.equal(statuses[0], perso!.status());
    assert.equal((await perso!.evaluate(refund(10))).decision, 'Deny');
  });

  test('bad options (no policy): reported too', async () => {
    const statuses: PolicyStatus[] = [];
    await Perso.load({
      onError: (status: PolicyStatus) => void statuses.push(status),
    } as unknown as PersoOptions);
    assert.equal(statuses[0]!.errors[0]!.path, 'options.policy');
  });

  test('a throwing onError: load still resolves to an instance that denies', async () => {
    const perso = await Perso.load({
      policy: '{"not": "a policy"',
      onError: () => {
        throw new Error('boom');
      },
    });
    assert.equal(perso.status().ok, false);
    assert.equal((await perso.evaluate(refund(10))).decision, 'Deny');
  });

  test('a failed reload is reported and says the last good policy stays active; a good load is not reported', async () => {
    let perso: Perso | undefined;
    const seen = await warnings(async () => {
      perso = await Perso.load({ policy: policy('v1', 500) });
      await perso.reload('{"broken"');
    });
    assert.equal(seen.length, 1);
    assert.match(seen[0]!, /; policy "v1" stays active; /);
    assert.equal((await perso!.evaluate(refund(10))).decision, 'Allow');
  });
});

describe('reload', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perso-reload-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('failed reload keeps the last good policy and its version; a good one swaps in', async () => {
    const perso = await Perso.load({ policy: policy('v1', 500) });
    const hashV1 = perso.status().hash;
    const failed = await perso.reload(badPolicy as unknown as Policy);
    assert.equal(failed.ok, false);
    assert.equal(failed.version, 'v1');
    assert.equal(failed.hash, hashV1);
    assert.equal(failed.errors[0]?.path, 'rules[0].condition.NumericCheck.op');
    assert.equal(perso.policyVersion, 'v1');
    const still = await perso.evaluate(refund(400));
    assert.equal(still.decision, 'Allow');
    assert.equal(still.policyVersion, 'v1');

    const swapped = await perso.reload(policy('v2', 100));
    assert.equal(swapped.ok, true);
    assert.deepEqual(swapped.errors, []);
    assert.notEqual(swapped.hash, hashV1);
    const now = await perso.evaluate(refund(400));
    assert.equal(now.decision, 'Deny');
    assert.equal(now.policyVersion, 'v2');
    await perso.close();
  });

  test('reload() without a policy re-reads the source file', async () => {
    const file = join(dir, 'policy.json');
    await writeFile(file, JSON.stringify(policy('file-1', 500)));
    const perso = await Perso.load({ policy: file });
    assert.equal(perso.policyVersion, 'file-1');
    await writeFile(file, JSON.stringify(policy('file-2', 100)));
    const status = await perso.reload();
    assert.equal(status.version, 'file-2');
    assert.equal((await perso.evaluate(refund(400))).decision, 'Deny');
    await writeFile(file, '{ broken');
    const broken = await perso.reload();
    assert.equal(broken.ok, false);
    assert.equal(perso.policyVersion, 'file-2');
    await perso.close();
  });

  test('a good reload lifts the deny-all of a failed first load', async () => {
    const perso = await Perso.load({ policy: badPolicy as unknown as Policy });
    assert.equal((await perso.evaluate(refund(1))).kind, 'no_policy');
    const status = await perso.reload(policy('v1', 500));
    assert.equal(status.ok, true);
    assert.equal((await perso.evaluate(refund(1))).decision, 'Allow');
    await perso.close();
  });

  test('reloads run one at a time, in call order', async () => {
    const perso = await Perso.load({ policy: policy('v1', 500) });
    const results = await Promise.all([
      perso.reload(policy('v2', 1)),
      perso.reload(badPolicy as never),
      perso.reload(policy('v3', 2)),
    ]);
    assert.deepEqual(
      results.map((s) => [s.ok, s.version]),
      [
        [true, 'v2'],
        [false, 'v2'],
        [true, 'v3'],
      ],
    );
    assert.equal(perso.policyVersion, 'v3');
    await perso.close();
  });
});

describe('shadow mode', () => {
  test('policy mode "shadow": decisions are reported with enforced false', async () => {
    const perso = await Perso.load({ policy: policy('s', 500, { mode: 'shadow' }) });
    assert.equal(perso.status().mode, 'shadow');
    const result = await perso.evaluate(refund(800));
    assert.equal(result.decision, 'Deny');
    assert.equal(result.enforced, false);
    await perso.close();
  });

  test('option mode "shadow" wins over an enforcing policy', async () => {
    const perso = await Perso.load({ policy: policy('e', 500), mode: 'shadow' });
    assert.equal(perso.status().mode, 'shadow');
    assert.equal((await perso.evaluate(refund(800))).enforced, false);
    await perso.close();
  });

  test('option mode "enforce" wins over a shadow policy', async () => {
    const perso = await Perso.load({
      policy: policy('s', 500, { mode: 'shadow' }),
      mode: 'enforce',
    });
    assert.equal((await perso.evaluate(refund(800))).enforced, true);
    await perso.close();
  });

  test('faults stay enforced in shadow mode (invalid request, no policy)', async () => {
    const perso = await Perso.load({ policy: policy('s', 500), mode: 'shadow' });
    const invalid = await perso.evaluate({ tool: 'process_refund', role: 'agent', args: [1] });
    assert.equal(invalid.kind, 'invalid_request');
    assert.equal(invalid.enforced, true);
    const none = await Perso.load({ policy: badPolicy as never, mode: 'shadow' });
    const noPolicy = await none.evaluate(refund(1));
    assert.equal(noPolicy.kind, 'no_policy');
    assert.equal(noPolicy.enforced, true);
    await perso.close();
  });
});

describe('bad requests and engine errors are Deny decisions, never exceptions', () => {
  const cases: Array<[string, unknown]> = [
    ['missing role', { tool: 'process_refund', args: { amount: 1 } }],
    ['empty role', { tool: 'process_refund', args: { amount: 1 }, role: '' }],
    ['tool not a string', { tool: 42, args: {}, role: 'agent' }],
    ['args an array', { tool: 'process_refund', args: [1], role: 'agent' }],
    [
      'agentAttributes a string',
      { tool: 'process_refund', args: { amount: 1 }, role: 'agent', agentAttributes: 'admin' },
    ],
    ['call null', null],
    ['call a string', 'process_refund'],
    ['now NaN', { ...refund(1), now: Number.NaN }],
    ['now a string', { ...refund(1), now: '1000' }],
    ['now null (issue 9 fix 6: refused, never the system clock)', { ...refund(1), now: null }],
  ];
  for (const [name, call] of cases) {
    test(`${name} → Deny invalid_request`, async () => {
      const perso = await Perso.load({ policy: policy('v1', 500) });
      const result = await perso.evaluate(call as ToolCall);
      assert.equal(result.decision, 'Deny');
      assert.equal(result.kind, 'invalid_request');
      assert.match(result.reason, /^invalid request: /);
      assert.equal(result.policyVersion, 'v1');
      await perso.close();
    });
  }

  test('clock that throws → Deny invalid_request naming the clock', async () => {
    const perso = await Perso.load({
      policy: policy('v1', 500),
      clock: () => {
        throw new Error('clock broke');
      },
    });
    const result = await perso.evaluate(refund(1));
    assert.equal(result.decision, 'Deny');
    assert.match(result.reason, /clock broke/);
    await perso.close();
  });

  test('closed instance → Deny engine_fault', async () => {
    const perso = await Perso.load({ policy: policy('v1', 500) });
    await perso.close();
    const result = await perso.evaluate(refund(1));
    assert.equal(result.decision, 'Deny');
    assert.equal(result.kind, 'engine_fault');
    assert.match(result.reason, /closed/);
    assert.equal((await perso.reload(policy('v2', 1))).ok, false);
  });
});

describe('Perso.evaluate decides on the canonical frozen copy, audit on or off (issue 9 fix 2)', () => {
  const hostile: Array<[string, () => ToolCall, string]> = [
    [
      'a "constructor" key',
      () => ({
        ...refund(100),
        args: JSON.parse(
          '{"order_id":"ORD-1","amount":100,"constructor":{"prototype":1}}',
        ) as ToolCall['args'],
      }),
      'Deny:invalid_request',
    ],
    [
      'a nested NaN the policy does not read',
      () => ({
        ...refund(100),
        args: { order_id: 'ORD-1', amount: 100, meta: { score: Number.NaN } },
      }),
      'Deny:invalid_request',
    ],
    [
      'a toJSON on the args',
      () => ({
        ...refund(900),
        args: {
          amount: 900,
          toJSON: () => ({ order_id: 'ORD-1', amount: 100 }),
        } as unknown as ToolCall['args'],
      }),
      'Allow:condition_passed',
    ],
    [
      'an undefined array item',
      () => ({
        ...refund(100),
        args: { order_id: 'ORD-1', amount: 100, tags: [undefined] } as unknown as ToolCall['args'],
      }),
      'Deny:invalid_request',
    ],
  ];
  for (const [name, make, expected] of hostile) {
    test(`${name}: the same decision with audit on and off`, async () => {
      const answers: string[] = [];
      for (const audit of [false, true]) {
        const perso = await Perso.load({
          policy: policy('v1', 500),
          ...(audit ? { audit: memoryTransport() } : {}),
        });
        const result = await perso.evaluate(make());
        answers.push(`${result.decision}:${result.kind}`);
        if (result.kind !== 'invalid_request') {
          assert.ok(
            result.args !== undefined && Object.isFrozen(result.args),
            'decision.args is the frozen copy',
          );
          assert.deepEqual(result.args, { order_id: 'ORD-1', amount: 100 });
        }
        await perso.close();
      }
      assert.deepEqual(answers, [expected, expected]);
    });
  }
  test('a getter is read once; decision.args holds what was decided, frozen', async () => {
    const perso = await Perso.load({ policy: policy('v1', 500) });
    let reads = 0;
    const args = {
      order_id: 'ORD-1',
      get amount() {
        reads++;
        return reads === 1 ? 100 : 900;
      },
    };
    const result = await perso.evaluate({ ...refund(0), args });
    assert.equal(result.decision, 'Allow');
    assert.equal(reads, 1);
    assert.deepEqual(result.args, { order_id: 'ORD-1', amount: 100 });
    assert.ok(Object.isFrozen(result.args));
    await perso.close();
  });
  test('every decision carries its args, Allow and Deny', async () => {
    const perso = await Perso.load({ policy: policy('v1', 500) });
    for (const amount of [100, 900])
      assert.deepEqual((await perso.evaluate(refund(amount))).args, {
        order_id: 'ORD-8821',
        amount,
      });
    await perso.close();
  });
});

describe('non-finite numbers nested in a value the policy reads (issue 9 fix 1)', () => {
  const scoped: Policy = {
    version: 'scoped',
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
  const calls: Array<[string, ToolCall, RegExp]> = [
    [
      'NaN in args',
      { tool: 'view', role: 'agent', args: { scope: { tenant: Number.NaN } } },
      /scope\.tenant/,
    ],
    [
      'Infinity in args vs -Infinity in resourceAttributes',
      {
        tool: 'transfer',
        role: 'agent',
        args: { account: { id: Infinity } },
        resourceAttributes: { owner: { id: -Infinity } },
      },
      /account\.id/,
    ],
    [
      'Infinity in an array vs null',
      {
        tool: 'transfer',
        role: 'agent',
        args: { account: [Infinity] },
        resourceAttributes: { owner: [null] },
      },
      /account\[0\]/,
    ],
    [
      'NaN in resourceAttributes vs NaN in args',
      {
        tool: 'transfer',
        role: 'agent',
        args: { account: { id: 1 } },
        resourceAttributes: { owner: { id: Number.NaN } },
      },
      /owner\.id/,
    ],
  ];
  for (const audit of [false, true]) {
    for (const [name, call, path] of calls) {
      test(`${name} → Deny invalid_request naming the path (audit ${audit ? 'on' : 'off'})`, async () => {
        const perso = await Perso.load({
          policy: scoped,
          ...(audit ? { audit: memoryTransport() } : {}),
        });
        const result = await perso.evaluate(call);
        assert.equal(result.decision, 'Deny', result.reason);
        assert.equal(result.kind, 'invalid_request');
        assert.match(result.reason, path);
        await perso.close();
      });
    }
  }
});

describe('rate-limit time', () => {
  const limited = policy('rl', 500, {
    rules: [
      {
        tool_name: 'view_customer',
        roles: ['agent'],
        rate_limit: { max: 2, per_seconds: 60 },
      },
    ],
  });
  const view = (now?: number): ToolCall => ({
    tool: 'view_customer',
    args: {},
    role: 'agent',
    ...(now === undefined ? {} : { now }),
  });

  test('options.clock drives the window when the call has no now', async () => {
    let clock = 1000;
    const perso = await Perso.load({ policy: limited, clock: () => clock });
    assert.equal((await perso.evaluate(view())).decision, 'Allow');
    assert.equal((await perso.evaluate(view())).decision, 'Allow');
    const third = await perso.evaluate(view());
    assert.equal(third.decision, 'Deny');
    assert.equal(third.kind, 'rate_limited');
    assert.equal(typeof third.retryAfter, 'number');
    assert.ok(third.retryAfter! > 0 && third.retryAfter! <= 60);
    clock = 1061;
    assert.equal((await perso.evaluate(view())).decision, 'Allow');
    await perso.close();
  });

  test('a rate_limit key spelled with \\u escapes still reads the system clock', async () => {
    const text = JSON.stringify(limited).replace('"rate_limit"', '"rate\\u005flimit"');
    assert.ok(!text.includes('rate_limit'));
    const perso = await Perso.load({ policy: text });
    assert.equal(perso.status().ok, true);
    assert.equal((await perso.evaluate(view())).decision, 'Allow');
    assert.equal((await perso.evaluate(view())).decision, 'Allow');
    assert.equal((await perso.evaluate(view())).kind, 'rate_limited');
    await perso.close();
  });

  test('a policy with a budget and no rate_limit reads the system clock (it was denied budget_unknown)', async () => {
    const budgeted = policy('budget', 500, {
      rules: [
        // Budgets are not in the authoring types (src/policy/policy.ts) yet.
        {
          tool_name: 'view_customer',
          roles: ['agent'],
          budget: { sum: 'Arguments.n', max: 3, per_seconds: 60 },
        } as unknown as Policy['rules'][number],
      ],
    });
    const perso = await Perso.load({ policy: budgeted });
    const spend = (n: number) => perso.evaluate({ ...view(), args: { n } });
    assert.equal((await spend(2)).decision, 'Allow');
    const over = await spend(2);
    assert.equal(over.decision, 'Deny');
    assert.equal(over.kind, 'budget_exceeded');
    await perso.close();
  });

  test('call.now wins over options.clock', async () => {
    const perso = await Perso.load({ policy: limited, clock: () => 5000 });
    await perso.evaluate(view(1000));
    await perso.evaluate(view(1000));
    assert.equal((await perso.evaluate(view(1000))).kind, 'rate_limited');
    // The clock says 5000, far past the window: without now, the call is allowed again.
    assert.equal((await perso.evaluate(view())).decision, 'Allow');
    await perso.close();
  });

  test('without now or clock, Date.now() is the clock', async () => {
    const perso = await Perso.load({ policy: limited });
    const seconds = Date.now() / 1000;
    await perso.evaluate(view());
    await perso.evaluate(view());
    assert.equal((await perso.evaluate(view())).kind, 'rate_limited');
    // 120 s from now is outside the window that Date.now() opened.
    assert.equal((await perso.evaluate(view(seconds + 120))).decision, 'Allow');
    await perso.close();
  });
});

describe('audit', () => {
  test('every decision becomes one frozen record per transport', async () => {
    const first = memoryTransport();
    const second = memoryTransport();
    const perso = await Perso.load({ policy: policy('v1', 500), audit: [first, second] });
    await perso.evaluate(refund(200));
    await perso.evaluate(refund(800));
    await perso.evaluate({ tool: 'process_refund', role: 'agent', args: { f: () => 1 } });
    assert.equal(first.records.length, 3);
    assert.deepEqual(second.records, first.records);
    const [allow, deny, invalid] = first.records as [AuditRecord, AuditRecord, AuditRecord];
    assert.match(allow.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(allow.id, deny.id);
    assert.ok(!Number.isNaN(Date.parse(allow.time)) && allow.time.endsWith('Z'));
    assert.equal(allow.tool, 'process_refund');
    assert.equal(allow.role, 'agent');
    assert.equal(allow.decision, 'Allow');
    assert.equal(allow.kind, 'condition_passed');
    assert.equal(allow.rule, 'refund-cap');
    assert.equal(allow.policyVersion, 'v1');
    assert.equal(allow.policyHash, perso.status().hash);
    assert.equal(allow.enforced, true);
    assert.deepEqual(allow.args, { order_id: 'ORD-8821', amount: 200 });
    assert.equal(allow.argsSha256, undefined);
    assert.deepEqual(allow.agentAttributes, { user_id: 'agt-099', env: 'staging' });
    assert.equal('resourceAttributes' in allow, false);
    assert.ok(typeof allow.now === 'number' && Math.abs(allow.now - Date.now() / 1000) < 60);
    assert.equal(deny.decision, 'Deny');
    assert.equal(invalid.kind, 'invalid_request');
    assert.equal(invalid.args, undefined);
    assert.equal(invalid.now, undefined);
    assert.ok(Object.isFrozen(allow));
    await perso.close();
  });

  test("hashArgs: records carry an HMAC-SHA-256 of the canonical args under the host's key, not the args", async () => {
    const transport = memoryTransport();
    const hashKey = new Uint8Array(32).fill(7);
    const perso = await Perso.load({
      policy: policy('v1', 500),
      audit: transport,
      hashArgs: true,
      hashKey,
    });
    await perso.evaluate(refund(200));
    await perso.evaluate(refund(300));
    await perso.close();
    assert.equal(transport.records.length, 2);
    const [first, second] = transport.records as [AuditRecord, AuditRecord];
    assert.equal(first.args, undefined);
    assert.equal(first.argsSha256, undefined);
    assert.equal(
      first.argsHmac,
      createHmac('sha256', hashKey)
        .update(JSON.stringify({ order_id: 'ORD-8821', amount: 200 }))
        .digest('hex'),
    );
    assert.equal(
      second.argsHmac,
      createHmac('sha256', hashKey)
        .update(JSON.stringify({ order_id: 'ORD-8821', amount: 300 }))
        .digest('hex'),
    );
    // The host facts stay out of a hashed record as well: such a record cannot be replayed.
    assert.equal('agentAttributes' in first, false);
    assert.equal('resourceAttributes' in first, false);
  });

  test('records carry the host facts and the time the decision used, for perso replay', async () => {
    const transport = memoryTransport();
    const perso = await Perso.load({
      policy: policy('v1', 500),
      audit: transport,
      clock: () => 1_764_000_000,
    });
    const resourceAttributes = { owner_id: 'agt-099', tags: ['vip'] };
    await perso.evaluate({ ...refund(200), resourceAttributes, now: 1_700_000_123.5 });
    await perso.evaluate({ tool: 'view_customer', role: 'agent', args: {} });
    await perso.close();
    const [withFacts, bare] = transport.records as [AuditRecord, AuditRecord];
    assert.deepEqual(withFacts.agentAttributes, { user_id: 'agt-099', env: 'staging' });
    assert.deepEqual(withFacts.resourceAttributes, resourceAttributes);
    assert.notEqual(withFacts.resourceAttributes, resourceAttributes);
    assert.equal(withFacts.now, 1_700_000_123.5);
    assert.equal('agentAttributes' in bare, false);
    assert.equal('resourceAttributes' in bare, false);
    assert.equal(bare.now, 1_764_000_000);
  });

  test('with audit on, host facts are read once: the record holds what was decided on', async () => {
    const transport = memoryTransport();
    const perso = await Perso.load({
      policy: policy('v1', 500, {
        roles: ['agent'],
        rules: [
          {
            tool_name: 'view_customer',
            roles: ['agent'],
            condition: {
              StringCheck: {
                source: 'AgentAttributes',
                field: 'env',
                op: 'In',
                value: ['production'],
              },
            },
          },
        ],
      }),
      audit: transport,
    });
    let reads = 0;
    const agentAttributes = {
      get env() {
        reads++;
        return reads === 1 ? 'staging' : 'production';
      },
    };
    const result = await perso.evaluate({
      tool: 'view_customer',
      role: 'agent',
      args: {},
      agentAttributes: agentAttributes as never,
    });
    assert.equal(result.decision, 'Deny');
    assert.equal(reads, 1);
    assert.deepEqual(transport.records[0]?.agentAttributes, { env: 'staging' });
    await perso.close();
  });

  test('agentAttributes holding a function with audit on → Deny invalid_request naming it', async () => {
    const transport = memoryTransport();
    const perso = await Perso.load({ policy: policy('v1', 500), audit: transport });
    const result = await perso.evaluate({
      ...refund(1),
      agentAttributes: { user_id: (() => 'x') as never },
    });
    assert.equal(result.decision, 'Deny');
    assert.equal(result.kind, 'invalid_request');
    assert.match(result.reason, /^invalid request: agentAttributes\.user_id/);
    assert.equal(transport.records[0]?.kind, 'invalid_request');
    assert.equal('agentAttributes' in transport.records[0]!, false);
    await perso.close();
  });

  test('shadow decisions are recorded as not enforced', async () => {
    const transport = memoryTransport();
    const perso = await Perso.load({ policy: policy('v1', 500), audit: transport, mode: 'shadow' });
    await perso.evaluate(refund(800));
    assert.equal(transport.records[0]?.decision, 'Deny');
    assert.equal(transport.records[0]?.enforced, false);
    await perso.close();
  });

  test('throwing transport: the decision is unchanged, others still get records, warned once', async () => {
    const warnings = captureWarnings();
    try {
      const good = memoryTransport();
      const throwing: AuditTransport = {
        emit() {
          throw new Error('disk full');
        },
      };
      const perso = await Perso.load({ policy: policy('v1', 500), audit: [throwing, good] });
      const allowed = await perso.evaluate(refund(200));
      const denied = await perso.evaluate(refund(800));
      assert.equal(allowed.decision, 'Allow');
      assert.equal(denied.decision, 'Deny');
      assert.equal(good.records.length, 2);
      assert.equal(warnings.messages.length, 1);
      assert.match(warnings.messages[0]!, /audit transport failed \(disk full\)/);
      await perso.close();
    } finally {
      warnings.restore();
    }
  });

  test('transport whose emit returns a rejected promise: caught and warned, decision unchanged', async () => {
    const warnings = captureWarnings();
    try {
      const rejecting = {
        emit: () => Promise.reject(new Error('network down')),
      } as unknown as AuditTransport;
      const perso = await Perso.load({ policy: policy('v1', 500), audit: rejecting });
      assert.equal((await perso.evaluate(refund(200))).decision, 'Allow');
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(warnings.messages.length, 1);
      assert.match(warnings.messages[0]!, /network down/);
      await perso.close();
    } finally {
      warnings.restore();
    }
  });

  test('with audit on, args are read once: the record holds what was checked', async () => {
    const transport = memoryTransport();
    const perso = await Perso.load({ policy: policy('v1', 500), audit: transport });
    let reads = 0;
    const args = {
      order_id: 'ORD-1',
      get amount() {
        reads++;
        return reads === 1 ? 100 : 9000;
      },
    };
    const result = await perso.evaluate({ tool: 'process_refund', role: 'agent', args });
    assert.equal(result.decision, 'Allow');
    assert.equal(reads, 1);
    assert.deepEqual(transport.records[0]?.args, { order_id: 'ORD-1', amount: 100 });
    await perso.close();
  });

  test('close flushes transports', async () => {
    let flushed = 0;
    const transport: AuditTransport = { emit() {}, flush: async () => void flushed++ };
    const perso = await Perso.load({ policy: policy('v1', 500), audit: transport });
    await perso.close();
    assert.equal(flushed, 1);
  });

  test('close closes every transport it was given, once each (a transport without close is flushed)', async () => {
    const calls: string[] = [];
    const closing: AuditTransport = {
      emit() {},
      flush: async () => void calls.push('flush a'),
      close: async () => void calls.push('close a'),
    };
    const flushing: AuditTransport = { emit() {}, flush: async () => void calls.push('flush b') };
    const perso = await Perso.load({
      policy: policy('v1', 500),
      audit: [closing, flushing, closing],
    });
    await perso.close();
    assert.deepEqual(calls, ['close a', 'flush b']);
  });

  test('a transport whose close rejects: close still resolves and closes the others', async () => {
    let closed = 0;
    const failing: AuditTransport = {
      emit() {},
      close: () => Promise.reject(new Error('disk gone')),
    };
    const fine: AuditTransport = { emit() {}, close: async () => void closed++ };
    const perso = await Perso.load({ policy: policy('v1', 500), audit: [failing, fine] });
    const warn = console.warn;
    console.warn = () => {};
    try {
      await perso.close();
    } finally {
      console.warn = warn;
    }
    assert.equal(closed, 1);
  });
});

describe('process exit', () => {
  // The fault: an httpTransport whose collector cannot be reached retries with backoff; its timer
  // must not hold a Node process open after `await perso.close()`.
  test('unreachable HTTP collector: a Node process exits after await perso.close()', async () => {
    const { spawn } = await import('node:child_process');
    const { createServer } = await import('node:net');
    // A port nothing listens on: bind one, note it, close it.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() =>
          resolve(typeof address === 'object' && address !== null ? address.port : 0),
        );
      });
    });
    const index = new URL('../src/index.ts', import.meta.url).href;
    const script = `
      const { Perso, httpTransport } = await import(${JSON.stringify(index)});
      const audit = httpTransport({ url: 'http://127.0.0.1:${port}/audit', retryBaseMs: 50, flushIntervalMs: 10 });
      const perso = await Perso.load({ policy: ${JSON.stringify(JSON.stringify(policy('v1', 500)))}, audit });
      await perso.evaluate({ tool: 'view_customer', args: {}, role: 'agent' });
      await new Promise((resolve) => setTimeout(resolve, 200)); // a failed POST or two: backing off now
      await perso.close();
      console.log('closed', audit.stats().failedAttempts > 0, audit.stats().pending);
    `;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    // A liveness bound, not a timing assertion: the process either exits by itself or never does.
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    );
    clearTimeout(killer);
    assert.equal(signal, null, `the process did not exit by itself after close(): ${out}`);
    assert.equal(code, 0, out);
    assert.match(out, /^closed true 1$/m);
  });
});

/** Runs `body` with `globalThis.crypto` replaced (insecure contexts lack parts of WebCrypto). */
async function withCrypto(replacement: object, body: () => Promise<void>): Promise<void> {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'crypto')!;
  Object.defineProperty(globalThis, 'crypto', { value: replacement, configurable: true });
  try {
    await body();
  } finally {
    Object.defineProperty(globalThis, 'crypto', descriptor);
  }
}

describe('missing WebCrypto (pages on plain http)', () => {
  test('no crypto.subtle nor randomUUID: the policy is hashed in plain JavaScript, records get v4 ids', async () => {
    const real = globalThis.crypto;
    await withCrypto(
      { getRandomValues: (array: Uint8Array<ArrayBuffer>) => real.getRandomValues(array) },
      async () => {
        const transport = memoryTransport();
        const perso = await Perso.load({
          policy: policy('v1', 500),
          audit: transport,
          hashArgs: true,
        });
        assert.equal(perso.status().ok, true);
        const text = JSON.stringify(policy('v1', 500));
        assert.equal(perso.status().hash, createHash('sha256').update(text).digest('hex'));
        assert.equal((await perso.evaluate(refund(200))).decision, 'Allow');
        await perso.close();
        assert.equal(transport.records.length, 1);
        assert.match(
          transport.records[0]!.id,
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        assert.equal(transport.records[0]!.argsSha256, undefined);
      },
    );
  });

  test('no randomness at all: audit records cannot be built, decisions unchanged, warned once', async () => {
    const warnings = captureWarnings();
    try {
      const transport = memoryTransport();
      const perso = await Perso.load({ policy: policy('v1', 500), audit: transport });
      await withCrypto({}, async () => {
        assert.equal((await perso.evaluate(refund(200))).decision, 'Allow');
        assert.equal((await perso.evaluate(refund(800))).decision, 'Deny');
      });
      assert.equal(transport.records.length, 0);
      assert.equal(warnings.messages.length, 1);
      assert.match(warnings.messages[0]!, /audit records cannot be built/);
      await perso.close();
    } finally {
      warnings.restore();
    }
  });
});

describe('evaluateBatch', () => {
  test('decides many calls in order', async () => {
    const perso = await Perso.load({ policy: policy('v1', 500) });
    const results = await perso.evaluateBatch([
      refund(100),
      refund(900),
      { tool: 'nope', role: 'agent' },
    ]);
    assert.deepEqual(
      results.map((r) => [r.decision, r.kind]),
      [
        ['Allow', 'condition_passed'],
        ['Deny', 'condition_failed'],
        ['Deny', 'no_rule'],
      ],
    );
    assert.ok(results.every((r) => r.policyVersion === 'v1'));
    await perso.close();
  });
});

describe('reload and the windows of rate limits and budgets (docs/policy.md)', () => {
  // "1000 per day" and "2 per hour", per guard instance: a reload of the same text keeps the
  // windows (a host reloading on a timer must not reset them); a new policy starts new ones.
  const windowed: Policy = {
    version: 'windows-1',
    default_action: 'Deny',
    tools: ['pay', 'send', 'fetch_page'],
    roles: ['agent'],
    rules: [
      {
        id: 'pay-budget',
        tool_name: 'pay',
        roles: ['agent'],
        budget: { sum: 'Arguments.amount', max: 1000, per_seconds: 86400 },
      },
      { tool_name: 'send', roles: ['agent'], rate_limit: { max: 2, per_seconds: 3600 } },
      { tool_name: 'fetch_page', roles: ['agent'] },
    ],
  } as Policy;
  const pay = (amount: number): ToolCall => ({ tool: 'pay', role: 'agent', args: { amount } });
  const send: ToolCall = { tool: 'send', role: 'agent', args: {} };

  /** Spends the whole budget and rate limit; each is then denied. */
  async function spent(perso: Perso): Promise<void> {
    assert.equal((await perso.evaluate(pay(1000))).decision, 'Allow');
    assert.equal((await perso.evaluate(send)).decision, 'Allow');
    assert.equal((await perso.evaluate(send)).decision, 'Allow');
    assert.equal((await perso.evaluate(pay(1))).kind, 'budget_exceeded');
    assert.equal((await perso.evaluate(send)).kind, 'rate_limited');
  }

  for (const [form, again] of [
    ['the same policy object', () => windowed],
    ['an equal object', () => structuredClone(windowed)],
    ['its JSON text', () => JSON.stringify(windowed)],
  ] as const) {
    test(`a reload of the same text (${form}) keeps the budget and the rate limit spent`, async () => {
      const perso = await Perso.load({ policy: windowed, clock: () => 1000 });
      try {
        await spent(perso);
        const hash = perso.status().hash;
        const status = await perso.reload(again());
        assert.equal(status.ok, true);
        assert.equal(status.hash, hash, 'the same text');
        assert.equal((await perso.evaluate(pay(1))).kind, 'budget_exceeded');
        assert.equal((await perso.evaluate(send)).kind, 'rate_limited');
        assert.equal(perso.status().version, 'windows-1');
      } finally {
        await perso.close();
      }
    });
  }

  test('the R7 repro: Allow, Deny, and after a reload of the same policy still Deny', async () => {
    const perso = await Perso.load({ policy: windowed });
    try {
      const decisions = [(await perso.evaluate(pay(1000))).decision];
      decisions.push((await perso.evaluate(pay(1000))).decision);
      await perso.reload(windowed);
      decisions.push((await perso.evaluate(pay(1000))).decision);
      assert.deepEqual(decisions, ['Allow', 'Deny', 'Deny']);
    } finally {
      await perso.close();
    }
  });

  test('a reload of changed text starts new windows (even back to the first text)', async () => {
    const perso = await Perso.load({ policy: windowed, clock: () => 1000 });
    try {
      await spent(perso);
      assert.equal((await perso.reload({ ...windowed, version: 'windows-2' })).ok, true);
      await spent(perso);
      assert.equal((await perso.reload(windowed)).ok, true);
      await spent(perso);
      // Reformatted text is other text: new windows too.
      assert.equal((await perso.reload(JSON.stringify(windowed, null, 2))).ok, true);
      await spent(perso);
    } finally {
      await perso.close();
    }
  });

  test('a failed reload in between: the same text again still keeps the windows', async () => {
    const perso = await Perso.load({ policy: windowed, clock: () => 1000, onError: () => {} });
    try {
      await spent(perso);
      assert.equal((await perso.reload('{"broken"')).ok, false);
      assert.equal((await perso.reload(windowed)).ok, true);
      assert.equal((await perso.evaluate(pay(1))).kind, 'budget_exceeded');
      assert.equal((await perso.evaluate(send)).kind, 'rate_limited');
    } finally {
      await perso.close();
    }
  });

  test('untrusted content outlives a reload, of the same text and of changed text', async () => {
    const perso = await Perso.load({ policy: windowed, clock: () => 1000 });
    try {
      const recorded = await perso.recordResult({
        tool: 'fetch_page',
        result: { text: 'account 12345678' },
        untrusted: true,
      });
      assert.deepEqual(recorded, { ok: true, untrusted: true });
      const before = (await perso.state())?.untrusted.sessions;
      assert.equal(before?.length, 1);
      await perso.reload(windowed);
      assert.deepEqual((await perso.state())?.untrusted.sessions, before);
      await perso.reload({ ...windowed, version: 'windows-2' });
      assert.deepEqual((await perso.state())?.untrusted.sessions, before);
    } finally {
      await perso.close();
    }
  });
});
