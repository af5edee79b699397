/**
 * A policy's rules expanded into (tool, role) entries the way the engine compiles them
 * (engine/assembly/expansion.ts), for analysis: each glob against `tools` only, each role filtered by
 * the declared `roles` (when declared), the last Allow rule per pair wins, every Deny and Ask rule
 * is kept. The engine stays the authority on decisions; this only says which rules a pair has.
 */
import type { Policy, RateLimit, Rule } from '../policy/policy.ts';
import type { Node } from './condition-logic.ts';
import { normalize } from './condition-logic.ts';

/** One rule as it applies to a pair. */
export interface RuleRef {
  /** Its index in `rules`. */
  index: number;
  /** Its JSON path, `rules[3]`. */
  path: string;
  /** Its `id`, or its path. */
  name: string;
  /** The rule as written. */
  rule: Rule;
  /** Its condition in normal form. */
  condition: Node;
  /** An Allow rule's rate limit, or null. */
  rateLimit: RateLimit | null;
}

/** Everything that applies to one (tool, role) pair. */
export interface Entry {
  tool: string;
  role: string;
  /** The Allow rule in force (the last one), or null: then `default_action` applies. */
  allow: RuleRef | null;
  /** Earlier Allow rules the last one replaces. */
  replaced: RuleRef[];
  denies: RuleRef[];
  asks: RuleRef[];
}

/** `true` when `name` matches `glob`, where `*` matches any run of characters. */
export function globMatch(glob: string, name: string): boolean {
  const parts = glob.split('*');
  if (parts.length === 1) return glob === name;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!name.startsWith(first) || name.length < first.length + last.length || !name.endsWith(last))
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

/** The key of a pair in the entry map. */
export function pairKey(tool: string, role: string): string {
  return `${tool}\u0000${role}`;
}

/** The tools a rule's `tool_name` names: its glob's matches in `tools`, or the name itself. */
export function ruleTools(policy: Policy, rule: Rule): string[] {
  return rule.tool_name.includes('*')
    ? policy.tools.filter((tool) => globMatch(rule.tool_name, tool))
    : [rule.tool_name];
}

/** The policy's entries, by {@link pairKey}, in the order the engine creates them. */
export function expandPolicy(policy: Policy): Map<string, Entry> {
  const declared = Array.isArray(policy.roles) ? new Set(policy.roles) : null;
  const entries = new Map<string, Entry>();
  policy.rules.forEach((rule, index) => {
    const path = `rules[${index}]`;
    const effect = rule.effect ?? 'Allow';
    const ref: RuleRef = {
      index,
      path,
      name: typeof rule.id === 'string' && rule.id !== '' ? rule.id : path,
      rule,
      condition: normalize(rule.condition as Readonly<Record<string, unknown>> | null | undefined),
      rateLimit: effect === 'Allow' && rule.rate_limit ? rule.rate_limit : null,
    };
    for (const role of rule.roles) {
      if (declared !== null && !declared.has(role)) continue;
      for (const tool of ruleTools(policy, rule)) {
        const key = pairKey(tool, role);
        let entry = entries.get(key);
        if (entry === undefined)
          entries.set(
            key,
            (entry = { tool, role, allow: null, replaced: [], denies: [], asks: [] }),
          );
        if (effect === 'Deny') entry.denies.push(ref);
        else if (effect === 'Ask') entry.asks.push(ref);
        else {
          if (entry.allow !== null) entry.replaced.push(entry.allow);
          entry.allow = ref;
        }
      }
    }
  });
  return entries;
}
