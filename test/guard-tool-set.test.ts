/**
 * perso/ai against the real AI SDK (`ai`): generateText runs the guarded ToolSet, with the SDK's
 * own mock language model (from `ai/test`) standing in for a provider that proposes tool calls.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateText, jsonSchema, stepCountIs, tool } from 'ai';
import type { ModelMessage } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { guardToolSet } from '../src/ai/guard-tool-set.ts';
import { Perso } from '../src/perso/perso.ts';
import type { Policy } from '../src/policy/policy.ts';

const policy: Policy = {
  version: 'ai-1',
  default_action: 'Deny',
  tools: ['process_refund', 'view_customer', 'delete_customer'],
  roles: ['agent'],
  rules: [
    { id: 'view', tool_name: 'view_customer', roles: ['agent'], effect: 'Allow' },
    { id: 'refund', tool_name: 'process_refund', roles: ['agent'], condition: null },
    {
      id: 'refund-ask',
      tool_name: 'process_refund',
      roles: ['agent'],
      effect: 'Ask',
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 500 } },
    },
  ],
} as unknown as Policy;

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

/** A model that proposes one tool call, then (on the next step) answers with text. */
function modelCalling(toolName: string, input: object): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    doGenerate: [
      {
        content: [
          { type: 'tool-call', toolCallId: 'call-1', toolName, input: JSON.stringify(input) },
        ],
        finishReason: { unified: 'tool-calls', raw: undefined },
        usage,
        warnings: [],
      },
      {
        content: [{ type: 'text', text: 'done' }],
        finishReason: { unified: 'stop', raw: undefined },
        usage,
        warnings: [],
      },
    ],
  });
}

/** The CRM the tools call, recording what ran. */
function crmTools(ran: unknown[]) {
  return {
    process_refund: tool({
      description: 'refund an order',
      inputSchema: jsonSchema<{ order_id: string; amount: number }>({
        type: 'object',
        properties: { order_id: { type: 'string' }, amount: { type: 'number' } },
        required: ['order_id', 'amount'],
      }),
      execute: async (input) => {
        ran.push(input);
        return { refunded: input.amount };
      },
    }),
  };
}

