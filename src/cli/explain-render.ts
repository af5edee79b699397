/**
 * `perso explain`'s text: the decision, then the trace (src/analysis/call-trace.ts) one line per
 * rule, condition node, window, budget, untrusted content and remembered approval.
 *
 * Checklist:
 * - every value that comes from the call, a tool's result or the policy is cut and escaped by
 *   src/text.ts (`showJson`, `quote`, `quoteName`), so it cannot break a line or a terminal;
 * - a line is printed for untrusted content only when the session read some or a rule reads it,
 *   and for a remembered approval only when an Ask rule with `remember` asks.
 */
import type { DecisionResult } from '../call/decision.ts';
import type { CallTrace, ConditionTrace, RuleTrace } from '../analysis/call-trace.ts';
import type { RememberTrace } from '../analysis/remembered-trace.ts';
import type { UntrustedState } from '../analysis/untrusted-trace.ts';
import type { BudgetState } from '../analysis/window-state.ts';
import { escapeControls, quote, quoteName, showJson } from '../encoding/text.ts';

/** What the text says of the engine's decision. */
type Decided = Pick<DecisionResult, 'decision' | 'kind' | 'reason' | 'rule'>;

/** The decision and its trace as lines of text; `before`: lines of the session decided first. */
export function renderExplanation(decided: Decided, trace: CallTrace | null, before = 0): string[] {
  const lines = [
    `decision: ${decided.decision} (${decided.kind}${decided.rule === undefined ? '' : `, ${escapeControls(decided.rule)}`})`,
    `reason: ${escapeControls(decided.reason)}`,
  ];
  if (before > 0)
    lines.push(
      `session: ${before} line${before === 1 ? '' : 's'} before this call, decided and recorded in order`,
    );
  if (trace === null) return lines;
  const tool = escapeControls(trace.tool);
  const role = escapeControls(trace.role);
  if (!trace.entry) {
    lines.push(`entry: no rule names (${tool}, ${role}): default_action ${trace.defaultAction}`);
    if (trace.untrusted !== null && trace.untrusted.read !== false)
      lines.push(untrustedLine(trace.untrusted));
    return lines;
  }
  lines.push(`entry: (${tool}, ${role})`);
  const rules = (label: string, list: readonly RuleTrace[], holds: string) => {
    if (list.length === 0) lines.push(`${label}: none`);
    for (const rule of list) {
      lines.push(
        `${label} ${escapeControls(rule.rule)}: ${rule.result}${rule.result === 'false' ? '' : ` (${holds})`}`,
      );
      if (rule.condition !== null) conditionLines(rule.condition, 1, lines);
    }
  };
  rules('Deny rule', trace.denies, 'holds: true or unknown denies');
  if (trace.allow === null) lines.push(`Allow rule: none; default_action ${trace.defaultAction}`);
  else {
    lines.push(
      `Allow rule ${escapeControls(trace.allow.rule)}: ${trace.allow.result}${trace.allow.condition === null ? ' (no condition)' : trace.allow.result === 'true' ? '' : ' (only true allows)'}`,
    );
    if (trace.allow.condition !== null) conditionLines(trace.allow.condition, 1, lines);
  }
  rules('Ask rule', trace.asks, 'holds: true or unknown asks');
  if (trace.remembered !== null) lines.push(rememberedLine(trace.remembered));
  lines.push(rateLimitLine(trace));
  if (trace.budget !== null) lines.push(budgetLine(trace.budget));
  if (trace.untrusted !== null && (trace.untrusted.read !== false || readsUntrusted(trace)))
    lines.push(untrustedLine(trace.untrusted));
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
  const field = escapeControls(budget.field);
  const what = budget.measure === 'sum' ? `the sum of ${field}` : `distinct values of ${field}`;
  const principal =
    budget.per === null
      ? ''
      : ` for ${escapeControls(budget.per)} = ${budget.perValue === undefined ? 'missing' : showJson(budget.perValue)}`;
  const adds = budget.adds === null ? `${field} cannot be read` : `this call adds ${budget.adds}`;
  const frees =
    budget.freesUp === null
      ? budget.fits === 'false'
        ? ' (more than the whole budget, or nothing leaves in time)'
        : ''
      : `; ${budget.measure === 'sum' ? budget.freesUp.amount : 'one'} frees up in ${budget.freesUp.inSeconds} s`;
  return `budget: ${budget.max} per ${budget.perSeconds} s (${what})${principal}: ${budget.used} of ${budget.max} used, ${adds}; fits: ${budget.fits}${frees}`;
}

