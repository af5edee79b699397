/**
 * Findings about a valid policy that `validate` does not make: rules that never apply, rules
 * shadowed or covered by others, conditions that can never be true, Ask rules a Deny always beats,
 * tools never granted, roles never used, budgets kept per a value the model writes. Each finding names its JSON path.
 *
 * Checklist: a finding is made only on a proof (condition-logic.ts is sound); when a rule is
 * unreachable for several reasons, one finding says the first.
 */
import type { Policy, Rule } from '../policy/policy.ts';
import type { Node } from '../analysis/condition-logic.ts';
import {
  conditionText,
  exclusivePair,
  implies,
  neverFalse,
  neverTrue,
  normalize,
} from '../analysis/condition-logic.ts';
import type { Entry, RuleRef } from '../analysis/policy-entries.ts';
import { expandPolicy, pairKey, ruleTools } from '../analysis/policy-entries.ts';
import { quote } from '../encoding/text.ts';

/** One finding: `${path}: ${message}`. */
export interface LintFinding {
  /** JSON path, as diagnostics name it (`rules[3].condition.All`). */
  path: string;
  /** Lowercase, user values quoted, says what to do. */
  message: string;
}

type JsonCondition = Readonly<Record<string, unknown>>;

/** Lints a policy the engine accepted. */
export function lintPolicy(policy: Policy): LintFinding[] {
  const findings: LintFinding[] = [];
  const entries = expandPolicy(policy);
  const declared = Array.isArray(policy.roles) ? new Set(policy.roles) : null;
  const unreachable = new Set<number>();

  policy.rules.forEach((rule, index) => {
    const path = `rules[${index}]`;
    if (rule.condition !== null && rule.condition !== undefined) {
      if (
        conditionFindings(rule.condition as JsonCondition, `${path}.condition`, findings) &&
        (rule.effect ?? 'Allow') === 'Allow'
      ) {
        findings.push({
          path,
          message:
            'never allows: its condition can never be true; fix the condition or remove the rule',
        });
        unreachable.add(index);
      }
    }
    const per = rule.budget?.per;
    if (typeof per === 'string' && per.startsWith('Arguments.')) {
      findings.push({
        path: `${path}.budget.per`,
        message: `${quote(per)} is written by the model, which can start a fresh budget with every call by changing it; key it on AgentAttributes or ResourceAttributes, or drop per to bound the total`,
      });
    }
    if (!rule.tool_name.includes('*') && !policy.tools.includes(rule.tool_name)) {
      findings.push({
        path: `${path}.tool_name`,
        message: `${quote(rule.tool_name)} is not in tools; add it to tools or fix its spelling`,
      });
    }
  });

  policy.rules.forEach((rule, index) => {
    if (unreachable.has(index)) return;
    const pairs = pairsOf(policy, rule, declared).map((key) => entries.get(key)!);
    if (pairs.length === 0) return; // validate already says why (no roles, a glob matching nothing...)
    const finding = ruleFinding(policy, rule, index, pairs);
    if (finding !== null) findings.push({ path: `rules[${index}]`, message: finding });
  });

  policy.tools.forEach((tool, index) => {
    if (policy.default_action === 'Allow') return;
    const granted = [...entries.values()].some(
      (entry) => entry.tool === tool && entry.allow !== null && !neverTrue(entry.allow.condition),
    );
    if (!granted)
      findings.push({
        path: `tools[${index}]`,
        message: `${quote(tool)} is never granted: no Allow rule grants it to any role; add a rule or remove it from tools`,
      });
  });

  if (Array.isArray(policy.roles)) {
    const named = new Set(policy.rules.flatMap((rule) => rule.roles));
    policy.roles.forEach((role, index) => {
      if (!named.has(role))
        findings.push({
          path: `roles[${index}]`,
          message: `${quote(role)} is declared but no rule names it; remove it or give it rules`,
        });
    });
  }
  return findings;
}

/** The pairs a rule applies to, by {@link pairKey}. */
function pairsOf(policy: Policy, rule: Rule, declared: ReadonlySet<string> | null): string[] {
  const roles = rule.roles.filter((role) => declared === null || declared.has(role));
  return ruleTools(policy, rule).flatMap((tool) => roles.map((role) => pairKey(tool, role)));
}

