/**
 * The semantic difference between two policies, per (tool, role) after glob expansion: grants
 * added or removed, conditions changed, Deny and Ask rules added or removed, default, mode and rate
 * limits changed, each marked looser, tighter or changed.
 *
 * Checklist (a change is never called tighter without a proof):
 * - `tighter` only when every call the new policy allows (or asks about) the old one did too,
 *   shown by {@link implies}; `looser` when the reverse is shown; otherwise `changed`, which counts
 *   as possibly looser;
 * - a rate-limit window is state: once the old entry has one, refusing more calls (a tighter
 *   condition, a new Deny, a smaller window) leaves room for a later call the old window refused,
 *   so such a change is `changed`, not `tighter`;
 * - keys this module does not model (on the policy or on a rule) that differ are `changed`.
 */
import type { Policy, Rule } from '../policy/policy.ts';
import type { Node } from '../analysis/condition-logic.ts';
import { conditionText, implies, isAlways, isNever, nodeKey } from '../analysis/condition-logic.ts';
import type { Entry, RuleRef } from '../analysis/policy-entries.ts';
import { expandPolicy } from '../analysis/policy-entries.ts';
import { canonicalJson } from '../call/canonical-json.ts';

/** How a change moves decisions: `changed` is "not shown either way", so possibly looser. */
export type Mark = 'looser' | 'tighter' | 'changed';

/** One semantic change. */
export interface PolicyChange {
  /** The pair it applies to; absent for policy-wide changes. */
  tool?: string;
  role?: string;
  /** What changed: `grant added`, `condition changed`, `Deny rule removed`, `default_action changed`... */
  what: string;
  mark: Mark;
  /** The old side, printed (a condition, a value). */
  was?: string;
  /** The new side, printed. */
  now?: string;
  /** The rule concerned (its id or path), in the policy that has it. */
  rule?: string;
  /** Why the mark is what it is, when that is not obvious. */
  note?: string;
}

const MODELED_POLICY_KEYS: ReadonlySet<string> = new Set([
  'version',
  'default_action',
  'tools',
  'roles',
  'rules',
  'mode',
  'description',
  '//',
  'revision',
  'annotation_defaults',
  'tests',
  '$schema',
  'approval',
]);
const MODELED_RULE_KEYS: ReadonlySet<string> = new Set([
  'tool_name',
  'roles',
  'condition',
  'id',
  'description',
  'effect',
  'rate_limit',
  'approval',
]);
/** How hard an Ask is to release: a WebAuthn assertion is harder than a click. */
const APPROVAL_RANK: Readonly<Record<string, number>> = { click: 0, webauthn: 1 };

const ALWAYS: Node = { kind: 'All', children: [] };
const NEVER: Node = { kind: 'Any', children: [] };
const STATEFUL_NOTE =
  'the old rate-limit window is state: calls refused now no longer fill it, so a later call can pass that it refused';

/** Keys of a rule this module does not model, as canonical JSON (`{}` when none). */
function extraKeys(rule: Rule): string {
  const extra: Record<string, unknown> = {};
  for (const key of Object.keys(rule))
    if (!MODELED_RULE_KEYS.has(key)) extra[key] = (rule as unknown as Record<string, unknown>)[key];
  return canonicalJson(extra);
}

/** The changes from `before` to `after`, policy-wide first, then by pair in the new policy's order. */
export function diffPolicies(before: Policy, after: Policy): PolicyChange[] {
  const changes = policyWide(before, after);
  const old = expandPolicy(before);
  const now = expandPolicy(after);
  const keys = [...now.keys(), ...[...old.keys()].filter((key) => !now.has(key))];
  for (const key of keys) changes.push(...pairChanges(old.get(key), now.get(key), before, after));
  return changes;
}

