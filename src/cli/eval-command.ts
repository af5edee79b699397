/**
 * `perso eval POLICY`: NDJSON requests on stdin → one NDJSON decision per line on stdout, in order.
 *
 * Checklist:
 * - an invalid policy exits 1 with its errors on stderr before any request is read;
 * - input is streamed line by line (never read whole), output written with backpressure;
 * - a line that is not UTF-8 or is longer than 16 MiB is a Deny naming the line (ndjson-lines.ts);
 * - every non-blank line gets exactly one output line: a malformed line (bad JSON, not an object,
 *   a duplicated key, a bad "now") is a Deny naming the line, and the run goes on;
 * - a line `{"toolResult": {"tool", "role", "result"}}` hands a tool's result to the evaluator (one
 *   input stream is one session) and is answered `{"recorded": true, "untrusted": …}`, or
 *   `{"error", "line"}` when it cannot be recorded;
 * - a line that cannot be read (not UTF-8, too long, not JSON) and a tool result line that cannot
 *   be recorded may have carried untrusted content: the session is saturated (fail closed: every
 *   value then counts as from untrusted content), as the library does with a result too large.
 */
import type { DecisionResult, ToolCall } from '../call/decision.ts';
import { Perso } from '../perso/perso.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, LineWriter, write } from './cli-io.ts';
import { findDuplicateKey } from './duplicate-key.ts';
import type { JournalRecord } from '../backend/tool-result-journal.ts';
import { ndjsonLines } from './ndjson-lines.ts';
import { toolCallFromJson } from './tool-call-json.ts';
import { policyLabel } from './validate-command.ts';
import { errorText, formatDiagnostic } from '../encoding/text.ts';

/** Options of {@link evalCommand}. */
export interface EvalOptions {
  /** The policy argument as given (path, URL or JSON text). */
  policy: string;
}

/** Runs `perso eval`; resolves to the exit code once stdin ends. */
export async function evalCommand(options: EvalOptions, io: CliIo): Promise<ExitCode> {
  const label = policyLabel(options.policy);
  const perso = await Perso.load({ policy: options.policy, engine: 'inline', onError: () => {} }); // the command prints a failed load itself
  const status = perso.status();
  if (!status.ok) {
    const lines = status.errors.map((error) => `error: ${label}: ${formatDiagnostic(error)}`);
    lines.push(`${label}: invalid policy; fix it (see "perso validate") and run again`);
    await write(io.stderr, `${lines.join('\n')}\n`);
    await perso.close();
    return ExitCode.Failure;
  }
  for (const warning of status.warnings)
    await write(io.stderr, `warning: ${label}: ${formatDiagnostic(warning)}\n`);
  const out = new LineWriter(io.stdout);
  try {
    for await (const line of ndjsonLines(io.stdin)) {
      const lineNumber = line.number;
      if ('error' in line) {
        await saturate(perso);
        await out.push(
          `${JSON.stringify(malformed(perso, `line ${lineNumber}: ${line.error}`, lineNumber))}\n`,
        );
        continue;
      }
      if (line.text.trim() === '') continue;
      const request = parseRequest(line.text, lineNumber);
      if ('toolResult' in request) {
        const answer = await recordToolResult(perso, request.toolResult, lineNumber);
        if ('error' in answer) await saturate(perso);
        await out.push(`${JSON.stringify(answer)}\n`);
        continue;
      }
      if ('error' in request && (request.unread || request.toolResultLine)) await saturate(perso);
      const decision =
        'error' in request
          ? malformed(perso, request.error, lineNumber)
          : await perso.evaluate(request.call);
      await out.push(`${JSON.stringify(decision)}\n`);
    }
  } finally {
    await out.flush();
    await perso.close();
  }
  return ExitCode.Ok;
}

type ParsedRequest =
  | { call: ToolCall }
  | { toolResult: unknown }
  | { error: string; unread?: true; toolResultLine?: true };

/** Saturates the stream's session: a line it could not read may have been a tool result. */
async function saturate(perso: Perso): Promise<void> {
  const mark: JournalRecord = {
    tool: '(unreadable line)',
    result: null,
    untrusted: true,
    saturate: true,
  };
  await perso.recordResult(mark);
}

/** Answers a `{"toolResult": …}` line: recorded (and whether as untrusted content), or why not. */
async function recordToolResult(
  perso: Perso,
  toolResult: unknown,
  lineNumber: number,
): Promise<{ recorded: true; untrusted: boolean } | { error: string; line: number }> {
  const fail = (error: string) => ({ error: `line ${lineNumber}: ${error}`, line: lineNumber });
  if (toolResult === null || typeof toolResult !== 'object' || Array.isArray(toolResult))
    return fail('toolResult: expected an object {"tool", "role", "result"}');
  const { tool, role, result, untrusted } = toolResult as Record<string, unknown>;
  if (typeof tool !== 'string' || tool === '')
    return fail('toolResult.tool: expected the name of the tool that returned the result');
  if (typeof role !== 'string' || role === '')
    return fail('toolResult.role: expected the role of the principal that called the tool');
  if (result === undefined)
    return fail('toolResult.result: missing; give the JSON value the tool returned');
  if (untrusted !== undefined && typeof untrusted !== 'boolean')
    return fail('toolResult.untrusted: expected true or false');
  const answer = await perso.recordResult({
    tool,
    role,
    result,
    ...(untrusted === true ? { untrusted } : {}),
  });
  return answer.ok ? { recorded: true, untrusted: answer.untrusted } : fail(answer.error);
}

function parseRequest(line: string, lineNumber: number): ParsedRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    const detail = errorText(error);
    return {
      error: `line ${lineNumber}: invalid JSON (${detail}); write one JSON request per line`,
      unread: true,
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { error: `line ${lineNumber}: expected a JSON object {"tool", "args", "role", ...}` };
  }
  const duplicate = findDuplicateKey(line);
  const request = value as Record<string, unknown>;
  if (duplicate !== null)
    return {
      error: `line ${lineNumber}: ${duplicate}: duplicate key; give each key once`,
      ...(Object.hasOwn(request, 'toolResult') ? { toolResultLine: true as const } : {}),
    };
  if (Object.hasOwn(request, 'toolResult')) {
    if (Object.keys(request).length !== 1)
      return {
        error: `line ${lineNumber}: a toolResult line holds only "toolResult"; put tool, role and result inside it`,
      };
    return { toolResult: request['toolResult'] };
  }
  const call = toolCallFromJson(request);
  if ('now' in request) {
    const now = request['now'];
    if (typeof now !== 'number' || !Number.isFinite(now)) {
      return { error: `line ${lineNumber}: now: expected seconds since the epoch as a number` };
    }
    call.now = now;
  }
  return { call };
}

function malformed(
  perso: Perso,
  error: string,
  lineNumber: number,
): DecisionResult & { line: number } {
  return {
    decision: 'Deny',
    reason: `invalid request: ${error}`,
    kind: 'invalid_request',
    policyVersion: perso.policyVersion,
    enforced: true,
    line: lineNumber,
  };
}
