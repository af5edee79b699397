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

import { JNULL, JFALSE, JTRUE, JNUMBER, JSTRING, JValue, JsonParser, deepEqual } from './json';
import { Writer, cutBytes, madeGarbage, out, reason } from './writer';
import { freeMemo, memoFor, memoId } from './memo';
import { recordTime, windowWait } from './window';
import { FITS, UNREADABLE, budgetRetry, checkBudget, recordBudget, wBudgetReason } from './budget';
import {
  C_ALL,
  C_ANY,
  C_FIELD_EQUALS,
  C_NOT,
  C_NUMERIC,
  C_PRESENT,
  C_STRING,
  Cond,
  Entry,
  NUM_OPS,
  OP_IN,
  OP_NOT_IN,
  OP_PREFIX,
  Policy,
  Rule,
  STR_OPS,
  shown,
} from './policy';

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
export const DECISION_NAMES: string[] = ['Allow', 'Deny', 'Ask'];

export const K_NO_RULE: i32 = 0;
export const K_NO_CONDITION: i32 = 1;
export const K_PASSED: i32 = 2;
export const K_FAILED: i32 = 3;
export const K_DENIED: i32 = 4;
export const K_ASK: i32 = 5;
export const K_RATE: i32 = 6;
export const K_BUDGET: i32 = 7;
export const K_BUDGET_UNKNOWN: i32 = 8;
export const KIND_NAMES: string[] = [
  'no_rule',
  'no_condition',
  'condition_passed',
  'condition_failed',
  'denied_by_rule',
  'ask_by_rule',
  'rate_limited',
  'budget_exceeded',
  'budget_unknown',
];

/** Largest |now| a rate limit accepts, in seconds (2^43: about 278 000 years, sub-millisecond precision). */
export const MAX_NOW: f64 = 8796093022208;

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
  const old = active;
  if (old != null) {
    for (let i = 0; i < old.entries.length; i++) {
      const m = old.entries[i].memo;
      if (m != null) freeMemo(m);
    }
  }
  region = next;
  regionCap = cap;
  dataStart = start;
  store<f64>(region, 0);
  store<u32>(region, <u32>cap, 8);
  store<u32>(region, <u32>start, 12);
  active = p;
  lastEntry = null;
  lastRule = null;
}

/** Grows the region so that its data area holds at least `bytes`; returns the region pointer. */
export function reserve(bytes: i32): usize {
  if (region == 0 || bytes < 0 || bytes > 1 << 26) return region;
  const need = dataStart + bytes;
  if (need <= regionCap) return region;
  let cap = regionCap;
  while (cap < need) cap <<= 1;
  region = heap.realloc(region, <usize>cap);
  regionCap = cap;
  store<u32>(region, <u32>cap, 8);
  return region;
}

function slot(f: i32): usize {
  return region + <usize>REGION_HEADER + ((<usize>f) << 4);
}

function tagOf(f: i32): u8 {
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

function parseSlot(f: i32): JValue | null {
  madeGarbage = true;
  const p = new JsonParser(bytesAt(f), lenAt(f));
  return p.parse();
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
  // Equals holds only on a present field, and null is absent (DESIGN §2.2b): a null field, or a
  // null literal, leaves the leaf unknown, never true.
  if (tag <= T_NULL || lit.kind == JNULL) return UNKNOWN;
  switch (lit.kind) {
    case JFALSE:
      return tag == T_FALSE ? TRUE : FALSE;
    case JTRUE:
      return tag == T_TRUE ? TRUE : FALSE;
    case JNUMBER:
      return tag == T_NUMBER && load<f64>(slot(f), 8) == lit.num ? TRUE : FALSE;
    case JSTRING:
      return tag == T_STRING && bytesEqual(f, c.bytes[0]) ? TRUE : FALSE;
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
        case 0:
          ok = x <= v;
          break;
        case 1:
          ok = x >= v;
          break;
        case 2:
          ok = x < v;
          break;
        case 3:
          ok = x > v;
          break;
        default:
          ok = Math.abs(x - v) < f64.EPSILON;
          break;
      }
      return ok ? TRUE : FALSE;
    }
    case C_STRING: {
      if (tagOf(c.field) != T_STRING) return UNKNOWN;
      const hit = stringMatches(c, c.field);
      return (c.op == OP_NOT_IN ? !hit : hit) ? TRUE : FALSE;
    }
    case C_PRESENT:
      return tagOf(c.field) > T_NULL ? TRUE : FALSE;
    case C_FIELD_EQUALS:
      return fieldsEqual(c.field, c.fieldB);
    default:
      return equalsLiteral(c);
  }
}

