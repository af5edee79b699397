// `perso diff`, run from source: each kind of change marked looser, tighter or changed, the exit
// codes, and `--log` listing the recorded calls a change lets through (records made by the library).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditRecord } from '../src/audit/audit-record.ts';
import { Perso } from '../src/perso/perso.ts';
import type { Policy, Rule } from '../src/policy/policy.ts';
import { demoPolicyPath, runPerso } from './support/run-cli.ts';

let dir: string;
let demo: Policy;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'perso-diff-'));
  demo = JSON.parse(await readFile(demoPolicyPath, 'utf8')) as Policy;
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The demo policy changed by `edit`, written to a file; returns its path. */
async function variant(
  file: string,
  edit: (policy: Policy & { rules: Rule[] }) => void,
): Promise<string> {
  const copy = JSON.parse(JSON.stringify(demo)) as Policy & { rules: Rule[] };
  edit(copy);
  const path = join(dir, file);
  await writeFile(path, JSON.stringify(copy));
  return path;
}

const refundCap = (policy: Policy & { rules: Rule[] }) =>
  policy.rules[3]!.condition as { NumericCheck: { op: string; value: number } };
const diff = (...args: string[]) => runPerso(['diff', ...args]);

describe('perso diff: what a change loosens', () => {
  test('the same policy: no change, exit 0', async () => {
    const run = await diff(demoPolicyPath, demoPolicyPath);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'summary: no change in what the policy allows\n');
  });

  test('a raised refund cap is looser: side by side, exit 2; --allow-looser exits 0', async () => {
    const raised = await variant(
      'raised.json',
      (policy) => (refundCap(policy).NumericCheck.value = 1000),
    );
    const run = await diff(demoPolicyPath, raised);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(
      run.stdout,
      '(process_refund, agent): condition changed [looser]\n' +
        '  was: Arguments.amount Lte 500 (rules[3])\n' +
        '  now: Arguments.amount Lte 1000 (rules[3])\n' +
        'summary: 1 looser, 0 tighter, 0 changed (possibly looser); review what got looser, or pass --allow-looser to accept it\n',
    );
    const accepted = await diff(demoPolicyPath, raised, '--allow-looser');
    assert.equal(accepted.code, 0);
    assert.match(accepted.stdout, /looser changes accepted \(--allow-looser\)\n$/);
  });

  test('a lowered cap and a new Deny rule are tighter: exit 0', async () => {
    const tighter = await variant('tighter.json', (policy) => {
      refundCap(policy).NumericCheck.value = 100;
      policy.rules.push({
        id: 'no-prod-export',
        tool_name: 'export_*',
        roles: ['manager', 'admin'],
        effect: 'Deny',
        condition: {
          StringCheck: { source: 'AgentAttributes', field: 'env', op: 'In', value: ['production'] },
        },
      });
    });
    const run = await diff(demoPolicyPath, tighter);
    assert.equal(run.code, 0, run.stdout);
    assert.match(
      run.stdout,
      /^\(process_refund, agent\): condition changed \[tighter\]\n {2}was: Arguments\.amount Lte 500 \(rules\[3\]\)\n {2}now: Arguments\.amount Lte 100 \(rules\[3\]\)$/m,
    );
    // The glob expands against tools: both pairs, one entry.
    assert.match(
      run.stdout,
      /^\(export_data, manager\), \(export_data, admin\): Deny rule added \[tighter\]: AgentAttributes\.env In \["production"\] \(no-prod-export\)$/m,
    );
    assert.match(run.stdout, /^summary: 0 looser, 3 tighter, 0 changed/m);
  });

  test('a condition neither looser nor tighter is "changed", counted as possibly looser: exit 2', async () => {
    const other = await variant('other.json', (policy) =>
      Object.assign(refundCap(policy).NumericCheck, { op: 'Gte', value: 100 }),
    );
    const run = await diff(demoPolicyPath, other);
    assert.equal(run.code, 2);
    assert.match(run.stdout, /^\(process_refund, agent\): condition changed \[changed\]/m);
  });

  test('removing a Deny rule and adding an Ask rule; default_action and mode', async () => {
    const withDeny = await variant('with-deny.json', (policy) => {
      policy.rules.push({
        tool_name: 'view_customer',
        roles: ['agent'],
        effect: 'Deny',
        condition: { Equals: { source: 'AgentAttributes', field: 'suspended', value: true } },
      });
    });
    const swapped = await variant('swapped.json', (policy) => {
      policy.rules.push({
        tool_name: 'view_customer',
        roles: ['agent'],
        effect: 'Ask',
        condition: null,
      });
      policy.default_action = 'Allow';
      policy.mode = 'shadow';
    });
    const run = await diff(withDeny, swapped);
    assert.equal(run.code, 2);
    assert.equal(
      run.stdout,
      'policy: default_action changed [looser]: Deny → Allow\n' +
        '  note: for every (tool, role) no Allow rule names\n' +
        'policy: mode changed [looser]: enforce → shadow\n' +
        '  note: shadow lets every call run\n' +
        '(view_customer, agent): Deny rule removed [looser]: AgentAttributes.suspended Equals true (rules[8])\n' +
        '(view_customer, agent): Ask rule added [tighter]: always (rules[8])\n' +
        'summary: 3 looser, 1 tighter, 0 changed (possibly looser); review what got looser, or pass --allow-looser to accept it\n',
    );
  });

  test('fault: a tighter change on a rate-limited grant is not called tighter (its window is state)', async () => {
    const limited = await variant(
      'limited.json',
      (policy) => (policy.rules[3]!.rate_limit = { max: 5, per_seconds: 60 }),
    );
    const limitedLower = await variant('limited-lower.json', (policy) => {
      policy.rules[3]!.rate_limit = { max: 2, per_seconds: 120 };
      refundCap(policy).NumericCheck.value = 100;
    });
    const run = await diff(limited, limitedLower);
    assert.equal(run.code, 2, run.stdout);
    assert.match(
      run.stdout,
      /^\(process_refund, agent\): condition changed \[changed\]\n.*\n.*\n {2}note: the old rate-limit window is state/m,
    );
    assert.match(
      run.stdout,
      /^\(process_refund, agent\): rate limit changed \[changed\]: 5 per 60 s → 2 per 120 s\n {2}note: the old rate-limit window is state/m,
    );
    // Adding a limit where there was none is tighter: no window existed.
    const added = await diff(demoPolicyPath, limited);
    assert.equal(added.code, 0);
    assert.match(added.stdout, /rate limit changed \[tighter\]: none → 5 per 60 s/);
  });

  test('fault: a key perso diff does not model changed (a rule\'s budget) is "changed", exit 2', async () => {
    const budget = await variant(
      'budget.json',
      (policy) =>
        ((policy.rules[3] as unknown as Record<string, unknown>).budget = {
          sum: 'Arguments.amount',
          max: 1000,
          per_seconds: 86400,
        }),
    );
    const run = await diff(budget, demoPolicyPath);
    assert.equal(run.code, 2);
    assert.match(
      run.stdout,
      /^\(process_refund, agent\): Allow rule keys changed \[changed\]\n {2}was: \{"budget":\{"max":1000,"per_seconds":86400,"sum":"Arguments\.amount"\}\}\n {2}now: \{\}$/m,
    );
  });

  test('an Ask released only by WebAuthn is tighter than one a click releases, and the reverse looser', async () => {
    const ask = (approval?: string) => (policy: Policy & { rules: Rule[] }) => {
      policy.rules.push({
        tool_name: 'export_data',
        roles: ['manager'],
        effect: 'Ask',
        condition: null,
        ...(approval ? { approval } : {}),
      } as Rule);
    };
    const click = await variant('ask-click.json', ask());
    const webauthn = await variant('ask-webauthn.json', ask('webauthn'));
    const up = await diff(click, webauthn);
    assert.equal(up.code, 0, up.stdout);
    assert.match(
      up.stdout,
      /^\(export_data, manager\): Ask rule changed \[tighter\]\n {2}was: always \(rules\[8\]\)\n {2}now: always \(rules\[8\]\) \[approval webauthn\]$/m,
    );
    const down = await diff(webauthn, click);
    assert.equal(down.code, 2);
    assert.match(down.stdout, /^\(export_data, manager\): Ask rule changed \[looser\]/m);
    // The policy's default approval, for Ask rules without their own.
    const policyWide = await variant('ask-policy-webauthn.json', (policy) => {
      ask()(policy);
      (policy as unknown as Record<string, unknown>).approval = 'webauthn';
    });
    const run = await diff(click, policyWide);
    assert.equal(run.code, 0, run.stdout);
    assert.match(
      run.stdout,
      /^policy: approval changed \[tighter\]: click → webauthn\n {2}note: for every Ask rule without its own approval$/m,
    );
    assert.match(run.stdout, /Ask rule changed \[tighter\]/);
  });

  test('an invalid policy exits 1 with its errors, nothing compared', async () => {
    const broken = await variant(
      'broken.json',
      (policy) => (refundCap(policy).NumericCheck.op = 'lte'),
    );
    const run = await diff(demoPolicyPath, broken);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      /^error: .*broken\.json: rules\[3\]\.condition\.NumericCheck\.op: unknown op "lte"/m,
    );
    assert.match(
      run.stderr,
      /broken\.json: invalid policy; fix it \(see "perso validate"\) and run again\n$/,
    );
  });

  test('--json: one object per change (ungrouped), then the summary', async () => {
    const raised = await variant(
      'raised-json.json',
      (policy) => (refundCap(policy).NumericCheck.value = 1000),
    );
    const run = await diff(demoPolicyPath, raised, '--json');
    const lines = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(lines[0], {
      type: 'change',
      tool: 'process_refund',
      role: 'agent',
      what: 'condition changed',
      mark: 'looser',
      was: 'Arguments.amount Lte 500 (rules[3])',
      now: 'Arguments.amount Lte 1000 (rules[3])',
      rule: 'rules[3]',
    });
    assert.deepEqual(lines[1], { type: 'summary', looser: 1, tighter: 0, changed: 0 });
  });
});

