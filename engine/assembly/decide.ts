// Decisions over field slots: three-valued conditions, the decision order, rate limits, reasons.
//
// The request region (one per loaded policy, owned by the engine, written by the host or by the
// raw ABI path) holds one 16-byte slot per policy field:
//   +0 u8 tag (T_*)   +4 u32 byte length   +8 f64 number, or u32 offset of the bytes from the region
// Text and JSON bytes live in the data area after the slots. A call reads only its entry's slots.
//
// Invariants:
// - only a condition that is *true* allows; missing or mistyped data is *unknown* (DESIGN §2.3)
// - Deny and Ask rules hold when true or unknown; Ask never lifts a Deny
// - a rate-limited Allow is recorded only when the final decision is Allow

import {
  JNULL, JFALSE, JTRUE, JNUMBER, JSTRING, JValue, JsonParser, deepEqual, formatNumber, jsonString, quote, toJson,
} from "./json";
import {
  C_ALL, C_ANY, C_EQUALS, C_FIELD_EQUALS, C_NOT, C_NUMERIC, C_PRESENT, C_STRING, Cond, Entry, NUM_OPS,
  OP_IN, OP_NOT_IN, OP_PREFIX, OP_SUFFIX, Policy, Rule, STR_OPS, shown,
} from "./policy";

export const T_MISSING: u8 = 0;
export const T_NULL: u8 = 1;
export const T_FALSE: u8 = 2;
export const T_TRUE: u8 = 3;
export const T_NUMBER: u8 = 4;
export const T_STRING: u8 = 5;
export const T_JSON: u8 = 6;

export const FALSE: i32 = 0;
export const TRUE: i32 = 1;
export const UNKNOWN: i32 = 2;

export const D_ALLOW: i32 = 0;
export const D_DENY: i32 = 1;
export const D_ASK: i32 = 2;
export const DECISION_NAMES: string[] = ["Allow", "Deny", "Ask"];

export const K_NO_RULE: i32 = 0;
export const K_NO_CONDITION: i32 = 1;
export const K_PASSED: i32 = 2;
export const K_FAILED: i32 = 3;
export const K_DENIED: i32 = 4;
export const K_ASK: i32 = 5;
export const K_RATE: i32 = 6;
export const KIND_NAMES: string[] = [
  "no_rule", "no_condition", "condition_passed", "condition_failed", "denied_by_rule", "ask_by_rule", "rate_limited",
];

/** Bit set in a decision code when the reason carries detail that `explain` renders. */
export const CODE_DETAIL: i32 = 1 << 6;

/** Size of the region header: out pointer, out length, capacity, data start. */
export const REGION_HEADER: i32 = 16;

/** The active policy; replaced only by a successful load. */
export let active: Policy | null = null;
export let region: usize = 0;
export let regionCap: i32 = 0;
export let dataStart: i32 = 0;

// The last decision, for `explain`.
let lastEntry: Entry | null = null;
let lastRule: Rule | null = null;
let lastCode: i32 = 0;
let lastHeld: i32 = TRUE;
let lastRetry: f64 = 0;

/** Makes `p` the active policy with a fresh region sized for its fields. */
export function activate(p: Policy): void {
  const start = REGION_HEADER + (p.fields.length << 4);
  const cap = start + 4096;
  const next = heap.alloc(<usize>cap);
  memory.fill(next, 0, <usize>cap);
  if (region != 0) heap.free(region);
  region = next;
  regionCap = cap;
  dataStart = start;
  store<u32>(region, 0, 8);
  store<u32>(region, <u32>cap, 8);
  store<u32>(region, <u32>start, 12);
  active = p;
  lastEntry = null;
  lastRule = null;
}

/** Grows the region so that its data area holds at least `bytes`; returns the region pointer. */
export function reserve(bytes: i32): usize {
  if (region == 0 || bytes < 0 || bytes > (1 << 26)) return region;
  const need = dataStart + bytes;
  if (need <= regionCap) return region;
  let cap = regionCap;
  while (cap < need) cap <<= 1;
  region = heap.realloc(region, <usize>cap);
  regionCap = cap;
  store<u32>(region, <u32>cap, 8);
  return region;
}

