/**
 * `perso replay AUDIT.ndjson POLICY`: decides recorded calls again with a candidate policy and
 * lists every record whose decision would change (DESIGN §5), so CI can gate a policy change.
 *
 * Checklist:
 * - an invalid candidate policy exits 1 with its errors before any record is read;
 * - the log is streamed line by line (ndjson-lines.ts: not UTF-8 or over 16 MiB is a malformed
 *   line), and every malformed line is reported with its number while the run goes on;
 * - a record is replayed only when it holds everything the decision used: its args in clear (not
 *   `argsSha256`) and a decision the policy made (not a fault: `invalid_request`, `no_policy`,
 *   `engine_fault`); the others are counted as not replayable, never guessed at;
 * - records are decided in log order on one engine, at their recorded `now` (or `time`), so rate
 *   limits and budgets count as they did; an Ask a person approved (by a click) is approved again,
 *   so it spends what it spent live;
 * - exit 0 only when every line was read and no decision would change: a change or a malformed
 *   line exits 1 (a log that could not be read whole cannot vouch for a policy).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { canonicalizeArgs } from '../canonical-args.ts';
import type { Decision, DecisionResult, JsonObject, ToolCall } from '../decision.ts';
import { Perso } from '../perso.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, LineWriter, write } from './cli-io.ts';
import { findDuplicateKey } from './duplicate-key.ts';
import { ndjsonLines } from './ndjson-lines.ts';
import { formatDiagnostic, policyLabel } from './validate-command.ts';

/** Options of {@link replayCommand}. */
export interface ReplayOptions {
  /** The audit log: a file path, or `-` for stdin. */
  audit: string;
  /** The candidate policy as given (path, URL or JSON text). */
  policy: string;
  /** NDJSON output: one object per change or malformed line, then a summary object. */
  json: boolean;
}

/** One record whose decision would change. */
export interface ReplayChange {
  type: 'change';
  /** The line of the log the record is on (1-based). */
  line: number;
  /** The record's id, when it has one. */
  id: string | null;
  tool: string;
  role: string;
  /** The recorded decision (an Ask a person approved counts as Ask). */
  from: Decision;
  /** The candidate policy's decision. */
  to: Decision;
  /** The candidate policy's reason. */
  reason: string;
  /** The recorded reason. */
  was: string;
  /** The candidate policy's deciding rule, or `null`. */
  rule: string | null;
}

/** What a replay found, printed last. */
export interface ReplaySummary {
  type: 'summary';
  /** Records decided again. */
  replayed: number;
  /** Of those, how many would change. */
  changed: number;
  /** Changes by `"From→To"`. */
  changes: Record<string, number>;
  /** Records that could not be replayed, by why. */
  notReplayable: Record<NotReplayable, number>;
  /** Lines that are not audit records. */
  malformed: number;
}

/** Why a record cannot be replayed. */
export const NotReplayable = Object.freeze({
  /** The host chose `hashArgs`: only the args' SHA-256 was recorded. */
  ArgsHashed: 'args hashed',
  /** Neither args nor their hash: the call's args could not be read as JSON. */
  NoArgs: 'no args',
  /** The decision came from a fault (bad request, no policy, engine fault), not from the policy. */
  Fault: 'fault',
} as const);
/** Why a record cannot be replayed; see {@link NotReplayable}. */
export type NotReplayable = (typeof NotReplayable)[keyof typeof NotReplayable];

const DECISIONS: ReadonlySet<string> = new Set(['Allow', 'Deny', 'Ask']);
const FAULT_KINDS: ReadonlySet<string> = new Set(['invalid_request', 'no_policy', 'engine_fault']);

