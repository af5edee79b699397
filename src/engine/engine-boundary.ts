/**
 * The engine boundary, defined once: read by the engine (AssemblyScript, engine/assembly) and by
 * the engine host (TypeScript, src/engine) alike. Plain constants only, so that both compilers
 * accept this file as it is.
 *
 * Checklist:
 * - only `export const` of numbers, strings and string arrays: no types, no `as const`, no
 *   functions, no imports (AssemblyScript reads this file too);
 * - a name list's index is its code (KIND_NAMES[K_FAILED] is KIND_CONDITION_FAILED);
 * - a change here changes the ABI: raise ABI_VERSION (engine/assembly/index.ts) and
 *   ENGINE_ABI_VERSION (engine-exports.ts) together.
 */

// ---- the request region (engine/assembly/slots.ts) -----------------------------------------------

/** Bytes before the first slot: memo id (f64), capacity (u32), data start (u32). */
export const REGION_HEADER = 16;
/** Bytes per field slot: tag (u8) at +0, byte length (u32) at +4, number (f64) or offset (u32) at +8. */
export const SLOT_SIZE = 16;

/** Slot tag: the field is missing. */
export const T_MISSING = 0;
/** Slot tag: the field is null. */
export const T_NULL = 1;
/** Slot tag: the field is false. */
export const T_FALSE = 2;
/** Slot tag: the field is true. */
export const T_TRUE = 3;
/** Slot tag: a finite number at +8. */
export const T_NUMBER = 4;
/** Slot tag: a string, as UTF-8 bytes in the data area. */
export const T_STRING = 5;
/** Slot tag: an array or object, as JSON in the data area. */
export const T_JSON = 6;

// ---- where a field is read from ------------------------------------------------------------------

/** Source code: the call's arguments. */
export const SRC_ARGUMENTS = 0;
/** Source code: the host's facts about the principal. */
export const SRC_AGENT = 1;
/** Source code: the host's facts about the target. */
export const SRC_RESOURCE = 2;
/** Source names by code, as policies write them. */
export const SOURCE_NAMES: string[] = ['Arguments', 'AgentAttributes', 'ResourceAttributes'];

// ---- decision codes: decision | kind << 2 | CODE_DETAIL | (rule index + 1) << 8 -----------------

/** Decision code: Allow. */
export const D_ALLOW = 0;
/** Decision code: Deny. */
export const D_DENY = 1;
/** Decision code: Ask. */
export const D_ASK = 2;
/** Decision names by code. */
export const DECISION_NAMES: string[] = ['Allow', 'Deny', 'Ask'];

/** Set in a decision code when the reason carries detail that `explain` renders. */
export const CODE_DETAIL = 64;

/** Reason kind code: no rule for the (tool, role) pair. */
export const K_NO_RULE = 0;
/** Reason kind code: an Allow rule without a condition. */
export const K_NO_CONDITION = 1;
/** Reason kind code: an Allow rule whose condition held. */
export const K_PASSED = 2;
/** Reason kind code: an Allow rule whose condition was false or unknown. */
export const K_FAILED = 3;
/** Reason kind code: a Deny rule held. */
export const K_DENIED = 4;
/** Reason kind code: an Ask rule held. */
export const K_ASK = 5;
/** Reason kind code: the rate limit is used up. */
export const K_RATE = 6;
/** Reason kind code: the budget has no room. */
export const K_BUDGET = 7;
/** Reason kind code: the budget cannot be checked. */
export const K_BUDGET_UNKNOWN = 8;

/** Reason kind name of K_NO_RULE. */
export const KIND_NO_RULE = 'no_rule';
/** Reason kind name of K_NO_CONDITION. */
export const KIND_NO_CONDITION = 'no_condition';
/** Reason kind name of K_PASSED. */
export const KIND_CONDITION_PASSED = 'condition_passed';
/** Reason kind name of K_FAILED. */
export const KIND_CONDITION_FAILED = 'condition_failed';
/** Reason kind name of K_DENIED. */
export const KIND_DENIED_BY_RULE = 'denied_by_rule';
/** Reason kind name of K_ASK. */
export const KIND_ASK_BY_RULE = 'ask_by_rule';
/** Reason kind name of K_RATE. */
export const KIND_RATE_LIMITED = 'rate_limited';
/** Reason kind name of K_BUDGET. */
export const KIND_BUDGET_EXCEEDED = 'budget_exceeded';
/** Reason kind name of K_BUDGET_UNKNOWN. */
export const KIND_BUDGET_UNKNOWN = 'budget_unknown';
/** Reason kind names by code. */
export const KIND_NAMES: string[] = [
  KIND_NO_RULE,
  KIND_NO_CONDITION,
  KIND_CONDITION_PASSED,
  KIND_CONDITION_FAILED,
  KIND_DENIED_BY_RULE,
  KIND_ASK_BY_RULE,
  KIND_RATE_LIMITED,
  KIND_BUDGET_EXCEEDED,
  KIND_BUDGET_UNKNOWN,
];

// ---- reason texts the host writes itself (answers without detail) --------------------------------

/** Most UTF-16 units of a tool or role name a reason shows (then `…`, never splitting a pair). */
export const SHOWN_MAX = 64;
/** `no rule matched tool '<tool>' for role '<role>'; applying default_action`: the first part. */
export const REASON_NO_RULE = "no rule matched tool '";
/** The part between the tool and the role of a no-rule reason and of an entry's prefix. */
export const REASON_FOR_ROLE = "' for role '";
/** The end of a no-rule reason. */
export const REASON_DEFAULT_ACTION = "'; applying default_action";
/** An entry's prefix: `rule matched tool '<tool>' for role '<role>'`, this first. */
export const REASON_RULE_MATCHED = "rule matched tool '";
/** After the prefix, for K_NO_CONDITION. */
export const REASON_NO_CONDITION = '; no condition required';
/** After the prefix, for K_PASSED. */
export const REASON_CONDITION_PASSED = '; condition passed';
