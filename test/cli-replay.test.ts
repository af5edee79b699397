// `perso replay`, run from source as a child process, over audit logs recorded by the real library.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { demoPolicyPath, runPerso } from './support/run-cli.ts';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Perso } from '../src/perso/perso.ts';
import type { AuditRecord } from '../src/audit/audit-record.ts';
import { APPROVED_SUFFIX, WEBAUTHN_APPROVED_SUFFIX } from '../src/backend/approval-ledger.ts';
import type { ToolCall } from '../src/call/decision.ts';
import type { Policy } from '../src/policy/policy.ts';

const demoPath = demoPolicyPath;
const perso = runPerso;

const refund = (role: string, amount: number): ToolCall => ({
  tool: 'process_refund',
  args: { order_id: 'ORD-8821', amount },
  role,
});

/** The recorded session: line N of the log is CALLS[N - 1]. */
const CALLS: readonly ToolCall[] = [
  refund('agent', 50), // 1: Allow, stays Allow under a cap of 100
  refund('agent', 300), // 2: Allow → Deny under a cap of 100
  refund('agent', 800), // 3: Deny either way
  refund('manager', 1500), // 4: the manager's cap is untouched
  { tool: 'view_customer', args: { id: 'C-1' }, role: 'agent' }, // 5
  // 6 and 7: decided on host facts, which the records must carry for the replay to agree
  {
    tool: 'delete_customer',
    args: { id: 'C-1' },
    role: 'manager',
    agentAttributes: { user_id: 'u1' },
    resourceAttributes: { owner_id: 'u1' },
  },
  {
    tool: 'delete_customer',
    args: { id: 'C-2' },
    role: 'manager',
    agentAttributes: { user_id: 'u1' },
    resourceAttributes: { owner_id: 'u2' },
  },
  { tool: 'export_data', args: {}, role: 'manager', agentAttributes: { env: 'production' } }, // 8: Allow on a fact
  refund('agent', 100), // 9: on the new cap, still Allow
  { tool: 'process_refund', args: { amount: () => 1 }, role: 'agent' } as unknown as ToolCall, // 10: invalid_request, a fault
  refund('agent', 499), // 11: Allow → Deny under a cap of 100
];

/** Decides CALLS with the demo policy and returns the audit records, as a transport got them. */
async function record(options: { hashArgs?: boolean } = {}): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  const guard = await Perso.load({
    policy: demoPath,
    audit: { emit: (entry) => void records.push(entry) },
    ...options,
  });
  for (const call of CALLS) await guard.evaluate(call);
  await guard.close();
  return records;
}

/** The demo policy plus an Ask rule over exports by managers, as JSON text. */
async function demoWithExportAsk(): Promise<string> {
  const demo = JSON.parse(await readFile(demoPath, 'utf8')) as Policy;
  return JSON.stringify({
    ...demo,
    rules: [
      ...demo.rules,
      { tool_name: 'export_data', roles: ['manager'], effect: 'Ask', condition: null },
    ],
  });
}

const ndjson = (records: readonly object[]): string =>
  records.map((entry) => `${JSON.stringify(entry)}\n`).join('');

let dir: string;
let records: AuditRecord[];
let logPath: string;
let cappedPath: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'perso-replay-'));
  records = await record();
  logPath = join(dir, 'audit.ndjson');
  await writeFile(logPath, ndjson(records));
  const demo = JSON.parse(await readFile(demoPath, 'utf8')) as Policy;
  const agentCap = demo.rules.find(
    (rule) => rule.tool_name === 'process_refund' && rule.roles.includes('agent'),
  )!;
  (agentCap.condition as { NumericCheck: { value: number } }).NumericCheck.value = 100;
  demo.version = 'cap-100';
  cappedPath = join(dir, 'capped.json');
  await writeFile(cappedPath, JSON.stringify(demo));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('perso replay: the recorded log', () => {
  test('the library recorded what a replay needs: args, host facts and now', () => {
    assert.equal(records.length, CALLS.length);
    assert.deepEqual(
      records.map((entry) => entry.decision),
      [
        'Allow',
        'Allow',
        'Deny',
        'Allow',
        'Allow',
        'Allow',
        'Deny',
        'Allow',
        'Allow',
        'Deny',
        'Allow',
      ],
    );
    assert.deepEqual(records[5]!.resourceAttributes, { owner_id: 'u1' });
    assert.deepEqual(records[5]!.agentAttributes, { user_id: 'u1' });
    assert.equal(typeof records[0]!.now, 'number');
  });
});

