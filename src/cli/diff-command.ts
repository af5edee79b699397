/**
 * `perso diff OLD NEW [--allow-looser] [--log AUDIT.ndjson] [--json]`: what a policy change
 * loosens, per (tool, role) (policy-diff.ts), and with `--log`, which recorded calls it lets
 * through: each replayable record decided by both policies, in log order, each on its own engine.
 *
 * Checklist:
 * - both policies must load (errors exit 1 before anything is compared);
 * - exit 2 when any change is looser or possibly looser (`changed`), or a recorded call moves up
 *   (Deny → Ask, Deny → Allow, Ask → Allow), unless `--allow-looser`;
 * - exit 1 when the log cannot be read whole (a malformed line), as `perso replay` does.
 */
import type { Decision } from '../call/decision.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, LineWriter, write } from './cli-io.ts';
import { NotReplayable } from './audit-record-reader.ts';
import { openLog, readAuditLog } from './audit-log.ts';
import type { PolicyChange } from './policy-diff.ts';
import { diffPolicies } from './policy-diff.ts';
import { readPolicyDocument } from './policy-document.ts';
import { ReplayEngine } from './replay-engine.ts';
import { ReplayProgress } from './replay-progress.ts';
import { name } from './replay-command.ts';
import { errorText, escapeControls, quote } from '../encoding/text.ts';

/** Options of {@link diffCommand}. */
export interface DiffOptions {
  /** The policy in force (path, URL or JSON text). */
  before: string;
  /** The candidate policy. */
  after: string;
  /** Accept looser changes: exit 0 instead of 2. */
  allowLooser: boolean;
  /** An audit log to replay with both policies, or null. */
  log: string | null;
  /** NDJSON output. */
  json: boolean;
}

/** Exit code when the change loosens something (`perso diff`). */
export const LOOSER_EXIT = 2;

const RANK: Readonly<Record<Decision, number>> = { Deny: 0, Ask: 1, Allow: 2 };

/** Runs `perso diff`; resolves to the exit code. */
export async function diffCommand(options: DiffOptions, io: CliIo): Promise<ExitCode> {
  const before = await readPolicyDocument(options.before);
  const after = await readPolicyDocument(options.after);
  if (!before.ok || !after.ok) {
    const lines: string[] = [];
    for (const [input, read] of [
      [options.before, before],
      [options.after, after],
    ] as const) {
      if (read.ok) continue;
      lines.push(
        ...read.lines,
        `${input.trimStart().startsWith('{') ? '(inline JSON)' : input}: invalid policy; fix it (see "perso validate") and run again`,
      );
    }
    await write(io.stderr, `${lines.join('\n')}\n`);
    return ExitCode.Failure;
  }
  const changes = diffPolicies(before.document.policy, after.document.policy);
  const out = new LineWriter(io.stdout);
  if (options.json)
    for (const change of changes)
      await out.push(`${JSON.stringify({ type: 'change', ...change })}\n`);
  else for (const line of renderChanges(changes)) await out.push(`${line}\n`);
  const counts = { looser: 0, tighter: 0, changed: 0 };
  for (const change of changes) counts[change.mark]++;

  let replay: LogReplay | null = null;
  if (options.log !== null) {
    replay = await replayBoth(
      options.log,
      before.document.text,
      after.document.text,
      options.json,
      out,
      io,
    );
    if (replay === null) {
      await out.flush();
      return ExitCode.Failure;
    }
  }
  const loosens = counts.looser + counts.changed + (replay?.letThrough ?? 0) > 0;
  const exit =
    loosens && !options.allowLooser
      ? LOOSER_EXIT
      : replay !== null && replay.malformed > 0
        ? ExitCode.Failure
        : ExitCode.Ok;
  if (options.json) {
    await out.push(
      `${JSON.stringify({ type: 'summary', ...counts, ...(replay === null ? {} : { log: replay }) })}\n`,
    );
  } else {
    const parts =
      changes.length === 0
        ? ['no change in what the policy allows']
        : [
            `${counts.looser} looser, ${counts.tighter} tighter, ${counts.changed} changed (possibly looser)`,
          ];
    if (replay !== null) parts.push(replayText(replay));
    const verdict = !loosens
      ? ''
      : options.allowLooser
        ? '; looser changes accepted (--allow-looser)'
        : '; review what got looser, or pass --allow-looser to accept it';
    await out.push(`summary: ${parts.join('; ')}${verdict}\n`);
  }
  await out.flush();
  return exit;
}