function pack(decision: i32, kind: i32, rule: Rule | null): i32 {
  const detail = kind >= K_FAILED ? CODE_DETAIL : 0;
  return decision | (kind << 2) | detail | ((rule == null ? 0 : rule.index + 1) << 8);
}

/**
 * Decides a call for entry `e` over the current slots. Order (DESIGN §2.2): a holding Deny rule;
 * else the version-1 result; a rate limit turns an Allow into Deny; a holding Ask rule turns an
 * Allow into Ask (`approved`: a person approved the call, so a holding Ask spends the rate-limit
 * budget as the Allow it becomes). Returns the packed code: decision | kind << 2 | detail flag | (rule index + 1) << 8.
 */
export function decide(p: Policy, e: Entry, now: f64, hasNow: bool, approved: bool = false): i32 {
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
    // Past 2^43 s an f64 time has less than a millisecond of precision: `now - per_seconds` can
    // round to `now`, and every call would expire the one before it (unlimited Allows).
    if (!hasNow || !(Math.abs(now) <= MAX_NOW)) {
      lastRetry = -1;
      return finish(D_DENY, K_RATE, allow);
    }
    const wait = windowWait(e, allow.rateMax, allow.ratePer, now);
    if (wait > 0) {
      lastRetry = wait;
      return finish(D_DENY, K_RATE, allow);
    }
    record = true;
  }
  let spend = false;
  if (allow != null && allow.budgetKind != 0) {
    const b = checkBudget(p, e, allow, now, hasNow);
    if (b != FITS) return finish(D_DENY, b == UNREADABLE ? K_BUDGET_UNKNOWN : K_BUDGET, allow);
    spend = true;
  }
  const asks = e.asks;
  for (let i = 0, n = asks.length; i < n; i++) {
    const r = asks[i];
    const held = r.cond == null ? TRUE : evalCond(r.cond!);
    if (held != FALSE) {
      lastHeld = held;
      // A person approved this call: the host lifts this Ask to Allow, so it spends the budget.
      if (approved && record) recordCall(e, allow!, now);
      if (approved && spend) recordBudget(now);
      return finish(D_ASK, K_ASK, r);
    }
  }
  if (record) recordCall(e, allow!, now);
  if (spend) recordBudget(now);
  return finish(decision, kind, allow);
}

/** Records an allowed call at `now` in the entry's window. */
function recordCall(e: Entry, allow: Rule, now: f64): void {
  recordTime(e, allow.rateMax, now);
}

function finish(decision: i32, kind: i32, rule: Rule | null): i32 {
  lastRule = rule;
  lastCode = pack(decision, kind, rule);
  return lastCode;
}

const snap = new Writer();

/**
 * Stores in the region header (f64 at offset 0) the memo id of the last decision's explanation,
 * or 0 when it has no detail or must not be memoised (rate limits).
 */
export function memoizeLast(code: i32): void {
  const kind = (code >> 2) & 15;
  if ((code & CODE_DETAIL) == 0 || kind == K_RATE || kind >= K_BUDGET) {
    store<f64>(region, 0);
    return;
  }
  const e = lastEntry!;
  const w = snap;
  w.reset();
  const fields = e.fields;
  for (let i = 0, n = fields.length; i < n; i++) {
    const s = slot(unchecked(fields[i]));
    const tag = load<u8>(s);
    w.byte(tag);
    if (tag == T_NUMBER) {
      w.bytes(s + 8, 8);
    } else if (tag == T_STRING || tag == T_JSON) {
      const len = <i32>load<u32>(s, 4);
      w.bytes(s + 4, 4);
      w.bytes(region + <usize>load<u32>(s, 8), len);
    }
  }
  store<f64>(region, memoId(memoFor(e), code, w));
}

// ---- reasons ---------------------------------------------------------------------------------
// Written into the `reason` writer as UTF-8, without allocating on the common paths.