describe('guardToolSet (perso/ai) with the real AI SDK', () => {
  test('Allow: execute runs on the checked input and its output is the tool result', async () => {
    const perso = await Perso.load({ policy });
    const ran: unknown[] = [];
    const result = await generateText({
      model: modelCalling('process_refund', { order_id: 'ORD-1', amount: 200 }),
      tools: guardToolSet(crmTools(ran), perso.session({ role: 'agent' })),
      prompt: 'refund ORD-1',
    });
    assert.deepEqual(ran, [{ order_id: 'ORD-1', amount: 200 }]);
    assert.ok(Object.isFrozen(ran[0]), 'execute gets the frozen canonical copy that was checked');
    assert.deepEqual(
      result.steps[0]!.toolResults.map((r) => r.output),
      [{ refunded: 200 }],
    );
  });

  test('Deny (a tool no rule allows): execute does not run; the model reads the denial as the tool result', async () => {
    const perso = await Perso.load({ policy });
    let ran = false;
    const tools = {
      delete_customer: tool({
        inputSchema: jsonSchema<{ customer_id: string }>({
          type: 'object',
          properties: { customer_id: { type: 'string' } },
        }),
        execute: async () => {
          ran = true;
          return 'deleted';
        },
      }),
    };
    const model = modelCalling('delete_customer', { customer_id: 'C-1' });
    const result = await generateText({
      model,
      tools: guardToolSet(tools, perso.session({ role: 'agent' })),
      prompt: 'delete C-1',
      stopWhen: stepCountIs(2),
    });
    assert.equal(ran, false);
    const output = result.steps[0]!.toolResults[0]!.output as {
      isError: boolean;
      content: { text: string }[];
      structuredContent: { decision: string };
    };
    assert.equal(output.isError, true);
    assert.equal(output.structuredContent.decision, 'Deny');
    assert.match(output.content[0]!.text, /^denied: tool 'delete_customer' was not run/);
    // The second model call (the next step) was sent the denial text: the model reads it.
    assert.match(
      JSON.stringify(model.doGenerateCalls[1]!.prompt),
      /denied: tool 'delete_customer' was not run/,
    );
  });

  test('Ask: the SDK asks for approval instead of running; an approval response runs it once', async () => {
    const perso = await Perso.load({ policy });
    const ran: unknown[] = [];
    const tools = guardToolSet(crmTools(ran), perso.session({ role: 'agent' }));
    const first = await generateText({
      model: modelCalling('process_refund', { order_id: 'ORD-2', amount: 800 }),
      tools,
      prompt: 'refund ORD-2',
    });
    assert.deepEqual(ran, []);
    const request = first.content.find((part) => part.type === 'tool-approval-request');
    assert.ok(
      request !== undefined,
      `expected a tool-approval-request, got ${first.content.map((p) => p.type).join(', ')}`,
    );

    const messages: ModelMessage[] = [
      { role: 'user', content: 'refund ORD-2' },
      ...first.response.messages,
      {
        role: 'tool',
        content: [
          { type: 'tool-approval-response', approvalId: request.approvalId, approved: true },
        ],
      },
    ];
    const answer = new MockLanguageModelV4({
      doGenerate: {
        content: [{ type: 'text', text: 'refunded' }],
        finishReason: { unified: 'stop', raw: undefined },
        usage,
        warnings: [],
      },
    });
    await generateText({ model: answer, tools, messages });
    assert.deepEqual(ran, [{ order_id: 'ORD-2', amount: 800 }]);
  });

  test('Ask rejected by the user: execute does not run', async () => {
    const perso = await Perso.load({ policy });
    const ran: unknown[] = [];
    const tools = guardToolSet(crmTools(ran), perso.session({ role: 'agent' }));
    const first = await generateText({
      model: modelCalling('process_refund', { order_id: 'ORD-3', amount: 900 }),
      tools,
      prompt: 'refund',
    });
    const request = first.content.find((part) => part.type === 'tool-approval-request');
    assert.ok(request !== undefined);
    const answer = new MockLanguageModelV4({
      doGenerate: {
        content: [{ type: 'text', text: 'ok' }],
        finishReason: { unified: 'stop', raw: undefined },
        usage,
        warnings: [],
      },
    });
    await generateText({
      model: answer,
      tools,
      messages: [
        ...first.response.messages,
        {
          role: 'tool',
          content: [
            { type: 'tool-approval-response', approvalId: request.approvalId, approved: false },
          ],
        },
      ],
    });
    assert.deepEqual(ran, []);
  });

  // The fault: a generateText-level `toolApproval` overrides the tools' needsApproval, so the SDK
  // never asks; an Ask must then be refused, not run as if approved.
  test('Ask when the SDK approval flow is bypassed (toolApproval not-applicable): refused with the reason', async () => {
    const perso = await Perso.load({ policy });
    const ran: unknown[] = [];
    const result = await generateText({
      model: modelCalling('process_refund', { order_id: 'ORD-4', amount: 800 }),
      tools: guardToolSet(crmTools(ran), perso.session({ role: 'agent' })),
      toolApproval: { process_refund: 'not-applicable' },
      prompt: 'refund',
    });
    assert.deepEqual(ran, []);
    const output = result.steps[0]!.toolResults[0]!.output as {
      structuredContent: { decision: string };
    };
    assert.equal(output.structuredContent.decision, 'Ask');
  });

  test('a failed policy load: every call is a Deny the model reads', async () => {
    const perso = await Perso.load({ policy: '{"broken"', onError: () => {} });
    const ran: unknown[] = [];
    const result = await generateText({
      model: modelCalling('process_refund', { order_id: 'ORD-5', amount: 1 }),
      tools: guardToolSet(crmTools(ran), perso.session({ role: 'agent' })),
      prompt: 'refund',
    });
    assert.deepEqual(ran, []);
    const output = result.steps[0]!.toolResults[0]!.output as {
      structuredContent: { decision: string; reason: string };
    };
    assert.equal(output.structuredContent.decision, 'Deny');
    assert.match(output.structuredContent.reason, /^no valid policy loaded/);
  });

  test('asking whether a call needs approval spends nothing: a rate limit of 1 lets the one call run', async () => {
    const limited = {
      ...policy,
      rules: [{ ...policy.rules[1]!, rate_limit: { max: 1, per_seconds: 60 } }],
    } as Policy;
    const perso = await Perso.load({ policy: limited, clock: () => 100 });
    const ran: unknown[] = [];
    await generateText({
      model: modelCalling('process_refund', { order_id: 'ORD-6', amount: 200 }),
      tools: guardToolSet(crmTools(ran), perso.session({ role: 'agent' })),
      prompt: 'refund ORD-6',
    });
    assert.deepEqual(ran, [{ order_id: 'ORD-6', amount: 200 }]);
  });

  test('a toolCallId whose Ask the user rejected does not approve a later Ask under the same id', async () => {
    const tainted = {
      ...policy,
      tools: [...policy.tools, 'read_email'],
      untrusted_tools: ['read_email'],
      rules: [
        ...policy.rules,
        {
          id: 'after-email',
          tool_name: 'process_refund',
          roles: ['agent'],
          effect: 'Ask',
          condition: { SessionUntrusted: true },
        },
      ],
    } as Policy;
    const perso = await Perso.load({ policy: tainted });
    const session = perso.session({ role: 'agent' });
    const ran: unknown[] = [];
    const tools = guardToolSet(crmTools(ran), session);
    const refund = tools.process_refund as unknown as {
      needsApproval: (
        input: unknown,
        options: { toolCallId: string; messages: [] },
      ) => Promise<boolean>;
      execute: (input: unknown, options: { toolCallId: string; messages: [] }) => Promise<unknown>;
    };
    const options = { toolCallId: 'call-1', messages: [] as [] };
    // The SDK asks about a $800 refund; the user rejects it, so execute is never called for it.
    assert.equal(await refund.needsApproval({ order_id: 'ORD-7', amount: 800 }, options), true);
    // A later step reuses the id (some providers number their calls): a $200 refund needs no approval...
    assert.equal(await refund.needsApproval({ order_id: 'ORD-7', amount: 200 }, options), false);
    // ...until a tool run beside it in the same step read an email.
    assert.equal((await session.recordResult('read_email', 'refund now')).ok, true);
    const output = (await refund.execute({ order_id: 'ORD-7', amount: 200 }, options)) as {
      structuredContent: { decision: string };
    };
    assert.deepEqual(ran, []);
    assert.equal(output.structuredContent.decision, 'Ask');
  });

  test('shadow mode: an Ask is not sent for approval and the tool runs', async () => {
    const perso = await Perso.load({ policy, mode: 'shadow' });
    const ran: unknown[] = [];
    const result = await generateText({
      model: modelCalling('process_refund', { order_id: 'ORD-8', amount: 800 }),
      tools: guardToolSet(crmTools(ran), perso.session({ role: 'agent' })),
      prompt: 'refund ORD-8',
    });
    assert.equal(
      result.content.some((part) => part.type === 'tool-approval-request'),
      false,
    );
    assert.deepEqual(ran, [{ order_id: 'ORD-8', amount: 800 }]);
  });

  test('a tool without execute is passed through unchanged', async () => {
    const perso = await Perso.load({ policy });
    const clientSide = tool({ inputSchema: jsonSchema<{ q: string }>({ type: 'object' }) });
    const guarded = guardToolSet({ view_customer: clientSide }, perso.session({ role: 'agent' }));
    assert.equal(guarded.view_customer, clientSide);
  });
});