/** Runs `perso replay`; resolves to the exit code once the log is read. */
export async function replayCommand(options: ReplayOptions, io: CliIo): Promise<ExitCode> {
  const label = policyLabel(options.policy);
  const perso = await Perso.load({ policy: options.policy, engine: 'inline' });
  const status = perso.status();
  if (!status.ok) {
    const lines = status.errors.map((error) => `error: ${label}: ${formatDiagnostic(error)}`);
    lines.push(`${label}: invalid candidate policy; fix it (see "perso validate") and run again`);
    await write(io.stderr, `${lines.join('\n')}\n`);
    await perso.close();
    return ExitCode.Failure;
  }
  for (const warning of status.warnings) await write(io.stderr, `warning: ${label}: ${formatDiagnostic(warning)}\n`);

  const input = await openLog(options.audit, io);
  if (typeof input === 'string') {
    await write(io.stderr, `perso: ${input}\n`);
    await perso.close();
    return ExitCode.Failure;
  }
  const summary: ReplaySummary = {
    type: 'summary',
    replayed: 0,
    changed: 0,
    changes: {},
    notReplayable: { [NotReplayable.ArgsHashed]: 0, [NotReplayable.NoArgs]: 0, [NotReplayable.Fault]: 0 },
    malformed: 0,
  };
  const out = new LineWriter(io.stdout);
  const report = (text: string, object: object): Promise<void> => out.push(`${options.json ? JSON.stringify(object) : text}\n`);
  try {
    for await (const line of ndjsonLines(input)) {
      const parsed = 'error' in line ? { error: line.error } : line.text.trim() === '' ? null : parseRecord(line.text);
      if (parsed === null) continue;
      if ('error' in parsed) {
        summary.malformed++;
        await report(`line ${line.number}: not an audit record: ${oneLine(parsed.error)}; skipped`, { type: 'malformed', line: line.number, error: parsed.error });
        continue;
      }
      if ('skip' in parsed) {
        summary.notReplayable[parsed.skip]++;
        continue;
      }
      const { record, call } = parsed;
      const decided: DecisionResult = await perso.evaluate(call);
      // A person approved it then: approve it again (a click approval), so that it spends the
      // rule's rate limit and budget as the live approval did, and later records see the same state.
      if (record.approved && decided.decision === 'Ask' && decided.approval !== undefined && decided.approvalKind === undefined) {
        await perso.approve(decided.approval.nonce, call);
      }
      summary.replayed++;
      if (decided.decision === record.from) continue;
      const change: ReplayChange = {
        type: 'change',
        line: line.number,
        id: record.id,
        tool: call.tool,
        role: call.role,
        from: record.from,
        to: decided.decision,
        reason: decided.reason,
        was: record.reason,
        rule: decided.rule ?? null,
      };
      summary.changed++;
      const key = `${change.from}→${change.to}`;
      summary.changes[key] = (summary.changes[key] ?? 0) + 1;
      await report(
        `line ${change.line}: ${name(change.tool)} (${name(change.role)}) ${change.from} → ${change.to}: ${oneLine(change.reason)} (was: ${oneLine(change.was)})`,
        change,
      );
    }
    await report(summaryText(summary), summary);
  } catch (error) {
    await out.flush();
    await write(io.stderr, `perso: cannot read ${JSON.stringify(options.audit)} (${error instanceof Error ? error.message : String(error)}); check the file and run again\n`);
    return ExitCode.Failure;
  } finally {
    await out.flush();
    await perso.close();
  }
  return summary.changed > 0 || summary.malformed > 0 ? ExitCode.Failure : ExitCode.Ok;
}

/** The summary line: `replayed 120 records: 7 would change (Allow→Deny 5, ...), 3 not replayable (args hashed 3), 1 malformed line`. */
export function summaryText(summary: ReplaySummary): string {
  const parts: string[] = [];
  const changes = Object.entries(summary.changes).map(([key, count]) => `${key} ${count}`);
  parts.push(summary.changed === 0 ? 'none would change' : `${summary.changed} would change (${changes.join(', ')})`);
  const skipped = Object.entries(summary.notReplayable).filter(([, count]) => count > 0);
  const skippedCount = skipped.reduce((sum, [, count]) => sum + count, 0);
  if (skippedCount > 0) parts.push(`${skippedCount} not replayable (${skipped.map(([why, count]) => `${why} ${count}`).join(', ')})`);
  if (summary.malformed > 0) parts.push(`${summary.malformed} malformed ${summary.malformed === 1 ? 'line' : 'lines'}`);
  return `replayed ${summary.replayed} ${summary.replayed === 1 ? 'record' : 'records'}: ${parts.join(', ')}`;
}

