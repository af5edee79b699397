/**
 * A policy checked and compiled for the reference evaluator, from docs/policy.md alone: small and
 * plain, not fast.
 *
 * Checklist:
 * - every key the docs define is checked strictly (type, closed sets of names, exactly one key per
 *   condition); unknown keys are ignored;
 * - a `tool_name` with `*` is a glob expanded against `tools` only (`*` matches any run of
 *   characters, newlines included; nothing else is special); without `*` it is the name itself;
 * - a rule role not in `roles` is dropped when `roles` is given; `"*"` is a role named `*`;
 * - Allow rules go into a last-wins map keyed by (tool, role); Deny and Ask rules into lists.
 */

import { budgetField, type ReferenceBudgetSpec } from './reference-budget.ts';

/** A rule's effect. */
export type ReferenceEffect = 'Allow' | 'Deny' | 'Ask';

/** One rule as it applies to a (tool, role) pair. */
export interface ReferenceRule {
  /** The rule's `id`, or `rules[N]`. */
  readonly label: string;
  /** The validated condition, or null (always). */
  readonly condition: unknown;
  /** On an Allow rule: its rate limit. */
  readonly rateLimit: { readonly max: number; readonly perSeconds: number } | null;
  /** On an Allow rule: its budget. */
  readonly budget: ReferenceBudgetSpec | null;
  /** On an Ask rule: how long a person's approval covers calls with the same values of `same`. */
  readonly remember: { readonly seconds: number; readonly same: readonly string[] } | null;
}

/** What a (tool, role) pair has: its last Allow rule, and every Deny and Ask rule. */
export interface ReferencePair {
  allow: ReferenceRule | null;
  readonly deny: ReferenceRule[];
  readonly ask: ReferenceRule[];
}

/** A compiled policy. */
export interface ReferencePolicy {
  readonly version: string;
  readonly defaultAction: 'Allow' | 'Deny';
  readonly mode: 'enforce' | 'shadow';
  /** (tool, role) → the rules for it; a Map of Maps, so no separator can make two keys collide. */
  readonly pairs: ReadonlyMap<string, ReadonlyMap<string, ReferencePair>>;
  /** `untrusted_tools`, globs expanded: tools whose results are untrusted content. */
  readonly untrustedTools: ReadonlySet<string>;
  /** Labels more than one rule carries (which of them asked cannot be told by its label). */
  readonly sharedLabels: ReadonlySet<string>;
}

/** Compiling a policy either gives it or says what is wrong, at its JSON path. */
export type ReferenceCompile = { ok: true; policy: ReferencePolicy } | { ok: false; error: string };

const SOURCES = ['Arguments', 'AgentAttributes', 'ResourceAttributes'];
const NUMERIC_OPS = ['Lte', 'Gte', 'Lt', 'Gt', 'Eq'];
const STRING_OPS = ['In', 'NotIn', 'Prefix', 'Suffix'];

