// audit-record-reader.ts: its shortcuts (a record's time checked without Date.parse on a day
// already parsed) must read every line as the reference reader does (every check in full): the
// same outcome, error, call, id, reason. Real records from the library, then 30,000 random
// mutations of them (a fixed seed, so a failure repeats).
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditRecord } from '../src/audit/audit-record.ts';
import { AuditRecordReader, ReadOutcome } from '../src/cli/audit-record-reader.ts';
import { APPROVED_SUFFIX, WEBAUTHN_APPROVED_SUFFIX } from '../src/backend/approval-ledger.ts';
import { Perso } from '../src/perso/perso.ts';
import { demoPolicyPath } from './support/run-cli.ts';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const pick = <T>(next: () => number, items: readonly T[]): T =>
  items[Math.floor(next() * items.length)]!;

let lines: string[] = [];

before(async () => {
  const records: AuditRecord[] = [];
  const emit = { emit: (entry: AuditRecord) => void records.push(entry) };
  const guard = await Perso.load({ policy: demoPolicyPath, audit: emit });
  const hashed = await Perso.load({ policy: demoPolicyPath, audit: emit, hashArgs: true });
  const calls = [
    {
      tool: 'process_refund',
      args: { order_id: 'ORD-1', amount: 200 },
      role: 'agent',
      now: 1_764_000_000.5,
    },
    { tool: 'process_refund', args: { order_id: 'ORD-\u00e9"\\1', amount: 900 }, role: 'agent' },
    {
      tool: 'delete_customer',
      args: { id: 'C-1' },
      role: 'manager',
      agentAttributes: { user_id: 'u1' },
      resourceAttributes: { owner_id: 'u1' },
    },
    {
      tool: 'export_data',
      args: {},
      role: 'manager',
      agentAttributes: { env: 'production', tags: ['a', { b: null }] },
    },
    {
      tool: 'view_customer',
      args: { nested: { deep: [1, 2.5e3, -0.5, true, null, 'x'] } },
      role: 'admin',
    },
    { tool: 'process_refund', args: { amount: () => 1 }, role: 'agent' },
  ];
  for (const call of calls) {
    await guard.evaluate(call as never);
    await hashed.evaluate(call as never);
  }
  await guard.close();
  await hashed.close();
  lines = records.map((entry) => JSON.stringify(entry));
  // An approved Ask, an old record without now, unknown keys, spaces between tokens.
  const base = JSON.parse(lines[0]!) as Record<string, unknown>;
  lines.push(JSON.stringify({ ...base, decision: 'Allow', kind: 'ask_by_rule' }));
  const { now: _now, ...older } = base;
  lines.push(JSON.stringify(older));
  lines.push(JSON.stringify({ ...base, approval: { by: 'webauthn' }, extra: [1, { x: '}' }] }));
  lines.push(JSON.stringify(base, null, 1).replace(/\n/g, ''));
});

const FRAGMENTS = [
  '"',
  '\\',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  ' ',
  '\t',
  '1',
  'e',
  '-',
  '.',
  'u',
  'x',
  '\\u0041',
  '\\"',
  'null',
  '\u0001',
  '0',
  '9',
];
const VALUES = [
  'null',
  '[]',
  '{}',
  '"s"',
  '1e999',
  '-0',
  '"\\u0041"',
  '1.5',
  'true',
  '{"a":1,"a":2}',
  '{"__proto__":1}',
  '{"constructor":{}}',
  '[1,]',
  '"2026-02-30T10:00:00.000Z"',
  '"2026-12-03T24:00:00.000Z"',
  '"2026-13-03T10:00:00.000Z"',
  '"2026-12-32T10:00:00.000Z"',
  '"2025-11-24T16:00:00.000Z"',
  '"2025-11-24T16:00:59.999Z"',
  '"2025-11-24T16:60:00.000Z"',
  '"2026-12-03T23:59:60.000Z"',
  '"2026-12-03T23:59:59.999Z"',
  '"not a date"',
  '"2026-12-03"',
  '0.1e2',
  '01',
  '1.',
  '"\\ud800"',
  '"Allow"',
  '"Ask"',
  '"Deny"',
  '"ask_by_rule"',
  '"no_policy"',
  '"engine_fault"',
  '"invalid_request"',
  '{"amount":1e999}',
  '{"a":{"b":1,"b":2}}',
  '"\\x"',
  '"\\u12"',
];
const KEYS = [
  'id',
  'time',
  'tool',
  'role',
  'decision',
  'reason',
  'kind',
  'args',
  'argsSha256',
  'agentAttributes',
  'resourceAttributes',
  'now',
  'rule',
  'other',
  't\\u006fol',
];

