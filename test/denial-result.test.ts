import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  allowedInstead,
  DENIAL_META_KEY,
  denialForOutputSchema,
  denialResult,
  isDenialResult,
} from '../src/call/denial-result.ts';
import type { DeniedDecision } from '../src/call/denial-result.ts';

const overLimit: DeniedDecision = {
  decision: 'Deny',
  kind: 'condition_failed',
  reason:
    "rule matched tool 'process_refund' for role 'agent'; condition failed: Arguments.amount = 800 is not Lte 500",
  rule: 'rules[3]',
  failure: { path: 'Arguments.amount', op: 'Lte', expected: 500, actual: 800 },
};

describe('denialResult', () => {
  it('has the MCP tool result shape with the decision, reason and rule', () => {
    const result = denialResult(overLimit, {
      tool: 'process_refund',
      args: { amount: 800 },
      role: 'agent',
    });
    assert.equal(result.isError, true);
    assert.equal(result.content.length, 1);
    assert.equal(result.content[0].type, 'text');
    assert.deepEqual(result.structuredContent, {
      decision: 'Deny',
      reason: overLimit.reason,
      rule: 'rules[3]',
    });
  });

  it('says which tool, why with the failing value, that it will be denied again, and what is allowed', () => {
    const { text } = denialResult(overLimit, { tool: 'process_refund', role: 'agent' }).content[0];
    assert.match(text, /tool 'process_refund' was not run/);
    assert.match(text, /Arguments\.amount = 800 is not Lte 500/);
    assert.match(text, /will be denied again/);
    assert.match(
      text,
      /allowed instead: role 'agent' may call 'process_refund' with amount at most 500/,
    );
  });

  it('uses a rule null when no rule matched and says no rule allows the tool', () => {
    const result = denialResult(
      {
        decision: 'Deny',
        kind: 'no_rule',
        reason: "no rule matched tool 'drop_db' for role 'agent'; applying default_action",
      },
      { tool: 'drop_db', role: 'agent' },
    );
    assert.equal(result.structuredContent.rule, null);
    assert.match(result.content[0].text, /no rule allows this tool for your role/);
    assert.doesNotMatch(result.content[0].text, /allowed instead/);
  });

  it('gives the wait for a rate limit instead of "denied again" forever', () => {
    const { text } = denialResult(
      {
        decision: 'Deny',
        kind: 'rate_limited',
        reason:
          "rule matched tool 't' for role 'r'; rate limit of 2 per 60 s reached; retry in 42 s",
        retryAfter: 42,
      },
      { tool: 't' },
    ).content[0];
    assert.match(text, /until 42 s have passed/);
  });

  it('words an Ask as an approval that was not given', () => {
    const result = denialResult(
      {
        decision: 'Ask',
        kind: 'ask_by_rule',
        reason:
          "rule matched tool 'delete_customer' for role 'agent'; approval required by rule 'confirm-delete'",
        rule: 'confirm-delete',
      },
      { tool: 'delete_customer' },
    );
    assert.equal(result.structuredContent.decision, 'Ask');
    assert.match(result.content[0].text, /^approval required: tool 'delete_customer' was not run/);
    assert.match(result.content[0].text, /a person must approve this exact call/);
  });

  it('does not suggest a change to host-owned facts', () => {
    const { text } = denialResult(
      {
        decision: 'Deny',
        kind: 'condition_failed',
        reason:
          'rule matched tool \'export_data\' for role \'manager\'; condition failed: AgentAttributes.env = "staging" is not In ["production"]',
        failure: {
          path: 'AgentAttributes.env',
          op: 'In',
          expected: ['production'],
          actual: 'staging',
        },
      },
      { tool: 'export_data', role: 'manager' },
    ).content[0];
    assert.match(
      text,
      /depends on AgentAttributes\.env, which the host sets and you cannot change/,
    );
    assert.doesNotMatch(text, /allowed instead/);
  });

  it('names faults without blaming the arguments', () => {
    const noPolicy = denialResult(
      { decision: 'Deny', kind: 'no_policy', reason: 'no valid policy loaded' },
      { tool: 'x' },
    );
    assert.match(noPolicy.content[0].text, /until the page loads a valid policy/);
    const fault = denialResult(
      { decision: 'Deny', kind: 'engine_fault', reason: 'worker timed out after 500 ms' },
      { tool: 'x' },
    );
    assert.match(fault.content[0].text, /worker timed out after 500 ms/);
    assert.match(fault.content[0].text, /guard failed/);
  });

  it('truncates a hostile tool name', () => {
    const { text } = denialResult(
      { decision: 'Deny', kind: 'no_rule', reason: 'no rule matched' },
      { tool: 'x'.repeat(5000) },
    ).content[0];
    assert.ok(text.length < 600, `text is ${text.length} characters`);
    assert.match(text, /x…'/);
  });
});

describe('allowedInstead', () => {
  it('phrases each comparison op', () => {
    const call = { tool: 't', role: 'agent' };
    const bound = (op: string, expected: unknown) =>
      allowedInstead({ path: 'Arguments.v', op, expected: expected as never }, call);
    assert.equal(bound('Gte', 10), "role 'agent' may call 't' with v at least 10");
    assert.equal(bound('Lt', 3), "role 'agent' may call 't' with v below 3");
    assert.equal(bound('Gt', 3), "role 'agent' may call 't' with v above 3");
    assert.equal(
      bound('In', ['eu', 'us']),
      'role \'agent\' may call \'t\' with v one of "eu", "us"',
    );
    assert.equal(
      bound('Prefix', ['acme-']),
      "role 'agent' may call 't' with v starting with one of \"acme-\"",
    );
    assert.equal(bound('Equals', true), "role 'agent' may call 't' with v equal to true");
    assert.equal(bound('Whatever', 1), null);
  });

  it('speaks of the tool alone when the role is unknown', () => {
    assert.equal(
      allowedInstead(
        { path: 'Arguments.amount', op: 'Lte', expected: 500 },
        { tool: 'process_refund' },
      ),
      "calls to 'process_refund' with amount at most 500",
    );
  });
});

it('denialForOutputSchema: the same text, the decision under _meta["perso/decision"], no structuredContent', () => {
  const denial = denialResult(
    { decision: 'Deny', reason: 'no', kind: 'no_rule' },
    { tool: 'refund' },
  );
  const moved = denialForOutputSchema(denial);
  assert.equal(moved.isError, true);
  assert.deepEqual(moved.content, denial.content);
  assert.equal('structuredContent' in moved, false);
  assert.deepEqual(moved._meta[DENIAL_META_KEY], { decision: 'Deny', reason: 'no', rule: null });
  assert.equal(DENIAL_META_KEY, 'perso/decision');
});

describe('isDenialResult', () => {
  const denial = denialResult(overLimit, {
    tool: 'process_refund',
    args: { amount: 800 },
    role: 'agent',
  });

  it("a denial perso made is one; a tool's own results are not", () => {
    assert.equal(isDenialResult(denial), true);
    assert.equal(
      isDenialResult({
        ...denial,
        structuredContent: { ...denial.structuredContent, decision: 'Ask' },
      }),
      true,
    );
    assert.equal(isDenialResult({ content: [{ type: 'text', text: 'refunded' }] }), false);
    assert.equal(
      isDenialResult({ isError: true, content: [{ type: 'text', text: 'the CRM is down' }] }),
      false,
    );
    assert.equal(
      isDenialResult({ isError: true, structuredContent: { decision: 'Allow', reason: 'x' } }),
      false,
    );
    assert.equal(
      isDenialResult({ isError: 'true', structuredContent: denial.structuredContent }),
      false,
    );
    for (const value of [null, undefined, 'denied', 42]) assert.equal(isDenialResult(value), false);
  });
});
