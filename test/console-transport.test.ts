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
