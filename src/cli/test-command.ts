/**
 * `perso test CASES.json`: runs policy test cases (the format of the conformance fixtures).
 *
 * Format: `{"policies": {"name": "file.json"}, "cases": [{id, policy, request, expect,
 * reasonPrefix?, why?}]}` (a bare array of cases is accepted too). `policy` is a policy object, a
 * name from `policies`, or a file name; file names are relative to the cases file. Each case runs on
 * a fresh instance of its policy, so rate-limit windows never leak between cases.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DecisionResult, ToolCall } from '../decision.ts';
import { Perso } from '../perso.ts';
import type { PolicyInput } from '../policy-source.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, write } from './cli-io.ts';
import { toolCallFromJson } from './tool-call-json.ts';
import { formatDiagnostic } from './validate-command.ts';

/** Options of {@link testCommand}. */
export interface TestOptions {
  /** Path of the cases file. */
  cases: string;
  /** Also list the cases that passed. */
  verbose: boolean;
}

/** One case, as read from the file. */
interface TestCase {
  id: string;
  policy: unknown;
  request: unknown;
  expect: unknown;
  reasonPrefix?: unknown;
  why?: unknown;
}

const DECISIONS: ReadonlySet<unknown> = new Set(['Allow', 'Deny', 'Ask']);

/** Runs `perso test`; resolves to the exit code. */
export async function testCommand(options: TestOptions, io: CliIo): Promise<ExitCode> {
  const file = resolve(options.cases);
  const loaded = await readCases(file);
  if ('error' in loaded) {
    await write(io.stderr, `error: ${options.cases}: ${loaded.error}\n`);
    return ExitCode.Failure;
  }
  const baseDir = dirname(file);
  let passed = 0;
  let failed = 0;
  for (const [index, testCase] of loaded.cases.entries()) {
    const problems = await runCase(testCase, index, loaded.policies, baseDir);
    if (problems.length === 0) {
      passed++;
      if (options.verbose) await write(io.stdout, `ok   ${testCase.id}\n`);
      continue;
    }
    failed++;
    const lines = [`FAIL ${testCase.id}`, ...problems.map((problem) => `  ${problem}`)];
    if (typeof testCase.why === 'string') lines.push(`  why: ${testCase.why}`);
    await write(io.stdout, `${lines.join('\n')}\n`);
  }
  await write(io.stdout, `${passed} passed, ${failed} failed\n`);
  return failed === 0 ? ExitCode.Ok : ExitCode.Failure;
}

type LoadedCases = { cases: TestCase[]; policies: Readonly<Record<string, unknown>> } | { error: string };

async function readCases(file: string): Promise<LoadedCases> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') return { error: `no such file ${JSON.stringify(file)}; check the path` };
    return { error: `cannot be read as JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  const root = Array.isArray(document) ? { cases: document } : document;
  if (root === null || typeof root !== 'object' || !Array.isArray((root as { cases?: unknown }).cases)) {
    return { error: 'expected {"policies": {...}, "cases": [...]} or an array of cases' };
  }
  const policies = (root as { policies?: unknown }).policies ?? {};
  if (policies === null || typeof policies !== 'object' || Array.isArray(policies)) {
    return { error: 'policies: expected an object {"name": "file.json"}' };
  }
  const cases: TestCase[] = [];
  for (const [index, raw] of ((root as { cases: unknown[] }).cases).entries()) {
    const item = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
    cases.push({
      id: typeof item['id'] === 'string' ? item['id'] : `cases[${index}]`,
      policy: item['policy'],
      request: item['request'],
      expect: item['expect'],
      reasonPrefix: item['reasonPrefix'],
      why: item['why'],
    });
  }
  return { cases, policies: policies as Record<string, unknown> };
}

async function runCase(
  testCase: TestCase,
  index: number,
  policies: Readonly<Record<string, unknown>>,
  baseDir: string,
): Promise<string[]> {
  if (!DECISIONS.has(testCase.expect)) return [`cases[${index}].expect: expected "Allow", "Deny" or "Ask"`];
  if (testCase.reasonPrefix !== undefined && typeof testCase.reasonPrefix !== 'string') {
    return [`cases[${index}].reasonPrefix: expected a string`];
  }
  const request = testCase.request;
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    return [`cases[${index}].request: expected an object {"tool", "args", "role", ...}`];
  }
  const policy = policyFor(testCase.policy, index, policies, baseDir);
  if (!policy.ok) return [policy.error];
  const perso = await Perso.load({ policy: policy.policy, engine: 'inline', onError: () => {} }); // the command prints a failed load itself
  try {
    const status = perso.status();
    if (!status.ok) return [`the policy is invalid: ${status.errors.map(formatDiagnostic).join('; ')}`];
    const decision = await perso.evaluate(toCall(request as Record<string, unknown>));
    return compare(testCase, decision);
  } finally {
    await perso.close();
  }
}

function policyFor(
  policy: unknown,
  index: number,
  policies: Readonly<Record<string, unknown>>,
  baseDir: string,
): { ok: true; policy: PolicyInput } | { ok: false; error: string } {
  if (policy !== null && typeof policy === 'object' && !Array.isArray(policy)) return { ok: true, policy: policy as PolicyInput };
  if (typeof policy !== 'string' || policy === '') {
    return { ok: false, error: `cases[${index}].policy: expected a policy object, a name from "policies" or a file name` };
  }
  const named = Object.hasOwn(policies, policy) ? policies[policy] : policy;
  if (named !== null && typeof named === 'object' && !Array.isArray(named)) return { ok: true, policy: named as PolicyInput };
  if (typeof named !== 'string') return { ok: false, error: `policies.${policy}: expected a file name or a policy object` };
  // Perso reads the file (and names it in errors) for each case: cases stay independent.
  return { ok: true, policy: resolve(baseDir, named) };
}

function toCall(request: Record<string, unknown>): ToolCall {
  const call = toolCallFromJson(request);
  if (request['now'] !== undefined) call.now = request['now'] as number;
  return call;
}

function compare(testCase: TestCase, decision: DecisionResult): string[] {
  const problems: string[] = [];
  if (decision.decision !== testCase.expect) {
    problems.push(`expected ${String(testCase.expect)}, got ${decision.decision}: ${decision.reason}`);
  }
  const prefix = testCase.reasonPrefix;
  if (typeof prefix === 'string' && !decision.reason.startsWith(prefix)) {
    problems.push(`expected the reason to start with ${JSON.stringify(prefix)}, got ${JSON.stringify(decision.reason)}`);
  }
  return problems;
}
