// Conditions over field slots, in three-valued logic.
//
// Invariants:
// - missing or mistyped data is *unknown*, never false and never true (DESIGN §2.3)
// - null counts as absent: Equals and FieldEquals on a null field are unknown
// - a condition reads only the slots of its entry and allocates only to compare JSON values

import {
  T_FALSE,
  T_JSON,
  T_NULL,
  T_NUMBER,
  T_STRING,
  T_TRUE,
} from '../../src/engine/engine-boundary';
import { JNULL, JFALSE, JTRUE, JNUMBER, JSTRING, deepEqual } from './json-value';
import { bytesAt, bytesEqual, lenAt, parseSlot, slot, tagOf } from './slots';
import {
  C_ALL,
  C_ANY,
  C_EQUALS,
  C_FIELD_EQUALS,
  C_NOT,
  C_NUMERIC,
  C_PRESENT,
  C_STRING,
  Cond,
  OP_IN,
  OP_NOT_IN,
  OP_PREFIX,
} from './policy';
import { evalUntrusted } from './untrusted-conditions';

export const FALSE: i32 = 0;
export const TRUE: i32 = 1;
export const UNKNOWN: i32 = 2;

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
    case C_EQUALS:
      return equalsLiteral(c);
    default:
      return evalUntrusted(c);
  }
}
