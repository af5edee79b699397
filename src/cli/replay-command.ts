/**
 * `perso replay AUDIT.ndjson POLICY`: decides recorded calls again with a candidate policy and
 * lists every record whose decision would change (docs/cli.md), so CI can gate a policy change.
 *
 * Checklist:
 * - an invalid candidate policy exits 1 with its errors before any record is read;
 * - the log is streamed in blocks of whole lines (ndjson-blocks.ts: not UTF-8 or over 16 MiB is a
 *   malformed line), and every malformed line is reported with its number while the run goes on;
 * - a record is replayed only when it holds everything the decision used (audit-record-reader.ts);
 *   the others are counted as not replayable, never guessed at;
 * - records are decided in log order on one engine, at their recorded `now` (or `time`), so rate
 *   limits and budgets count as they did; an Ask a person approved (by a click) is approved again,
 *   so it spends what it spent live, but only when the candidate asks by the same rule for the same
 *   kind of approval: else it is the Deny the live approval ledger gives (replay-engine.ts), a change;
 * - exit 0 only when every line was read and no decision would change: a change or a malformed
 *   line exits 1 (a log that could not be read whole cannot vouch for a policy);
 * - memory stays flat: one block of lines, one reused call, and output written with backpressure.
 */
import type { Decision } from '../call/decision.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, LineWriter, write } from './cli-io.ts';
import { NotReplayable } from './audit-record-reader.ts';
import { openLog, readAuditLog } from './audit-log.ts';
import { ReplayProgress } from './replay-progress.ts';
import { ReplayEngine } from './replay-engine.ts';
import { policyLabel } from './validate-command.ts';
import { resolvePolicySource } from '../policy/policy-source.ts';
import { errorText, escapeControls, formatDiagnostic, quote } from '../encoding/text.ts';

export { NotReplayable } from './audit-record-reader.ts';
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
  /** Tool results handed to the engine again (untrusted content rebuilt in log order). */
  results: number;
  /** Of those, results whose value the log withholds (`hashArgs`, too large) that this policy counts as untrusted: their sessions are tainted everywhere. */
  withheld: number;
  /**
   * Tools this policy counts as untrusted that ran in the log (an Allow) without any result
   * recorded: their untrusted content could not be rebuilt (a log from before results were
   * recorded, or a tool the recording policy trusted).
   */
  unrebuilt: string[];
}

/** Runs `perso replay`; resolves to the exit code once the log is read. */
export async function replayCommand(options: ReplayOptions, io: CliIo): Promise<ExitCode> {
  const label = policyLabel(options.policy);
  const candidate = await loadCandidate(options.policy, label, io);
  if (candidate === null) return ExitCode.Failure;

  const input = await openLog(options.audit, io);
  if (typeof input === 'string') {
    await write(io.stderr, `perso: ${input}\n`);
    return ExitCode.Failure;
  }
  const summary: ReplaySummary = {
    type: 'summary',
    replayed: 0,
    changed: 0,
    changes: {},
    notReplayable: {
      [NotReplayable.ArgsHashed]: 0,
      [NotReplayable.NoArgs]: 0,
      [NotReplayable.Fault]: 0,
    },
    malformed: 0,
    results: 0,
    withheld: 0,
    unrebuilt: [],
  };
  const untrustedTools = new Set(candidate.untrustedTools);
  /** Candidate-untrusted tools that ran, and tools whose results the log holds. */
  const ran = new Set<string>();
  const resultTools = new Set<string>();
  const out = new LineWriter(io.stdout);
  const report = (text: string, object: object): Promise<void> =>
    out.push(`${options.json ? JSON.stringify(object) : text}\n`);
  const progress = new ReplayProgress(io.stderr, input.size);
  try {
    await readAuditLog(input.stream, progress, {
      malformed: (line, error) => {
        summary.malformed++;
        return report(`line ${line}: not an audit record: ${escapeControls(error)}; skipped`, {
          type: 'malformed',
          line,
          error,
        });
      },
      skipped: (why) => {
        summary.notReplayable[why]++;
      },
      result: (line, reader) => {
        const result = reader.result!;
        resultTools.add(result.tool);
        const outcome = candidate.recordResult(result);
        if (!outcome.ok) {
          summary.malformed++;
          return report(
            `line ${line}: tool result not recorded: ${escapeControls(outcome.error)}; skipped`,
            { type: 'malformed', line, error: outcome.error },
          );
        }
        summary.results++;
        if (outcome.withheld) summary.withheld++;
        return candidate.faulted ? candidate.recover() : undefined;
      },
      record: (line, reader, nowSeconds) => {
        const decided = candidate.decide(reader.toolCall, nowSeconds, reader.approval);
        // The tool ran: an Allow, or an Ask a person approved (an Ask alone ran nothing).
        if ((reader.from === 'Allow' || reader.approved) && untrustedTools.has(reader.call.tool))
          ran.add(reader.call.tool);
        summary.replayed++;
        if (decided.decision === reader.from)
          return candidate.faulted ? candidate.recover() : undefined;
        const change: ReplayChange = {
          type: 'change',
          line,
          id: reader.id,
          tool: reader.call.tool,
          role: reader.call.role,
          from: reader.from,
          to: decided.decision,
          reason: decided.reason,
          was: reader.reason,
          rule: decided.rule ?? null,
        };
        summary.changed++;
        const key = `${change.from}→${change.to}`;
        summary.changes[key] = (summary.changes[key] ?? 0) + 1;
        const written = report(
          `line ${change.line}: ${name(change.tool)} (${name(change.role)}) ${change.from} → ${change.to}: ${escapeControls(change.reason)} (was: ${escapeControls(change.was)})`,
          change,
        );
        return candidate.faulted ? written.then(() => candidate.recover()) : written;
      },
    });
    summary.unrebuilt = [...ran].filter((tool) => !resultTools.has(tool)).sort();
    if (summary.unrebuilt.length > 0 && !options.json)
      await out.push(`${unrebuiltText(summary.unrebuilt)}\n`);
    progress.done(
      summary.replayed +
        summary.results +
        summary.malformed +
        Object.values(summary.notReplayable).reduce((a, b) => a + b, 0),
    );
    await report(summaryText(summary), summary);
  } catch (error) {
    progress.done(null);
    await out.flush();
    await write(
      io.stderr,
      `perso: cannot read ${quote(options.audit, 200)} (${errorText(error)}); check the file and run again\n`,
    );
    return ExitCode.Failure;
  } finally {
    await out.flush();
  }
  // Untrusted content the log cannot rebuild leaves decisions unvouched for: fail closed.
  return summary.changed > 0 || summary.malformed > 0 || summary.unrebuilt.length > 0
    ? ExitCode.Failure
    : ExitCode.Ok;
}