function policyWide(before: Policy, after: Policy): PolicyChange[] {
  const changes: PolicyChange[] = [];
  if (before.default_action !== after.default_action) {
    changes.push({
      what: 'default_action changed',
      mark: after.default_action === 'Allow' ? 'looser' : 'tighter',
      was: before.default_action,
      now: after.default_action,
      note: 'for every (tool, role) no Allow rule names',
    });
  }
  const mode = (policy: Policy) => policy.mode ?? 'enforce';
  if (mode(before) !== mode(after)) {
    changes.push({
      what: 'mode changed',
      mark: mode(after) === 'shadow' ? 'looser' : 'tighter',
      was: mode(before),
      now: mode(after),
      note: mode(after) === 'shadow' ? 'shadow lets every call run' : undefined,
    });
  }
  const annotations = (policy: Policy) => policy.annotation_defaults === true;
  if (annotations(before) !== annotations(after)) {
    // Annotations allow read-only tools no rule covers; off, those calls get default_action.
    const mark: Mark = annotations(after)
      ? 'looser'
      : after.default_action === 'Deny'
        ? 'tighter'
        : 'changed';
    changes.push({
      what: 'annotation_defaults changed',
      mark,
      was: String(annotations(before)),
      now: String(annotations(after)),
      note: 'for calls no rule covers',
    });
  }
  const approval = (policy: Policy) =>
    String((policy as { approval?: unknown }).approval ?? 'click');
  if (approval(before) !== approval(after)) {
    const mark: Mark =
      APPROVAL_RANK[approval(after)]! > APPROVAL_RANK[approval(before)]! ? 'tighter' : 'looser';
    changes.push({
      what: 'approval changed',
      mark,
      was: approval(before),
      now: approval(after),
      note: 'for every Ask rule without its own approval',
    });
  }
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) {
    if (MODELED_POLICY_KEYS.has(key)) continue;
    const was = canonicalJson((before as unknown as Record<string, unknown>)[key] ?? null);
    const now = canonicalJson((after as unknown as Record<string, unknown>)[key] ?? null);
    if (was !== now)
      changes.push({
        what: `${key} changed`,
        mark: 'changed',
        was,
        now,
        note: 'perso diff does not know what this key does; review it',
      });
  }
  return changes;
}

function grantOf(entry: Entry | undefined, policy: Policy): Node {
  if (entry?.allow) return entry.allow.condition;
  return policy.default_action === 'Allow' ? ALWAYS : NEVER;
}

function grantText(entry: Entry | undefined, policy: Policy): string {
  if (entry?.allow) return `${conditionText(entry.allow.condition)} (${entry.allow.name})`;
  return `no Allow rule: default_action ${policy.default_action}`;
}

function pairChanges(
  old: Entry | undefined,
  now: Entry | undefined,
  before: Policy,
  after: Policy,
): PolicyChange[] {
  const pair = { tool: (now ?? old)!.tool, role: (now ?? old)!.role };
  const changes: PolicyChange[] = [];
  const stateful = old?.allow?.rateLimit != null;

  // The grant: the calls the version-1 part allows.
  const grantBefore = grantOf(old, before);
  const grantAfter = grantOf(now, after);
  if (nodeKey(grantBefore) !== nodeKey(grantAfter)) {
    const mark = compare(grantBefore, grantAfter, true);
    if (mark !== null) {
      const what =
        !old?.allow && now?.allow
          ? 'grant added'
          : old?.allow && !now?.allow
            ? 'grant removed'
            : 'condition changed';
      changes.push({
        ...pair,
        what,
        mark,
        was: grantText(old, before),
        now: grantText(now, after),
        rule: now?.allow?.name ?? old?.allow?.name,
      });
    }
  }
  if (old?.allow && now?.allow && extraKeys(old.allow.rule) !== extraKeys(now.allow.rule)) {
    changes.push({
      ...pair,
      what: 'Allow rule keys changed',
      mark: 'changed',
      was: extraKeys(old.allow.rule),
      now: extraKeys(now.allow.rule),
      rule: now.allow.name,
      note: 'perso diff does not know what these keys do; review them',
    });
  }

  // The rate limit of the Allow rule in force.
  const limitBefore = old?.allow?.rateLimit ?? null;
  const limitAfter = now?.allow?.rateLimit ?? null;
  const limitText = (limit: { max: number; per_seconds: number } | null) =>
    limit === null ? 'none' : `${limit.max} per ${limit.per_seconds} s`;
  if (limitText(limitBefore) !== limitText(limitAfter)) {
    let mark: Mark;
    if (limitBefore === null) mark = 'tighter';
    else if (limitAfter === null) mark = 'looser';
    else if (limitAfter.max >= limitBefore.max && limitAfter.per_seconds <= limitBefore.per_seconds)
      mark = 'looser';
    else mark = 'changed';
    const note =
      mark === 'changed' &&
      limitBefore !== null &&
      limitAfter !== null &&
      limitAfter.max <= limitBefore.max &&
      limitAfter.per_seconds >= limitBefore.per_seconds
        ? STATEFUL_NOTE
        : undefined;
    changes.push({
      ...pair,
      what: 'rate limit changed',
      mark,
      was: limitText(limitBefore),
      now: limitText(limitAfter),
      rule: now?.allow?.name ?? old?.allow?.name,
      note,
    });
  }

  changes.push(
    ...ruleSetChanges(
      'Deny',
      old?.denies ?? [],
      now?.denies ?? [],
      pair,
      () => 0,
      () => 0,
    ),
  );
  const approvalOf = (policy: Policy) => (ref: RuleRef) =>
    APPROVAL_RANK[
      String(
        (ref.rule as { approval?: unknown }).approval ??
          (policy as { approval?: unknown }).approval ??
          'click',
      )
    ] ?? 0;
  changes.push(
    ...ruleSetChanges(
      'Ask',
      old?.asks ?? [],
      now?.asks ?? [],
      pair,
      approvalOf(before),
      approvalOf(after),
    ),
  );

  if (stateful) {
    for (const change of changes) {
      if (change.mark === 'tighter') {
        change.mark = 'changed';
        change.note = STATEFUL_NOTE;
      }
    }
  }
  return changes;
}

