// The quick scan of audit lines (audit-line-scan.ts) against the full reader: on perso's own
// records, on records in other shapes, and on tens of thousands of lines mutated a byte at a
// time, the reader answers the same with the scan as with JSON.parse of the whole line.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AuditLineScan } from '../src/cli/audit-line-scan.ts';
import { AuditRecordReader, ReadOutcome } from '../src/cli/audit-record-reader.ts';

const head = {
  id: 'rec-1',
  time: '2025-11-24T16:00:00.010Z',
  tool: 'process_refund',
  role: 'agent',
  decision: 'Deny',
  reason:
    'rule matched tool \'delete_customer\' for role \'manager\'; condition failed: AgentAttributes.user_id = "mgr-001" does not equal ResourceAttributes.owner_id = "mgr-002"',
  kind: 'condition_failed',
  rule: 'rules[3]',
  policyVersion: 'perso-1.0.0',
  policyHash: 'fc52c69b3fbc5e00932e4475cadd34b0ed7d2fb4ce2a181413d0e217639d5dd3',
  enforced: true,
};
const records: object[] = [
  {
    ...head,
    args: { order_id: 'ORD-8821', amount: 800 },
    agentAttributes: { user_id: 'agt-099', env: 'staging', mfa_verified: true },
    resourceAttributes: {},
    now: 1764000000.01,
  },
  {
    ...head,
    decision: 'Allow',
    kind: 'ask_by_rule',
    args: { a: 'x\\"y\u00e9\u2028', b: -1.5e-3, c: null, d: false },
  },
  { ...head, rule: null, policyVersion: null, policyHash: null, enforced: false, argsHmac: 'abc' },
  { ...head, argsSha256: 'def', now: 5 },
  { ...head, kind: 'engine_fault', args: {} },
  {
    ...head,
    args: { nested: { deep: [1, 2, { x: 'y' }] } },
    toolFacts: { annotations: { readOnlyHint: true } },
  },
  { ...head, args: { list: [1, 2] }, resourceAttributes: { owner_id: 'mgr-002' } },
  { ...head, tool: 't\u0001ab', role: '\ud83d\ude00', args: { '': 1 } },
  { ...head, now: 1e300, args: { n: 1e21 } },
  { ...head, args: { order_id: 'ORD-1' }, now: 5, session: 'session-1' },
  {
    ...head,
    decision: 'Allow',
    kind: 'ask_by_rule',
    args: { order_id: 'ORD-1' },
    now: 6,
    rememberedApproval: { id: '3f9a12c0', rule: 'big-refund', expiresAt: 606 },
    session: 'se\u00e9ssion',
  },
];

/** What a reader made of a line, as one comparable value. */
function outcome(reader: AuditRecordReader, line: string): unknown {
  const read = reader.read(line);
  if (read === ReadOutcome.Error) return { error: reader.error };
  if (read === ReadOutcome.Skip) return { skip: reader.skip };
  return {
    call: JSON.stringify(reader.call),
    id: reader.id,
    from: reader.from,
    approved: reader.approved,
    reason: reader.reason,
  };
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  '"',
  '\\',
  ',',
  ':',
  '{',
  '}',
  '[',
  ']',
  ' ',
  '\t',
  '\u0001',
  'u',
  'e',
  '-',
  '0',
  '1',
  '.',
  'null',
  '"tool":"x",',
  '"__proto__":{},',
  '"args":{"a":1},',
];

describe('the audit line scan', () => {
  test("vouches for perso's own records and reads what JSON.parse reads", () => {
    const scan = new AuditLineScan();
    const line = JSON.stringify(records[0]);
    const scanned = scan.scan(line);
    assert.ok(scanned !== null);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    for (const key of [
      'id',
      'time',
      'tool',
      'role',
      'decision',
      'reason',
      'kind',
      'args',
      'agentAttributes',
      'resourceAttributes',
      'now',
    ])
      assert.deepEqual((scanned as unknown as Record<string, unknown>)[key], parsed[key], key);
  });

  test('declines what it does not vouch for: whitespace, a trailing comma, a repeated key', () => {
    const scan = new AuditLineScan();
    const line = JSON.stringify(records[0]);
    assert.equal(scan.scan(line.replace('"tool":', '"tool" :')), null);
    assert.equal(scan.scan(`${line.slice(0, -1)},}`), null);
    assert.equal(scan.scan(`${line.slice(0, -1)},"tool":"other"}`), null);
    assert.equal(scan.scan(line.replace('"amount":800', '"amount":800,"amount":1')), null);
    assert.equal(scan.scan(line.replace('"staging"', '"stag\u0001ing"')), null);
  });

  test('the reader answers the same with and without it, on records and 30,000 mutations of them', () => {
    const fast = new AuditRecordReader();
    const full = new AuditRecordReader({ fast: false });
    const next = random(13);
    let compared = 0;
    const outcomes = new Set<string>();
    for (const record of records) {
      const line = JSON.stringify(record);
      assert.deepEqual(outcome(fast, line), outcome(full, line), line);
      for (let i = 0; i < 3400; i++) {
        let mutated = line;
        for (let edits = 1 + Math.floor(next() * 2); edits > 0; edits--) {
          const at = Math.floor(next() * mutated.length);
          const op = next();
          const piece = PIECES[Math.floor(next() * PIECES.length)]!;
          mutated =
            op < 0.4
              ? mutated.slice(0, at) + mutated.slice(at + 1)
              : op < 0.8
                ? mutated.slice(0, at) + piece + mutated.slice(at)
                : mutated.slice(0, at) + piece + mutated.slice(at + 1);
        }
        const a = outcome(fast, mutated);
        assert.deepEqual(a, outcome(full, mutated), mutated);
        outcomes.add(Object.keys(a as object)[0]!);
        compared++;
      }
    }
    assert.ok(compared >= 30_000);
    assert.deepEqual([...outcomes].sort(), ['call', 'error', 'skip']);
  });
});