describe('perso replay against the same policy', () => {
  test('nothing would change: exit 0, only the summary line', async () => {
    const run = await perso(['replay', logPath, demoPath]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      'replayed 10 records: none would change, 1 not replayable (fault 1)\n',
    );
  });

  test('records without their host facts would change: the facts are what the decision used', async () => {
    const stripped = records.map(
      ({ agentAttributes: _a, resourceAttributes: _r, ...rest }) => rest,
    );
    const path = join(dir, 'stripped.ndjson');
    await writeFile(path, ndjson(stripped));
    const run = await perso(['replay', path, demoPath]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^line 6: delete_customer \(manager\) Allow → Deny: /m);
    assert.match(run.stdout, /^line 8: export_data \(manager\) Allow → Deny: /m);
    assert.match(run.stdout, /replayed 10 records: 2 would change \(Allow→Deny 2\)/);
  });
});

describe('perso replay against a candidate that lowers the agent refund cap to 100', () => {
  test('lists exactly the refunds above 100 that were allowed, with both reasons; exit 1', async () => {
    const run = await perso(['replay', logPath, cappedPath]);
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(
      lines[0]!,
      /^line 2: process_refund \(agent\) Allow → Deny: rule matched tool 'process_refund' for role 'agent'; condition failed.*\(was: rule matched tool 'process_refund' for role 'agent'; condition passed\)$/,
    );
    assert.match(lines[0]!, /300/);
    assert.match(
      lines[1]!,
      /^line 11: process_refund \(agent\) Allow → Deny: .*condition failed.*499/,
    );
    assert.equal(
      lines[2],
      'replayed 10 records: 2 would change (Allow→Deny 2), 1 not replayable (fault 1)',
    );
  });

  test('--json: one change object per change, then the summary object', async () => {
    const run = await perso(['replay', logPath, cappedPath, '--json']);
    assert.equal(run.code, 1);
    const objects = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      objects.map((entry) => [entry['type'], entry['line']]),
      [
        ['change', 2],
        ['change', 11],
        ['summary', undefined],
      ],
    );
    const change = objects[0]!;
    assert.equal(change['id'], records[1]!.id);
    assert.equal(change['tool'], 'process_refund');
    assert.equal(change['role'], 'agent');
    assert.equal(change['from'], 'Allow');
    assert.equal(change['to'], 'Deny');
    assert.equal(change['was'], records[1]!.reason);
    assert.equal(change['rule'], 'rules[3]');
    assert.deepEqual(objects[2], {
      type: 'summary',
      replayed: 10,
      changed: 2,
      changes: { 'Allow→Deny': 2 },
      notReplayable: { 'args hashed': 0, 'no args': 0, fault: 1 },
      malformed: 0,
      results: 0,
      withheld: 0,
      unrebuilt: [],
    });
  });

  test('the log can come from stdin as -', async () => {
    const run = await perso(['replay', '-', cappedPath], ndjson(records));
    assert.equal(run.code, 1);
    assert.match(run.stdout, /replayed 10 records: 2 would change \(Allow→Deny 2\)/);
  });

  test('an Ask rule in the candidate shows as Allow → Ask', async () => {
    const path = join(dir, 'ask.json');
    await writeFile(path, await demoWithExportAsk());
    const run = await perso(['replay', logPath, path]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^line 8: export_data \(manager\) Allow → Ask: /m);
    assert.match(run.stdout, /1 would change \(Allow→Ask 1\)/);
  });
});

