// The conditions over untrusted content (taint.ts): SessionUntrusted and FromUntrusted, their
// three-valued results over the request slots, and their reasons.
//
// Invariants:
// - SessionUntrusted is true or false, never unknown: it reads no field
// - FromUntrusted over a missing or null field is unknown, like every leaf over a field (DESIGN §2.3)
// - true and false values carry no content: they never come from untrusted content

import { C_SESSION_UNTRUSTED, Cond, Policy } from './policy';
import { FALSE, TRUE, UNKNOWN } from './conditions';
import {
  REGION_HEADER,
  T_FALSE,
  T_JSON,
  T_NULL,
  T_NUMBER,
  T_STRING,
  T_TRUE,
} from '../../src/engine/engine-boundary';
import { region } from './slots';
import { jsonFrom, numberFrom, sessionTainted, stringFrom } from './taint';
import { Writer, cutBytes } from './writer';

function slot(f: i32): usize {
  return region + <usize>REGION_HEADER + ((<usize>f) << 4);
}

/** Evaluates SessionUntrusted or FromUntrusted to TRUE, FALSE or UNKNOWN. */
export function evalUntrusted(c: Cond): i32 {
  if (c.kind == C_SESSION_UNTRUSTED) return sessionTainted() ? TRUE : FALSE;
  const s = slot(c.field);
  const tag = <i32>load<u8>(s);
  if (tag <= T_NULL) return UNKNOWN;
  let from = false;
  if (tag == T_NUMBER) from = numberFrom(load<f64>(s, 8));
  else if (tag == T_STRING || tag == T_JSON) {
    const p = region + <usize>load<u32>(s, 8);
    const n = <i32>load<u32>(s, 4);
    from = tag == T_STRING ? stringFrom(p, n) : jsonFrom(p, n);
  }
  return from ? TRUE : FALSE;
}

function wValue(w: Writer, p: Policy, f: i32): void {
  w.str(unchecked(p.fields[f]).name);
  const s = slot(f);
  const tag = <i32>load<u8>(s);
  if (tag <= T_NULL) {
    w.str(tag == T_NULL ? ' is null' : ' is missing');
    return;
  }
  w.str(' = ');
  if (tag == T_TRUE) w.str('true');
  else if (tag == T_FALSE) w.str('false');
  else if (tag == T_NUMBER) w.num(load<f64>(s, 8));
  else {
    const ptr = region + <usize>load<u32>(s, 8);
    const n = <i32>load<u32>(s, 4);
    if (tag == T_STRING) w.quotedBytes(ptr, n, 64);
    else {
      const k = cutBytes(ptr, n, 64);
      w.bytes(ptr, k);
      if (k < n) w.str('…');
    }
  }
}

/** Writes why the leaf holds (`holds`) or why it does not (false or unknown). */
export function wUntrustedWhy(w: Writer, p: Policy, c: Cond, holds: bool): void {
  if (c.kind == C_SESSION_UNTRUSTED) {
    w.str(holds ? 'this session read untrusted content' : 'this session read no untrusted content');
    return;
  }
  wValue(w, p, c.field);
  if (<i32>load<u8>(slot(c.field)) <= T_NULL) return;
  w.str(holds ? ' came from untrusted content' : ' did not come from untrusted content');
}