@inline function slot(f: i32): usize {
  return region + <usize>REGION_HEADER + (<usize>f << 4);
}

@inline function tagOf(f: i32): u8 {
  return load<u8>(slot(f));
}

function bytesAt(f: i32): usize {
  return region + <usize>load<u32>(slot(f), 8);
}

function lenAt(f: i32): i32 {
  return <i32>load<u32>(slot(f), 4);
}

/** Checks the entry's slots written by the host: known tags, bytes inside the data area. */
export function slotsValid(e: Entry): bool {
  const fields = e.fields;
  for (let i = 0, n = fields.length; i < n; i++) {
    const s = slot(fields[i]);
    const tag = load<u8>(s);
    if (tag > T_JSON) return false;
    if (tag == T_STRING || tag == T_JSON) {
      const off = <u64>load<u32>(s, 8);
      const len = <u64>load<u32>(s, 4);
      if (off < <u64>dataStart || off + len > <u64>regionCap) return false;
    } else if (tag == T_NUMBER) {
      if (!isFinite(load<f64>(s, 8))) return false;
    }
  }
  return true;
}

/** Set when a decision allocated (JSON values, rate windows); the export then may collect. */
export let madeGarbage = false;

function parseSlot(f: i32): JValue | null {
  madeGarbage = true;
  const p = new JsonParser(bytesAt(f), lenAt(f));
  return p.parse();
}

/** The slot's value as a parsed JSON value (for deep equality); null when missing or unreadable. */
function slotValue(f: i32): JValue | null {
  const tag = tagOf(f);
  switch (tag) {
    case T_NULL: return new JValue(JNULL);
    case T_FALSE: return new JValue(JFALSE);
    case T_TRUE: return new JValue(JTRUE);
    case T_NUMBER: {
      const v = new JValue(JNUMBER);
      v.num = load<f64>(slot(f), 8);
      return v;
    }
    case T_STRING: {
      const v = new JValue(JSTRING);
      v.str = String.UTF8.decodeUnsafe(bytesAt(f), <usize>lenAt(f));
      return v;
    }
    case T_JSON: return parseSlot(f);
    default: return null;
  }
}

function bytesEqual(f: i32, b: ArrayBuffer): bool {
  const n = b.byteLength;
  return lenAt(f) == n && memory.compare(bytesAt(f), changetype<usize>(b), <usize>n) == 0;
}

function stringMatches(c: Cond, f: i32): bool {
  const list = c.bytes;
  const p = bytesAt(f);
  const n = lenAt(f);
  const op = c.op;
  for (let i = 0, k = list.length; i < k; i++) {
    const b = list[i];
    const m = b.byteLength;
    if (op == OP_IN || op == OP_NOT_IN) {
      if (n == m && memory.compare(p, changetype<usize>(b), <usize>m) == 0) return true;
    } else if (m <= n) {
      const at = op == OP_PREFIX ? p : p + <usize>(n - m);
      if (memory.compare(at, changetype<usize>(b), <usize>m) == 0) return true;
    }
  }
  return false;
}

function equalsLiteral(c: Cond): i32 {
  const f = c.field;
  const tag = tagOf(f);
  const lit = c.value!;
  if (tag == T_MISSING) return UNKNOWN;
  if (tag == T_NULL) return lit.kind == JNULL ? TRUE : UNKNOWN;
  switch (lit.kind) {
    case JNULL: return FALSE;
    case JFALSE: return tag == T_FALSE ? TRUE : FALSE;
    case JTRUE: return tag == T_TRUE ? TRUE : FALSE;
    case JNUMBER: return tag == T_NUMBER && load<f64>(slot(f), 8) == lit.num ? TRUE : FALSE;
    case JSTRING: return tag == T_STRING && bytesEqual(f, c.bytes[0]) ? TRUE : FALSE;
    default: {
      if (tag != T_JSON) return FALSE;
      const v = parseSlot(f);
      if (v == null) return UNKNOWN;
      return deepEqual(v, lit) ? TRUE : FALSE;
    }
  }
}

