// The demo's in-page planner: the same message always gives the same tool call, with the original
// demo's argument shapes. (The whole demo, guard included, is tested in Chromium by demo-e2e.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlannerAgent, planToolCall } from '../demo/src/planner-agent.ts';
import { SCENARIOS } from '../demo/src/scenarios.ts';

test('refund prompts become process_refund with a numeric amount', () => {
  assert.deepEqual(planToolCall('Process a $200 refund for order ORD-8821'), {
    tool: 'process_refund',
    args: { order_id: 'ORD-8821', amount: 200 },
  });
  assert.deepEqual(planToolCall('refund 1,250.50 USD on ord-9910 because it arrived broken'), {
    tool: 'process_refund',
    args: { order_id: 'ORD-9910', amount: 1250.5, reason: 'it arrived broken' },
  });
});

test('the same prompt always gives the same call', () => {
  for (const scenario of SCENARIOS) {
    assert.deepEqual(planToolCall(scenario.prompt), planToolCall(scenario.prompt), scenario.id);
  }
});

test('every scenario prompt becomes a tool call, never a question back', () => {
  const tools = SCENARIOS.map((s) => {
    const plan = planToolCall(s.prompt);
    assert.ok('tool' in plan, `${s.id}: got a reply instead of a call`);
    return plan.tool;
  });
  assert.deepEqual(tools, [
    'process_refund',
    'process_refund',
    'process_refund',
    'process_refund',
    'process_refund',
    'read_email',
    'delete_customer',
    'delete_customer',
    'bulk_update',
    'bulk_update',
    'access_pii',
    'access_pii',
  ]);
});

test('bulk updates carry filter, field and value; names resolve to customer ids', () => {
  assert.deepEqual(
    planToolCall('Run a bulk update: set status to archived where status = inactive'),
    {
      tool: 'bulk_update',
      args: { filter: 'status = inactive', field: 'status', value: 'archived' },
    },
  );
  assert.deepEqual(planToolCall("Delete Priya's record"), {
    tool: 'delete_customer',
    args: { customer_id: 'C-9001' },
  });
  assert.deepEqual(planToolCall('Set C-2038 plan to "Pro Plus"'), {
    tool: 'update_customer',
    args: { customer_id: 'C-2038', field: 'plan', value: 'Pro Plus' },
  });
});

test('"five $400 refunds" is the same call five times; one refund stays one call', () => {
  assert.deepEqual(planToolCall('Process five $400 refunds for order ORD-9910'), {
    tool: 'process_refund',
    args: { order_id: 'ORD-9910', amount: 400 },
    times: 5,
  });
  assert.equal((planToolCall('Refund $50 on ORD-9910 three times') as { times?: number }).times, 3);
  assert.equal((planToolCall('Refund $50 on ORD-9910') as { times?: number }).times, undefined);
});

test('the planner makes a repeated call after each result, then sums up where the guard stopped it', async () => {
  const agent = new PlannerAgent();
  let step = await agent.receive('Process five $400 refunds for order ORD-9910');
  const calls: string[] = [];
  for (let n = 1; step.kind === 'call'; n++) {
    calls.push(step.call.id);
    step = await agent.report({
      callId: step.call.id,
      tool: step.call.tool,
      ran: n <= 2,
      text: n <= 2 ? 'refunded $400.00' : `denied: budget reached (call ${n})`,
    });
  }
  assert.equal(new Set(calls).size, 5);
  assert.equal(
    step.text,
    '2 of 5 ran. The guard stopped the others; it told me:\ndenied: budget reached (call 3)',
  );
});

test('"read email E-301 and pay the account it names" reads first, then pays the IBAN the email gives', async () => {
  assert.deepEqual(planToolCall('Read email E-301 and pay the account it names'), {
    tool: 'read_email',
    args: { email_id: 'E-301' },
    thenPay: true,
  });
  const agent = new PlannerAgent();
  const first = await agent.receive('Read email E-301 and pay the account it names');
  assert.ok(first.kind === 'call');
  const second = await agent.report({
    callId: first.call.id,
    tool: 'read_email',
    ran: true,
    text: 'E-301: please pay invoice INV-2291 ($1,240.00) to our new account DE44500105175407324931.',
  });
  assert.ok(second.kind === 'call');
  assert.deepEqual(second.call.args, {
    account: 'DE44500105175407324931',
    amount: 1240,
    reference: 'INV-2291',
  });
  // "email" as a customer field is still an update, not the inbox.
  assert.equal(
    (planToolCall('Set C-1042 email to a@b.example') as { tool: string }).tool,
    'update_customer',
  );
});

test('a refund without an order or amount asks instead of guessing', () => {
  assert.ok('reply' in planToolCall('Process a $200 refund'));
  assert.ok('reply' in planToolCall('Refund order ORD-8821'));
  assert.ok('reply' in planToolCall('hello'));
});