/** Changes as text: pairs with the same change share one entry. */
export function renderChanges(changes: readonly PolicyChange[]): string[] {
  const groups = new Map<string, { pairs: string[]; change: PolicyChange }>();
  for (const change of changes) {
    const pair =
      change.tool === undefined ? 'policy' : `(${name(change.tool)}, ${name(change.role!)})`;
    const body = JSON.stringify([
      change.what,
      change.mark,
      change.was,
      change.now,
      change.rule,
      change.note,
    ]);
    const group = groups.get(body);
    if (group === undefined) groups.set(body, { pairs: [pair], change });
    else group.pairs.push(pair);
  }
  const lines: string[] = [];
  for (const { pairs, change } of groups.values()) {
    const head = `${pairs.join(', ')}: ${change.what} [${change.mark}]`;
    if (change.was !== undefined && change.now !== undefined) {
      // Conditions and rules side by side; a policy-wide value or a rate limit fits on one line.
      const sideBySide = change.tool !== undefined && change.what !== 'rate limit changed';
      if (sideBySide)
        lines.push(
          head,
          `  was: ${escapeControls(change.was)}`,
          `  now: ${escapeControls(change.now)}`,
        );
      else lines.push(`${head}: ${escapeControls(change.was)} → ${escapeControls(change.now)}`);
    } else {
      lines.push(`${head}: ${escapeControls(change.now ?? change.was ?? '')}`);
    }
    if (change.note !== undefined) lines.push(`  note: ${change.note}`);
  }
  return lines;
}

/** What replaying the log with both policies found. */
interface LogReplay {
  replayed: number;
  /** Records the new policy decides more permissively than the old one. */
  letThrough: number;
  /** Those by `"From→To"`. */
  moves: Record<string, number>;
  notReplayable: Record<NotReplayable, number>;
  malformed: number;
}

async function replayBoth(
  path: string,
  beforeText: string,
  afterText: string,
  json: boolean,
  out: LineWriter,
  io: CliIo,
): Promise<LogReplay | null> {
  const [old, now] = [await ReplayEngine.load(beforeText), await ReplayEngine.load(afterText)];
  if (old.engine === null || now.engine === null) {
    await write(
      io.stderr,
      'perso: the engine could not load a policy it validated; run "perso validate" on both and report this\n',
    );
    return null;
  }
  const oldEngine = old.engine;
  const newEngine = now.engine;
  const input = await openLog(path, io);
  if (typeof input === 'string') {
    await write(io.stderr, `perso: ${input}\n`);
    return null;
  }
  const result: LogReplay = {
    replayed: 0,
    letThrough: 0,
    moves: {},
    notReplayable: {
      [NotReplayable.ArgsHashed]: 0,
      [NotReplayable.NoArgs]: 0,
      [NotReplayable.Fault]: 0,
    },
    malformed: 0,
  };
  const progress = new ReplayProgress(io.stderr, input.size);
  try {
    await readAuditLog(input.stream, progress, {
      malformed: (line, error) => {
        result.malformed++;
        return out.push(
          `${json ? JSON.stringify({ type: 'malformed', line, error }) : `line ${line}: not an audit record: ${escapeControls(error)}; skipped`}\n`,
        );
      },
      skipped: (why) => {
        result.notReplayable[why]++;
      },
      // Untrusted content, rebuilt in log order for both policies.
      result: async (_line, reader) => {
        oldEngine.recordResult(reader.result!);
        newEngine.recordResult(reader.result!);
        if (oldEngine.faulted) await oldEngine.recover();
        if (newEngine.faulted) await newEngine.recover();
      },
      record: async (line, reader, nowSeconds) => {
        const was = oldEngine.decide(reader.toolCall, nowSeconds);
        const is = newEngine.decide(reader.toolCall, nowSeconds);
        result.replayed++;
        if (oldEngine.faulted) await oldEngine.recover();
        if (newEngine.faulted) await newEngine.recover();
        if (RANK[is.decision] <= RANK[was.decision]) return;
        result.letThrough++;
        const move = `${was.decision}→${is.decision}`;
        result.moves[move] = (result.moves[move] ?? 0) + 1;
        const { tool, role } = reader.call;
        const text = json
          ? JSON.stringify({
              type: 'let-through',
              line,
              id: reader.id,
              tool,
              role,
              from: was.decision,
              to: is.decision,
              reason: is.reason,
              was: was.reason,
              rule: is.rule ?? null,
            })
          : `line ${line}: ${name(tool)} (${name(role)}) ${was.decision} → ${is.decision}: ${escapeControls(is.reason)} (before: ${escapeControls(was.reason)})`;
        await out.push(`${text}\n`);
      },
    });
  } catch (error) {
    progress.done(null);
    await write(
      io.stderr,
      `perso: cannot read ${quote(path, 200)} (${errorText(error)}); check the file and run again\n`,
    );
    return null;
  }
  progress.done(
    result.replayed +
      result.malformed +
      Object.values(result.notReplayable).reduce((a, b) => a + b, 0),
  );
  return result;
}

function replayText(replay: LogReplay): string {
  const moves = Object.entries(replay.moves).map(([move, count]) => `${move} ${count}`);
  let text = `log: replayed ${replay.replayed} ${replay.replayed === 1 ? 'record' : 'records'}, ${replay.letThrough} let through${moves.length > 0 ? ` (${moves.join(', ')})` : ''}`;
  const skipped = Object.entries(replay.notReplayable).filter(([, count]) => count > 0);
  const skippedCount = skipped.reduce((sum, [, count]) => sum + count, 0);
  if (skippedCount > 0)
    text += `, ${skippedCount} not replayable (${skipped.map(([why, count]) => `${why} ${count}`).join(', ')})`;
  if (replay.malformed > 0)
    text += `, ${replay.malformed} malformed ${replay.malformed === 1 ? 'line' : 'lines'}`;
  return text;
}
