/**
 * Approvals a person gave that cover later calls: an Ask rule's
 * `"remember": {"seconds": S, "same": ["<Source>.<field>", …]}`. Kept where the engine runs, beside
 * the approval tickets (the worker, or the inline backend).
 *
 * Checklist:
 * - an approval is remembered only once a person's approval lifted an Ask of a rule with
 *   `remember` to Allow, and only when that rule is the only Ask rule for the call's (tool, role);
 * - a label (rule id, or `rules[i]` for a rule without one) that more than one Ask rule goes by
 *   is never remembered: which of them asked cannot be told;
 * - it covers a later call only when the engine answers Ask by the same rule, for the same tool,
 *   role, session and agent attributes, with the same values (deep-equal) of every `same` field
 *   (a missing one matches nothing), in the host's time before `seconds` have passed;
 * - a covered call is decided again as approved (it spends rate limits and budgets as the Allow it
 *   becomes, and a Deny stays a Deny) and says which approval it rests on;
 * - a policy load and `forget` end every remembered approval; at most MAX_REMEMBERED are kept,
 *   the oldest go first.
 */
import type { ToolCall } from '../call/decision.ts';
import type { RememberedApprovalState, Verdict } from '../engine/types.ts';
import { APPROVED_CALL } from '../engine/approved-call.ts';
import { KIND_ASK_BY_RULE } from '../engine/engine-boundary.ts';
import { canonicalJson } from '../call/canonical-json.ts';
import { own } from '../call/own-properties.ts';

/** Most remembered approvals kept at once. */
export const MAX_REMEMBERED = 1024;

/** What an Ask rule's `remember` says. */
interface RememberRule {
  readonly seconds: number;
  readonly same: readonly string[];
  readonly tool: string;
  readonly roles: readonly string[];
}

/** An Ask rule, for the check that a remembered rule is the only one asking. */
interface AskRule {
  readonly label: string;
  readonly tool: string;
  readonly roles: readonly string[];
}

const SOURCES: Record<string, 'args' | 'agentAttributes' | 'resourceAttributes'> = {
  Arguments: 'args',
  AgentAttributes: 'agentAttributes',
  ResourceAttributes: 'resourceAttributes',
};

/** Remembered approvals; see the module comment. */
export class RememberedApprovals {
  #rules = new Map<string, RememberRule>();
  #asks: AskRule[] = [];
  #tools: readonly string[] = [];
  readonly #approvals = new Map<string, RememberedApprovalState>();

  /** A new policy decides: its `remember` rules are read, every remembered approval ends. */
  policyLoaded(policyText: string): void {
    this.#approvals.clear();
    this.#rules = new Map();
    this.#asks = [];
    let policy: { tools?: unknown; rules?: unknown };
    try {
      policy = JSON.parse(policyText) as typeof policy;
    } catch {
      return;
    }
    this.#tools = Array.isArray(policy.tools) ? (policy.tools as string[]) : [];
    if (!Array.isArray(policy.rules)) return;
    // Labels more than one Ask rule goes by (an id used twice, or an id that is another rule's
    // `rules[i]`): which of them asked cannot be told, so none of them is remembered.
    const labels = new Set<string>();
    const shared = new Set<string>();
    policy.rules.forEach((rule: unknown, i: number) => {
      if (rule === null || typeof rule !== 'object') return;
      const r = rule as Record<string, unknown>;
      if (r.effect !== 'Ask') return;
      const label = typeof r.id === 'string' && r.id !== '' ? r.id : `rules[${i}]`;
      if (labels.has(label)) shared.add(label);
      labels.add(label);
    });
    policy.rules.forEach((rule: unknown, i: number) => {
      if (rule === null || typeof rule !== 'object') return;
      const r = rule as Record<string, unknown>;
      if (r.effect !== 'Ask' || typeof r.tool_name !== 'string' || !Array.isArray(r.roles)) return;
      const label = typeof r.id === 'string' && r.id !== '' ? r.id : `rules[${i}]`;
      const ask = { label, tool: r.tool_name, roles: r.roles as string[] };
      this.#asks.push(ask);
      if (shared.has(label)) return;
      const remember = r.remember as { seconds?: unknown; same?: unknown } | undefined | null;
      if (remember === undefined || remember === null) return;
      const { seconds, same } = remember;
      // The engine refused any other shape when the policy loaded.
      if (typeof seconds !== 'number' || !Array.isArray(same)) return;
      this.#rules.set(label, { ...ask, seconds, same: same as string[] });
    });
  }

  /** Ends every remembered approval (`forget()`). */
  forget(): void {
    this.#approvals.clear();
  }

