/**
 * `perso explain POLICY [--request JSON] [--json]`: one request (from `--request`, or the last of
 * stdin's lines) decided by the engine, with the trace of why (src/analysis/). Stdin is one session,
 * as for `perso eval`: the lines before the explained request are decided and recorded first, so
 * its windows, budgets and untrusted content are theirs. The engine's decision is the answer; the
 * trace, evaluated apart from it, must agree, and a disagreement is reported as such (exit 1).
 *
 * Checklist:
 * - a malformed line, or a tool result the evaluator cannot record, exits 1 naming its line;
 * - explaining reads the state and changes nothing; the engine then decides the same call;
 * - a request without its own `now` is explained and decided at one time, read once.
 */
import { text } from 'node:stream/consumers';
import type { ToolCall } from '../call/decision.ts';
import { Perso } from '../perso/perso.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, write } from './cli-io.ts';
import { findDuplicateKey } from './duplicate-key.ts';
import { readPolicyDocument } from './policy-document.ts';
import { policyLabel } from './validate-command.ts';
import { toolCallFromJson } from './tool-call-json.ts';
import { renderExplanation } from './explain-render.ts';
import { errorText } from '../encoding/text.ts';

/** Options of {@link explainCommand}. */
export interface ExplainOptions {
  policy: string;
  /** The request's JSON text, or null to read the session's lines from stdin. */
  request: string | null;
  json: boolean;
}

/** One line of the session: a request, or a tool's result. */
type Step = { call: ToolCall } | { toolResult: Record<string, unknown> };

/** Runs `perso explain`; resolves to the exit code. */
export async function explainCommand(options: ExplainOptions, io: CliIo): Promise<ExitCode> {
  const read = await readPolicyDocument(options.policy);
  if (!read.ok) {
    await write(
      io.stderr,
      `${[...read.lines, `${policyLabel(options.policy)}: invalid policy; fix it (see "perso validate") and run again`].join('\n')}\n`,
    );
    return ExitCode.Failure;
  }
  const steps =
    options.request === null ? parseSession(await text(io.stdin)) : one(options.request);
  if ('error' in steps) {
    await write(io.stderr, `perso: request: ${steps.error}\n`);
    return ExitCode.Failure;
  }
  const perso = await Perso.load({
    policy: read.document.text,
    engine: 'inline',
    onError: () => {},
  });
  try {
    if (!perso.status().ok) {
      await write(
        io.stderr,
        'perso: the engine could not load a policy it validated; run "perso validate" and report this\n',
      );
      return ExitCode.Failure;
    }
    const last = steps.steps.at(-1) as { call: ToolCall; line: number };
    for (const step of steps.steps.slice(0, -1)) {
      if ('call' in step) {
        await perso.evaluate(step.call);
        continue;
      }
      const answer = await perso.recordResult(step.toolResult as never);
      if (!answer.ok) {
        await write(io.stderr, `perso: request: line ${step.line}: ${answer.error}\n`);
        return ExitCode.Failure;
      }
    }
    const call: ToolCall = { ...last.call, now: last.call.now ?? Date.now() / 1000 };
    const explained = await perso.explain(call);
    const decided = await perso.evaluate(call);
    const trace = explained.trace;
    // Bad requests are the engine's alone (the trace reads any value).
    const comparable = decided.kind !== 'invalid_request' && trace !== null;
    const agrees =
      !comparable || (decided.decision === explained.decision && decided.kind === explained.kind);
    const before = steps.steps.length - 1;
    if (options.json) {
      await write(
        io.stdout,
        `${JSON.stringify({ decision: decided.decision, reason: decided.reason, kind: decided.kind, rule: decided.rule ?? null, ...(decided.rememberedApproval ? { rememberedApproval: decided.rememberedApproval } : {}), before, agrees, trace })}\n`,
      );
    } else {
      await write(io.stdout, `${renderExplanation(decided, trace, before).join('\n')}\n`);
    }
    if (!agrees) {
      await write(
        io.stderr,
        `perso: the trace says ${explained.decision} (${explained.kind}) but the engine decided ${decided.decision} (${decided.kind}); the engine's decision stands — please report this with the policy and request\n`,
      );
      return ExitCode.Failure;
    }
    return ExitCode.Ok;
  } finally {
    await perso.close();
  }
}

