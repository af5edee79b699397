/**
 * Verdicts from the engine's packed decision codes: constant answers built by the host, answers
 * with detail read from the engine's explanation, and the failure record of a failed leaf.
 *
 * Checklist:
 * - a code, rule index or leaf the plan does not know is an error (the instance is then dead);
 * - a failure record shows values as the engine does: strings cut at 64 characters, JSON over 256
 *   bytes left out;
 * - a getter that throws while the failure is read costs the detail, never the instance.
 */
import type { Decision, JsonValue, ReasonKind } from '../call/decision.ts';
import type { Verdict, VerdictFailure } from './types.ts';
import type { EngineExports } from './engine-exports.ts';
import type { WasmMemory } from './wasm-memory.ts';
import type { EntryPlan, FieldPlan, LeafPlan, LoadedState } from './policy-plan.ts';
import { readPath } from './call-values.ts';
import { truncate } from '../encoding/text.ts';
import {
  DECISION_NAMES,
  KIND_CONDITION_FAILED,
  KIND_CONDITION_PASSED,
  KIND_NAMES,
  KIND_NO_CONDITION,
  KIND_NO_RULE,
  REASON_CONDITION_PASSED,
  REASON_DEFAULT_ACTION,
  REASON_FOR_ROLE,
  REASON_NO_CONDITION,
  REASON_NO_RULE,
  REASON_RULE_MATCHED,
  SHOWN_MAX,
} from './engine-boundary.ts';

// The engine's names by code (engine-boundary.ts); test/engine-boundary.test.ts checks that each is
// a Decision and a ReasonKind of the public API.
const DECISIONS = DECISION_NAMES as readonly Decision[];
const KINDS = KIND_NAMES as readonly ReasonKind[];

/** Truncates a name the way the engine does for reasons (SHOWN_MAX UTF-16 units, no split pair). */
function shown(s: string): string {
  return truncate(s, SHOWN_MAX);
}

/** The reason for a (tool, role) no rule names, as the engine words it. */
export function noRuleReason(tool: string, role: string): string {
  return `${REASON_NO_RULE}${shown(tool)}${REASON_FOR_ROLE}${shown(role)}${REASON_DEFAULT_ACTION}`;
}

/** An entry's reason prefix, `rule matched tool '<tool>' for role '<role>'`, as the engine words it. */
function prefixOf(entry: EntryPlan): string {
  return `${REASON_RULE_MATCHED}${shown(entry.tool)}${REASON_FOR_ROLE}${shown(entry.role)}'`;
}

/** A Deny of `kind` with `reason`. */
export function deny(kind: Verdict['kind'], reason: string): Verdict {
  return { decision: 'Deny', reason, kind };
}

/** The decision and the kind a code names. @throws on a code the host does not know */
function namesOf(code: number): [Decision, ReasonKind] {
  const decision = DECISIONS[code & 3];
  const kind = KINDS[(code >> 2) & 15];
  if (kind === undefined || decision === undefined)
    throw new Error(`engine returned an unknown decision code ${code}`);
  return [decision, kind];
}

/**
 * The verdict a code names with `reason`, and its rule (an Ask only a WebAuthn assertion releases
 * says so). @throws on a rule index the plan does not know
 */
function verdictOf(
  state: LoadedState,
  code: number,
  [decision, kind]: [Decision, ReasonKind],
  reason: string,
): Verdict {
  const verdict: Verdict = { decision, reason, kind };
  const ruleIndex = (code >> 8) - 1;
  if (ruleIndex >= 0) {
    const rule = state.ruleNames[ruleIndex];
    if (rule === undefined) throw new Error(`engine returned an unknown rule index ${ruleIndex}`);
    verdict.rule = rule;
    if (decision === 'Ask' && state.webauthnRules.has(ruleIndex)) verdict.approvalKind = 'webauthn';
  }
  return verdict;
}

/** Expands a code whose reason carries detail: the engine writes the reason, the host adds the failure. */
export function explainedVerdict(
  x: EngineExports,
  mem: WasmMemory,
  state: LoadedState,
  code: number,
  roots: readonly [unknown, unknown, unknown],
): Verdict {
  const names = namesOf(code);
  const ptr = x.explain();
  mem.views();
  if (ptr <= 0 || ptr + 16 > mem.u8.byteLength)
    throw new Error('engine returned an invalid explanation pointer');
  const n = mem.dv.getUint32(ptr, true);
  const leaf = mem.dv.getInt32(ptr + 4, true);
  const retry = mem.dv.getFloat64(ptr + 8, true);
  if (ptr + 16 + n > mem.u8.byteLength)
    throw new Error('engine returned an invalid explanation length');
  const verdict = verdictOf(state, code, names, mem.text(ptr + 16, n));
  if (retry >= 0) verdict.retryAfter = retry;
  if (names[1] === KIND_CONDITION_FAILED && leaf >= 0) {
    const plan = state.leaves[leaf];
    if (plan === undefined) throw new Error(`engine returned an unknown leaf ${leaf}`);
    // The failure re-reads the call; a getter that throws now costs the detail, not the instance.
    try {
      verdict.failure = failureOf(plan, roots);
    } catch {
      verdict.failure = { path: plan.field.name, op: plan.op };
    }
  }
  return verdict;
}

/** The verdict of a code without detail, built once per entry and code, then shared (frozen). */
export function constantVerdict(state: LoadedState, entry: EntryPlan, code: number): Verdict {
  const names = namesOf(code);
  const kind = names[1];
  let reason: string;
  if (kind === KIND_NO_RULE) reason = noRuleReason(entry.tool, entry.role);
  else if (kind === KIND_NO_CONDITION) reason = prefixOf(entry) + REASON_NO_CONDITION;
  else if (kind === KIND_CONDITION_PASSED) reason = prefixOf(entry) + REASON_CONDITION_PASSED;
  else throw new Error(`engine returned code ${code} without detail for kind ${kind}`);
  const verdict = Object.freeze(verdictOf(state, code, names, reason));
  entry.verdicts.set(code, verdict);
  return verdict;
}

/** A call's value at a field, as the engine saw it; undefined when missing. */
function valueAt(f: FieldPlan, roots: readonly [unknown, unknown, unknown]): unknown {
  return readPath(roots[f.source], f.path);
}

/** UTF-8 length of a string without allocating. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** A value as a failure record shows it (as the engine does): strings cut, long JSON omitted. */
function shownJson(v: unknown): { value: JsonValue } | null {
  if (typeof v === 'string') return { value: shown(v) };
  if (typeof v === 'object' && v !== null) {
    const text = JSON.stringify(v);
    return utf8Length(text) <= 256 ? { value: JSON.parse(text) as JsonValue } : null;
  }
  return { value: v as JsonValue };
}

function failureOf(leaf: LeafPlan, roots: readonly [unknown, unknown, unknown]): VerdictFailure {
  const failure: VerdictFailure = { path: leaf.field.name, op: leaf.op };
  if (leaf.fieldB !== null) {
    const b = valueAt(leaf.fieldB, roots);
    if (b !== undefined && b !== null) {
      const e = shownJson(b);
      if (e !== null) failure.expected = e.value;
    }
  } else if (leaf.expected !== undefined) {
    failure.expected = leaf.expected;
  }
  const a = valueAt(leaf.field, roots);
  if (a !== undefined) {
    const e = shownJson(a);
    if (e !== null) failure.actual = e.value;
  }
  return failure;
}
