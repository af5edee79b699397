/**
 * `perso explain POLICY [--request JSON] [--json]`: one request (from `--request` or stdin) decided
 * by the engine, with the trace of why (explain-trace.ts). The engine's decision is the answer; the
 * trace, evaluated apart from it, must agree, and a disagreement is reported as such (exit 1).
 */
import { text } from 'node:stream/consumers';
import type { ToolCall } from '../call/decision.ts';
import type { Verdict } from '../engine/types.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, write } from './cli-io.ts';
import { findDuplicateKey } from './duplicate-key.ts';
import type { CallTrace, ConditionTrace, RuleTrace } from '../analysis/call-trace.ts';
import type { BudgetState } from '../analysis/window-state.ts';
import { traceCall } from '../analysis/call-trace.ts';
import { readPolicyDocument } from './policy-document.ts';
import { ReplayEngine } from './replay-engine.ts';
import { policyLabel } from './validate-command.ts';
import { toolCallFromJson } from './tool-call-json.ts';
import { errorText, escapeControls } from '../encoding/text.ts';

/** Options of {@link explainCommand}. */
export interface ExplainOptions {
  policy: string;
  /** The request's JSON text, or null to read it from stdin. */
  request: string | null;
  json: boolean;
}

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
  const requestText = options.request ?? (await text(io.stdin));
  const request = parseRequest(requestText);
  if ('error' in request) {
    await write(io.stderr, `perso: request: ${request.error}\n`);
    return ExitCode.Failure;
  }
  const { engine } = await ReplayEngine.load(read.document.text);
  if (engine === null) {
    await write(
      io.stderr,
      'perso: the engine could not load a policy it validated; run "perso validate" and report this\n',
    );
    return ExitCode.Failure;
  }
  const now = request.call.now ?? Date.now() / 1000;
  const verdict = engine.decide(request.call, now);
  // One call on a fresh engine: nothing counted yet.
  const trace = traceCall(
    read.document.policy,
    request.call as unknown as Parameters<typeof traceCall>[1],
    { now, counted: [] },
  );
  // Bad requests are the engine's alone (the trace reads any value).
  const comparable = verdict.kind !== 'invalid_request';
  const agrees = !comparable || verdict.decision === trace.decision;
  if (options.json) {
    await write(
      io.stdout,
      `${JSON.stringify({ decision: verdict.decision, reason: verdict.reason, kind: verdict.kind, rule: verdict.rule ?? null, agrees, trace })}\n`,
    );
  } else {
    await write(io.stdout, `${render(verdict, trace).join('\n')}\n`);
  }
  if (!agrees) {
    await write(
      io.stderr,
      `perso: the trace says ${trace.decision} but the engine decided ${verdict.decision}; the engine's decision stands — please report this with the policy and request\n`,
    );
    return ExitCode.Failure;
  }
  return ExitCode.Ok;
}

function parseRequest(json: string): { call: ToolCall } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return {
      error: `invalid JSON (${errorText(error)}); pass one JSON request {"tool", "args", "role", ...}`,
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { error: 'expected a JSON object {"tool", "args", "role", ...}' };
  const duplicate = findDuplicateKey(json);
  if (duplicate !== null) return { error: `${duplicate}: duplicate key; give each key once` };
  const request = value as Record<string, unknown>;
  const call = toolCallFromJson(request);
  if ('now' in request) {
    if (typeof request.now !== 'number' || !Number.isFinite(request.now))
      return { error: 'now: expected seconds since the epoch as a number' };
    call.now = request.now;
  }
  if (typeof call.tool !== 'string' || typeof call.role !== 'string')
    return { error: 'tool and role: expected strings' };
  return { call };
}

/** The trace as text. */
export function render(verdict: Verdict, trace: CallTrace): string[] {
  const lines = [
    `decision: ${verdict.decision} (${verdict.kind}${verdict.rule === undefined ? '' : `, ${verdict.rule}`})`,
    `reason: ${escapeControls(verdict.reason)}`,
  ];
  if (!trace.entry) {
    lines.push(
      `entry: no rule names (${trace.tool}, ${trace.role}): default_action ${trace.defaultAction}`,
    );
    return lines;
  }
  lines.push(`entry: (${trace.tool}, ${trace.role})`);
  const rules = (label: string, list: readonly RuleTrace[], holds: string) => {
    if (list.length === 0) lines.push(`${label}: none`);
    for (const rule of list) {
      lines.push(
        `${label} ${rule.rule}: ${rule.result}${rule.result === 'false' ? '' : ` (${holds})`}`,
      );
      if (rule.condition !== null) conditionLines(rule.condition, 1, lines);
    }
  };
  rules('Deny rule', trace.denies, 'holds: true or unknown denies');
  if (trace.allow === null) lines.push(`Allow rule: none; default_action ${trace.defaultAction}`);
  else {
    lines.push(
      `Allow rule ${trace.allow.rule}: ${trace.allow.result}${trace.allow.condition === null ? ' (no condition)' : trace.allow.result === 'true' ? '' : ' (only true allows)'}`,
    );
    if (trace.allow.condition !== null) conditionLines(trace.allow.condition, 1, lines);
  }
  rules('Ask rule', trace.asks, 'holds: true or unknown asks');
  lines.push(rateLimitLine(trace));
  if (trace.budget !== null) lines.push(budgetLine(trace.budget));
  return lines;
}

function rateLimitLine({ rateLimit: limit }: CallTrace): string {
  if (limit === null) return 'rate limit: none';
  const state = limit.full
    ? `full, ${limit.used} used; one more fits in ${limit.retryAfter} s`
    : `${limit.used} used, room for ${limit.max - limit.used}`;
  return `rate limit: ${limit.max} per ${limit.perSeconds} s: ${state}`;
}

function budgetLine(budget: BudgetState): string {
  const what =
    budget.measure === 'sum' ? `the sum of ${budget.field}` : `distinct values of ${budget.field}`;
  const principal =
    budget.per === null
      ? ''
      : ` for ${budget.per} = ${budget.perValue === undefined ? 'missing' : JSON.stringify(budget.perValue)}`;
  const adds =
    budget.adds === null ? `${budget.field} cannot be read` : `this call adds ${budget.adds}`;
  return `budget: ${budget.max} per ${budget.perSeconds} s (${what})${principal}: ${budget.used} used, ${adds}; fits: ${budget.fits}`;
}

function conditionLines(node: ConditionTrace, depth: number, lines: string[]): void {
  const reads = node.reads
    ?.map((r) => `${r.field} = ${'value' in r ? JSON.stringify(r.value) : 'missing'}`)
    .join(', ');
  const detail = node.check === undefined ? '' : ` — ${reads}; ${node.check}`;
  lines.push(`${'  '.repeat(depth)}${node.path}: ${node.result}${detail}`);
  for (const child of node.children ?? []) conditionLines(child, depth + 1, lines);
}