/** Says which tools' untrusted content is not in the log. */
function unrebuiltText(tools: readonly string[]): string {
  return `untrusted content not in the log: ${tools.map(name).join(', ')} ran but none of ${tools.length === 1 ? 'its' : 'their'} results ${tools.length === 1 ? 'is' : 'are'} recorded (a log from before perso recorded tool results, or a tool the recording policy trusted), so decisions that read SessionUntrusted or FromUntrusted may differ from the live ones; record a new log with this policy`;
}

/** Loads the candidate policy; prints its errors (and returns null) or its warnings. */
async function loadCandidate(
  policy: string,
  label: string,
  io: CliIo,
): Promise<ReplayEngine | null> {
  const resolved = await resolvePolicySource(policy);
  const loaded = resolved.ok
    ? await ReplayEngine.load(resolved.text)
    : {
        load: {
          ok: false as const,
          errors: [{ severity: 'error' as const, path: 'policy', message: resolved.error }],
          warnings: [],
        },
        engine: null,
      };
  if (!loaded.load.ok || loaded.engine === null) {
    const lines = (loaded.load.ok ? [] : loaded.load.errors).map(
      (error) => `error: ${label}: ${formatDiagnostic(error)}`,
    );
    lines.push(`${label}: invalid candidate policy; fix it (see "perso validate") and run again`);
    await write(io.stderr, `${lines.join('\n')}\n`);
    return null;
  }
  for (const warning of loaded.load.warnings)
    await write(io.stderr, `warning: ${label}: ${formatDiagnostic(warning)}\n`);
  return loaded.engine;
}

/** The summary line: `replayed 120 records: 7 would change (Allow→Deny 5, ...), 3 not replayable (args hashed 3), 1 malformed line`. */
export function summaryText(summary: ReplaySummary): string {
  const parts: string[] = [];
  const changes = Object.entries(summary.changes).map(([key, count]) => `${key} ${count}`);
  parts.push(
    summary.changed === 0
      ? 'none would change'
      : `${summary.changed} would change (${changes.join(', ')})`,
  );
  const skipped = Object.entries(summary.notReplayable).filter(([, count]) => count > 0);
  const skippedCount = skipped.reduce((sum, [, count]) => sum + count, 0);
  if (skippedCount > 0)
    parts.push(
      `${skippedCount} not replayable (${skipped.map(([why, count]) => `${why} ${count}`).join(', ')})`,
    );
  if (summary.malformed > 0)
    parts.push(`${summary.malformed} malformed ${summary.malformed === 1 ? 'line' : 'lines'}`);
  if (summary.withheld > 0)
    parts.push(
      `${summary.withheld} untrusted ${summary.withheld === 1 ? 'result' : 'results'} withheld (${summary.withheld === 1 ? 'its session counts' : 'their sessions count'} as untrusted everywhere)`,
    );
  if (summary.unrebuilt.length > 0)
    parts.push(`untrusted content not rebuilt (${summary.unrebuilt.map(name).join(', ')})`);
  const results =
    summary.results > 0
      ? ` and ${summary.results} tool ${summary.results === 1 ? 'result' : 'results'}`
      : '';
  return `replayed ${summary.replayed} ${summary.replayed === 1 ? 'record' : 'records'}${results}: ${parts.join(', ')}`;
}

/** A tool or role name as printed: bare when plain, JSON-quoted otherwise (a name cannot forge a line). */
export function name(text: string): string {
  return /^[\w.:@/-]{1,128}$/.test(text) ? text : quote(text, 128);
}
