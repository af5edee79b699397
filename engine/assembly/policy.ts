// The compiled policy: a flat (tool, role) map of entries, each with the rules that apply to it and
// the field slots they read. compiler.ts builds it from a policy document.
//
// Invariants of a compiled policy:
// - every `*` glob is expanded against `tools`; nothing is matched at request time
// - each (tool, role) entry holds at most one Allow rule (the last one wins) and every Deny/Ask rule
// - each condition leaf reads one global field slot; an entry lists every slot its rules read

import { SHOWN_MAX } from '../../src/engine/engine-boundary';
import { JValue } from './json-value';
import { truncate } from './json-text';
import { MemoTable } from './memo';
import { EntryTable } from './entry-table';
import { madeGarbage } from './writer';

export const C_ALL: i32 = 0;
export const C_ANY: i32 = 1;
export const C_NOT: i32 = 2;
export const C_NUMERIC: i32 = 3;
export const C_STRING: i32 = 4;
export const C_PRESENT: i32 = 5;
export const C_FIELD_EQUALS: i32 = 6;
export const C_EQUALS: i32 = 7;
/** Untrusted content (taint.ts): no field; true once the session read an untrusted result. */
export const C_SESSION_UNTRUSTED: i32 = 8;
export const C_FROM_UNTRUSTED: i32 = 9;

export const NUM_OPS: string[] = ['Lte', 'Gte', 'Lt', 'Gt', 'Eq'];
export const STR_OPS: string[] = ['In', 'NotIn', 'Prefix', 'Suffix'];
export const OP_IN: i32 = 0;
export const OP_NOT_IN: i32 = 1;
export const OP_PREFIX: i32 = 2;
export const OP_SUFFIX: i32 = 3;

export const EFFECT_ALLOW: i32 = 0;
export const EFFECT_DENY: i32 = 1;
export const EFFECT_ASK: i32 = 2;

/** Largest `rate_limit.max`: the engine keeps one timestamp per allowed call in the window. */
export const MAX_RATE: i32 = 10000;

/** A (source, key path) the rules read; one slot in the request region. */
export class Field {
  constructor(
    public source: i32,
    public path: string[],
    public name: string,
  ) {}
}

/** A compiled condition node. Leaves name field slots. */
export class Cond {
  kind: i32;
  children: Cond[] = [];
  field: i32 = 0;
  fieldB: i32 = 0;
  op: i32 = 0;
  num: f64 = 0;
  strs: string[] = [];
  bytes: ArrayBuffer[] = [];
  value: JValue | null = null;
  /** Equals: the literal as JSON, and as shown in reasons (cut at 64 characters). */
  literal: string = '';
  shown: string = '';
  /** Leaf id in `Policy.leaves` (-1 for All, Any, Not). */
  leaf: i32 = -1;
  constructor(kind: i32) {
    this.kind = kind;
  }
}

/** A compiled rule. */
export class Rule {
  index: i32 = 0;
  name: string = '';
  effect: i32 = EFFECT_ALLOW;
  cond: Cond | null = null;
  rateMax: i32 = 0;
  ratePer: f64 = 0;
  /** `budget` (budget.ts): B_SUM or B_DISTINCT (0: none), the field it counts, the `per` field (-1: none). */
  budgetKind: i32 = 0;
  budgetField: i32 = -1;
  budgetPer: i32 = -1;
  budgetMax: f64 = 0;
  budgetSeconds: f64 = 0;
  /** An Ask rule only a WebAuthn assertion releases (`"approval": "webauthn"`, its own or the policy's). */
  webauthn: bool = false;
}

// Shared by every entry without Deny rules, Ask rules or fields: a policy at the 100,000-pair limit
// would otherwise hold 300,000 empty arrays. Never pushed to (expansion.ts replaces them).
const NO_RULES: Rule[] = [];
const NO_FIELDS: i32[] = [];

/**
 * Everything that applies to one (tool, role) pair. Its reasons begin `rule matched tool '<tool>'
 * for role '<role>'` (wPrefix in reasons.ts), written when needed, never stored.
 */
export class Entry {
  index: i32 = 0;
  tool: string = '';
  role: string = '';
  allow: Rule | null = null;
  /** Empty arrays are shared: replace one with a new array, never push onto it while it is empty. */
  denies: Rule[] = NO_RULES;
  asks: Rule[] = NO_RULES;
  fields: i32[] = NO_FIELDS;
  // Times of allowed calls (seconds), in the order they were allowed, in a ring (window.ts).
  times: StaticArray<f64> | null = null;
  head: i32 = 0;
  count: i32 = 0;
  memo: MemoTable | null = null;
}

/** A compiled policy. */
export class Policy {
  version: string = '';
  shadow: bool = false;
  defaultAllow: bool = false;
  /** The policy's `"approval"`: true for `"webauthn"`, the default of every Ask rule without its own. */
  webauthn: bool = false;
  /** `"annotation_defaults": true`: the host applies tool annotations where no rule decides. */
  annotationDefaults: bool = false;
  /** Some Allow rule has a rate limit, or a budget: deciding needs the host's time. */
  hasRateLimits: bool = false;
  hasBudgets: bool = false;
  /** The policy's `tool_pins` as written, for the host (which checks them at each guarded call). */
  toolPins: JValue | null = null;
  tools: string[] = [];
  roles: string[] = [];
  ruleCount: i32 = 0;
  ruleNames: string[] = [];
  /** Indexes of the Ask rules only a WebAuthn assertion releases, for the host to report. */
  webauthnRules: i32[] = [];
  fields: Field[] = [];
  leaves: Cond[] = [];
  entries: Entry[] = [];
  /** Entries by (tool, role). */
  table: EntryTable = new EntryTable();
  /** `untrusted_tools`, globs expanded: tools whose results are untrusted content (taint.ts). */
  untrusted: Set<string> = new Set();
  /** True when a rule reads untrusted content: its explanations depend on more than the call. */
  taint: bool = false;

  /** The entry for (tool, role), or null: one hash lookup, no scanning, no allocation. */
  lookup(tool: string, role: string): Entry | null {
    const i = this.table.find(this.entries, tool, role);
    return i < 0 ? null : unchecked(this.entries[i]);
  }
}

/** Most (tool, role) entries a policy may expand to; globs times roles can multiply quickly. */
export const MAX_ENTRIES: i32 = 100000;

/** Truncated, single-quoted name as the original reasons show it. */
export function shown(s: string): string {
  if (s.length <= SHOWN_MAX) return s;
  madeGarbage = true;
  return truncate(s, SHOWN_MAX);
}

/** The index of `s` in a list of names (SOURCE_NAMES, NUM_OPS, STR_OPS), or -1. */
export function nameIndex(list: string[], s: string): i32 {
  for (let i = 0; i < list.length; i++) if (list[i] == s) return i;
  return -1;
}