class PolicyError extends Error {}
const fail = (path: string, message: string): never => {
  throw new PolicyError(`${path}: ${message}`);
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string');

function checkOneOf(value: unknown, names: readonly string[], path: string): void {
  if (typeof value !== 'string' || !names.includes(value))
    fail(path, `expected one of ${names.join(', ')}`);
}

function checkField(value: unknown, path: string): void {
  const ok = typeof value === 'string' || (isStringList(value) && value.length > 0);
  if (!ok) fail(path, 'expected a key or a non-empty array of keys');
}

function checkJson(value: unknown, path: string): void {
  if (typeof value === 'number' && !Number.isFinite(value)) fail(path, 'a number out of range');
  if (Array.isArray(value)) value.forEach((v, i) => checkJson(v, `${path}[${i}]`));
  else if (isObject(value))
    for (const key of Object.keys(value)) checkJson(value[key], `${path}.${key}`);
}

function checkCondition(condition: unknown, path: string, depth: number): void {
  if (depth > 64) fail(path, 'nesting too deep');
  if (!isObject(condition) || Object.keys(condition).length !== 1)
    fail(path, 'a condition is an object with exactly one key');
  const [variant] = Object.keys(condition as object) as [string];
  const body = (condition as Record<string, unknown>)[variant];
  const at = `${path}.${variant}`;
  if (variant === 'All' || variant === 'Any') {
    if (!Array.isArray(body)) fail(at, 'expected an array of conditions');
    (body as unknown[]).forEach((c, i) => checkCondition(c, `${at}[${i}]`, depth + 1));
    return;
  }
  if (variant === 'Not') return checkCondition(body, at, depth + 1);
  if (variant === 'SessionUntrusted') {
    if (body !== true) fail(at, 'expected true');
    return;
  }
  if (!isObject(body)) fail(at, 'expected an object');
  const b = body as Record<string, unknown>;
  switch (variant) {
    case 'NumericCheck':
      checkOneOf(b.source, SOURCES, `${at}.source`);
      checkField(b.field, `${at}.field`);
      checkOneOf(b.op, NUMERIC_OPS, `${at}.op`);
      if (typeof b.value !== 'number' || !Number.isFinite(b.value))
        fail(`${at}.value`, 'expected a number');
      return;
    case 'StringCheck':
      checkOneOf(b.source, SOURCES, `${at}.source`);
      checkField(b.field, `${at}.field`);
      checkOneOf(b.op, STRING_OPS, `${at}.op`);
      if (!isStringList(b.value)) fail(`${at}.value`, 'expected an array of strings');
      return;
    case 'FieldPresent':
    case 'FromUntrusted':
      checkOneOf(b.source, SOURCES, `${at}.source`);
      checkField(b.field, `${at}.field`);
      return;
    case 'FieldEquals':
      checkOneOf(b.source_a, SOURCES, `${at}.source_a`);
      checkField(b.field_a, `${at}.field_a`);
      checkOneOf(b.source_b, SOURCES, `${at}.source_b`);
      checkField(b.field_b, `${at}.field_b`);
      return;
    case 'Equals':
      checkOneOf(b.source, SOURCES, `${at}.source`);
      checkField(b.field, `${at}.field`);
      if (!Object.hasOwn(b, 'value')) fail(`${at}.value`, 'missing');
      checkJson(b.value, `${at}.value`);
      return;
    default:
      fail(path, `unknown condition "${variant}"`);
  }
}

function checkBudget(given: unknown, at: string): ReferenceBudgetSpec {
  const path = `${at}.budget`;
  if (!isObject(given)) return fail(path, 'expected {"sum" | "distinct", "max", "per_seconds"}');
  const b = given as Record<string, unknown>;
  const hasSum = Object.hasOwn(b, 'sum');
  if (hasSum === Object.hasOwn(b, 'distinct'))
    fail(path, 'expected exactly one of sum and distinct');
  const measure = hasSum ? 'sum' : 'distinct';
  const fieldName = b[measure];
  const field = budgetField(fieldName);
  if (field === null) return fail(`${path}.${measure}`, 'expected "<Source>.<field>"');
  const { max, per_seconds: perSeconds } = b;
  // Up to 2^53 - 1, as the engine: past it a running sum rounds down and lets more through.
  if (typeof max !== 'number' || !(max >= 0) || max > Number.MAX_SAFE_INTEGER)
    fail(`${path}.max`, 'expected a number of 0 or more');
  if (measure === 'distinct' && (!Number.isInteger(max) || (max as number) > 10_000))
    fail(`${path}.max`, 'expected an integer from 0 to 10,000');
  if (typeof perSeconds !== 'number' || !(perSeconds > 0) || perSeconds > 2 ** 43)
    fail(`${path}.per_seconds`, 'expected a number above 0');
  let per: ReferenceBudgetSpec['per'] = null;
  if (b.per !== undefined) {
    per = budgetField(b.per);
    if (per === null) fail(`${path}.per`, 'expected "<Source>.<field>"');
  }
  return {
    measure,
    field,
    max: max as number,
    perSeconds: perSeconds as number,
    per,
    fieldName: fieldName as string,
  };
}

/** True when `name` matches `glob`, where `*` matches any run of characters and nothing else is special. */
export function globMatches(glob: string, name: string): boolean {
  const parts = glob.split('*');
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (name.length < first.length + last.length || !name.startsWith(first) || !name.endsWith(last))
    return false;
  let at = first.length;
  const end = name.length - last.length;
  for (const middle of parts.slice(1, -1)) {
    const found = name.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return true;
}

function pairOf(
  pairs: Map<string, Map<string, ReferencePair>>,
  tool: string,
  role: string,
): ReferencePair {
  let byRole = pairs.get(tool);
  if (byRole === undefined) pairs.set(tool, (byRole = new Map()));
  let pair = byRole.get(role);
  if (pair === undefined) byRole.set(role, (pair = { allow: null, deny: [], ask: [] }));
  return pair;
}

function compile(policy: unknown): ReferencePolicy {
  if (!isObject(policy)) return fail('policy', 'expected an object');
  const p = policy as Record<string, unknown>;
  if (typeof p.version !== 'string') fail('version', 'expected a string');
  checkOneOf(p.default_action, ['Allow', 'Deny'], 'default_action');
  if (!isStringList(p.tools)) fail('tools', 'expected an array of strings');
  if (p.roles !== undefined && !isStringList(p.roles))
    fail('roles', 'expected an array of strings');
  if (p.mode !== undefined) checkOneOf(p.mode, ['enforce', 'shadow'], 'mode');
  if (!Array.isArray(p.rules)) fail('rules', 'expected an array of rules');
  const tools = p.tools as string[];
  if (
    p.untrusted_tools !== undefined &&
    p.untrusted_tools !== null &&
    !isStringList(p.untrusted_tools)
  )
    fail('untrusted_tools', 'expected an array of strings');
  const untrustedTools = new Set(
    ((p.untrusted_tools ?? []) as string[]).flatMap((name) =>
      name.includes('*') ? tools.filter((tool) => globMatches(name, tool)) : [name],
    ),
  );
  const declared = p.roles === undefined ? null : new Set(p.roles as string[]);
  const pairs = new Map<string, Map<string, ReferencePair>>();
  const labels = new Set<string>();
  const sharedLabels = new Set<string>();
  (p.rules as unknown[]).forEach((rule, i) => {
    const at = `rules[${i}]`;
    if (!isObject(rule)) fail(at, 'expected an object');
    const r = rule as Record<string, unknown>;
    if (typeof r.tool_name !== 'string') fail(`${at}.tool_name`, 'expected a string');
    if (!isStringList(r.roles)) fail(`${at}.roles`, 'expected an array of strings');
    if (r.id !== undefined && typeof r.id !== 'string') fail(`${at}.id`, 'expected a string');
    if (r.description !== undefined && typeof r.description !== 'string')
      fail(`${at}.description`, 'expected a string');
    const effect = (r.effect ?? 'Allow') as ReferenceEffect;
    checkOneOf(effect, ['Allow', 'Deny', 'Ask'], `${at}.effect`);
    const condition = r.condition ?? null;
    if (condition !== null) checkCondition(condition, `${at}.condition`, 1);
    let rateLimit: ReferenceRule['rateLimit'] = null;
    if (r.rate_limit !== undefined) {
      const limit = r.rate_limit;
      if (!isObject(limit)) return fail(`${at}.rate_limit`, 'expected {"max", "per_seconds"}');
      const { max, per_seconds: perSeconds } = limit;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 1)
        fail(`${at}.rate_limit.max`, 'expected a whole number of at least 1');
      if (typeof perSeconds !== 'number' || !Number.isFinite(perSeconds) || perSeconds <= 0)
        fail(`${at}.rate_limit.per_seconds`, 'expected a positive number');
      // A rate limit counts Allowed calls: on a Deny or Ask rule it has nothing to count (a warning).
      if (effect === 'Allow') rateLimit = { max: max as number, perSeconds: perSeconds as number };
    }
    const budget = r.budget === undefined || r.budget === null ? null : checkBudget(r.budget, at);
    let remember: ReferenceRule['remember'] = null;
    if (r.remember !== undefined && r.remember !== null) {
      const given = r.remember;
      if (!isObject(given)) return fail(`${at}.remember`, 'expected {"seconds", "same"}');
      const { seconds, same } = given;
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0)
        fail(`${at}.remember.seconds`, 'expected a number above 0');
      if (!isStringList(same) || same.some((f) => budgetField(f) === null))
        fail(`${at}.remember.same`, 'expected an array of "<Source>.<field>"');
      // On an Allow or Deny rule it is ignored (a warning).
      if (effect === 'Ask') remember = { seconds: seconds as number, same: same as string[] };
    }
    const compiled: ReferenceRule = {
      label: (r.id as string | undefined) ?? at,
      condition,
      rateLimit,
      budget: effect === 'Allow' ? budget : null,
      remember,
    };
    if (labels.has(compiled.label)) sharedLabels.add(compiled.label);
    labels.add(compiled.label);
    const name = r.tool_name as string;
    const names = name.includes('*') ? tools.filter((tool) => globMatches(name, tool)) : [name];
    for (const tool of new Set(names)) {
      for (const role of new Set(r.roles as string[])) {
        if (declared !== null && !declared.has(role)) continue;
        const pair = pairOf(pairs, tool, role);
        if (effect === 'Allow') pair.allow = compiled;
        else if (effect === 'Deny') pair.deny.push(compiled);
        else pair.ask.push(compiled);
      }
    }
  });
  return {
    version: p.version as string,
    defaultAction: p.default_action as 'Allow' | 'Deny',
    mode: (p.mode ?? 'enforce') as 'enforce' | 'shadow',
    pairs,
    untrustedTools,
    sharedLabels,
  };
}

/** Checks and compiles a policy (a parsed JSON value). Never throws. */
export function compileReferencePolicy(policy: unknown): ReferenceCompile {
  try {
    return { ok: true, policy: compile(policy) };
  } catch (error) {
    if (error instanceof PolicyError) return { ok: false, error: error.message };
    if (error instanceof RangeError) return { ok: false, error: 'policy: nesting too deep' };
    throw error;
  }
}
