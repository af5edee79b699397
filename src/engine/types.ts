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
} from '../decision.ts';

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
}

/** The outcome of loading a policy. A failed load keeps the previous policy active. */
export type PolicyLoad =
  | { ok: true; policy: PolicyInfo; warnings: Diagnostic[] }
  | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[] };

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
}
