// Reasons: the last decision explained for a person, written into the `reason` writer as UTF-8
// without allocating on the common paths.
//
// Invariants:
// - user values are quoted and cut at 64 characters on a character boundary
// - an unknown condition says what was missing or mistyped and that perso does not allow in doubt

import {
  K_ASK,
  K_BUDGET,
  K_BUDGET_UNKNOWN,
  K_DENIED,
  K_FAILED,
  K_NO_CONDITION,
  K_NO_RULE,
  K_PASSED,
  REASON_CONDITION_PASSED,
  REASON_DEFAULT_ACTION,
  REASON_FOR_ROLE,
  REASON_NO_CONDITION,
  REASON_NO_RULE,
  REASON_RULE_MATCHED,
  T_FALSE,
  T_NULL,
  T_NUMBER,
  T_STRING,
  T_TRUE,
} from '../../src/engine/engine-boundary';
import { JNULL } from './json-value';
import { Writer, cutBytes, reason } from './writer';
import { wBudgetReason } from './budget-reason';
import {
  C_EQUALS,
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
  shown,
} from './policy';
import { bytesAt, lenAt, slot, tagOf } from './slots';
import { TRUE, UNKNOWN, evalCond } from './conditions';
import { lastCode, lastEntry, lastHeld, lastRetry, lastRule } from './decision';
import { wUntrustedWhy } from './untrusted-conditions';

// The failed leaf explaining a condition failure, when exactly one does.
let failLeaf: Cond | null = null;
let failLeaves: i32 = 0;

/** Writes a slot's value for a person: quoted, cut at 64 characters. */
export function wSlot(w: Writer, f: i32): void {
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
  if (c.kind > C_EQUALS) return wUntrustedWhy(w, p, c, false);
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
  if (c.kind > C_EQUALS) return wUntrustedWhy(w, p, c, true);
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

/** Writes an entry's reason prefix, `rule matched tool 't' for role 'r'`. */
function wPrefix(w: Writer, e: Entry): void {
  w.str(REASON_RULE_MATCHED);
  w.str(shown(e.tool));
  w.str(REASON_FOR_ROLE);
  w.str(shown(e.role));
  w.byte(0x27);
}

/** Writes `no rule matched tool 't' for role 'r'; applying default_action`. */
export function wNoRule(w: Writer, tool: string, role: string): void {
  w.str(REASON_NO_RULE);
  w.str(shown(tool));
  w.str(REASON_FOR_ROLE);
  w.str(shown(role));
  w.str(REASON_DEFAULT_ACTION);
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
      wPrefix(w, e);
      return w.str(REASON_NO_CONDITION);
    }
    case K_PASSED: {
      wPrefix(w, e);
      return w.str(REASON_CONDITION_PASSED);
    }
    case K_FAILED: {
      wPrefix(w, e);
      w.str('; condition failed: ');
      return whyNot(w, p, rule!.cond!);
    }
    case K_DENIED: {
      wPrefix(w, e);
      return wRuleDetail(w, p, rule!, 'denied');
    }
    case K_ASK: {
      wPrefix(w, e);
      return wRuleDetail(w, p, rule!, 'approval required');
    }
    case K_BUDGET:
    case K_BUDGET_UNKNOWN: {
      wPrefix(w, e);
      return wBudgetReason(w, p, rule!);
    }
    default: {
      const r = rule!;
      wPrefix(w, e);
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

/** The single failed leaf of the last explanation, or null. */
export function explainedLeaf(): Cond | null {
  return failLeaves == 1 ? failLeaf : null;
}
