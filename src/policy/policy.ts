/**
 * Types for policy authors: the JSON policy language of docs/policy.md, as TypeScript.
 *
 * A policy written as a `Policy` object literal type-checks exactly when its shape is one the
 * engine accepts; the engine still validates every policy it loads (a JSON file never went through
 * the compiler), and its diagnostics name the JSON path of each problem.
 *
 * Version 1 (the original engine's language) is the subset without the keys marked *extension*;
 * a version-1 policy behaves as in the original engine, except for the fail-closed fixes of
 * docs/policy.md ("Differences from the original engine": missing or mistyped data never grants;
 * `null` proves no ownership).
 */
import type { JsonValue } from '../call/decision.ts';

/** Where a condition reads a field from. */
export const Source = Object.freeze({
  /** The tool call's arguments, as the model proposed them. */
  Arguments: 'Arguments',
  /** Host-owned facts about the principal (user id, env, mfa...). */
  AgentAttributes: 'AgentAttributes',
  /** Host-owned facts about the target (owner id...). */
  ResourceAttributes: 'ResourceAttributes',
} as const);
/** Where a condition reads a field from: `Arguments`, `AgentAttributes` or `ResourceAttributes`. */
export type Source = (typeof Source)[keyof typeof Source];

/** Comparisons of a `NumericCheck`: `field <op> value`. */
export const NumericOp = Object.freeze({
  /** Less than or equal. */
  Lte: 'Lte',
  /** Greater than or equal. */
  Gte: 'Gte',
  /** Less than. */
  Lt: 'Lt',
  /** Greater than. */
  Gt: 'Gt',
  /** Equal (within `f64::EPSILON`, as the original engine). */
  Eq: 'Eq',
} as const);
/** A `NumericCheck` comparison; see {@link NumericOp}. */
export type NumericOp = (typeof NumericOp)[keyof typeof NumericOp];

/** Tests of a `StringCheck` against a list of strings (exact, case-sensitive, no trimming). */
export const StringOp = Object.freeze({
  /** The string is one of the list. */
  In: 'In',
  /** The string is none of the list. */
  NotIn: 'NotIn',
  /** *Extension:* the string starts with one of the list. */
  Prefix: 'Prefix',
  /** *Extension:* the string ends with one of the list. */
  Suffix: 'Suffix',
} as const);
/** A `StringCheck` test; see {@link StringOp}. */
export type StringOp = (typeof StringOp)[keyof typeof StringOp];

/** What a rule does when it applies. */
export const Effect = Object.freeze({
  /** A grant (the default): enters the last-wins (tool, role) map. */
  Allow: 'Allow',
  /** *Extension:* a forbid rule; holds when its condition is true or unknown. */
  Deny: 'Deny',
  /** *Extension:* a person must approve; holds when its condition is true or unknown. */
  Ask: 'Ask',
} as const);
/** What a rule does when it applies; see {@link Effect}. */
export type Effect = (typeof Effect)[keyof typeof Effect];

/** The decision for a (tool, role) pair that no rule names. */
export const DefaultAction = Object.freeze({
  /** Allow calls no rule names (not recommended). */
  Allow: 'Allow',
  /** Deny calls no rule names: anything not explicitly allowed is denied. */
  Deny: 'Deny',
} as const);
/** The decision for a (tool, role) pair that no rule names; see {@link DefaultAction}. */
export type DefaultAction = (typeof DefaultAction)[keyof typeof DefaultAction];

/** Whether decisions are enforced. */
export const PolicyMode = Object.freeze({
  /** Decisions are enforced (the default). */
  Enforce: 'enforce',
  /** Decisions are computed and reported, but calls run anyway (try a policy before enforcing it). */
  Shadow: 'shadow',
} as const);
/** Whether decisions are enforced; see {@link PolicyMode}. */
export type PolicyMode = (typeof PolicyMode)[keyof typeof PolicyMode];

/**
 * A field of a source: one top-level key (`"amount"`; `"a.b"` is a key literally named `a.b`), or,
 * as an *extension*, a path of keys into nested objects (`["customer", "address", "country"]`).
 */
export type Field = string | readonly [string, ...string[]];

/** `{source, field, op, value}`: true when the field is a JSON number and `field <op> value` holds. */
export interface NumericCheck {
  /** Where the field is read. */
  source: Source;
  /** Which field. */
  field: Field;
  /** The comparison. */
  op: NumericOp;
  /** The number compared against (no coercion: `"800"` in a request is not a number). */
  value: number;
}

/** `{source, field, op, value}`: true when the field is a JSON string and passes the test. */
export interface StringCheck {
  /** Where the field is read. */
  source: Source;
  /** Which field. */
  field: Field;
  /** The test. */
  op: StringOp;
  /** The strings tested against, exact and case-sensitive. */
  value: readonly string[];
}

