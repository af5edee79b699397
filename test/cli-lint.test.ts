// `perso lint`, run from source, on test/fixtures/lint-findings.json (one planted problem of each kind).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runPerso } from './support/run-cli.ts';

const fixture = fileURLToPath(new URL('./fixtures/lint-findings.json', import.meta.url));
const relative = 'test/fixtures/lint-findings.json';

describe('perso lint', () => {
  test("finds each planted problem at its JSON path, after validate's warnings; exit 1", async () => {
    const run = await runPerso(['lint', relative]);
    assert.equal(run.code, 1, run.stderr);
    const at = `warning: ${relative}: `;
    assert.equal(
      run.stdout,
      [
        `${at}rules[2]: shadows rules[0] for (view_customer, agent); the later rule replaces the earlier one — merge or remove one`,
        `${at}rules[1].condition.All: can never be true: All[0] (Arguments.amount Gte 10) and All[1] (Arguments.amount Lte 5) exclude each other; fix one of them`,
        `${at}rules[1]: never allows: its condition can never be true; fix the condition or remove the rule`,
        `${at}rules[6].condition.Any[0].StringCheck: can never be true (Arguments.x In []); fix it or remove it`,
        `${at}rules[6]: never allows: its condition can never be true; fix the condition or remove the rule`,
        `${at}rules[6].tool_name: "refund" is not in tools; add it to tools or fix its spelling`,
        `${at}rules[0]: never applies: for every (tool, role) it names, a later Allow rule replaces it (rules[2]); merge them or remove this one`,
        `${at}rules[3]: never allows: no-export denies every call it grants; remove one or narrow the Deny rule`,
        `${at}rules[5]: never asks: no-export denies whenever it would ask; remove it or change the rule that covers it`,
        `${at}tools[0]: "process_refund" is never granted: no Allow rule grants it to any role; add a rule or remove it from tools`,
        `${at}tools[3]: "bulk_update" is never granted: no Allow rule grants it to any role; add a rule or remove it from tools`,
        `${at}roles[2]: "auditor" is declared but no rule names it; remove it or give it rules`,
        `${relative}: 12 findings; fix them or remove what is unused`,
        '',
      ].join('\n'),
    );
  });

  test('--json: {ok, source, findings}', async () => {
    const run = await runPerso(['lint', '--json', fixture]);
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      findings: { path: string; message: string }[];
    };
    assert.equal(report.ok, false);
    assert.equal(report.findings.length, 12);
    assert.deepEqual(report.findings.at(-1), {
      path: 'roles[2]',
      message: '"auditor" is declared but no rule names it; remove it or give it rules',
    });
  });

  test('a clean policy: no findings, exit 0; a bound that only narrows is not a finding', async () => {
    const clean = JSON.stringify({
      version: 'clean',
      default_action: 'Deny',
      tools: ['process_refund'],
      roles: ['agent'],
      rules: [
        {
          tool_name: 'process_refund',
          roles: ['agent'],
          condition: {
            All: [
              { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gte', value: 5 } },
              { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 10 } },
            ],
          },
        },
        {
          tool_name: 'process_refund',
          roles: ['agent'],
          effect: 'Ask',
          condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 8 } },
        },
        {
          tool_name: 'process_refund',
          roles: ['agent'],
          effect: 'Deny',
          condition: {
            StringCheck: { source: 'Arguments', field: 'currency', op: 'NotIn', value: ['EUR'] },
          },
        },
      ],
    });
    const run = await runPerso(['lint', clean]);
    assert.equal(run.code, 0, run.stdout);
    assert.equal(run.stdout, '(inline JSON): no findings\n');
  });

  test('an Ask rule over a pair nothing grants never asks; a Deny rule equal to an earlier one is covered', async () => {
    const policy = JSON.stringify({
      version: 'x',
      default_action: 'Deny',
      tools: ['a'],
      rules: [
        { tool_name: 'a', roles: ['r'], effect: 'Ask', condition: null },
        { tool_name: 'a', roles: ['s'], condition: null },
        {
          tool_name: 'a',
          roles: ['s'],
          effect: 'Deny',
          condition: { FieldPresent: { source: 'Arguments', field: 'x' } },
        },
        {
          tool_name: 'a',
          roles: ['s'],
          effect: 'Deny',
          condition: { FieldPresent: { source: 'Arguments', field: 'x' } },
        },
      ],
    });
    const run = await runPerso(['lint', policy]);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /^warning: \(inline JSON\): rules\[0\]: never asks: nothing grants \(a, r\) for it to ask about;/m,
    );
    assert.match(
      run.stdout,
      /^warning: \(inline JSON\): rules\[3\]: never decides: rules\[2\] denies whenever it would;/m,
    );
    assert.doesNotMatch(run.stdout, /rules\[2\]: never decides/);
  });

  test('a budget per a field the model writes (per: Arguments.*): the model can start a fresh budget with every call', async () => {
    const budget = (per: string) =>
      JSON.stringify({
        version: 'x',
        default_action: 'Deny',
        tools: ['refund'],
        roles: ['agent'],
        rules: [
          {
            tool_name: 'refund',
            roles: ['agent'],
            budget: { sum: 'Arguments.amount', max: 1000, per_seconds: 86400, per },
          },
        ],
      });
    const run = await runPerso(['lint', budget('Arguments.customer')]);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /^warning: \(inline JSON\): rules\[0\]\.budget\.per: "Arguments\.customer" is written by the model, which can start a fresh budget with every call by changing it;/m,
    );
    const host = await runPerso(['lint', budget('AgentAttributes.user_id')]);
    assert.equal(host.code, 0, host.stdout);
  });

  test('an invalid policy exits 1 with its errors on stderr', async () => {
    const run = await runPerso(['lint', '{"version": 1}']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: \(inline JSON\): version: expected a string/m);
    assert.match(
      run.stderr,
      /invalid policy; fix the errors above \(see "perso validate"\) and lint again\n$/,
    );
  });
});
