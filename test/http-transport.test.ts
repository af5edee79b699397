// The HTTP transport's OTLP form of a tool result record (the transport itself runs against real
// endpoints in test/browser/audit-transports.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toOtlp } from '../src/audit/http-transport.ts';
import { buildToolResultRecord } from '../src/audit/audit-record.ts';

test('a tool result is a perso.tool_result event with its value as JSON text', () => {
  const record = buildToolResultRecord(
    { tool: 'read_email', role: 'agent', session: 'session-1', json: '{"body":"pay DE89"}' },
    false,
  );
  const otlp = toOtlp([record]) as {
    resourceLogs: { scopeLogs: { logRecords: { eventName: string; attributes: object[] }[] }[] }[];
  };
  const [event] = otlp.resourceLogs[0]!.scopeLogs[0]!.logRecords;
  assert.equal(event!.eventName, 'perso.tool_result');
  assert.deepEqual(event!.attributes, [
    { key: 'log.record.uid', value: { stringValue: record.id } },
    { key: 'perso.tool', value: { stringValue: 'read_email' } },
    { key: 'perso.role', value: { stringValue: 'agent' } },
    { key: 'perso.session', value: { stringValue: 'session-1' } },
    { key: 'perso.result', value: { stringValue: '{"body":"pay DE89"}' } },
  ]);
});

test('a result over the bound, or with hashArgs, is recorded without its value', () => {
  const large = buildToolResultRecord({ tool: 't', json: `"${'x'.repeat(1 << 20)}"` }, false);
  assert.equal(large.withheld, 'too large');
  assert.equal('result' in large, false);
  const hashed = buildToolResultRecord({ tool: 't', json: undefined }, true);
  assert.equal(hashed.withheld, 'hashArgs');
});
