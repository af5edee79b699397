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
    approval: reader.approval,
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

// The scan in place (scanAt, as a replay reads a block of lines), against the full reader, on
// generated records: nasty strings (escapes, surrogates, U+2028, quotes), keys in odd order,
// extra keys, whitespace, keys given twice, lines repeated with a fresh id, time and now (so the
// remembered heads, bodies and objects are hit), all in one block read in order.
import fc from 'fast-check';
import { AuditRecordReader as Reader } from '../src/cli/audit-record-reader.ts';
import { APPROVED_SUFFIX, WEBAUTHN_APPROVED_SUFFIX } from '../src/backend/approval-ledger.ts';

/** Characters that make JSON strings hard: escapes, surrogates, separators, pieces of the record's syntax. */
const nastyText = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...'abcxyz019-_. ') },
    fc.constantFrom(
      '"',
      '\\',
      '/',
      '\u2028',
      '\u2029',
      '\u0000',
      '\u001f',
      '\t',
      '\n',
      '\r',
      '\ud800',
      '\udfff',
      '\ud83d\ude00',
      '\u00e9',
      '\u7f16',
      '{',
      '}',
      ',',
      ':',
      ',"now":1}',
      ',"enforced":',
      '<A>',
      '<S>',
    ),
  ),
  maxLength: 14,
});
const name = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('process_refund', 'view_customer', 'agent', 'manager') },
  nastyText,
);
const scalar = fc.oneof(
  nastyText,
  fc.double(),
  fc.integer(),
  fc.constantFrom(true, false, null, 0, -0, 1e21, 1e-7, 5e-324, 1.7976931348623157e308),
);
const flatKey = fc.oneof(
  { weight: 24, arbitrary: fc.constantFrom('order_id', 'amount', 'user_id', 'env', '') },
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString'),
  nastyText,
);
const flat = fc.dictionary(flatKey, scalar, { maxKeys: 4 });
const objectValue = fc.oneof(
  { weight: 6, arbitrary: flat },
  fc.constant({ nested: { deep: [1, { x: 'y' }] } }),
  fc.constantFrom(null, 'text', 7, []),
);
const isoTime = fc
  .integer({ min: 1_764_000_000_000, max: 1_764_000_000_000 + 3 * 86_400_000 })
  .map((ms) => new Date(ms).toISOString());
const time = fc.oneof(
  { weight: 8, arbitrary: isoTime },
  fc.constantFrom(
    '2025-11-24T24:00:00.000Z',
    '2025-11-24T16:60:00.000Z',
    '2025-11-24T16:00:00.00Z',
    '2025-11-24',
    'not a date',
  ),
  nastyText,
);
/** Decimals as clocks write them (few digits: the scan's exact fast path) and doubles (many). */
const decimal = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 53 - 1 }).map((n) => n / 100),
  fc.integer({ min: -1e15, max: 1e15 }).map((n) => n / 10 ** (Math.abs(n) % 16)),
  fc.integer({ min: 0, max: 1e12 }).map((n) => n / 1000),
);
const now = fc.oneof(
  { weight: 3, arbitrary: decimal },
  { weight: 3, arbitrary: fc.double({ min: 0, max: 2e9, noNaN: true }) },
  fc.integer(),
  fc.double(),
  fc.constantFrom(1_764_000_000.01, -0, 1e21, 1.5e-300, '5', null),
);

/** A record as perso writes one: its keys, values of the types the reader takes. */
const persoRecord = fc.record({
  id: fc.uuid(),
  time: isoTime,
  tool: name,
  role: name,
  decision: fc.constantFrom('Allow', 'Deny', 'Ask'),
  // An approved Ask's reason says how the person approved (a click, or an authenticator).
  reason: fc.oneof(
    nastyText,
    nastyText.map((text) => `${text}${APPROVED_SUFFIX}`),
    nastyText.map((text) => `${text}${WEBAUTHN_APPROVED_SUFFIX}`),
  ),
  kind: fc.constantFrom(
    'condition_passed',
    'condition_failed',
    'ask_by_rule',
    'ask_by_rule',
    'invalid_request',
    'no_policy',
    'engine_fault',
    'no_rule',
  ),
  rule: fc.constantFrom('rules[3]', 'big-refunds', null),
  policyVersion: fc.constantFrom('perso-1.0.0', null),
  policyHash: fc.constantFrom(
    'fc52c69b3fbc5e00932e4475cadd34b0ed7d2fb4ce2a181413d0e217639d5dd3',
    null,
  ),
  enforced: fc.boolean(),
  args: flat,
  agentAttributes: flat,
  resourceAttributes: flat,
  now: decimal,
  session: fc.option(nastyText, { freq: 2 }),
  rememberedApproval: fc.option(
    fc.constant({ id: '3f9a12c0', rule: 'big-refund', expiresAt: 606 }),
    {
      freq: 4,
    },
  ),
});