function mutate(line: string, next: () => number): string {
  const roll = next();
  if (roll < 0.3) {
    // A character or a fragment inserted, deleted or replaced.
    const at = Math.floor(next() * line.length);
    const how = next();
    if (how < 0.33) return line.slice(0, at) + line.slice(at + 1);
    if (how < 0.66) return line.slice(0, at) + pick(next, FRAGMENTS) + line.slice(at);
    return line.slice(0, at) + pick(next, FRAGMENTS) + line.slice(at + 1);
  }
  if (roll < 0.75) {
    // A key's value replaced.
    const key = pick(next, KEYS);
    const value = pick(next, VALUES);
    const record = JSON.parse(line) as Record<string, unknown>;
    if (!(key in record) || next() < 0.3) return `${line.slice(0, -1)},"${key}":${value}}`;
    const text = JSON.stringify(record[key]);
    const at = line.indexOf(`"${key}":${text}`);
    return at === -1
      ? line
      : `${line.slice(0, at)}"${key}":${value}${line.slice(at + key.length + 3 + text.length)}`;
  }
  if (roll < 0.85) {
    const record = JSON.parse(line) as Record<string, unknown>;
    delete record[pick(next, KEYS)];
    return JSON.stringify(record);
  }
  // Whitespace between tokens.
  return line.replace(/([,:{])/g, (m) => (next() < 0.3 ? `${m} ` : m));
}

function outcome(reader: AuditRecordReader, line: string): unknown {
  const result = reader.read(line);
  if (result === ReadOutcome.Error) return { error: reader.error };
  if (result === ReadOutcome.Skip) return { skip: reader.skip };
  return {
    call: { ...reader.call },
    id: reader.id,
    from: reader.from,
    approval: reader.approval,
    reason: reader.reason,
  };
}

describe('reading audit records with shortcuts', () => {
  test("reads the library's records as the reference does", () => {
    const fast = new AuditRecordReader();
    const full = new AuditRecordReader({ fast: false });
    for (const line of lines) assert.deepEqual(outcome(fast, line), outcome(full, line), line);
  });

  test('reads 30,000 mutated lines as the reference does', () => {
    const next = random(20261203);
    const fast = new AuditRecordReader();
    const full = new AuditRecordReader({ fast: false });
    const seen = { error: 0, skip: 0, record: 0 };
    for (let round = 0; round < 30_000; round++) {
      let line = pick(next, lines);
      const times = 1 + Math.floor(next() * 3);
      for (let k = 0; k < times; k++) {
        try {
          line = mutate(line, next);
        } catch {
          break; // a mutation left text JSON.parse refuses: mutate no further
        }
      }
      const expected = outcome(full, line) as Record<string, unknown>;
      assert.deepEqual(outcome(fast, line), expected, line);
      seen['error' in expected ? 'error' : 'skip' in expected ? 'skip' : 'record']++;
    }
    // The mutations must reach every outcome, or the comparison proves little.
    assert.ok(seen.error > 3000 && seen.skip > 1000 && seen.record > 3000, JSON.stringify(seen));
  });
});

describe('the Ask a recorded approval released', () => {
  const policy = JSON.stringify({
    version: 'confirm-1',
    default_action: 'Deny',
    tools: ['export_data'],
    roles: ['manager'],
    rules: [
      { id: 'export', tool_name: 'export_data', roles: ['manager'] },
      { id: 'confirm', tool_name: 'export_data', roles: ['manager'], effect: 'Ask' },
    ],
  });
  const call = { tool: 'export_data', args: { table: 'orders' }, role: 'manager' };
  let asked: string;
  let approved: string;
  before(async () => {
    const records: AuditRecord[] = [];
    const guard = await Perso.load({
      policy,
      audit: { emit: (entry) => void records.push(entry) },
    });
    const ask = await guard.evaluate(call);
    assert.equal(ask.decision, 'Ask');
    assert.equal((await guard.approve(ask.approval!.nonce, call)).decision, 'Allow');
    await guard.close();
    [asked, approved] = records.map((entry) => JSON.stringify(entry));
  });
  const read = (line: string): unknown[] =>
    [new AuditRecordReader(), new AuditRecordReader({ fast: false })].map((reader) => {
      const outcome = reader.read(line);
      return outcome === ReadOutcome.Error ? reader.error : reader.approval;
    });

  test('an approved Ask carries its rule and a click; the Ask itself no approval', () => {
    assert.deepEqual(read(approved), [
      { rule: 'confirm', kind: 'click' },
      { rule: 'confirm', kind: 'click' },
    ]);
    assert.deepEqual(read(asked), [null, null]);
  });

  test('a reason that says a verified authenticator approved it is a WebAuthn approval', () => {
    const record = JSON.parse(approved) as AuditRecord;
    assert.ok(record.reason.endsWith(APPROVED_SUFFIX));
    const webauthn = JSON.stringify({
      ...record,
      reason: `${record.reason.slice(0, -APPROVED_SUFFIX.length)}${WEBAUTHN_APPROVED_SUFFIX}`,
    });
    assert.deepEqual(read(webauthn), [
      { rule: 'confirm', kind: 'webauthn' },
      { rule: 'confirm', kind: 'webauthn' },
    ]);
  });

  test('an Allow that rested on a remembered approval asked no one: no approval', () => {
    const record = JSON.parse(approved) as AuditRecord;
    const remembered = {
      ...record,
      rememberedApproval: { id: 'a1', rule: 'confirm', expiresAt: 9 },
    };
    assert.deepEqual(read(JSON.stringify(remembered)), [null, null]);
  });

  test("fault: an Allow or Ask with a fault's kind — not an audit record (it was skipped as not replayable, so a call that ran vouched for any policy; redteam R12)", () => {
    for (const kind of ['engine_fault', 'invalid_request', 'no_policy']) {
      for (const line of [approved, asked]) {
        const faulted = line.replace(/"kind":"[a-z_]+"/, `"kind":"${kind}"`);
        assert.notEqual(faulted, line);
        const decision = (JSON.parse(line) as AuditRecord).decision;
        const error = `kind: "${kind}" is a fault, which is always a Deny, not "${decision}"`;
        assert.deepEqual(read(faulted), [error, error]);
      }
    }
  });

  test('fault: a rule that is neither a string nor null — not an audit record', () => {
    const line = approved.replace('"rule":"confirm"', '"rule":3');
    assert.notEqual(line, approved);
    assert.deepEqual(read(line), [
      'rule: expected a string or null',
      'rule: expected a string or null',
    ]);
  });
});
