/**
 * The vocabulary every entry point shares: decisions, reason kinds, requests and answers.
 *
 * `as const` objects with derived unions instead of TypeScript enums, so the values are plain
 * strings on the wire (worker messages, audit records, NDJSON) and the types stay closed.
 */
import {
  KIND_ASK_BY_RULE,
  KIND_BUDGET_EXCEEDED,
  KIND_BUDGET_UNKNOWN,
  KIND_CONDITION_FAILED,
  KIND_CONDITION_PASSED,
  KIND_DENIED_BY_RULE,
  KIND_NO_CONDITION,
  KIND_NO_RULE,
  KIND_RATE_LIMITED,
} from '../engine/engine-boundary.ts';

/** What perso answers for a tool call. */
export const Decision = Object.freeze({
  Allow: 'Allow',
  Deny: 'Deny',
  Ask: 'Ask',
} as const);
/** What perso answers for a tool call: `Allow`, `Deny` or `Ask` (a person approves first). */
export type Decision = (typeof Decision)[keyof typeof Decision];

/**
 * Why a decision was made. The first four are the original engine's outcomes; the rest are perso's
 * extensions and faults. Every fault is a Deny. The engine's kinds are defined once, in
 * `engine/engine-boundary.ts`, which the engine compiles too.
 */
export const ReasonKind = Object.freeze({
  /** No rule for the (tool, role) pair: the policy's `default_action` applies. */
  NoRule: KIND_NO_RULE,
  /** An Allow rule without a condition matched. */
  NoCondition: KIND_NO_CONDITION,
  /** An Allow rule matched and its condition held. */
  ConditionPassed: KIND_CONDITION_PASSED,
  /** An Allow rule matched and its condition was false or unknown: Deny, whatever the default. */
  ConditionFailed: KIND_CONDITION_FAILED,
  /** A rule with `effect: "Deny"` held. */
  DeniedByRule: KIND_DENIED_BY_RULE,
  /** A rule with `effect: "Ask"` held over what would otherwise be Allow. */
  AskByRule: KIND_ASK_BY_RULE,
  /** A rule's `rate_limit` is used up for the current window. */
  RateLimited: KIND_RATE_LIMITED,
  /** A rule's `budget` (a sum or a count of distinct values in a window) has no room for this call. */
  BudgetExceeded: KIND_BUDGET_EXCEEDED,
  /** A rule's `budget` cannot be checked: its field is missing or mistyped, or there is no time. */
  BudgetUnknown: KIND_BUDGET_UNKNOWN,
  /** The request itself is malformed (bad JSON, missing role, hostile keys...). */
  InvalidRequest: 'invalid_request',
  /** No valid policy is loaded. */
  NoPolicy: 'no_policy',
  /** The engine or its host failed (trap, crash, timeout, malformed reply...). */
  EngineFault: 'engine_fault',
} as const);
/** Why a decision was made; see {@link ReasonKind}. */
export type ReasonKind = (typeof ReasonKind)[keyof typeof ReasonKind];

/** A JSON value, as the engine sees it. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };
/** A JSON object (tool arguments, agent or resource attributes). */
export type JsonObject = { [key: string]: JsonValue };

/**
 * A tool call to check, in the original Node SDK's shape. The role (and the attributes) belong to
 * the host — from its session or JWT — never to the model.
 */
export interface ToolCall {
  /** The tool's name, matched exactly and case-sensitively. */
  tool: string;
  /** The tool call's arguments (a JSON object; absent means `{}`). */
  args?: unknown;
  /** The principal's role, owned by the host. */
  role: string;
  /** Host-owned facts about the principal (user id, env, mfa...). */
  agentAttributes?: JsonObject;
  /** Host-owned facts about the target (owner id...). */
  resourceAttributes?: JsonObject;
  /** Seconds since the epoch, for `rate_limit` windows; the host's clock when absent. */
  now?: number;
  /**
   * The guard session whose untrusted content the policy's `SessionUntrusted` and `FromUntrusted`
   * read (a {@link PersoSession} sets its own); absent: the default session.
   */
  session?: string;
}

/**
 * Which evaluator decided: `wasm` (engine.wasm) or `js` (the reference evaluator, which the worker
 * runs instead where the page's CSP forbids WebAssembly and the host chose `fallback: 'js'`).
 */
export type EvaluatorKind = 'wasm' | 'js';

/** The answer to a {@link ToolCall}. Always a decision, never an exception: faults are Deny. */
export interface DecisionResult {
  /** Allow, Deny or Ask. */
  decision: Decision;
  /**
   * For a person and for the model. Begins with the original engine's exact strings
   * (`rule matched tool 'x' for role 'y'; condition failed`) and may add `: detail`.
   */
  reason: string;
  /** Why, as a closed set; see {@link ReasonKind}. */
  kind: ReasonKind;
  /** The deciding rule: its `id`, or `rules[N]` when it has none; absent when no rule matched. */
  rule?: string;
  /** The loaded policy's `version` label; `null` when no policy is loaded. */
  policyVersion: string | null;
  /** False in shadow mode: the decision was computed and audited, but the call runs anyway. */
  enforced: boolean;
  /** For `rate_limited` and `budget_exceeded`: seconds until the call would be allowed again. */
  retryAfter?: number;
  /** The condition leaf that failed, when a single one explains a denial (from the engine). */
  failure?: ConditionFailure;
  /** Which evaluator decided; absent on a fault the host answered (a crashed worker, no policy). */
  evaluator?: EvaluatorKind;
  /**
   * On an Ask: the ticket a person's approval is redeemed with (`perso.approve(nonce, call)`),
   * bound to this exact call, single use, expiring. Issued where the engine runs.
   */
  approval?: ApprovalTicket;
  /**
   * On an Ask whose rule (or policy) says `"approval": "webauthn"`: a click does not release it,
   * only an authenticator's verified assertion over this exact call does.
   */
  approvalKind?: 'webauthn';
  /**
   * On an Allow that rests on a person's earlier approval (an Ask rule's `remember`): which one
   * (its id, as `perso.state()` lists it), its rule, and until when (host time, seconds) it holds.
   */
  rememberedApproval?: { id: string; rule: string; expiresAt: number };
  /**
   * The canonical, deep-frozen copy of the call's args that was checked, when the library made
   * one (the worker engine, audit): run the tool on this object, not on the args first given.
   */
  args?: Readonly<JsonObject>;
}

/** An approval ticket for an Ask: the nonce to send back once a person approved, and its expiry. */
export interface ApprovalTicket {
  /** 128 random bits, hex. */
  readonly nonce: string;
  /** When the ticket stops being honoured, in milliseconds since the epoch. */
  readonly expiresAt: number;
  /**
   * `webauthn`: only an authenticator's verified assertion releases it, over the challenge of the
   * exact call (`approval-challenge.ts`); absent: a click on perso's prompt.
   */
  readonly kind?: 'webauthn';
}

/** The condition leaf that made a call fail, as the engine reports it. */
export interface ConditionFailure {
  /** The field read, e.g. `Arguments.amount`. */
  path: string;
  /** The check: `Lte`, `In`, `FieldPresent`, `FieldEquals`, `Equals`... */
  op: string;
  /** What the policy wanted (the bound, the list, the other field's value, the literal). */
  expected?: JsonValue;
  /** What the call had; absent when the field is missing. */
  actual?: JsonValue;
}