function fieldsEqual(a: i32, b: i32): i32 {
  const ta = tagOf(a);
  const tb = tagOf(b);
  // Null is absent here as in FieldPresent: two nulls prove no ownership (DESIGN §2.3).
  if (ta <= T_NULL || tb <= T_NULL) return UNKNOWN;
  if (ta != tb) return FALSE;
  if (ta == T_NUMBER) return load<f64>(slot(a), 8) == load<f64>(slot(b), 8) ? TRUE : FALSE;
  if (ta == T_STRING) {
    const n = lenAt(a);
    return n == lenAt(b) && memory.compare(bytesAt(a), bytesAt(b), <usize>n) == 0 ? TRUE : FALSE;
  }
  if (ta == T_JSON) {
    const x = parseSlot(a);
    const y = parseSlot(b);
    if (x == null || y == null) return UNKNOWN;
    return deepEqual(x, y) ? TRUE : FALSE;
  }
  return TRUE; // both false or both true
}

/** Evaluates a condition to TRUE, FALSE or UNKNOWN over the current slots. */
export function evalCond(c: Cond): i32 {
  switch (c.kind) {
    case C_ALL: {
      let unknown = false;
      const ch = c.children;
      for (let i = 0, n = ch.length; i < n; i++) {
        const r = evalCond(ch[i]);
        if (r == FALSE) return FALSE;
        if (r == UNKNOWN) unknown = true;
      }
      return unknown ? UNKNOWN : TRUE;
    }
    case C_ANY: {
      let unknown = false;
      const ch = c.children;
      for (let i = 0, n = ch.length; i < n; i++) {
        const r = evalCond(ch[i]);
        if (r == TRUE) return TRUE;
        if (r == UNKNOWN) unknown = true;
      }
      return unknown ? UNKNOWN : FALSE;
    }
    case C_NOT: {
      const r = evalCond(c.children[0]);
      return r == UNKNOWN ? UNKNOWN : r == TRUE ? FALSE : TRUE;
    }
    case C_NUMERIC: {
      const s = slot(c.field);
      if (load<u8>(s) != T_NUMBER) return UNKNOWN;
      const x = load<f64>(s, 8);
      const v = c.num;
      let ok: bool;
      switch (c.op) {
        case 0: ok = x <= v; break;
        case 1: ok = x >= v; break;
        case 2: ok = x < v; break;
        case 3: ok = x > v; break;
        default: ok = Math.abs(x - v) < f64.EPSILON; break;
      }
      return ok ? TRUE : FALSE;
    }
    case C_STRING: {
      if (tagOf(c.field) != T_STRING) return UNKNOWN;
      const hit = stringMatches(c, c.field);
      return (c.op == OP_NOT_IN ? !hit : hit) ? TRUE : FALSE;
    }
    case C_PRESENT: return tagOf(c.field) > T_NULL ? TRUE : FALSE;
    case C_FIELD_EQUALS: return fieldsEqual(c.field, c.fieldB);
    default: return equalsLiteral(c);
  }
}

@inline function pack(decision: i32, kind: i32, rule: Rule | null): i32 {
  const detail = kind >= K_FAILED ? CODE_DETAIL : 0;
  return decision | (kind << 2) | detail | ((rule == null ? 0 : rule.index + 1) << 8);
}

/**
 * Decides a call for entry `e` over the current slots. Order (DESIGN §2.2): a holding Deny rule;
 * else the version-1 result; a rate limit turns an Allow into Deny; a holding Ask rule turns an
 * Allow into Ask. Returns the packed code: decision | kind << 2 | detail flag | (rule index + 1) << 8.
 */