describe('perso replay: rate limits', () => {
  const limited = (max: number): string =>
    JSON.stringify({
      version: `limit-${max}`,
      default_action: 'Deny',
      tools: ['view_customer'],
      roles: ['agent'],
      rules: [
        {
          tool_name: 'view_customer',
          roles: ['agent'],
          condition: null,
          rate_limit: { max, per_seconds: 60 },
        },
      ],
    });

  test('records are decided at their recorded now: windows count as they did', async () => {
    const log: AuditRecord[] = [];
    const guard = await Perso.load({
      policy: limited(2),
      audit: { emit: (entry) => void log.push(entry) },
    });
    // Three calls in one window, a fourth in the next: the third was rate limited.
    for (const now of [1000, 1010, 1020, 1100])
      await guard.evaluate({ tool: 'view_customer', args: {}, role: 'agent', now });
    await guard.close();
    assert.deepEqual(
      log.map((entry) => [entry.decision, entry.now]),
      [
        ['Allow', 1000],
        ['Allow', 1010],
        ['Deny', 1020],
        ['Allow', 1100],
      ],
    );
    const path = join(dir, 'limited.ndjson');
    await writeFile(path, ndjson(log));
    const same = await perso(['replay', path, limited(2)]);
    assert.equal(same.code, 0, same.stdout);
    assert.equal(same.stdout, 'replayed 4 records: none would change\n');
    const wider = await perso(['replay', path, limited(3)]);
    assert.equal(wider.code, 1);
    assert.match(
      wider.stdout,
      /^line 3: view_customer \(agent\) Deny → Allow: .*\(was: .*rate limit/m,
    );
    assert.match(wider.stdout, /replayed 4 records: 1 would change \(Deny→Allow 1\)\n$/);
  });
});

describe('perso replay: budgets are rebuilt in log order', () => {
  /** A refund budget of `max`, and refunds over 500 asking by rule `ask` (a click, or `approval`). */
  const budgeted = (
    max: number,
    ask = 'big-refund-ask',
    approval: 'click' | 'webauthn' = 'click',
  ): string =>
    JSON.stringify({
      version: `budget-${max}`,
      default_action: 'Deny',
      tools: ['process_refund'],
      roles: ['agent'],
      rules: [
        {
          id: 'refund-budget',
          tool_name: 'process_refund',
          roles: ['agent'],
          budget: { sum: 'Arguments.amount', max, per_seconds: 86400 },
        },
        {
          id: ask,
          tool_name: 'process_refund',
          roles: ['agent'],
          effect: 'Ask',
          condition: {
            NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 500 },
          },
          ...(approval === 'webauthn' ? { approval } : {}),
        },
      ],
    });
  const refund = (amount: number, now: number): ToolCall => ({
    tool: 'process_refund',
    args: { amount },
    role: 'agent',
    now,
  });

  /**
   * A live session under `policy`: a refund of 600 asks and a person approves it (600 of the 1000
   * spent), one of 400 is allowed, then one of 400 and one of 1 are past the budget.
   */
  async function approvedSession(policy: string): Promise<AuditRecord[]> {
    const log: AuditRecord[] = [];
    const guard = await Perso.load({
      policy,
      audit: { emit: (entry) => void log.push(entry) },
    });
    const asked = await guard.evaluate(refund(600, 1000));
    assert.equal(asked.decision, 'Ask');
    assert.equal((await guard.approve(asked.approval!.nonce, refund(600, 1000))).decision, 'Allow');
    for (const [amount, now] of [
      [400, 1010],
      [400, 1020],
      [1, 1030],
    ] as const)
      await guard.evaluate(refund(amount, now));
    await guard.close();
    assert.deepEqual(
      log.map((entry) => `${entry.decision}:${entry.kind}`),
      [
        'Ask:ask_by_rule',
        'Allow:ask_by_rule',
        'Allow:no_condition',
        'Deny:budget_exceeded',
        'Deny:budget_exceeded',
      ],
    );
    return log;
  }

  /** `perso replay LOG POLICY --json`: the changes as [line, from, to, reason], the summary, the exit code. */
  async function replayJson(
    log: readonly object[],
    file: string,
    policy: string,
  ): Promise<{ changes: unknown[][]; summary: Record<string, unknown>; code: number | null }> {
    const path = join(dir, file);
    await writeFile(path, ndjson(log));
    const run = await perso(['replay', path, policy, '--json']);
    const lines = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return {
      changes: lines
        .filter((line) => line.type === 'change')
        .map((c) => [c.line, c.from, c.to, c.reason]),
      summary: lines.at(-1)!,
      code: run.code,
    };
  }

  test('a live session with an approved Ask replays with no change; a larger budget changes the Denies', async () => {
    const log = await approvedSession(budgeted(1000));
    const path = join(dir, 'budget.ndjson');
    await writeFile(path, ndjson(log));
    const same = await perso(['replay', path, budgeted(1000)]);
    assert.equal(same.stdout, 'replayed 5 records: none would change\n');
    assert.equal(same.code, 0);
    const wider = await perso(['replay', path, budgeted(1500)]);
    assert.equal(wider.code, 1);
    assert.match(
      wider.stdout,
      /^line 4: process_refund \(agent\) Deny → Allow: .*\(was: .*1000 of 1000 \(the sum of Arguments\.amount\)/m,
    );
    assert.match(wider.stdout, /replayed 5 records: 2 would change \(Deny→Allow 2\)\n$/);
  });

  // The live ledger lifts only the Ask the person saw (approval-ledger.ts): a ticket for the Ask
  // of one rule, redeemed when the call asks by another rule or for another kind of approval, is
  // a Deny (invalid_request). The replay gives a recorded approval the same answer.
  test("fault: the approval was for the Ask of rule r1, the candidate asks by r2 — the ledger's Deny, nothing spent", async () => {
    const log = await approvedSession(budgeted(1000, 'r1'));
    assert.equal(log[1]!.rule, 'r1');
    const same = await replayJson(log, 'r1.ndjson', budgeted(1000, 'r1'));
    assert.deepEqual([same.changes, same.code], [[], 0]);
    const renamed = await replayJson(log, 'r1-to-r2.ndjson', budgeted(1000, 'r2'));
    assert.deepEqual(renamed.changes, [
      [
        2,
        'Ask',
        'Deny',
        "the recorded approval was given for the Ask of rule 'r1', but the call now asks by rule 'r2'; the call was not run, ask the person again",
      ],
      // The refused refund spent nothing: 400 + 400 + 1 fit the budget of 1000.
      [
        4,
        'Deny',
        'Allow',
        "rule matched tool 'process_refund' for role 'agent'; no condition required",
      ],
      [
        5,
        'Deny',
        'Allow',
        "rule matched tool 'process_refund' for role 'agent'; no condition required",
      ],
    ]);
    assert.deepEqual(renamed.summary.changes, { 'Ask→Deny': 1, 'Deny→Allow': 2 });
    assert.equal(renamed.code, 1);
  });

  test("fault: a click approval, the candidate's same rule now asks for a WebAuthn approval — a Deny, nothing spent", async () => {
    const log = await approvedSession(budgeted(1000, 'r1'));
    const strict = await replayJson(
      log,
      'click-to-webauthn.ndjson',
      budgeted(1000, 'r1', 'webauthn'),
    );
    assert.deepEqual(
      strict.changes.map(([line, from, to]) => [line, from, to]),
      [
        [2, 'Ask', 'Deny'],
        [4, 'Deny', 'Allow'],
        [5, 'Deny', 'Allow'],
      ],
    );
    assert.equal(
      strict.changes[0]![3],
      "the recorded approval was given for the Ask of rule 'r1', but the call now asks by rule 'r1' (a WebAuthn approval); the call was not run, ask the person again",
    );
    assert.equal(strict.code, 1);
  });

  test('fault: live, an approval refused because the session read untrusted content meanwhile spent nothing — the replay of that log agrees', async () => {
    // The live ledger's repro: the Ask by 'big' for 600 is approved after the session read
    // untrusted content, when the call asks by 'tainted' instead (listed first, it asks first).
    const policy = JSON.stringify({
      version: 'ledger-budget-1',
      default_action: 'Deny',
      tools: ['process_refund', 'read_email'],
      roles: ['agent'],
      untrusted_tools: ['read_email'],
      rules: [
        { tool_name: 'read_email', roles: ['agent'] },
        ...JSON.parse(budgeted(1000, 'big')).rules.slice(0, 1),
        {
          id: 'tainted',
          tool_name: 'process_refund',
          roles: ['agent'],
          effect: 'Ask',
          condition: { SessionUntrusted: true },
        },
        ...JSON.parse(budgeted(1000, 'big')).rules.slice(1),
      ],
    });
    const log: object[] = [];
    const guard = await Perso.load({
      policy,
      audit: { emit: (entry) => void log.push(entry), emitResult: (entry) => void log.push(entry) },
    });
    const tainting = { ...refund(600, 1000), session: 's1' };
    const asked = await guard.evaluate(tainting);
    assert.equal(asked.rule, 'big');
    const read = { tool: 'read_email', role: 'agent', session: 's1', result: { body: 'hi' } };
    assert.equal((await guard.recordResult(read)).ok, true);
    const refused = await guard.approve(asked.approval!.nonce, tainting);
    assert.equal(refused.kind, 'invalid_request');
    const next = await guard.evaluate(refund(500, 1010));
    await guard.close();
    const replayed = await replayJson(log, 'refused-approval.ndjson', policy);
    assert.deepEqual([replayed.changes, replayed.code], [[], 0], 'the replay decides as live did');
    assert.equal(next.decision, 'Allow', 'the refused approval spent nothing: 500 fits');
    // The Ask and the 500 replayed, the email's result rebuilt; the refused approval is a fault.
    assert.deepEqual(
      [replayed.summary.replayed, replayed.summary.results, replayed.summary.notReplayable],
      [2, 1, { 'args hashed': 0, 'no args': 0, fault: 1 }],
    );
  });

  test('a WebAuthn approval is not approved again (no assertion is recorded), and a candidate asking for a click refuses it', async () => {
    // The inline engine in Node releases no WebAuthn Ask (only the worker checks an assertion), so
    // the recorded approval is the live click approval with the reason the ledger gives a WebAuthn
    // one: what the record of a WebAuthn approval differs in.
    const live = await approvedSession(budgeted(1000, 'r1'));
    const clicked = live[1]!;
    assert.ok(clicked.reason.endsWith(APPROVED_SUFFIX));
    const log = live.map((entry) =>
      entry === clicked
        ? {
            ...entry,
            reason: `${entry.reason.slice(0, -APPROVED_SUFFIX.length)}${WEBAUTHN_APPROVED_SUFFIX}`,
          }
        : entry,
    );
    const same = await replayJson(log, 'webauthn.ndjson', budgeted(1000, 'r1', 'webauthn'));
    // The Ask stands and spends nothing: the refunds past the budget live fit in the replay.
    assert.deepEqual(
      same.changes.map(([line, from, to]) => [line, from, to]),
      [
        [4, 'Deny', 'Allow'],
        [5, 'Deny', 'Allow'],
      ],
    );
    const click = await replayJson(log, 'webauthn-to-click.ndjson', budgeted(1000, 'r1'));
    assert.deepEqual(
      click.changes.map(([line, from, to]) => [line, from, to]),
      [
        [2, 'Ask', 'Deny'],
        [4, 'Deny', 'Allow'],
        [5, 'Deny', 'Allow'],
      ],
    );
    assert.equal(
      click.changes[0]![3],
      "the recorded approval was given for the Ask of rule 'r1' (a WebAuthn approval), but the call now asks by rule 'r1'; the call was not run, ask the person again",
    );
  });
});

describe('perso replay: records that cannot be replayed', () => {
  test('hashed args are reported as not replayable, never guessed at', async () => {
    const hashed = await record({ hashArgs: true });
    assert.ok(
      hashed.every((entry) => entry.args === undefined && entry.agentAttributes === undefined),
    );
    const path = join(dir, 'hashed.ndjson');
    await writeFile(path, ndjson(hashed));
    const run = await perso(['replay', path, cappedPath]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      'replayed 0 records: none would change, 11 not replayable (args hashed 10, fault 1)\n',
    );
  });

  test('an approved Ask (recorded as Allow) counts as Ask: no change against the same Ask rule', async () => {
    const askPath = join(dir, 'ask-approved.json');
    await writeFile(askPath, await demoWithExportAsk());
    const log: AuditRecord[] = [];
    const guard = await Perso.load({
      policy: askPath,
      audit: { emit: (entry) => void log.push(entry) },
    });
    const asked = await guard.evaluate(CALLS[7]!);
    assert.equal(asked.decision, 'Ask');
    assert.equal((await guard.approve(asked.approval!.nonce, CALLS[7]!)).decision, 'Allow');
    await guard.close();
    const approved = log[1]!;
    assert.equal(`${approved.decision}:${approved.kind}`, 'Allow:ask_by_rule');
    const path = join(dir, 'approved.ndjson');
    await writeFile(path, ndjson([approved]));
    const same = await perso(['replay', path, askPath]);
    assert.equal(same.code, 0, same.stdout);
    const without = await perso(['replay', path, demoPath]);
    assert.equal(without.code, 1);
    assert.match(without.stdout, /^line 1: export_data \(manager\) Ask → Allow: /m);
  });
});

describe('perso replay: faults', () => {
  test('malformed lines: each reported with its number, the run goes on, exit 1', async () => {
    const bad = Buffer.concat([
      Buffer.from(JSON.stringify(records[0]) + '\n'),
      Buffer.from('{"tool": "process_refund", \n'), // 2: invalid JSON
      Buffer.from('[1, 2]\n'), // 3: not an object
      Buffer.from('\n'), // 4: blank, skipped
      Buffer.from(JSON.stringify({ ...records[1], decision: 'Maybe' }) + '\n'), // 5
      Buffer.from(JSON.stringify(records[1]).replace('{', '{"tool":"view_customer",') + '\n'), // 6: duplicate key
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), // 7: not UTF-8
      Buffer.from(
        JSON.stringify({ ...records[1], args: { ['__proto__']: 1 } }).replace(
          '"args":{}',
          '"args":{"__proto__":1}',
        ) + '\n',
      ), // 8
      Buffer.from(JSON.stringify(records[1]) + '\n'), // 9: still replayed
    ]);
    const path = join(dir, 'malformed.ndjson');
    await writeFile(path, bad);
    const run = await perso(['replay', path, cappedPath]);
    assert.equal(run.code, 1, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^line 2: not an audit record: invalid JSON \(.*\); skipped$/);
    assert.equal(
      lines[1],
      'line 3: not an audit record: expected a JSON object (one audit record per line); skipped',
    );
    assert.equal(
      lines[2],
      'line 5: not an audit record: decision: expected "Allow", "Deny" or "Ask"; skipped',
    );
    assert.match(lines[3]!, /^line 6: not an audit record: .*tool.*duplicate key; skipped$/);
    assert.equal(
      lines[4],
      'line 7: not an audit record: not valid UTF-8; write the requests as UTF-8 text; skipped',
    );
    assert.match(lines[5]!, /^line 8: not an audit record: args.*__proto__.*; skipped$/);
    assert.match(lines[6]!, /^line 9: process_refund \(agent\) Allow → Deny: /);
    assert.equal(lines[7], 'replayed 2 records: 1 would change (Allow→Deny 1), 6 malformed lines');
    assert.equal(lines.length, 8);
  });

  test('a malformed line alone still exits 1: a log not read whole cannot vouch for a policy', async () => {
    const path = join(dir, 'one-bad.ndjson');
    await writeFile(path, `${JSON.stringify(records[0])}\nnot json\n`);
    const run = await perso(['replay', path, demoPath]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /replayed 1 record: none would change, 1 malformed line\n$/);
  });

  test('a tool name with a line break cannot forge an output line', async () => {
    const forged = { ...records[1]!, tool: 'process_refund\nline 99: fake (agent) Deny → Allow' };
    const path = join(dir, 'forged.ndjson');
    await writeFile(path, ndjson([forged]));
    const run = await perso(['replay', path, demoPath]);
    assert.equal(run.stdout.split('\n').filter((line) => line.startsWith('line 99')).length, 0);
    assert.match(
      run.stdout,
      /^line 1: "process_refund\\nline 99: fake \(agent\) Deny → Allow" \(agent\) Allow → Deny: /,
    );
  });

  test('invalid candidate policy: exit 1 with its errors, before the log is read', async () => {
    const badPolicy = JSON.stringify({
      version: 'bad',
      default_action: 'Deny',
      tools: ['t'],
      rules: [
        {
          tool_name: 't',
          roles: ['r'],
          condition: { NumericCheck: { source: 'Arguments', field: 'a', op: 'lte', value: 1 } },
        },
      ],
    });
    const run = await perso(['replay', join(dir, 'no-such-log.ndjson'), badPolicy]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /error: .*rules\[0\]\.condition\.NumericCheck\.op: unknown op "lte"/);
    assert.match(run.stderr, /invalid candidate policy; fix it/);
    assert.doesNotMatch(run.stderr, /no-such-log/);
  });

  test('missing audit log: exit 1 naming the file', async () => {
    const run = await perso(['replay', join(dir, 'no-such-log.ndjson'), demoPath]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /cannot read audit log ".*no-such-log\.ndjson" \(no such file\)/);
  });

  test('usage errors exit 2: missing POLICY, an extra argument, an unknown flag', async () => {
    for (const args of [
      ['replay', logPath],
      ['replay'],
      ['replay', logPath, demoPath, 'extra'],
      ['replay', logPath, demoPath, '--verbose'],
    ]) {
      const run = await perso(args);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, /usage: perso replay AUDIT\.ndjson POLICY/);
    }
    const help = await perso(['help', 'replay']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: perso replay AUDIT\.ndjson POLICY \[--json\]/);
    const overview = await perso(['--help']);
    assert.match(overview.stdout, /perso replay AUDIT\.ndjson POLICY/);
  });
});