/**
 * How a grant moved from `a` to `b` (`truth`: compare true sets), or null when both ways are
 * shown (a rewrite with the same effect).
 */
function compare(a: Node, b: Node, truth: boolean): Mark | null {
  const wider = implies(a, b, truth);
  const narrower = implies(b, a, truth);
  if (wider && narrower) return null;
  return wider ? 'looser' : narrower ? 'tighter' : 'changed';
}

/**
 * Deny or Ask rules of a pair: each holds unless its condition is false, so a rule set refuses more
 * when each old rule's false set holds one of the new rules' false sets.
 */
function ruleSetChanges(
  effect: 'Deny' | 'Ask',
  before: readonly RuleRef[],
  after: readonly RuleRef[],
  pair: { tool: string; role: string },
  rankBefore: (ref: RuleRef) => number,
  rankAfter: (ref: RuleRef) => number,
): PolicyChange[] {
  // A rule's approval is as the policy it is in sets it (its own, or the policy's default).
  const identity = (rank: (ref: RuleRef) => number) => (ref: RuleRef) =>
    `${nodeKey(ref.condition)}\u0000${extraKeys(ref.rule)}\u0000${rank(ref)}`;
  const afterKeys = new Set(after.map(identity(rankAfter)));
  const beforeKeys = new Set(before.map(identity(rankBefore)));
  const ruleText = (ref: RuleRef, rank: (ref: RuleRef) => number) =>
    ruleTextOf(ref) + (effect === 'Ask' && rank(ref) > 0 ? ' [approval webauthn]' : '');
  const removed = before.filter((ref) => !afterKeys.has(identity(rankBefore)(ref)));
  const added = after.filter((ref) => !beforeKeys.has(identity(rankAfter)(ref)));
  const changes: PolicyChange[] = [];
  const usedAdded = new Set<RuleRef>();
  // A removed rule is covered by a new one that holds whenever it held: F(new) ⊆ F(old).
  // (and is at least as hard to release).
  const covers = (next: RuleRef, prev: RuleRef) =>
    extraKeys(next.rule) === extraKeys(prev.rule) &&
    rankAfter(next) >= rankBefore(prev) &&
    implies(next.condition, prev.condition, false);
  for (const prev of removed) {
    const replacement = added.find((next) => !usedAdded.has(next) && covers(next, prev));
    if (replacement !== undefined) {
      usedAdded.add(replacement);
      const same =
        implies(prev.condition, replacement.condition, false) &&
        rankAfter(replacement) === rankBefore(prev);
      if (same) continue;
      changes.push({
        ...pair,
        what: `${effect} rule changed`,
        mark: 'tighter',
        was: ruleText(prev, rankBefore),
        now: ruleText(replacement, rankAfter),
        rule: replacement.name,
      });
      continue;
    }
    const kept = after.find((next) => covers(next, prev));
    if (kept !== undefined) continue; // another rule still holds wherever this one did: no effect
    const partner = added.find((next) => !usedAdded.has(next));
    if (partner !== undefined && removed.length === 1 && added.length === 1) {
      // One rule for one: show them side by side; holding less often is looser, else unsure.
      usedAdded.add(partner);
      const mark: Mark =
        implies(prev.condition, partner.condition, false) && rankAfter(partner) <= rankBefore(prev)
          ? 'looser'
          : 'changed';
      changes.push({
        ...pair,
        what: `${effect} rule changed`,
        mark,
        was: ruleText(prev, rankBefore),
        now: ruleText(partner, rankAfter),
        rule: partner.name,
      });
      continue;
    }
    changes.push({
      ...pair,
      what: `${effect} rule removed`,
      mark: 'looser',
      was: ruleText(prev, rankBefore),
      rule: prev.name,
    });
  }
  for (const next of added) {
    if (usedAdded.has(next)) continue;
    if (isNever(next.condition)) continue;
    changes.push({
      ...pair,
      what: `${effect} rule added`,
      mark: 'tighter',
      now: ruleText(next, rankAfter),
      rule: next.name,
    });
  }
  return changes;
}

function ruleTextOf(ref: RuleRef): string {
  const condition = isAlways(ref.condition) ? 'always' : conditionText(ref.condition);
  return `${condition} (${ref.name})`;
}