// The failed leaf explaining a condition failure, when exactly one does.
let failLeaf: Cond | null = null;
let failLeaves: i32 = 0;

/** Writes a slot's value for a person: quoted, cut at 64 characters. */
function wSlot(w: Writer, f: i32): void {
  const tag = tagOf(f);
  switch (tag) {
    case T_NULL:
      w.str('null');
      break;
    case T_FALSE:
      w.str('false');
      break;
    case T_TRUE:
      w.str('true');
      break;
    case T_NUMBER:
      w.num(load<f64>(slot(f), 8));
      break;
    case T_STRING:
      w.quotedBytes(bytesAt(f), lenAt(f), 64);
      break;
    default: {
      const n = lenAt(f);
      const k = cutBytes(bytesAt(f), n, 64);
      w.bytes(bytesAt(f), k);
      if (k < n) w.str('…');
    }
  }
}

function wList(w: Writer, c: Cond): void {
  w.byte(0x5b);
  const list = c.bytes;
  const n = list.length;
  for (let i = 0; i < n && i < 8; i++) {
    if (i > 0) w.str(', ');
    const b = unchecked(list[i]);
    w.quotedBytes(changetype<usize>(b), b.byteLength, 64);
  }
  if (n > 8) {
    w.str(', … ');
    w.num(<f64>(n - 8));
    w.str(' more');
  }
  w.byte(0x5d);
}

function wName(w: Writer, p: Policy, f: i32): void {
  w.str(unchecked(p.fields[f]).name);
}

function wAbsent(w: Writer, p: Policy, f: i32): void {
  wName(w, p, f);
  w.str(tagOf(f) == T_NULL ? ' is null' : ' is missing');
}

function wSeen(w: Writer, p: Policy, f: i32): void {
  wName(w, p, f);
  w.str(' = ');
  wSlot(w, f);
}

function leafWhyNot(w: Writer, p: Policy, c: Cond): void {
  const f = c.field;
  const tag = tagOf(f);
  switch (c.kind) {
    case C_NUMERIC: {
      if (tag <= T_NULL) return wAbsent(w, p, f);
      wSeen(w, p, f);
      if (tag != T_NUMBER) return w.str(' is not a number');
      w.str(' is not ');
      w.str(NUM_OPS[c.op]);
      w.byte(0x20);
      w.num(c.num);
      return;
    }
    case C_STRING: {
      if (tag <= T_NULL) return wAbsent(w, p, f);
      wSeen(w, p, f);
      if (tag != T_STRING) return w.str(' is not a string');
      switch (c.op) {
        case OP_IN:
          w.str(' is not in ');
          break;
        case OP_NOT_IN:
          w.str(' is in ');
          break;
        case OP_PREFIX:
          w.str(' does not start with any of ');
          break;
        default:
          w.str(' does not end with any of ');
          break;
      }
      return wList(w, c);
    }
    case C_PRESENT:
      return wAbsent(w, p, f);
    case C_FIELD_EQUALS: {
      if (tag <= T_NULL) return wAbsent(w, p, f);
      if (tagOf(c.fieldB) <= T_NULL) return wAbsent(w, p, c.fieldB);
      wSeen(w, p, f);
      w.str(' does not equal ');
      return wSeen(w, p, c.fieldB);
    }
    default: {
      if (tag <= T_NULL) return wAbsent(w, p, f);
      if (c.value!.kind == JNULL) {
        wName(w, p, f);
        return w.str(' Equals null never holds (null counts as absent)');
      }
      wSeen(w, p, f);
      w.str(' does not equal ');
      return w.str(c.shown);
    }
  }
}

function leafWhy(w: Writer, p: Policy, c: Cond): void {
  const f = c.field;
  switch (c.kind) {
    case C_NUMERIC: {
      wSeen(w, p, f);
      w.str(' is ');
      w.str(NUM_OPS[c.op]);
      w.byte(0x20);
      return w.num(c.num);
    }
    case C_STRING: {
      wSeen(w, p, f);
      switch (c.op) {
        case OP_IN:
          w.str(' is in ');
          break;
        case OP_NOT_IN:
          w.str(' is not in ');
          break;
        case OP_PREFIX:
          w.str(' starts with one of ');
          break;
        default:
          w.str(' ends with one of ');
          break;
      }
      return wList(w, c);
    }
    case C_PRESENT: {
      wName(w, p, f);
      return w.str(' is present');
    }
    case C_FIELD_EQUALS: {
      wSeen(w, p, f);
      w.str(' equals ');
      return wName(w, p, c.fieldB);
    }
    default: {
      wSeen(w, p, f);
      w.str(' equals ');
      return w.str(c.shown);
    }
  }
}

