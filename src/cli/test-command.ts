/**
 * `perso test POLICY|CASES.json`: runs a policy's own tests, or a cases file (the format of the
 * conformance fixtures).
 *
 * - A policy (an object with `rules`) carries `"tests": [{name, request, expect, reasonPrefix?,
 *   why?}]`; a policy without tests is a failure (CI must not pass on nothing).
 * - A cases file is `{"policies": {"name": "file.json"}, "cases": [{id, policy, request, expect,
 *   reasonPrefix?, why?}]}` (a bare array of cases is accepted too). `policy` is a policy object, a
 *   name from `policies`, or a file name; file names are relative to the cases file.
 * - Each test runs on a fresh instance of its policy, so rate-limit windows never leak between tests.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DecisionResult, ToolCall } from '../call/decision.ts';
import { Perso } from '../perso/perso.ts';
import type { PolicyInput } from '../policy/policy-source.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, write } from './cli-io.ts';
import { toolCallFromJson } from './tool-call-json.ts';
import { loadPolicy } from './validate-command.ts';
import { errorText, escapeControls, formatDiagnostic, quote } from '../encoding/text.ts';

/** Options of {@link testCommand}. */
export interface TestOptions {
  /** Path of the policy or of the cases file. */
  cases: string;
  /** Also list the cases that passed. */
  verbose: boolean;
}

/** One case, as read from the file. */
interface TestCase {
  id: string;
  /** Where the case is in its file, for messages: `cases[3]`, `tests[0]`. */
  path: string;
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
  if (loaded.policyFile !== undefined) {
    // A policy's tests share one policy: an invalid one is said once, not once per test.
    const load = await loadPolicy(loaded.policyFile);
    if (!load.ok) {
      const lines = load.errors.map(
        (error) => `error: ${options.cases}: ${formatDiagnostic(error)}`,
      );
      lines.push(
        `${options.cases}: invalid policy; fix it (see "perso validate") and run its tests again`,
      );
      await write(io.stderr, `${lines.join('\n')}\n`);
      return ExitCode.Failure;
    }
  }
  const baseDir = dirname(file);
  let passed = 0;
  let failed = 0;
  for (const testCase of loaded.cases) {
    const problems = await runCase(testCase, loaded.policies, baseDir);
    if (problems.length === 0) {
      passed++;
      if (options.verbose) await write(io.stdout, `ok   ${escapeControls(testCase.id)}\n`);
      continue;
    }
    failed++;
    // A case's name, its why and a reason may hold controls (a policy from a pull request): escaped,
    // so that no line can move the cursor, erase or rewrite what a terminal or a CI log shows.
    const lines = [
      `FAIL ${escapeControls(testCase.id)}`,
      ...problems.map((problem) => `  ${escapeControls(problem)}`),
    ];
    if (typeof testCase.why === 'string') lines.push(`  why: ${escapeControls(testCase.why)}`);
    await write(io.stdout, `${lines.join('\n')}\n`);
  }
  await write(io.stdout, `${passed} passed, ${failed} failed\n`);
  return failed === 0 ? ExitCode.Ok : ExitCode.Failure;
}

type LoadedCases =
  | { cases: TestCase[]; policies: Readonly<Record<string, unknown>>; policyFile?: string }
  | { error: string };

async function readCases(file: string): Promise<LoadedCases> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') return { error: `no such file ${quote(file, 200)}; check the path` };
    return {
      error: `cannot be read as JSON (${errorText(error)})`,
    };
  }
  if (isPolicy(document)) return policyTests(document, file);
  const root = Array.isArray(document) ? { cases: document } : document;
  if (
    root === null ||
    typeof root !== 'object' ||
    !Array.isArray((root as { cases?: unknown }).cases)
  ) {
    return { error: 'expected {"policies": {...}, "cases": [...]} or an array of cases' };
  }
  const policies = (root as { policies?: unknown }).policies ?? {};
  if (policies === null || typeof policies !== 'object' || Array.isArray(policies)) {
    return { error: 'policies: expected an object {"name": "file.json"}' };
  }
  const cases: TestCase[] = [];
  for (const [index, raw] of (root as { cases: unknown[] }).cases.entries()) {
    const item =
      raw !== null && typeof raw === 'object' && !Array.isArray(raw)
        ? (raw as Record<string, unknown>)
        : {};
    cases.push({
      id: typeof item['id'] === 'string' ? item['id'] : `cases[${index}]`,
      path: `cases[${index}]`,
      policy: item['policy'],
      request: item['request'],
      expect: item['expect'],
      reasonPrefix: item['reasonPrefix'],
      why: item['why'],
    });
  }
  return { cases, policies: policies as Record<string, unknown> };
}