  /** Every remembered approval still kept, for `state()`. */
  list(): RememberedApprovalState[] {
    return [...this.#approvals.values()].map((a) => ({ ...a, same: { ...a.same } }));
  }

  /** After a person's approval lifted `verdict` (an Ask of `call`) to Allow at `now`: remembers it. */
  approved(call: ToolCall, verdict: Verdict, now: number): void {
    if (verdict.decision !== 'Allow' || verdict.kind !== KIND_ASK_BY_RULE) return;
    const found = this.#key(call, verdict.rule, now);
    if (found === null) return;
    const { key, rule, same } = found;
    while (this.#approvals.size >= MAX_REMEMBERED)
      this.#approvals.delete(this.#approvals.keys().next().value as string);
    this.#approvals.delete(key);
    this.#approvals.set(key, {
      id: randomId(),
      rule: verdict.rule as string,
      tool: call.tool,
      role: call.role,
      session: sessionOf(call),
      same,
      agentAttributes: (own(call, 'agentAttributes') as Record<string, unknown>) ?? {},
      approvedAt: now,
      expiresAt: now + rule.seconds,
    });
  }

  /**
   * The answer for an Ask `verdict` of `call` at `now` when a remembered approval covers it:
   * `decide` decides the call again as approved, and an Ask it answers is lifted to Allow naming
   * the approval. `null` when none covers it (the Ask stands).
   */
  cover(
    call: ToolCall,
    verdict: Verdict,
    now: number,
    decide: (call: ToolCall) => Verdict,
  ): Verdict | null {
    if (verdict.decision !== 'Ask' || this.#approvals.size === 0) return null;
    const found = this.#key(call, verdict.rule, now);
    if (found === null) return null;
    const approval = this.#approvals.get(found.key);
    if (approval === undefined) return null;
    if (!(now >= approval.approvedAt && now < approval.expiresAt)) {
      if (now >= approval.expiresAt) this.#approvals.delete(found.key);
      return null;
    }
    const again = decide({ ...call, [APPROVED_CALL]: true } as ToolCall);
    if (again.decision !== 'Ask' || again.rule !== verdict.rule) return again;
    const lifted: Verdict = {
      ...again,
      decision: 'Allow',
      reason: `${again.reason}; approved earlier by a person (remembered approval "${approval.id}", until ${approval.expiresAt} s)`,
      rememberedApproval: { id: approval.id, rule: approval.rule, expiresAt: approval.expiresAt },
    };
    delete lifted.approval;
    return lifted;
  }

  /** The key of `call` under rule `label`, or null when it cannot be remembered. */
  #key(
    call: ToolCall,
    label: string | undefined,
    now: number,
  ): { key: string; rule: RememberRule; same: Record<string, unknown> } | null {
    if (label === undefined || !Number.isFinite(now)) return null;
    const rule = this.#rules.get(label);
    if (rule === undefined || !(rule.seconds > 0)) return null;
    // Another Ask rule for this (tool, role) may hold for reasons the person never saw.
    const others = this.#asks.filter(
      (ask) =>
        ask.label !== label && ask.roles.includes(call.role) && this.#names(ask.tool, call.tool),
    );
    if (others.length > 0) return null;
    const same: Record<string, unknown> = {};
    for (const ref of rule.same) {
      const value = readRef(call, ref);
      if (value === undefined || value === null) return null;
      same[ref] = value;
    }
    try {
      const key = canonicalJson([
        label,
        call.tool,
        call.role,
        sessionOf(call),
        own(call, 'agentAttributes') ?? {},
        rule.same.map((ref) => same[ref]),
      ]);
      return { key, rule, same };
    } catch {
      return null;
    }
  }

  /** Whether a rule's `tool_name` (a name, or a glob over `tools`) names `tool`. */
  #names(toolName: string, tool: string): boolean {
    if (!toolName.includes('*')) return toolName === tool;
    if (!this.#tools.includes(tool)) return false;
    const pattern = new RegExp(
      `^${toolName
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      's',
    );
    return pattern.test(tool);
  }
}

function sessionOf(call: ToolCall): string {
  const session = own(call, 'session');
  return typeof session === 'string' ? session : '';
}

/** `"<Source>.<field>"`: one top-level key of the call's source, own properties only. */
function readRef(call: ToolCall, ref: string): unknown {
  const dot = ref.indexOf('.');
  const source = SOURCES[ref.slice(0, dot)];
  if (dot <= 0 || source === undefined) return undefined;
  const root = own(call, source);
  if (root === null || typeof root !== 'object' || Array.isArray(root)) return undefined;
  return own(root as Record<string, unknown>, ref.slice(dot + 1));
}

function randomId(): string {
  const bytes = new Uint8Array(4);
  crypto.getRandomValues(bytes);
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