type ParsedRecord =
  | { record: { id: string | null; from: Decision; reason: string; approved: boolean }; call: ToolCall }
  | { skip: NotReplayable }
  | { error: string };

/** Reads one log line as an audit record, and the call to decide again when it is replayable. */
function parseRecord(text: string): ParsedRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `invalid JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'expected a JSON object (one audit record per line)' };
  const duplicate = findDuplicateKey(text, 'record');
  if (duplicate !== null) return { error: `${duplicate}: duplicate key` };
  const record = value as Record<string, unknown>;
  const field = (key: string): unknown => (Object.hasOwn(record, key) ? record[key] : undefined);
  const { tool, role, decision, reason, kind } = Object.fromEntries(['tool', 'role', 'decision', 'reason', 'kind'].map((key) => [key, field(key)]));
  for (const [key, given] of [['tool', tool], ['role', role], ['reason', reason], ['kind', kind]] as const) {
    if (typeof given !== 'string') return { error: `${key}: expected a string` };
  }
  if (typeof decision !== 'string' || !DECISIONS.has(decision)) return { error: 'decision: expected "Allow", "Deny" or "Ask"' };
  const id = field('id');
  if (id !== undefined && typeof id !== 'string') return { error: 'id: expected a string' };
  const now = field('now');
  if (now !== undefined && (typeof now !== 'number' || !Number.isFinite(now))) return { error: 'now: expected seconds since the epoch as a number' };
  const time = field('time');
  if (time !== undefined && (typeof time !== 'string' || Number.isNaN(Date.parse(time)))) return { error: 'time: expected an ISO 8601 date' };
  const args = field('args');
  const agentAttributes = field('agentAttributes');
  const resourceAttributes = field('resourceAttributes');
  for (const [key, given] of [['agentAttributes', agentAttributes], ['resourceAttributes', resourceAttributes]] as const) {
    if (given !== undefined && !isObject(given)) return { error: `${key}: expected a JSON object` };
  }

  if (FAULT_KINDS.has(kind as string)) return { skip: NotReplayable.Fault };
  if (args === undefined) return { skip: field('argsSha256') !== undefined ? NotReplayable.ArgsHashed : NotReplayable.NoArgs };
  // Recorded args were canonical: ones that are not (a "__proto__" key...) did not come from perso.
  const canonical = canonicalizeArgs(args);
  if (!canonical.ok) return { error: canonical.error };

  const call: ToolCall = { tool: tool as string, args: canonical.value, role: role as string };
  if (agentAttributes !== undefined) call.agentAttributes = agentAttributes as JsonObject;
  if (resourceAttributes !== undefined) call.resourceAttributes = resourceAttributes as JsonObject;
  // Older records lack `now`: the time the record was made is within a moment of it.
  const seconds = now ?? (time === undefined ? undefined : Date.parse(time as string) / 1000);
  if (seconds !== undefined) call.now = seconds as number;
  // An Ask a person approved was recorded as Allow: the policy itself said Ask.
  const from = decision === 'Allow' && kind === 'ask_by_rule' ? 'Ask' : (decision as Decision);
  return { record: { id: id ?? null, from, reason: reason as string, approved: from === 'Ask' && decision === 'Allow' }, call };
}

async function openLog(path: string, io: CliIo): Promise<Readable | string> {
  if (path === '-') return io.stdin;
  const stream = createReadStream(path);
  return new Promise((resolve) => {
    stream.once('open', () => resolve(stream));
    stream.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ENOENT' ? 'no such file' : error.code === 'EISDIR' ? 'a directory' : error.message;
      resolve(`cannot read audit log ${JSON.stringify(path)} (${why}); pass an NDJSON audit log, or - for stdin`);
    });
  });
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A tool or role name as printed: bare when plain, JSON-quoted otherwise (a name cannot forge a line). */
function name(text: string): string {
  return /^[\w.:@/-]{1,128}$/.test(text) ? text : JSON.stringify(text.length > 128 ? `${text.slice(0, 128)}…` : text);
}

/** A reason on one line: line breaks and other controls escaped, so a record cannot forge output lines. */
function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