/**
 * The session's steps, the last a request: one JSON object (which may span lines), or NDJSON lines
 * in `perso eval`'s shape (requests and `{"toolResult": …}` lines).
 */
function parseSession(input: string): { steps: (Step & { line: number })[] } | { error: string } {
  try {
    const whole: unknown = JSON.parse(input);
    if (whole !== null && typeof whole === 'object' && !Array.isArray(whole)) return one(input);
  } catch {
    // Not one JSON value: lines.
  }
  const steps: (Step & { line: number })[] = [];
  const lines = input.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const step = parseLine(line, i + 1);
    if ('error' in step) return step;
    steps.push({ ...step, line: i + 1 });
  }
  if (steps.length === 0)
    return { error: 'no request; pass one JSON request {"tool", "args", "role", ...}' };
  if (!('call' in steps.at(-1)!))
    return {
      error: `line ${steps.at(-1)!.line}: the last line is a tool result; end with the request to explain`,
    };
  return { steps };
}

/** A session of one request (`--request`, or stdin holding one JSON object). */
function one(json: string): { steps: (Step & { line: number })[] } | { error: string } {
  const step = parseLine(json, null);
  if ('error' in step) return step;
  if (!('call' in step))
    return { error: 'a tool result alone explains nothing; end with a request' };
  return { steps: [{ ...step, line: 1 }] };
}

function parseLine(json: string, line: number | null): Step | { error: string } {
  const at = line === null ? '' : `line ${line}: `;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return {
      error: `${at}invalid JSON (${errorText(error)}); pass one JSON request {"tool", "args", "role", ...}${line === null ? '' : ' per line'}`,
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { error: `${at}expected a JSON object {"tool", "args", "role", ...}` };
  const duplicate = findDuplicateKey(json);
  if (duplicate !== null) return { error: `${at}${duplicate}: duplicate key; give each key once` };
  const request = value as Record<string, unknown>;
  if (Object.hasOwn(request, 'toolResult')) {
    const result = request.toolResult;
    if (Object.keys(request).length !== 1)
      return {
        error: `${at}a toolResult line holds only "toolResult"; put tool, role and result inside it`,
      };
    if (result === null || typeof result !== 'object' || Array.isArray(result))
      return { error: `${at}toolResult: expected an object {"tool", "role", "result"}` };
    // As `perso eval` reads a toolResult line.
    const { tool, role, untrusted } = result as Record<string, unknown>;
    if (typeof tool !== 'string' || tool === '')
      return {
        error: `${at}toolResult.tool: expected the name of the tool that returned the result`,
      };
    if (typeof role !== 'string' || role === '')
      return {
        error: `${at}toolResult.role: expected the role of the principal that called the tool`,
      };
    if ((result as Record<string, unknown>).result === undefined)
      return { error: `${at}toolResult.result: missing; give the JSON value the tool returned` };
    if (untrusted !== undefined && typeof untrusted !== 'boolean')
      return { error: `${at}toolResult.untrusted: expected true or false` };
    return {
      toolResult: {
        tool,
        role,
        result: (result as Record<string, unknown>).result,
        ...(untrusted === true ? { untrusted } : {}),
      },
    };
  }
  const call = toolCallFromJson(request);
  if ('now' in request) {
    if (typeof request.now !== 'number' || !Number.isFinite(request.now))
      return { error: `${at}now: expected seconds since the epoch as a number` };
    call.now = request.now;
  }
  if (typeof call.tool !== 'string' || typeof call.role !== 'string')
    return { error: `${at}tool and role: expected strings` };
  return { call };
}