/** Why `c` (false or unknown) is not true. */
function whyNot(w: Writer, p: Policy, c: Cond): void {
  switch (c.kind) {
    case C_ALL: {
      const ch = c.children;
      for (let i = 0; i < ch.length; i++) if (evalCond(ch[i]) != TRUE) return whyNot(w, p, ch[i]);
      return w.str('All held');
    }
    case C_ANY: {
      const ch = c.children;
      if (ch.length == 0) {
        failLeaves += 2;
        return w.str('Any of no conditions never holds');
      }
      if (ch.length == 1) return whyNot(w, p, ch[0]);
      w.str('none of ');
      w.num(<f64>ch.length);
      w.str(' alternatives held (');
      for (let i = 0; i < ch.length; i++) {
        if (i > 0) w.str('; ');
        whyNot(w, p, ch[i]);
      }
      return w.byte(0x29);
    }
    case C_NOT: {
      const child = c.children[0];
      if (evalCond(child) == UNKNOWN) return whyNot(w, p, child);
      failLeaves += 2;
      w.str('negated condition held: ');
      return why(w, p, child);
    }
    default: {
      failLeaves++;
      failLeaf = c;
      return leafWhyNot(w, p, c);
    }
  }
}

/** Why `c` (true) holds. */
function why(w: Writer, p: Policy, c: Cond): void {
  switch (c.kind) {
    case C_ALL: {
      const ch = c.children;
      if (ch.length == 0) return w.str('All of no conditions always holds');
      for (let i = 0; i < ch.length; i++) {
        if (i > 0) w.str(' and ');
        why(w, p, ch[i]);
      }
      return;
    }
    case C_ANY: {
      const ch = c.children;
      for (let i = 0; i < ch.length; i++) if (evalCond(ch[i]) == TRUE) return why(w, p, ch[i]);
      return w.str('Any held');
    }
    case C_NOT: {
      w.str('not (');
      whyNot(w, p, c.children[0]);
      return w.byte(0x29);
    }
    default:
      return leafWhy(w, p, c);
  }
}

/** Writes `no rule matched tool 't' for role 'r'; applying default_action`. */
export function wNoRule(w: Writer, tool: string, role: string): void {
  w.str("no rule matched tool '");
  w.str(shown(tool));
  w.str("' for role '");
  w.str(shown(role));
  w.str("'; applying default_action");
}

function wRuleDetail(w: Writer, p: Policy, r: Rule, verb: string): void {
  w.str('; ');
  w.str(verb);
  w.str(" by rule '");
  w.str(shown(r.name));
  w.byte(0x27);
  if (r.cond == null) return;
  if (lastHeld == TRUE) {
    w.str(': ');
    return why(w, p, r.cond!);
  }
  w.str(': its condition cannot be decided (');
  whyNot(w, p, r.cond!);
  w.str('); when in doubt, perso does not allow');
}

/**
 * Writes the last decision's reason into `reason`. Afterwards `explainedLeaf` is the single failed
 * leaf (or null) and `lastRetryAfter` the seconds to wait (or -1).
 */
