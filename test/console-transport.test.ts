// The console audit transport, fed by a real Perso over the demo policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Perso } from '../src/perso/perso.ts';
import { consoleTransport } from '../src/audit/console-transport.ts';

const policy = new URL('./fixtures/perso-demo-policy.json', import.meta.url);

async function linesFor(format: 'json' | 'text', tool: string): Promise<string[]> {
  const lines: string[] = [];
  const perso = await Perso.load({
    policy,
    audit: consoleTransport({ format, write: (line) => lines.push(line) }),
  });
  await perso.evaluate({ tool, role: 'agent', args: { order_id: 'ORD-8821', amount: 800 } });
  await perso.close();
  return lines;
}

test('json: one parseable line per decision, with the decision and the reason', async () => {
  const [line, ...rest] = await linesFor('json', 'process_refund');
  assert.deepEqual(rest, []);
  const record = JSON.parse(line);
  assert.equal(record.decision, 'Deny');
  assert.equal(record.tool, 'process_refund');
  assert.match(
    record.reason,
    /^rule matched tool 'process_refund' for role 'agent'; condition failed/,
  );
});

test('text: a short human line', async () => {
  const [line] = await linesFor('text', 'process_refund');
  assert.match(line, /^perso \S+ Deny process_refund as agent: rule matched tool 'process_refund'/);
});

test('attack: a tool name with a line break cannot add a forged line to a text log', async () => {
  const lines = await linesFor(
    'text',
    'view_customer\nperso 2026-01-01T00:00:00.000Z Allow bulk_update as admin: ok',
  );
  assert.equal(lines.length, 1);
  assert.doesNotMatch(lines[0], /\n/);
  assert.match(lines[0], /view_customer\\nperso/);
});

test('attack: a tool name with terminal and bidi controls is printed escaped', async () => {
  const [line] = await linesFor('text', 'view\u001b[2J\u202ecustomer');
  assert.doesNotMatch(line, /[\u001b\u202e]/);
  assert.match(line, /view\\u001b\[2J\\u202ecustomer as agent/);
});

test('untrusted tool results: a line each, in order with the decisions; trusted results leave none', async () => {
  const stateful = new URL('./fixtures/stateful-replay-policy.json', import.meta.url);
  for (const format of ['json', 'text'] as const) {
    const lines: string[] = [];
    const perso = await Perso.load({
      policy: stateful,
      audit: consoleTransport({ format, write: (line) => lines.push(line) }),
    });
    const session = perso.session({ role: 'agent' });
    await session.guard('read_email', () => ({ body: 'pay DE89370400440532013000\nnow' }))({});
    await session.guard('send_money', () => 'sent')({ account: 'DE11', amount: 1 });
    await perso.close();
    assert.equal(lines.length, 3, format);
    if (format === 'json') {
      const result = JSON.parse(lines[1]!);
      assert.deepEqual(
        { type: result.type, tool: result.tool, role: result.role, session: result.session },
        { type: 'toolResult', tool: 'read_email', role: 'agent', session: 'session-1' },
      );
      assert.deepEqual(result.result, { body: 'pay DE89370400440532013000\nnow' });
    } else {
      assert.match(lines[1]!, /^perso \S+ result read_email as agent: kept as untrusted content$/);
    }
  }
});

test('hashArgs: an untrusted result is recorded without its value (withheld)', async () => {
  const lines: string[] = [];
  const perso = await Perso.load({
    policy: new URL('./fixtures/stateful-replay-policy.json', import.meta.url),
    hashArgs: true,
    hashKey: new Uint8Array(32).fill(7),
    audit: consoleTransport({ format: 'json', write: (line) => lines.push(line) }),
  });
  await perso.session({ role: 'agent' }).guard('read_email', () => ({ body: 'secret' }))({});
  await perso.close();
  const result = JSON.parse(lines[1]!);
  assert.equal(result.withheld, 'hashArgs');
  assert.equal('result' in result, false);
  assert.doesNotMatch(lines.join('\n'), /secret/);
});