export function decide(p: Policy, e: Entry, now: f64, hasNow: bool): i32 {
  lastEntry = e;
  lastHeld = TRUE;
  const denies = e.denies;
  for (let i = 0, n = denies.length; i < n; i++) {
    const r = denies[i];
    const held = r.cond == null ? TRUE : evalCond(r.cond!);
    if (held != FALSE) {
      lastHeld = held;
      return finish(D_DENY, K_DENIED, r);
    }
  }
  const allow = e.allow;
  let decision: i32;
  let kind: i32;
  if (allow == null) {
    decision = p.defaultAllow ? D_ALLOW : D_DENY;
    kind = K_NO_RULE;
  } else if (allow.cond == null) {
    decision = D_ALLOW;
    kind = K_NO_CONDITION;
  } else if (evalCond(allow.cond!) == TRUE) {
    decision = D_ALLOW;
    kind = K_PASSED;
  } else {
    return finish(D_DENY, K_FAILED, allow);
  }
  if (decision != D_ALLOW) return finish(decision, kind, allow);
  let record = false;
  if (allow != null && allow.rateMax > 0) {
    if (!hasNow) {
      lastRetry = -1;
      return finish(D_DENY, K_RATE, allow);
    }
    const max = allow.rateMax;
    if (e.times == null) {
      madeGarbage = true;
      e.times = new StaticArray<f64>(max);
    }
    const times = e.times!;
    const floor = now - allow.ratePer;
    while (e.count > 0 && unchecked(times[e.head]) <= floor) {
      e.head = (e.head + 1) % max;
      e.count--;
    }
    if (e.count >= max) {
      lastRetry = Math.ceil(unchecked(times[e.head]) + allow.ratePer - now);
      if (lastRetry < 1) lastRetry = 1;
      return finish(D_DENY, K_RATE, allow);
    }
    record = true;
  }
  const asks = e.asks;
  for (let i = 0, n = asks.length; i < n; i++) {
    const r = asks[i];
    const held = r.cond == null ? TRUE : evalCond(r.cond!);
    if (held != FALSE) {
      lastHeld = held;
      return finish(D_ASK, K_ASK, r);
    }
  }
  if (record) {
    const times = e.times!;
    const max = allow!.rateMax;
    unchecked(times[(e.head + e.count) % max] = now);
    e.count++;
  }
  return finish(decision, kind, allow);
}

function finish(decision: i32, kind: i32, rule: Rule | null): i32 {
  lastRule = rule;
  lastCode = pack(decision, kind, rule);
  return lastCode;
}

// ---- reasons ---------------------------------------------------------------------------------

// The failed leaf explaining a condition failure, when exactly one does.
let failLeaf: Cond | null = null;
let failLeaves: i32 = 0;

function slotShown(f: i32): string {
  const tag = tagOf(f);
  switch (tag) {
    case T_NULL: return "null";
    case T_FALSE: return "false";
    case T_TRUE: return "true";
    case T_NUMBER: return formatNumber(load<f64>(slot(f), 8));
    case T_STRING: return quote(String.UTF8.decodeUnsafe(bytesAt(f), <usize>lenAt(f)), 64);
    default: {
      const s = String.UTF8.decodeUnsafe(bytesAt(f), <usize>lenAt(f));
      return s.length <= 64 ? s : s.substring(0, 64) + "…";
    }
  }
}

function listShown(c: Cond): string {
  const parts = new Array<string>();
  for (let i = 0; i < c.strs.length && i < 8; i++) parts.push(quote(c.strs[i], 64));
  if (c.strs.length > 8) parts.push("… " + (c.strs.length - 8).toString() + " more");
  return "[" + parts.join(", ") + "]";
}

function literalShown(v: JValue): string {
  if (v.kind == JSTRING) return quote(v.str, 64);
  const s = toJson(v);
  return s.length <= 64 ? s : s.substring(0, 64) + "…";
}

function fieldName(p: Policy, f: i32): string {
  return p.fields[f].name;
}

function absent(p: Policy, f: i32): string {
  return fieldName(p, f) + (tagOf(f) == T_NULL ? " is null" : " is missing");
}