export function explainReason(p: Policy): void {
  const w = reason;
  w.reset();
  const e = lastEntry!;
  const kind = (lastCode >> 2) & 15;
  const rule = lastRule;
  failLeaf = null;
  failLeaves = 0;
  switch (kind) {
    case K_NO_RULE:
      return wNoRule(w, e.tool, e.role);
    case K_NO_CONDITION: {
      w.str(e.prefix);
      return w.str('; no condition required');
    }
    case K_PASSED: {
      w.str(e.prefix);
      return w.str('; condition passed');
    }
    case K_FAILED: {
      w.str(e.prefix);
      w.str('; condition failed: ');
      return whyNot(w, p, rule!.cond!);
    }
    case K_DENIED: {
      w.str(e.prefix);
      return wRuleDetail(w, p, rule!, 'denied');
    }
    case K_ASK: {
      w.str(e.prefix);
      return wRuleDetail(w, p, rule!, 'approval required');
    }
    case K_BUDGET:
    case K_BUDGET_UNKNOWN: {
      w.str(e.prefix);
      return wBudgetReason(w, p, rule!);
    }
    default: {
      const r = rule!;
      w.str(e.prefix);
      w.str('; rate limit of ');
      w.num(<f64>r.rateMax);
      w.str(' per ');
      w.num(r.ratePer);
      w.str(' s');
      if (lastRetry < 0) {
        w.str(
          ' cannot be checked without the current time; the host must pass "now" in seconds (at most 2^43)',
        );
      } else {
        w.str(' reached; retry in ');
        w.num(lastRetry);
        w.str(' s');
      }
    }
  }
}

/** True when a decision was made under the active policy (so `explainReason` has one to explain). */
export function hasDecided(): bool {
  return lastEntry != null;
}

/** The single failed leaf of the last explanation, or null. */
export function explainedLeaf(): Cond | null {
  return failLeaves == 1 ? failLeaf : null;
}

/** Seconds to wait after the last rate-limited decision, or -1. */
export function lastRetryAfter(): f64 {
  const kind = (lastCode >> 2) & 15;
  return kind == K_RATE ? lastRetry : kind == K_BUDGET ? budgetRetry() : -1;
}

/** Writes a slot's value as JSON for a failure record; false when it is too long to include. */
function wSlotJson(w: Writer, f: i32): bool {
  const tag = tagOf(f);
  if (tag == T_JSON) {
    const n = lenAt(f);
    if (n > 256) return false;
    w.bytes(bytesAt(f), n);
    return true;
  }
  wSlot(w, f);
  return true;
}

/** Writes `,"failure":{...}` for leaf `c`, from the current slots. */
export function wFailure(w: Writer, p: Policy, c: Cond): void {
  w.str(',"failure":{"path":');
  w.jsonStr(unchecked(p.fields[c.field]).name);
  w.str(',"op":"');
  switch (c.kind) {
    case C_NUMERIC: {
      w.str(NUM_OPS[c.op]);
      w.str('","expected":');
      w.num(c.num);
      break;
    }
    case C_STRING: {
      w.str(STR_OPS[c.op]);
      w.str('","expected":[');
      for (let i = 0; i < c.strs.length; i++) {
        if (i > 0) w.byte(0x2c);
        w.jsonStr(c.strs[i]);
      }
      w.byte(0x5d);
      break;
    }
    case C_PRESENT:
      w.str('FieldPresent"');
      break;
    case C_FIELD_EQUALS: {
      w.str('FieldEquals"');
      if (tagOf(c.fieldB) > T_NULL) {
        const mark = w.len;
        w.str(',"expected":');
        if (!wSlotJson(w, c.fieldB)) w.len = mark;
      }
      break;
    }
    default: {
      w.str('Equals","expected":');
      w.str(c.literal);
      break;
    }
  }
  if (tagOf(c.field) != T_MISSING) {
    const mark = w.len;
    w.str(',"actual":');
    if (!wSlotJson(w, c.field)) w.len = mark;
  }
  w.byte(0x7d);
}

/** Writes the last decision as the ABI's response JSON into `out` (after `explainReason`). */
export function wResponse(p: Policy): void {
  const w = out;
  w.reset();
  const decision = lastCode & 3;
  const kind = (lastCode >> 2) & 15;
  w.str('{"decision":"');
  w.str(DECISION_NAMES[decision]);
  w.str('","reason":"');
  w.jsonBytes(reason.ptr, reason.len);
  w.str('","kind":"');
  w.str(KIND_NAMES[kind]);
  w.byte(0x22);
  const rule = lastRule;
  if (rule != null) {
    w.str(',"rule":');
    w.jsonStr(rule.name);
  }
  const retry = lastRetryAfter();
  if (retry >= 0) {
    w.str(',"retryAfter":');
    w.num(retry);
  }
  const leaf = explainedLeaf();
  if (kind == K_FAILED && leaf != null) wFailure(w, p, leaf);
  w.byte(0x7d);
}
