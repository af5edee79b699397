// `perso test POLICY`: the tests a policy carries ("tests": [{name, request, expect}]), run from source.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPerso } from './support/run-cli.ts';

const refund = (amount: number) => ({ tool: 'process_refund', args: { amount }, role: 'agent' });

/** A refund cap of 500 with one call per minute, plus the given tests. */
function policyWith(tests: unknown): object {
  return {
    version: 'tested-1',
    default_action: 'Deny',
    tools: ['process_refund'],
    roles: ['agent'],
    rules: [
      {
        id: 'refund-cap',
        tool_name: 'process_refund',
        roles: ['agent'],
        condition: {
          NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 500 },
        },
        rate_limit: { max: 1, per_seconds: 60 },
      },
    ],
    tests,
  };
}

describe('perso test POLICY', () => {
  let dir: string;
  const file = async (name: string, document: object | string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(
      path,
      typeof document === 'string' ? document : JSON.stringify(document, null, 2),
    );
    return path;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perso-policy-tests-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('runs the policy\'s tests: each failure with its why, "N passed, M failed", exit 1', async () => {
    const path = await file(
      'failing.json',
      policyWith([
        {
          name: 'small refund',
          request: { ...refund(200), now: 1000 },
          expect: 'Allow',
          reasonPrefix: "rule matched tool 'process_refund'",
        },
        { name: 'large refund', request: refund(800), expect: 'Allow', why: 'wrong on purpose' },
        { name: 'bad expectation', request: refund(1), expect: 'Maybe' },
      ]),
    );
    const run = await runPerso(['test', path]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(
      run.stdout,
      'FAIL large refund\n' +
        "  expected Allow, got Deny: rule matched tool 'process_refund' for role 'agent'; condition failed: Arguments.amount = 800 is not Lte 500\n" +
        '  why: wrong on purpose\n' +
        'FAIL bad expectation\n' +
        '  tests[2].expect: expected "Allow", "Deny" or "Ask"\n' +
        '1 passed, 2 failed\n',
    );
  });

  test("fault: controls in a test's name, its why and the reason are escaped (no line can erase or rewrite what the terminal shows)", async () => {
    const path = await file(
      'controls.json',
      policyWith([
        {
          name: 'hidden\u001b[2K\r',
          request: { tool: 'process_refund\u001b[1A', role: 'agent', args: { amount: 1 } },
          expect: 'Allow',
          why: 'erase \u001b[2J\u202e',
        },
        { name: 'ok\u001b[1A', request: refund(1), expect: 'Allow' },
      ]),
    );
    const run = await runPerso(['test', '--verbose', path]);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(
      run.stdout,
      'FAIL hidden\\u001b[2K\\r\n' +
        "  expected Allow, got Deny: no rule matched tool 'process_refund\\u001b[1A' for role 'agent'; applying default_action\n" +
        '  why: erase \\u001b[2J\\u202e\n' +
        'ok   ok\\u001b[1A\n' +
        '1 passed, 1 failed\n',
    );
  });

  test('all passing → exit 0; each test runs on a fresh instance (a rate limit of one per minute passes twice)', async () => {
    const path = await file(
      'passing.json',
      policyWith([
        { name: 'first refund', request: { ...refund(100), now: 1000 }, expect: 'Allow' },
        {
          name: 'second refund in the same second',
          request: { ...refund(100), now: 1000 },
          expect: 'Allow',
        },
      ]),
    );
    const run = await runPerso(['test', '--verbose', path]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(
      run.stdout,
      'ok   first refund\nok   second refund in the same second\n2 passed, 0 failed\n',
    );
  });

  test('the engine ignores tests when deciding: validate has no warning, eval decides as without them', async () => {
    const path = await file(
      'ignored.json',
      policyWith([{ name: 'claims Allow', request: refund(800), expect: 'Allow' }]),
    );
    const validate = await runPerso(['validate', path]);
    assert.equal(validate.code, 0);
    assert.match(validate.stdout, /valid, 0 errors, 0 warnings/);
    const evaluated = await runPerso(
      ['eval', path],
      `${JSON.stringify({ ...refund(800), now: 1000 })}\n`,
    );
    assert.equal((JSON.parse(evaluated.stdout) as { decision: string }).decision, 'Deny');
  });

  test('a policy without tests fails: CI must not pass on nothing', async () => {
    for (const tests of [undefined, []]) {
      const path = await file('untested.json', policyWith(tests));
      const run = await runPerso(['test', path]);
      assert.equal(run.code, 1);
      assert.equal(run.stdout, '');
      assert.match(
        run.stderr,
        /^error: .*untested\.json: tests: no tests; add "tests": \[\{"name", "request", "expect"\}\] to the policy\n$/,
      );
    }
  });

  test('tests that are not an array → exit 1 naming the key', async () => {
    const run = await runPerso(['test', await file('not-array.json', policyWith({ name: 'x' }))]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /tests: expected an array of \{"name", "request", "expect"\}/);
  });

  test('an invalid policy is reported once with its errors, before any test runs', async () => {
    const policy = policyWith([
      { name: 'a', request: refund(1), expect: 'Allow' },
      { name: 'b', request: refund(2), expect: 'Allow' },
    ]) as {
      rules: { condition: { NumericCheck: { op: string } } }[];
    };
    policy.rules[0]!.condition.NumericCheck.op = 'lte';
    const run = await runPerso(['test', await file('invalid.json', policy)]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    const errors = run.stderr.match(/unknown op "lte"/g) ?? [];
    assert.equal(errors.length, 1, run.stderr);
    assert.match(
      run.stderr,
      /invalid policy; fix it \(see "perso validate"\) and run its tests again\n$/,
    );
  });
});