function leafWhyNot(p: Policy, c: Cond): string {
  const f = c.field;
  const tag = tagOf(f);
  switch (c.kind) {
    case C_NUMERIC: {
      if (tag <= T_NULL) return absent(p, f);
      const seen = fieldName(p, f) + " = " + slotShown(f);
      if (tag != T_NUMBER) return seen + " is not a number";
      return seen + " is not " + NUM_OPS[c.op] + " " + formatNumber(c.num);
    }
    case C_STRING: {
      if (tag <= T_NULL) return absent(p, f);
      const seen = fieldName(p, f) + " = " + slotShown(f);
      if (tag != T_STRING) return seen + " is not a string";
      switch (c.op) {
        case OP_IN: return seen + " is not in " + listShown(c);
        case OP_NOT_IN: return seen + " is in " + listShown(c);
        case OP_PREFIX: return seen + " does not start with any of " + listShown(c);
        default: return seen + " does not end with any of " + listShown(c);
      }
    }
    case C_PRESENT: return absent(p, f);
    case C_FIELD_EQUALS: {
      if (tag <= T_NULL) return absent(p, f);
      if (tagOf(c.fieldB) <= T_NULL) return absent(p, c.fieldB);
      return fieldName(p, f) + " = " + slotShown(f) + " does not equal " + fieldName(p, c.fieldB) + " = " + slotShown(c.fieldB);
    }
    default: {
      if (tag <= T_NULL && !(tag == T_NULL && c.value!.kind == JNULL)) return absent(p, f);
      return fieldName(p, f) + " = " + slotShown(f) + " does not equal " + literalShown(c.value!);
    }
  }
}

function leafWhy(p: Policy, c: Cond): string {
  const f = c.field;
  switch (c.kind) {
    case C_NUMERIC: return fieldName(p, f) + " = " + slotShown(f) + " is " + NUM_OPS[c.op] + " " + formatNumber(c.num);
    case C_STRING: {
      const seen = fieldName(p, f) + " = " + slotShown(f);
      switch (c.op) {
        case OP_IN: return seen + " is in " + listShown(c);
        case OP_NOT_IN: return seen + " is not in " + listShown(c);
        case OP_PREFIX: return seen + " starts with one of " + listShown(c);
        default: return seen + " ends with one of " + listShown(c);
      }
    }
    case C_PRESENT: return fieldName(p, f) + " is present";
    case C_FIELD_EQUALS: return fieldName(p, f) + " = " + slotShown(f) + " equals " + fieldName(p, c.fieldB);
    default: return fieldName(p, f) + " = " + slotShown(f) + " equals " + literalShown(c.value!);
  }
}

/** Why `c` (false or unknown) is not true. */
function whyNot(p: Policy, c: Cond): string {
  switch (c.kind) {
    case C_ALL: {
      const ch = c.children;
      for (let i = 0; i < ch.length; i++) if (evalCond(ch[i]) != TRUE) return whyNot(p, ch[i]);
      return "All held";
    }
    case C_ANY: {
      const ch = c.children;
      if (ch.length == 0) {
        failLeaves += 2;
        return "Any of no conditions never holds";
      }
      if (ch.length == 1) return whyNot(p, ch[0]);
      const parts = new Array<string>();
      for (let i = 0; i < ch.length; i++) parts.push(whyNot(p, ch[i]));
      return "none of " + ch.length.toString() + " alternatives held (" + parts.join("; ") + ")";
    }
    case C_NOT: {
      const child = c.children[0];
      if (evalCond(child) == UNKNOWN) return whyNot(p, child);
      failLeaves += 2;
      return "negated condition held: " + why(p, child);
    }
    default: {
      failLeaves++;
      failLeaf = c;
      return leafWhyNot(p, c);
    }
  }
}

/** Why `c` (true) holds. */
function why(p: Policy, c: Cond): string {
  switch (c.kind) {
    case C_ALL: {
      const ch = c.children;
      if (ch.length == 0) return "All of no conditions always holds";
      const parts = new Array<string>();
      for (let i = 0; i < ch.length; i++) parts.push(why(p, ch[i]));
      return parts.join(" and ");
    }
    case C_ANY: {
      const ch = c.children;
      for (let i = 0; i < ch.length; i++) if (evalCond(ch[i]) == TRUE) return why(p, ch[i]);
      return "Any held";
    }
    case C_NOT: return "not (" + whyNot(p, c.children[0]) + ")";
    default: return leafWhy(p, c);
  }
}