/** `{source, field}`: true when the key exists and its value is not `null` (`false`, `0`, `""` count). */
export interface FieldPresent {
  /** Where the field is read. */
  source: Source;
  /** Which field. */
  field: Field;
}

/** Two fields that must both be present (not `null`) and deep-equal, type-strict. */
export interface FieldEquals {
  /** Where the first field is read. */
  source_a: Source;
  /** The first field. */
  field_a: Field;
  /** Where the second field is read. */
  source_b: Source;
  /** The second field. */
  field_b: Field;
}

/** *Extension:* `{source, field, value}`: true when the field is present and deep-equal to `value`. */
export interface EqualsCheck {
  /** Where the field is read. */
  source: Source;
  /** Which field. */
  field: Field;
  /** Any JSON value, compared type-strictly (`true` is not `"true"` nor `1`). */
  value: JsonValue;
}

/**
 * A condition: an object with exactly one key. Conditions are three-valued (true, false or
 * unknown — a leaf over a missing or mistyped field is unknown); only *true* grants.
 */
export type Condition =
  | { readonly All: readonly Condition[] }
  | { readonly Any: readonly Condition[] }
  | { readonly Not: Condition }
  | { readonly NumericCheck: NumericCheck }
  | { readonly StringCheck: StringCheck }
  | { readonly FieldPresent: FieldPresent }
  | { readonly FieldEquals: FieldEquals }
  | { readonly Equals: EqualsCheck }
  | { readonly SessionUntrusted: true }
  | { readonly FromUntrusted: FromUntrusted };

/**
 * *Extension:* `{source, field}`: unknown when the field is missing or null, else true when the
 * value (or 10 consecutive characters of it) came from the session's untrusted content.
 */
export interface FromUntrusted {
  /** Where the field is read. */
  source: Source;
  /** Which field. */
  field: Field;
}

/**
 * *Extension:* the sum of a field, or its number of distinct values, over the calls the rule
 * allowed in the last `per_seconds` stays at most `max` (fields written `"<Source>.<field>"`).
 */
export type Budget = (
  | { sum: string; distinct?: undefined }
  | { distinct: string; sum?: undefined }
) & {
  /** The most the window may hold. */
  max: number;
  /** The window, in seconds. */
  per_seconds: number;
  /** One budget per value of this field, e.g. `"AgentAttributes.user_id"`. */
  per?: string | null;
};

/** *Extension:* at most `max` Allowed calls of a (tool, role) per sliding window of `per_seconds`. */
export interface RateLimit {
  /** Calls allowed per window (a positive integer). */
  max: number;
  /** The window, in seconds (positive). */
  per_seconds: number;
}

/** A rule: grants (or, as an extension, forbids or asks about) a tool for some roles. */
export interface Rule {
  /** *Extension:* a name used in reasons and audit records (else the rule is `rules[N]`). */
  id?: string;
  /** *Extension:* what the rule is for, for people. */
  description?: string;
  /** A tool name, or a glob where `*` matches any run of characters, expanded against `tools`. */
  tool_name: string;
  /** Roles, literally (`"*"` is a role named `*`, not a wildcard). */
  roles: readonly string[];
  /** When the rule applies; `null` or absent means always. */
  condition?: Condition | null;
  /** *Extension:* `Allow` (default), `Deny` or `Ask`. */
  effect?: Effect;
  /** *Extension:* a limit on Allowed calls of each (tool, role) this rule grants. */
  rate_limit?: RateLimit;
  /** *Extension, Allow rules:* a budget over the calls this rule allows. */
  budget?: Budget;
  /**
   * *Extension, Ask rules:* a person's approval covers later calls this rule would ask for with the
   * same values of the `same` fields (`"<Source>.<field>"`) for `seconds` of the host's time.
   */
  remember?: { seconds: number; same: readonly string[] };
}

/** A perso policy, version 1 plus the optional extensions. */
export interface Policy {
  /** A free label, e.g. `"perso-1.0.0"`, reported back as the policy version. */
  version: string;
  /** The decision when no rule exists for the (tool, role) pair. */
  default_action: DefaultAction;
  /** The tool universe that `*` globs in `tool_name` expand against. */
  tools: readonly string[];
  /** Declared roles; a rule's roles not declared here are ignored. Absent: every named role counts. */
  roles?: readonly string[];
  /** The rules, in order: for the same (tool, role), a later Allow rule replaces an earlier one. */
  rules: readonly Rule[];
  /** *Extension:* `"enforce"` (default) or `"shadow"`. */
  mode?: PolicyMode;
  /**
   * *Extension (host layer):* when `true`, integrations that know a tool's MCP annotations let them
   * decide calls no rule covers (`readOnlyHint` allows, `destructiveHint` asks). Off by default.
   */
  annotation_defaults?: boolean;
  /** *Extension:* tools (names or globs) whose results are untrusted content. */
  untrusted_tools?: readonly string[];
}