/** A policy document rather than a cases file: an object with `rules`. */
function isPolicy(document: unknown): document is Record<string, unknown> {
  return (
    document !== null &&
    typeof document === 'object' &&
    !Array.isArray(document) &&
    Object.hasOwn(document, 'rules')
  );
}

/** A policy's own `tests`, each run on the policy file itself. */
function policyTests(policy: Record<string, unknown>, file: string): LoadedCases {
  const tests = Object.hasOwn(policy, 'tests') ? policy['tests'] : [];
  if (!Array.isArray(tests))
    return { error: 'tests: expected an array of {"name", "request", "expect"}' };
  if (tests.length === 0)
    return { error: 'tests: no tests; add "tests": [{"name", "request", "expect"}] to the policy' };
  const cases: TestCase[] = tests.map((raw: unknown, index) => {
    const item =
      raw !== null && typeof raw === 'object' && !Array.isArray(raw)
        ? (raw as Record<string, unknown>)
        : {};
    const path = `tests[${index}]`;
    return {
      id: typeof item['name'] === 'string' ? item['name'] : path,
      path,
      // Perso reads the file for each test (and names it in errors): tests stay independent.
      policy: file,
      request: item['request'],
      expect: item['expect'],
      reasonPrefix: item['reasonPrefix'],
      why: item['why'],
    };
  });
  return { cases, policies: {}, policyFile: file };
}

async function runCase(
  testCase: TestCase,
  policies: Readonly<Record<string, unknown>>,
  baseDir: string,
): Promise<string[]> {
  const at = testCase.path;
  if (!DECISIONS.has(testCase.expect)) return [`${at}.expect: expected "Allow", "Deny" or "Ask"`];
  if (testCase.reasonPrefix !== undefined && typeof testCase.reasonPrefix !== 'string') {
    return [`${at}.reasonPrefix: expected a string`];
  }
  const request = testCase.request;
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    return [`${at}.request: expected an object {"tool", "args", "role", ...}`];
  }
  const policy = policyFor(testCase.policy, at, policies, baseDir);
  if (!policy.ok) return [policy.error];
  const perso = await Perso.load({ policy: policy.policy, engine: 'inline', onError: () => {} }); // the command prints a failed load itself
  try {
    const status = perso.status();
    if (!status.ok)
      return [`the policy is invalid: ${status.errors.map(formatDiagnostic).join('; ')}`];
    const decision = await perso.evaluate(toCall(request as Record<string, unknown>));
    return compare(testCase, decision);
  } finally {
    await perso.close();
  }
}

function policyFor(
  policy: unknown,
  at: string,
  policies: Readonly<Record<string, unknown>>,
  baseDir: string,
): { ok: true; policy: PolicyInput } | { ok: false; error: string } {
  if (policy !== null && typeof policy === 'object' && !Array.isArray(policy))
    return { ok: true, policy: policy as PolicyInput };
  if (typeof policy !== 'string' || policy === '') {
    return {
      ok: false,
      error: `${at}.policy: expected a policy object, a name from "policies" or a file name`,
    };
  }
  const named = Object.hasOwn(policies, policy) ? policies[policy] : policy;
  if (named !== null && typeof named === 'object' && !Array.isArray(named))
    return { ok: true, policy: named as PolicyInput };
  if (typeof named !== 'string')
    return { ok: false, error: `policies.${policy}: expected a file name or a policy object` };
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
    problems.push(
      `expected ${String(testCase.expect)}, got ${decision.decision}: ${decision.reason}`,
    );
  }
  const prefix = testCase.reasonPrefix;
  if (typeof prefix === 'string' && !decision.reason.startsWith(prefix)) {
    problems.push(
      `expected the reason to start with ${quote(prefix, Infinity)}, got ${quote(decision.reason, Infinity)}`,
    );
  }
  return problems;
}