function slotJson(f: i32): string {
  const tag = tagOf(f);
  if (tag == T_STRING) return quote(String.UTF8.decodeUnsafe(bytesAt(f), <usize>lenAt(f)), 64);
  if (tag == T_JSON) {
    if (lenAt(f) > 256) return "";
    return String.UTF8.decodeUnsafe(bytesAt(f), <usize>lenAt(f));
  }
  return slotShown(f);
}

function failureJson(p: Policy, c: Cond): string {
  const f = c.field;
  let op: string;
  let expected = "";
  let actualField = f;
  switch (c.kind) {
    case C_NUMERIC: op = NUM_OPS[c.op]; expected = formatNumber(c.num); break;
    case C_STRING: {
      op = STR_OPS[c.op];
      const parts = new Array<string>(c.strs.length);
      for (let i = 0; i < c.strs.length; i++) parts[i] = jsonString(c.strs[i]);
      expected = "[" + parts.join(",") + "]";
      break;
    }
    case C_PRESENT: op = "FieldPresent"; break;
    case C_FIELD_EQUALS: {
      op = "FieldEquals";
      if (tagOf(c.fieldB) > T_NULL) expected = slotJson(c.fieldB);
      break;
    }
    default: op = "Equals"; expected = toJson(c.value!); break;
  }
  let s = "{\"path\":" + jsonString(fieldName(p, f)) + ",\"op\":\"" + op + "\"";
  if (expected.length > 0) s += ",\"expected\":" + expected;
  if (tagOf(actualField) != T_MISSING) {
    const a = slotJson(actualField);
    if (a.length > 0) s += ",\"actual\":" + a;
  }
  return s + "}";
}

/** `no rule matched tool 't' for role 'r'; applying default_action` */
export function noRuleReason(tool: string, role: string): string {
  return "no rule matched tool '" + shown(tool) + "' for role '" + shown(role) + "'; applying default_action";
}

function ruleDetail(p: Policy, r: Rule, verb: string): string {
  let s = "; " + verb + " by rule '" + shown(r.name) + "'";
  if (r.cond == null) return s;
  if (lastHeld == TRUE) return s + ": " + why(p, r.cond!);
  return s + ": its condition cannot be decided (" + whyNot(p, r.cond!) + "); when in doubt, perso does not allow";
}

/** Renders the last decision as the ABI's response JSON. */
export function explainLast(p: Policy): string {
  const e = lastEntry!;
  const code = lastCode;
  const decision = code & 3;
  const kind = (code >> 2) & 15;
  const rule = lastRule;
  let reason: string;
  let extra = "";
  failLeaf = null;
  failLeaves = 0;
  switch (kind) {
    case K_NO_RULE: reason = noRuleReason(e.tool, e.role); break;
    case K_NO_CONDITION: reason = e.prefix + "; no condition required"; break;
    case K_PASSED: reason = e.prefix + "; condition passed"; break;
    case K_FAILED: {
      reason = e.prefix + "; condition failed: " + whyNot(p, rule!.cond!);
      if (failLeaves == 1) extra = ",\"failure\":" + failureJson(p, failLeaf!);
      break;
    }
    case K_DENIED: reason = e.prefix + ruleDetail(p, rule!, "denied"); break;
    case K_ASK: reason = e.prefix + ruleDetail(p, rule!, "approval required"); break;
    default: {
      const r = rule!;
      const limit = "rate limit of " + r.rateMax.toString() + " per " + formatNumber(r.ratePer) + " s";
      if (lastRetry < 0) {
        reason = e.prefix + "; " + limit + " cannot be checked without the current time; the host must pass \"now\" in seconds";
      } else {
        reason = e.prefix + "; " + limit + " reached; retry in " + formatNumber(lastRetry) + " s";
        extra = ",\"retryAfter\":" + formatNumber(lastRetry);
      }
    }
  }
  let s = "{\"decision\":\"" + DECISION_NAMES[decision] + "\",\"reason\":" + jsonString(reason) +
    ",\"kind\":\"" + KIND_NAMES[kind] + "\"";
  if (rule != null) s += ",\"rule\":" + jsonString(rule.name);
  return s + extra + "}";
}