/** What may differ from perso's own records: a key dropped, added, or of another type. */
const CHANGES: ReadonlyArray<[string, fc.Arbitrary<unknown>]> = [
  ['args', fc.constant(undefined)],
  ['args', objectValue],
  ['argsSha256', fc.constantFrom('abc', null)],
  ['argsHmac', fc.constant('def')],
  ['agentAttributes', fc.constant(undefined)],
  ['agentAttributes', objectValue],
  ['resourceAttributes', objectValue],
  ['now', fc.constant(undefined)],
  ['now', now],
  ['toolFacts', fc.constant({ annotations: { readOnlyHint: true } })],
  [
    'rememberedApproval',
    fc.constantFrom({ id: '3f9a12c0', rule: 'big-refund', expiresAt: 606 }, true),
  ],
  ['session', fc.oneof({ weight: 4, arbitrary: nastyText }, fc.constant(5))],
  ['extra', scalar],
  ['id', fc.oneof(nastyText, fc.constant(7), fc.constant(undefined))],
  ['time', time],
  ['tool', fc.constantFrom(null, undefined, '')],
  ['decision', fc.constantFrom('allow', 3)],
  ['reason', fc.constant(null)],
  ['kind', fc.constant(undefined)],
  ['rule', fc.oneof(nastyText, fc.constant(3))],
  ['policyVersion', nastyText],
  ['enforced', fc.constant('yes')],
];
const record = fc
  .tuple(
    persoRecord,
    fc.oneof(
      { weight: 2, arbitrary: fc.constant([]) },
      fc.array(
        fc.constantFrom(...CHANGES).chain(([key, value]) => value.map((v) => [key, v] as const)),
        { minLength: 1, maxLength: 3 },
      ),
    ),
  )
  .map(([base, changes]) => {
    const entry: Record<string, unknown> = { ...base };
    for (const key of ['session', 'rememberedApproval']) if (entry[key] === null) delete entry[key];
    for (const [key, value] of changes) {
      if (value === undefined) delete entry[key];
      else entry[key] = value;
    }
    return entry;
  });

const PERSO_ORDER = [
  'id',
  'time',
  'tool',
  'role',
  'decision',
  'reason',
  'kind',
  'rule',
  'policyVersion',
  'policyHash',
  'enforced',
  'args',
  'argsSha256',
  'agentAttributes',
  'resourceAttributes',
  'now',
  'toolFacts',
  'rememberedApproval',
  'session',
  'argsHmac',
  'extra',
];

/** How a record is written: perso's order or another, escapes, whitespace, a key given twice. */
interface Writing {
  shuffle: number[] | null;
  /** `now` written last (after `session`, `rememberedApproval`...): they are then in the body. */
  nowLast: boolean;
  /** Another text for `now`'s value: JSON's number grammar or near misses of it. */
  nowText: string | null;
  /** A character inserted, deleted or replaced (at the end mostly: in `now`). */
  edit: [number, number, string] | null;
  escape: string;
  spaces: boolean;
  twice: string | null;
}
const writing: fc.Arbitrary<Writing> = fc.record({
  shuffle: fc.oneof(
    { weight: 5, arbitrary: fc.constant(null) },
    fc.array(fc.nat(), { minLength: 21, maxLength: 21 }),
  ),
  nowLast: fc.boolean(),
  nowText: fc.oneof(
    { weight: 4, arbitrary: fc.constant(null) },
    fc.constantFrom(
      ...[
        '01',
        '1.',
        '-',
        '+1',
        '1e',
        '.5',
        '-01',
        '1.5e+',
        '1E2',
        '-0',
        '0.1e-2',
        '1e999',
        '-1e999',
      ],
      ...[
        '00',
        '1..2',
        '1e5.5',
        '2e-400',
        '123456789012345678',
        '0.000000000000001',
        '9007199254740993',
      ],
    ),
  ),
  edit: fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    fc.tuple(
      fc.nat({ max: 40 }),
      fc.nat({ max: 2 }),
      fc.constantFrom('.', '-', '+', 'e', 'E', '0', '1', '"', '}', ',', ' ', '\\', 'x', '\u0001'),
    ),
  ),
  escape: fc.constantFrom('\\u0041', '\\/', 'A'),
  spaces: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, fc.constant(true)),
  twice: fc.oneof(
    { weight: 9, arbitrary: fc.constant(null) },
    fc.constantFrom(',"tool":"x"', ',"now":1', ',"args":{}', ',"extra":1', ',"type":"toolResult"'),
  ),
});

