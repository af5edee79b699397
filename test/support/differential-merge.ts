/**
 * Many differential cases in one policy, for the entry points where a load is dear (one `perso eval`
 * process, one worker): each case's tool and role names get a prefix (`c7_`), so their (tool,
 * role) pairs, rate-limit windows, budgets and glob expansions stay apart, and the answers are split
 * back. Tool results and approvals are left out: one run is one session.
 */
import type { DiffCall, DiffCase } from './differential-cases.ts';
import type { Observed } from './differential-compare.ts';

/** Cases merged into one policy for one `perso eval` run: their names prefixed, their calls in order. */
export function mergeCases(cases: readonly DiffCase[]): DiffCase {
  const [first] = cases;
  const tools: string[] = [];
  const roles: string[] = [];
  const rules: unknown[] = [];
  const calls: DiffCall[] = [];
  cases.forEach((c, k) => {
    const prefix = `c${k}_`;
    const p = c.policy as {
      tools: string[];
      roles?: string[];
      rules: Array<Record<string, unknown>>;
    };
    tools.push(...p.tools.map((t) => prefix + t));
    roles.push(...(p.roles ?? []).map((r) => prefix + r));
    for (const rule of p.rules)
      rules.push({
        ...rule,
        tool_name: prefix + String(rule.tool_name),
        roles: (rule.roles as string[]).map((r) => prefix + r),
      });
    // One run is one session: tool results and approvals stay out (checkAnswers' steps 'none').
    for (const { results: _results, approve: _approve, ...call } of c.calls)
      calls.push({ ...call, tool: prefix + call.tool, role: prefix + call.role });
  });
  const policy: Record<string, unknown> = {
    version: 'merged',
    default_action: first!.policy.default_action,
    tools,
    rules,
  };
  if (first!.policy.roles !== undefined) policy.roles = roles;
  if (first!.policy.mode !== undefined) policy.mode = first!.policy.mode;
  return { policy, calls };
}

/**
 * Splits the answers to a merged run back into each case's, as its own policy would have answered:
 * the name prefix taken out of the reason and `rules[N]` counted from the case's first rule.
 */
export function splitAnswers(
  cases: readonly DiffCase[],
  answers: readonly Observed[],
): Observed[][] {
  let at = 0;
  let firstRule = 0;
  return cases.map((c, k) => {
    const prefix = `c${k}_`;
    const offset = firstRule;
    firstRule += (c.policy.rules as unknown[]).length;
    return answers.slice(at, (at += c.calls.length)).map((o) => {
      const rule =
        typeof o.rule === 'string'
          ? o.rule.replace(/^rules\[(\d+)\]$/, (_, n: string) => `rules[${Number(n) - offset}]`)
          : o.rule;
      const reason =
        typeof o.reason === 'string'
          ? o.reason.replace(`tool '${prefix}`, "tool '").replace(`role '${prefix}`, "role '")
          : o.reason;
      return { ...o, rule, reason };
    });
  });
}

/** The cases grouped so that each group can be merged (same default, mode, and roles given or not). */
export function groupForMerge(cases: readonly DiffCase[], size: number): DiffCase[][] {
  const groups = new Map<string, DiffCase[][]>();
  for (const c of cases) {
    const key = `${String(c.policy.default_action)} ${String(c.policy.mode)} ${c.policy.roles !== undefined}`;
    const list = groups.get(key) ?? [[]];
    if (list[list.length - 1]!.length >= size) list.push([]);
    list[list.length - 1]!.push(c);
    groups.set(key, list);
  }
  return [...groups.values()].flat().filter((g) => g.length > 0);
}