function ruleFinding(
  policy: Policy,
  rule: Rule,
  index: number,
  pairs: readonly Entry[],
): string | null {
  const effect = rule.effect ?? 'Allow';
  const mine = (list: readonly RuleRef[]) => list.find((ref) => ref.index === index)!;
  if (effect === 'Allow') {
    const winners = pairs.map((entry) => entry.allow!).filter((ref) => ref.index !== index);
    if (winners.length === pairs.length) {
      return `never applies: for every (tool, role) it names, a later Allow rule replaces it (${names(winners)}); merge them or remove this one`;
    }
    // Where it is in force, a Deny rule that holds whenever it allows takes every grant away.
    const blockers: RuleRef[] = [];
    for (const entry of pairs) {
      if (entry.allow!.index !== index) continue;
      const blocker = entry.denies.find(
        (deny) =>
          neverFalse(deny.condition) || implies(entry.allow!.condition, deny.condition, true),
      );
      if (blocker === undefined) return null;
      blockers.push(blocker);
    }
    return `never allows: ${names(blockers)} denies every call it grants; remove one or narrow the Deny rule`;
  }
  const list = (entry: Entry) => (effect === 'Deny' ? entry.denies : entry.asks);
  const reasons: string[] = [];
  for (const entry of pairs) {
    const self = mine(list(entry));
    // Another rule of the same effect that holds whenever this one does (the earlier of two equals).
    const cover = list(entry).find(
      (other) =>
        other !== self &&
        implies(other.condition, self.condition, false) &&
        (other.index < index || !implies(self.condition, other.condition, false)),
    );
    if (cover !== undefined) {
      reasons.push(`${cover.name} ${effect === 'Deny' ? 'denies' : 'asks'} whenever it would`);
      continue;
    }
    if (effect === 'Ask') {
      const deny = entry.denies.find(
        (d) => neverFalse(d.condition) || implies(d.condition, self.condition, false),
      );
      if (deny !== undefined) {
        reasons.push(`${deny.name} denies whenever it would ask`);
        continue;
      }
      const grant: Node =
        entry.allow?.condition ?? normalize(policy.default_action === 'Allow' ? null : { Any: [] });
      if (neverTrue(grant)) {
        reasons.push(`nothing grants (${entry.tool}, ${entry.role}) for it to ask about`);
        continue;
      }
    }
    return null;
  }
  const what = effect === 'Deny' ? 'never decides' : 'never asks';
  return `${what}: ${[...new Set(reasons)].join('; ')}; remove it or change the rule that covers it`;
}

/**
 * Reports the topmost parts of a condition that can never be true; true when the whole can't be.
 */
function conditionFindings(
  condition: JsonCondition,
  path: string,
  findings: LintFinding[],
): boolean {
  const node = normalize(condition);
  const [variant] = Object.keys(condition);
  const at = `${path}.${variant}`;
  if (neverTrue(node)) {
    if (variant === 'All') {
      const children = (condition.All as JsonCondition[]).map((child) => normalize(child));
      const pair = exclusivePair(children);
      if (pair !== null && !children.some((child) => neverTrue(child))) {
        const [i, j] = pair;
        findings.push({
          path: at,
          message: `can never be true: All[${i}] (${conditionText(children[i]!)}) and All[${j}] (${conditionText(children[j]!)}) exclude each other; fix one of them`,
        });
        return true;
      }
    }
    if (variant === 'All' || variant === 'Any' || variant === 'Not') {
      // Say which part is at fault when a child is.
      const before = findings.length;
      descend(condition, variant, at, findings);
      if (findings.length > before) return true;
    }
    findings.push({
      path: at,
      message: `can never be true (${conditionText(node)}); fix it or remove it`,
    });
    return true;
  }
  descend(condition, variant!, at, findings);
  return false;
}

function descend(
  condition: JsonCondition,
  variant: string,
  at: string,
  findings: LintFinding[],
): void {
  if (variant === 'All' || variant === 'Any') {
    (condition[variant] as JsonCondition[]).forEach((child, i) =>
      conditionFindings(child, `${at}[${i}]`, findings),
    );
  } else if (variant === 'Not') {
    conditionFindings(condition.Not as JsonCondition, at, findings);
  }
}

function names(refs: readonly RuleRef[]): string {
  return [...new Set(refs.map((ref) => ref.name))].join(', ');
}