function write(entry: Record<string, unknown>, how: Writing): string {
  const keys = PERSO_ORDER.filter(
    (key) => Object.hasOwn(entry, key) && !(how.nowLast && key === 'now'),
  );
  if (how.nowLast && Object.hasOwn(entry, 'now')) keys.push('now');
  if (how.shuffle !== null)
    keys.sort(
      (a, b) => how.shuffle![PERSO_ORDER.indexOf(a)]! - how.shuffle![PERSO_ORDER.indexOf(b)]!,
    );
  const ordered: Record<string, unknown> = {};
  for (const key of keys) ordered[key] = entry[key];
  let line = how.spaces
    ? JSON.stringify(ordered, null, 1).replace(/\n/g, '')
    : JSON.stringify(ordered);
  // The markers sit inside strings only: `<A>` becomes an escape (or not), `<S>` a solidus escape.
  line = line.replaceAll('<A>', how.escape).replaceAll('<S>', '\\/');
  if (how.nowText !== null && typeof entry.now === 'number')
    line = line.replace(`"now":${JSON.stringify(entry.now)}`, `"now":${how.nowText}`);
  if (how.twice !== null) line = `${line.slice(0, -1)}${how.twice}}`;
  if (how.edit !== null) {
    const [back, op, piece] = how.edit;
    const at = Math.max(0, line.length - 1 - back);
    line =
      op === 0
        ? line.slice(0, at) + line.slice(at + 1)
        : op === 1
          ? line.slice(0, at) + piece + line.slice(at)
          : line.slice(0, at) + piece + line.slice(at + 1);
  }
  return line;
}

/** A block: records drawn from a few templates, each time with a fresh id, time and now. */
const block = fc
  .tuple(
    fc.array(fc.tuple(record, writing), { minLength: 1, maxLength: 6 }),
    fc.array(
      fc.record({
        pick: fc.nat(),
        id: fc.uuid(),
        time: fc.oneof(
          { weight: 6, arbitrary: isoTime },
          isoTime.map((iso) => `${iso.slice(0, 11)}24${iso.slice(13)}`),
          isoTime.map((iso) => `${iso.slice(0, 14)}60${iso.slice(16)}`),
          isoTime.map((iso) => `${iso.slice(0, 17)}60${iso.slice(19)}`),
          isoTime.map((iso) => `${iso.slice(0, 19)}Z`),
          isoTime.map((iso) => `${iso.slice(0, 11)}1${iso.slice(12)}`.replace('T1', 'T2')),
          isoTime.map((iso) => iso.replace('.', ',')),
        ),
        now,
        fresh: fc.boolean(),
        nowText: fc.oneof(
          { weight: 8, arbitrary: fc.constant(null) },
          fc.constantFrom('01', '1.', '-', '+1', '-01', '1e', '00', '1e999'),
        ),
      }),
      { minLength: 1, maxLength: 30 },
    ),
  )
  .map(([templates, draws]) =>
    draws.map((draw) => {
      const [entry, how] = templates[draw.pick % templates.length]!;
      const line = draw.fresh ? { ...entry, id: draw.id, time: draw.time, now: draw.now } : entry;
      return write(line, draw.nowText === null ? how : { ...how, nowText: draw.nowText });
    }),
  );

function outcomeAt(reader: Reader, text: string, start: number, end: number): unknown {
  const read = reader.readAt(text, start, end);
  if (read === ReadOutcome.Error) return { error: reader.error };
  if (read === ReadOutcome.Skip) return { skip: reader.skip };
  if (read === ReadOutcome.Result) return { result: reader.result };
  return {
    call: { ...reader.call },
    id: reader.id,
    from: reader.from,
    approved: reader.approved,
    approval: reader.approval,
    remembered: reader.remembered,
    reason: reader.reason,
  };
}

describe('the audit line scan in place, against the full reader (generated records)', () => {
  test('reads every line of generated blocks as the full reader reads the line alone', () => {
    const counts = { vouched: 0, declined: 0, record: 0, skip: 0, error: 0, result: 0 };
    fc.assert(
      fc.property(block, fc.boolean(), (lines, crlf) => {
        const text = lines.join(crlf ? '\r\n' : '\n');
        const fast = new Reader();
        const full = new Reader({ fast: false });
        const scan = new AuditLineScan();
        let start = 0;
        for (const line of lines) {
          const end = start + line.length;
          const expected = outcomeAt(full, line, 0, line.length) as Record<string, unknown>;
          assert.deepStrictEqual(outcomeAt(fast, text, start, end), expected, line);
          counts[scan.scanAt(text, start, end) ? 'vouched' : 'declined']++;
          const kind = Object.keys(expected)[0]!;
          counts[kind === 'call' ? 'record' : (kind as 'skip' | 'error' | 'result')]++;
          start = end + (crlf ? 2 : 1);
        }
      }),
      { seed: 20261203, numRuns: 1000 },
    );
    // The generated lines must reach both paths and every outcome, or the comparison proves little.
    // (An Allow or Ask with a fault's kind is an error, not a skip: about 460 skips at this seed.)
    assert.ok(counts.vouched > 1500 && counts.declined > 1500, JSON.stringify(counts));
    assert.ok(
      counts.record > 1000 && counts.skip > 400 && counts.error > 1000,
      JSON.stringify(counts),
    );
  });
});

