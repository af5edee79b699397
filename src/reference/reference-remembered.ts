/**
 * Remembered approvals, written from docs/policy.md ("Remembered approvals") alone: after a person
 * approves a call an Ask rule with `remember` asked for, later calls that rule asks for, with the
 * same values of its `same` fields, are allowed without asking until `seconds` have passed.
 *
 * Checklist (each line is a sentence of the docs):
 * - it covers a call from the same session, tool, role and agent attributes, that the same rule
 *   asks for, with the same (deep-equal) values of every `same` field; a missing or null one
 *   matches nothing; `[]` lists none;
 * - nothing is remembered when another Ask rule names the same (tool, role);
 * - it lasts `seconds` of the host's time from the approval; where the docs say nothing (the
 *   exact end, a clock that went back before the approval, or back inside the time after it had
 *   run out) both answers are accepted;
 * - a policy load ends every remembered approval (a fresh evaluator per policy);
 * - at most 1,024 are kept, the oldest go first.
 */
import { budgetField } from './reference-budget.ts';

const MAX_REMEMBERED = 1024;

/** Whether a remembered approval covers a call: yes, no, or either (the docs do not say). */
export type Coverage = 'yes' | 'no' | 'either';

interface Remembered {
  readonly key: string;
  readonly at: number;
  readonly until: number;
}

/** JSON with object keys sorted: equal text for deep-equal values. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** The key of a call under a rule's `same` fields; null when one is missing or null. */
function keyOf(
  label: string,
  same: readonly string[],
  tool: string,
  role: string,
  session: string,
  sources: object,
): string | null {
  const values: string[] = [];
  for (const name of same) {
    const [source, key] = budgetField(name)!;
    const root = (sources as Record<string, unknown>)[source] as Record<string, unknown>;
    const v = Object.hasOwn(root, key) ? root[key] : undefined;
    if (v === undefined || v === null) return null;
    values.push(canonical(v));
  }
  return JSON.stringify([
    label,
    tool,
    role,
    session,
    canonical((sources as Record<string, unknown>).AgentAttributes ?? {}),
    values,
  ]);
}

/** The remembered approvals under one policy. */
export class ReferenceRemembered {
  readonly #approvals: Remembered[] = [];

  /** Remembers a person's approval of a call `label` asked for at `now`. */
  approved(
    label: string,
    remember: { readonly seconds: number; readonly same: readonly string[] },
    tool: string,
    role: string,
    session: string,
    sources: object,
    now: number,
  ): void {
    const key = keyOf(label, remember.same, tool, role, session, sources);
    if (key === null) return;
    const i = this.#approvals.findIndex((a) => a.key === key);
    if (i >= 0) this.#approvals.splice(i, 1);
    this.#approvals.push({ key, at: now, until: now + remember.seconds });
    if (this.#approvals.length > MAX_REMEMBERED) this.#approvals.shift();
  }

  /** Whether an approval covers a call `label` asks for at `now` (`latest`: the latest time decided at). */
  covers(
    label: string,
    remember: { readonly seconds: number; readonly same: readonly string[] },
    tool: string,
    role: string,
    session: string,
    sources: object,
    now: number | undefined,
    latest: number,
  ): Coverage {
    const key = keyOf(label, remember.same, tool, role, session, sources);
    const found = key === null ? undefined : this.#approvals.find((a) => a.key === key);
    if (found === undefined) return 'no';
    if (now === undefined) return 'either';
    if (now < found.at || now === found.until) return 'either';
    if (now > found.until) return 'no';
    // A call the host saw after the time ran out may have ended it for good.
    return latest >= found.until ? 'either' : 'yes';
  }
}
