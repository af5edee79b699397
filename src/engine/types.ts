/**
 * The engine host's answers: policy diagnostics, load results, policy facts and verdicts
 * (docs/architecture.md, "Engine host"). Plain data, safe to send across a worker boundary.
 */
import type {
  ApprovalTicket,
  ConditionFailure,
  Decision,
  EvaluatorKind,
  ReasonKind,
} from '../call/decision.ts';

/** A policy error or warning at a JSON path, shown as `${path}: ${message}`. */
export interface Diagnostic {
  /** `error` makes the load fail; `warning` does not. */
  severity: 'error' | 'warning';
  /** JSON path without a leading `$` (`rules[3].roles[0]`); the whole document is `policy`. */
  path: string;
  /** Lowercase, no trailing period, user values quoted, says what to do next. */
  message: string;
}

/** What the engine knows about the loaded policy. */
export interface PolicyInfo {
  /** The policy's `version` label. */
  version: string;
  /** `shadow`: decisions are computed and logged, but calls run anyway. */
  mode: 'enforce' | 'shadow';
  /** The decision when no rule exists for a (tool, role) pair. */
  defaultAction: 'Allow' | 'Deny';
  /** The tool universe globs expand against. */
  tools: string[];
  /** The declared roles (or, when the policy declares none, every role a rule names). */
  roles: string[];
  /** Number of rules in the document. */
  ruleCount: number;
  /** The policy's own `"approval"` when it is `"webauthn"` (absent: `"click"`), for Asks no rule made. */
  approval?: 'webauthn';
  /** Some Allow rule has a `rate_limit`: deciding it needs the time. */
  hasRateLimits: boolean;
  /** Some Allow rule has a `budget`: deciding it needs the time. */
  hasBudgets: boolean;
  /** The policy says `"annotation_defaults": true` (tool annotations decide where no rule does). */
  annotationDefaults: boolean;
  /** Additive: the policy's `untrusted_tools`, globs expanded (absent when it names none). */
  untrustedTools?: string[];
  /** The policy's `tool_pins` as written (JSON; absent without the key), for the host to check. */
  toolPins?: unknown;
}

/** The outcome of loading a policy. A failed load keeps the previous policy active. */
export type PolicyLoad =
  | { ok: true; policy: PolicyInfo; warnings: Diagnostic[] }
  | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[]; toolPins?: unknown };

/** The condition leaf that made a call fail, when a single one explains it: {@link ConditionFailure}. */
export type VerdictFailure = ConditionFailure;

/** The engine's answer for one call: a decision result minus what the library adds. */
export interface Verdict {
  /** Allow, Deny or Ask. */
  decision: Decision;
  /** Begins with the original engine's exact strings; detail after `: `. */
  reason: string;
  /** Why, as a closed set. */
  kind: ReasonKind;
  /** The deciding rule: its `id`, or `rules[N]`. */
  rule?: string;
  /** For `rate_limited` and `budget_exceeded`: whole seconds until the call would be allowed again. */
  retryAfter?: number;
  /** The failed leaf, when one explains a condition failure. */
  failure?: VerdictFailure;
  /** On an Ask: the approval ticket the backend issued (see `src/backend/approval-ledger.ts`). */
  approval?: ApprovalTicket;
  /** On an Ask whose rule says `"approval": "webauthn"`: only an authenticator's assertion releases it. */
  approvalKind?: 'webauthn';
  /** Additive: which evaluator decided (the worker's JS fallback says `js`); absent means engine.wasm. */
  evaluator?: EvaluatorKind;
  /** Additive: an Allow that rests on a person's earlier approval (an Ask rule's `remember`). */
  rememberedApproval?: RememberedApprovalRef;
}

/** Which remembered approval an Allow rests on. */
export interface RememberedApprovalRef {
  /** The approval's id (as `perso.state()` lists it). */
  id: string;
  /** The Ask rule it releases. */
  rule: string;
  /** Host time (seconds) until which it covers calls. */
  expiresAt: number;
}

/**
 * A tool's result handed to the evaluator: when the policy's `untrusted_tools` name the tool (or
 * the host marks it `untrusted`), the session keeps it as untrusted content.
 */
export interface ToolResultRecord {
  /** The tool that returned the result. */
  tool: string;
  /** The role of the principal whose session read it (informational). */
  role?: string;
  /** The result, as the tool returned it (plain JSON). */
  result: unknown;
  /** The guard session that read it; absent: the default session. */
  session?: string;
  /** The host's own mark, e.g. WebMCP's `untrustedContentHint`; it cannot make an untrusted tool trusted. */
  untrusted?: boolean;
}

/** The answer to a {@link ToolResultRecord}: recorded (and whether as untrusted content), or why not. */
export type RecordAnswer = { ok: true; untrusted: boolean } | { ok: false; error: string };

/** One session's untrusted content, as the evaluator keeps it. */
export interface UntrustedSessionState {
  /** The session's key (`''`: the default session). */
  session: string;
  /** Untrusted results recorded. */
  results: number;
  /** UTF-16 units of untrusted text kept. */
  units: number;
  /** Past a bound: every value counts as from untrusted content. */
  saturated: boolean;
}

/** The evaluator's state that outlives a call: untrusted content per session. */
export interface EvaluatorState {
  untrusted: { overflow: boolean; sessions: UntrustedSessionState[] };
  /** Approvals a person gave that cover later calls (Ask rules' `remember`), where kept. */
  remembered?: RememberedApprovalState[];
  /** Budgets with calls kept, per rule and principal, as their windows stood at the last check. */
  budgets?: BudgetWindowState[];
}

/** One budget window as `state()` lists it (a rule's `budget`, per principal when it has `per`); `BudgetState` is a budget at the time of one call, as `explain` shows it. */
export interface BudgetWindowState {
  /** The Allow rule whose budget it is (every tool and role it grants spends from it). */
  rule: string;
  /** The principal (`per` value), or null for a rule without `per`. */
  per: string | number | null;
  /** Calls kept in the window. */
  calls: number;
  /** What they used: the sum of the field, or how many distinct values. */
  used: number;
  max: number;
}

/** A remembered approval, as `state()` lists it. */
export interface RememberedApprovalState extends RememberedApprovalRef {
  tool: string;
  role: string;
  /** The guard session it was given in (`''`: the default one). */
  session: string;
  /** The values of the rule's `same` fields it covers. */
  same: Record<string, unknown>;
  /** Additive: the agent attributes of the approved call (a covered call has the same). */
  agentAttributes?: Record<string, unknown>;
  /** Host time (seconds) it was given at. */
  approvedAt: number;
}