describe('lines the scan does not take go to the full reader, with the same answer', () => {
  const line = JSON.stringify(records[0]);
  const remembered = JSON.stringify(records[records.length - 1]);
  const cases: [string, string, boolean][] = [
    ["perso's own record", line, true],
    ['a record with a remembered approval and a session after now', remembered, true],
    [
      'escapes, non-ASCII, U+2028 and a surrogate pair in strings',
      JSON.stringify(records[1]),
      true,
    ],
    ['argsHmac instead of args', JSON.stringify(records[2]), true],
    ['a space after a colon', line.replace('"tool":', '"tool": '), false],
    ['keys in another order', JSON.stringify({ tool: 'x', ...records[0] }), false],
    ['toolFacts (nested objects)', JSON.stringify(records[5]), false],
    ['nested args', line.replace('"args":{', '"args":{"n":{"m":1},'), false],
    ['a constructor key in args', line.replace('"args":{', '"args":{"constructor":1,'), false],
    ['a __proto__ key in args', line.replace('"args":{', '"args":{"__proto__":1,'), false],
    ['now out of range', line.replace('"now":1764000000.01', '"now":1e999'), false],
    ['now with a leading zero', line.replace('"now":1764000000.01', '"now":01764000000.01'), false],
    ['now with a plus', line.replace('"now":1764000000.01', '"now":+1764000000.01'), false],
    ['a decision in lower case', line.replace('"decision":"Deny"', '"decision":"deny"'), false],
    ['a rule that is a number', line.replace('"rule":"rules[3]"', '"rule":3'), false],
    ['an escaped key', line.replace('"tool":', '"t\\u006fol":'), false],
    ['a key given twice after the head', line.replace('"now":', '"tool":"x","now":'), false],
    ['now given twice', `${line.slice(0, -1)},"now":1}`, false],
    ['a time the day check refuses', line.replace('T16:00:00.010Z', 'T24:00:00.010Z'), true],
    ['a tab in the reason', line.replace('condition failed', 'condition\tfailed'), false],
    [
      'a tool result record',
      '{"type":"toolResult","id":"r","time":"2025-11-24T16:00:00.000Z","tool":"read_email","result":"x"}',
      false,
    ],
  ];
  for (const [what, text, taken] of cases)
    test(`${taken ? 'taken' : 'declined'}: ${what}`, () => {
      const scan = new AuditLineScan();
      assert.equal(scan.scanAt(text, 0, text.length), taken);
      // Read in a block after perso's own line, whose head and body the scan then remembers.
      const block = `${line}\n${text}\r\n${line}`;
      const fast = new Reader();
      const full = new Reader({ fast: false });
      assert.deepStrictEqual(
        outcomeAt(fast, block, 0, line.length),
        outcomeAt(full, line, 0, line.length),
      );
      const start = line.length + 1;
      assert.deepStrictEqual(
        outcomeAt(fast, block, start, start + text.length),
        outcomeAt(full, text, 0, text.length),
      );
      const last = start + text.length + 2;
      assert.deepStrictEqual(
        outcomeAt(fast, block, last, block.length),
        outcomeAt(full, line, 0, line.length),
      );
    });

  test('a remembered body is read with the line’s own id, time and now', () => {
    const block = [1, 2, 3]
      .map((i) =>
        line
          .replace('"rec-1"', `"rec-${i}"`)
          .replace(':00.010Z', `:0${i}.010Z`)
          .replace('1764000000.01', `${i}.5`),
      )
      .join('\n');
    const fast = new Reader();
    const ids: unknown[] = [];
    for (let start = 0, i = 0; i < 3; i++) {
      const end = block.indexOf('\n', start) === -1 ? block.length : block.indexOf('\n', start);
      assert.equal(fast.readAt(block, start, end), ReadOutcome.Record);
      ids.push([fast.id, fast.call.now]);
      start = end + 1;
    }
    assert.deepStrictEqual(ids, [
      ['rec-1', 1.5],
      ['rec-2', 2.5],
      ['rec-3', 3.5],
    ]);
  });
});