describe('perso diff --log: the recorded calls a change lets through', () => {
  test('lists each call the new policy lets through, with both reasons; malformed lines are reported', async () => {
    const records: AuditRecord[] = [];
    const guard = await Perso.load({
      policy: demoPolicyPath,
      audit: { emit: (entry) => void records.push(entry) },
    });
    const refund = (amount: number) => ({
      tool: 'process_refund',
      args: { order_id: 'ORD-1', amount },
      role: 'agent',
      now: 1_764_000_000,
    });
    for (const amount of [50, 700, 1200, 900]) await guard.evaluate(refund(amount));
    await guard.evaluate({
      tool: 'view_customer',
      args: { id: 'C-1' },
      role: 'agent',
      now: 1_764_000_000,
    });
    await guard.close();
    const log = join(dir, 'audit.ndjson');
    await writeFile(log, `${records.map((entry) => JSON.stringify(entry)).join('\n')}\n{"tool":\n`);
    const raised = await variant(
      'raised-log.json',
      (policy) => (refundCap(policy).NumericCheck.value = 1000),
    );

    const run = await diff(demoPolicyPath, raised, '--log', log);
    assert.equal(run.code, 2, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(
      lines[3]!,
      /^line 2: process_refund \(agent\) Deny → Allow: rule matched tool 'process_refund' for role 'agent'; condition passed \(before: .*condition failed: Arguments\.amount = 700 is not Lte 500\)$/,
    );
    assert.match(lines[4]!, /^line 4: process_refund \(agent\) Deny → Allow: .*900/);
    assert.match(lines[5]!, /^line 6: not an audit record: invalid JSON/);
    assert.equal(
      lines[6],
      'summary: 1 looser, 0 tighter, 0 changed (possibly looser); log: replayed 5 records, 2 let through (Deny→Allow 2), 1 malformed line; review what got looser, or pass --allow-looser to accept it',
    );
    assert.equal(lines.length, 7);

    // The reverse change lets nothing through; the malformed line still makes the log unfit: exit 1.
    const reverse = await diff(raised, demoPolicyPath, '--log', log);
    assert.equal(reverse.code, 1);
    assert.match(reverse.stdout, /log: replayed 5 records, 0 let through, 1 malformed line\n$/);
  });

  test('an unreadable log exits 1', async () => {
    const run = await diff(demoPolicyPath, demoPolicyPath, '--log', join(dir, 'none.ndjson'));
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot read audit log ".*none\.ndjson" \(no such file\)/);
  });
});