function untrustedLine(state: UntrustedState): string {
  if (state.read === null)
    return `untrusted content: unknown (${escapeControls(state.why ?? 'the evaluator could not say')})`;
  if (!state.read) return 'untrusted content: none read in this session';
  const tools =
    state.tools.length === 0 ? '' : ` from ${state.tools.map((t) => quoteName(t)).join(', ')}`;
  const count = `${state.results} result${state.results === 1 ? '' : 's'}`;
  const saturated = state.saturated
    ? '; saturated: every string, number, array and object counts as from untrusted content'
    : '';
  const known = state.known
    ? ''
    : `; explain cannot see all of it (${escapeControls(state.why ?? '')}): FromUntrusted is unknown here`;
  return `untrusted content: read${tools} (${count})${saturated}${known}`;
}

function rememberedLine(remember: RememberTrace): string {
  const same =
    remember.same.length === 0
      ? 'no fields'
      : remember.same
          .map(
            (s) => `${escapeControls(s.field)} = ${'value' in s ? showJson(s.value) : 'missing'}`,
          )
          .join(', ');
  const head = `remembered approval (rule ${escapeControls(remember.rule)}, ${remember.seconds} s, same ${same})`;
  const a = remember.approval;
  if (a === null) return `${head}: none covers this call: ${escapeControls(remember.why ?? '')}`;
  return `${head}: ${quote(a.id)} given at ${a.approvedAt} s covers this call until ${a.expiresAt} s: Allow`;
}

function readsUntrusted(trace: CallTrace): boolean {
  const reads = (node: ConditionTrace | null): boolean =>
    node !== null &&
    (node.check === 'SessionUntrusted' ||
      node.check === 'FromUntrusted' ||
      (node.children ?? []).some(reads));
  return [...trace.denies, ...(trace.allow ? [trace.allow] : []), ...trace.asks].some((rule) =>
    reads(rule.condition),
  );
}

function matchText(node: ConditionTrace): string {
  if (node.result === 'unknown') return '';
  const match = node.match;
  if (match === undefined) return '';
  if (match === null)
    return node.result === 'true'
      ? ': the session is saturated, every value counts'
      : ': found in no untrusted result';
  const how =
    match.how === 'piece'
      ? `the ${match.found.length}-character piece`
      : match.how === 'word'
        ? 'the word'
        : 'the whole text';
  const unicode = (match.unicode ?? []).map(
    (c) =>
      `; ${c.codePoint} ${c.as === '' ? 'dropped' : c.as === ' ' ? 'read as a space' : `read as ${quote(c.as)}`}`,
  );
  const folded = match.folded ? ` (folded: re-cased or re-grouped${unicode.join('')})` : '';
  const key = match.key === undefined ? '' : ` of the key ${quote(match.key)}`;
  return `: ${how} ${quote(match.found)}${key}${folded} is in a result of ${quoteName(match.tool)}`;
}

function conditionLines(node: ConditionTrace, depth: number, lines: string[]): void {
  const reads = node.reads
    ?.map((r) => `${escapeControls(r.field)} = ${'value' in r ? showJson(r.value) : 'missing'}`)
    .join(', ');
  const check = node.check === undefined ? '' : escapeControls(node.check);
  const detail =
    node.check === undefined
      ? ''
      : ` — ${reads === undefined ? '' : `${reads}; `}${check}${matchText(node)}`;
  lines.push(`${'  '.repeat(depth)}${node.path}: ${node.result}${detail}`);
  for (const child of node.children ?? []) conditionLines(child, depth + 1, lines);
}
