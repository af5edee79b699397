import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { Perso } from '../src/perso/perso.ts';
import { guardMcpServer } from '../src/mcp/guard-mcp-server.ts';
import type { Policy } from '../src/policy/policy.ts';

const demoPolicy = JSON.parse(
  await readFile(new URL('./fixtures/perso-demo-policy.json', import.meta.url), 'utf8'),
);

/** The demo policy plus an Ask rule: agents update customers only with a person's approval. */
const askPolicy = {
  ...demoPolicy,
  rules: [
    ...demoPolicy.rules,
    { id: 'confirm-update', tool_name: 'update_customer', roles: ['agent'], effect: 'Ask' },
  ],
};

type TextResult = {
  content: { type: string; text: string }[];
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
};

async function connect(server: McpServer): Promise<Client> {
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  return client;
}

describe('guardMcpServer (official SDK client over InMemoryTransport)', () => {
  let perso: Perso;
  const refunds: unknown[] = [];
  let client: Client;

  before(async () => {
    perso = await Perso.load({ policy: demoPolicy });
    assert.equal(perso.status().ok, true, JSON.stringify(perso.status().errors));
    const server = guardMcpServer(
      new McpServer({ name: 'crm', version: '1.0.0' }),
      perso.session({ role: 'agent' }),
    );
    server.registerTool(
      'process_refund',
      {
        description: 'refund a customer',
        inputSchema: { customer_id: z.string(), amount: z.number() },
      },
      async (args) => {
        refunds.push(args);
        return { content: [{ type: 'text', text: `refunded ${args.amount}` }] };
      },
    );
    server.tool(
      'view_customer',
      'look a customer up',
      { customer_id: z.string() },
      async ({ customer_id }) => ({
        content: [{ type: 'text', text: `customer ${customer_id}` }],
      }),
    );
    server.registerTool('export_data', { description: 'export everything' }, async () => ({
      content: [{ type: 'text', text: 'exported' }],
    }));
    client = await connect(server);
  });

  after(async () => {
    await client.close();
    await perso.close();
  });

  it('runs the handler on Allow, on the checked args', async () => {
    const result = (await client.callTool({
      name: 'process_refund',
      arguments: { customer_id: 'c1', amount: 200 },
    })) as TextResult;
    assert.equal(result.isError, undefined);
    assert.equal(result.content[0].text, 'refunded 200');
    assert.deepEqual(refunds.at(-1), { customer_id: 'c1', amount: 200 });
    assert.ok(Object.isFrozen(refunds.at(-1)), 'the handler gets the frozen canonical copy');
  });

  it('refuses an over-limit refund with a denial result, and the handler does not run', async () => {
    const before = refunds.length;
    const result = (await client.callTool({
      name: 'process_refund',
      arguments: { customer_id: 'c1', amount: 800 },
    })) as TextResult;
    assert.equal(refunds.length, before, 'the handler ran on Deny');
    assert.equal(result.isError, true);
    assert.equal(result.structuredContent?.decision, 'Deny');
    assert.match(
      String(result.structuredContent?.reason),
      /^rule matched tool 'process_refund' for role 'agent'; condition failed/,
    );
    assert.match(result.content[0].text, /tool 'process_refund' was not run/);
    assert.match(result.content[0].text, /will be denied again/);
    assert.match(result.content[0].text, /may call 'process_refund' with amount at most 500/);
  });

  it('guards tools registered with the deprecated tool() overloads', async () => {
    const allowed = (await client.callTool({
      name: 'view_customer',
      arguments: { customer_id: 'c9' },
    })) as TextResult;
    assert.equal(allowed.content[0].text, 'customer c9');
  });

  it('guards tools without an input schema (no rule for the role: default Deny)', async () => {
    const result = (await client.callTool({ name: 'export_data', arguments: {} })) as TextResult;
    assert.equal(result.isError, true);
    assert.equal(result.structuredContent?.rule, null);
    assert.match(result.content[0].text, /no rule allows this tool for your role/);
  });

  it('fault: task tool registration — refused instead of bypassing the guard', () => {
    const server = guardMcpServer(
      new McpServer({ name: 'x', version: '1.0.0' }),
      perso.session({ role: 'agent' }),
    );
    assert.throws(
      () =>
        server.experimental.tasks.registerToolTask('slow', {}, {
          createTask: async () => ({}),
        } as never),
      /cannot guard task tools/,
    );
  });

  it('fault: no policy — every call is refused and the handler never runs', async () => {
    const broken = await Perso.load({ policy: '{"version": 1' });
    let ran = false;
    const server = guardMcpServer(
      new McpServer({ name: 'x', version: '1.0.0' }),
      broken.session({ role: 'agent' }),
    );
    server.registerTool('view_customer', { inputSchema: { customer_id: z.string() } }, async () => {
      ran = true;
      return { content: [{ type: 'text', text: 'ran' }] };
    });
    const brokenClient = await connect(server);
    const result = (await brokenClient.callTool({
      name: 'view_customer',
      arguments: { customer_id: 'c1' },
    })) as TextResult;
    assert.equal(ran, false);
    assert.equal(result.isError, true);
    assert.match(result.content[0].text, /valid policy/);
    await brokenClient.close();
    await broken.close();
  });

  it('Ask: refused without an approver, run once a person approves the exact call', async () => {
    const askPerso = await Perso.load({ policy: askPolicy });
    const updated: unknown[] = [];
    const handler = async (args: { customer_id: string; email: string }) => {
      updated.push(args);
      return { content: [{ type: 'text' as const, text: 'updated' }] };
    };
    const session = askPerso.session({ role: 'agent' });
    const plain = guardMcpServer(new McpServer({ name: 'a', version: '1.0.0' }), session);
    plain.registerTool(
      'update_customer',
      { inputSchema: { customer_id: z.string(), email: z.string() } },
      handler,
    );
    const questions: { decision: string; call: unknown }[] = [];
    const approving = guardMcpServer(new McpServer({ name: 'b', version: '1.0.0' }), session, {
      approve: async (decision, call) => {
        questions.push({ decision: decision.decision, call });
        return true;
      },
    });
    approving.registerTool(
      'update_customer',
      { inputSchema: { customer_id: z.string(), email: z.string() } },
      handler,
    );
    const plainClient = await connect(plain);
    const approvingClient = await connect(approving);
    const args = { customer_id: 'c1', email: 'a@example.com' };

    const refused = (await plainClient.callTool({
      name: 'update_customer',
      arguments: args,
    })) as TextResult;
    assert.equal(refused.isError, true);
    assert.equal(refused.structuredContent?.decision, 'Ask');
    assert.match(refused.content[0].text, /^approval required: tool 'update_customer' was not run/);
    assert.equal(updated.length, 0);

    const approved = (await approvingClient.callTool({
      name: 'update_customer',
      arguments: args,
    })) as TextResult;
    assert.equal(approved.content[0].text, 'updated');
    assert.deepEqual(questions, [{ decision: 'Ask', call: { tool: 'update_customer', args } }]);
    assert.equal(updated.length, 1);
    await plainClient.close();
    await approvingClient.close();
    await askPerso.close();
  });

  it('annotation defaults: off unless the policy opts in; then readOnlyHint allows and destructiveHint asks, only where no rule applies', async () => {
    const rulesFor: Policy = {
      version: 'annotations',
      default_action: 'Deny',
      tools: ['lookup', 'wipe', 'process_refund'],
      roles: ['agent'],
      rules: [
        {
          tool_name: 'process_refund',
          roles: ['agent'],
          condition: {
            NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 500 },
          },
        },
      ],
    };
    const ran: string[] = [];
    const serve = async (policy: Policy, approve?: () => Promise<boolean>) => {
      const instance = await Perso.load({ policy });
      const server = guardMcpServer(
        new McpServer({ name: 'x', version: '1.0.0' }),
        instance.session({ role: 'agent' }),
        approve === undefined ? {} : { approve },
      );
      server.registerTool(
        'lookup',
        { inputSchema: { q: z.string() }, annotations: { readOnlyHint: true } },
        async () => {
          ran.push('lookup');
          return { content: [{ type: 'text' as const, text: 'found' }] };
        },
      );
      server.registerTool(
        'process_refund',
        { inputSchema: { amount: z.number() }, annotations: { readOnlyHint: true } },
        async () => {
          ran.push('refund');
          return { content: [{ type: 'text' as const, text: 'refunded' }] };
        },
      );
      server.registerTool(
        'wipe',
        { inputSchema: { q: z.string() }, annotations: { destructiveHint: true } },
        async () => {
          ran.push('wipe');
          return { content: [{ type: 'text' as const, text: 'wiped' }] };
        },
      );
      return { instance, client: await connect(server) };
    };

    const off = await serve(rulesFor);
    const offLookup = (await off.client.callTool({
      name: 'lookup',
      arguments: { q: 'a' },
    })) as TextResult;
    assert.equal(offLookup.isError, true, 'annotations decided without the policy opting in');

    const on = await serve({ ...rulesFor, annotation_defaults: true });
    assert.equal(on.instance.status().annotationDefaults, true);
    const lookup = (await on.client.callTool({
      name: 'lookup',
      arguments: { q: 'a' },
    })) as TextResult;
    assert.equal(lookup.content[0].text, 'found');
    const overLimit = (await on.client.callTool({
      name: 'process_refund',
      arguments: { amount: 900 },
    })) as TextResult;
    assert.equal(overLimit.isError, true, 'readOnlyHint loosened an explicit rule');
    assert.equal(ran.includes('refund'), false);

    const allowAll = await serve({
      ...rulesFor,
      default_action: 'Allow',
      annotation_defaults: true,
    });
    const wipe = (await allowAll.client.callTool({
      name: 'wipe',
      arguments: { q: 'a' },
    })) as TextResult;
    assert.equal(wipe.structuredContent?.decision, 'Ask');
    assert.equal(ran.includes('wipe'), false);
    const approving = await serve(
      { ...rulesFor, default_action: 'Allow', annotation_defaults: true },
      async () => true,
    );
    const approved = (await approving.client.callTool({
      name: 'wipe',
      arguments: { q: 'a' },
    })) as TextResult;
    assert.equal(approved.content[0].text, 'wiped');

    for (const { instance, client } of [off, on, allowAll, approving]) {
      await client.close();
      await instance.close();
    }
  });

  it('a denied tool with an outputSchema reaches the real SDK client as a readable denial, the decision in _meta', async () => {
    const instance = await Perso.load({ policy: demoPolicy });
    const server = guardMcpServer(
      new McpServer({ name: 'crm', version: '1.0.0' }),
      instance.session({ role: 'agent' }),
    );
    let ran = 0;
    server.registerTool(
      'process_refund',
      {
        description: 'refund a customer',
        inputSchema: { customer_id: z.string(), amount: z.number() },
        outputSchema: { refunded: z.number(), receipt: z.string() },
      },
      async (args) => {
        ran++;
        return {
          content: [{ type: 'text', text: 'ok' }],
          structuredContent: { refunded: args.amount, receipt: 'r-1' },
        };
      },
    );
    const client = await connect(server);
    try {
      const allowed = (await client.callTool({
        name: 'process_refund',
        arguments: { customer_id: 'c1', amount: 200 },
      })) as TextResult;
      assert.deepEqual(allowed.structuredContent, { refunded: 200, receipt: 'r-1' });
      // Without the _meta form the SDK client throws here: it validates structuredContent against
      // the outputSchema even when isError is true.
      const denied = (await client.callTool({
        name: 'process_refund',
        arguments: { customer_id: 'c1', amount: 800 },
      })) as TextResult & { _meta?: Record<string, unknown> };
      assert.equal(ran, 1);
      assert.equal(denied.isError, true);
      assert.equal(denied.structuredContent, undefined);
      assert.match(denied.content[0].text, /tool 'process_refund' was not run/);
      const meta = denied._meta?.['perso/decision'] as {
        decision: string;
        reason: string;
        rule: string | null;
      };
      assert.equal(meta.decision, 'Deny');
      assert.match(meta.reason, /condition failed/);
    } finally {
      await client.close();
      await instance.close();
    }
  });
});
