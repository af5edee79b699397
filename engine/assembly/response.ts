// The raw ABI's response JSON for the last decision: decision, reason, kind, rule, retry time and
// the failed leaf as a failure record.
//
// Invariants:
// - written after `explainReason`, from the same slots the decision read
// - a value too long to include (JSON over 256 bytes) is left out, never cut into invalid JSON

import {
  DECISION_NAMES,
  KIND_NAMES,
  K_FAILED,
  T_JSON,
  T_MISSING,
  T_NULL,
} from '../../src/engine/engine-boundary';
import { Writer, out, reason } from './writer';
import {
  C_FROM_UNTRUSTED,
  C_FIELD_EQUALS,
  C_NUMERIC,
  C_PRESENT,
  C_STRING,
  Cond,
  NUM_OPS,
  Policy,
  STR_OPS,
} from './policy';
import { bytesAt, lenAt, tagOf } from './slots';
import { lastCode, lastRetryAfter, lastRule } from './decision';
import { explainedLeaf, wSlot } from './reasons';

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

/**
 * Writes leaf `c`'s `,"op":"..."` and, where the leaf itself holds it, `,"expected":...` (the plan's
 * leaves and the failure record share it; a FieldEquals expects another slot's value).
 */
export function wLeafOp(w: Writer, c: Cond): void {
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
    case C_FROM_UNTRUSTED: {
      w.str('FromUntrusted"');
      break;
    }
    case C_FIELD_EQUALS: {
      w.str('FieldEquals"');
      break;
    }
    default: {
      w.str('Equals","expected":');
      w.str(c.literal);
      break;
    }
  }
}

/** Writes `,"failure":{...}` for leaf `c`, from the current slots. */
export function wFailure(w: Writer, p: Policy, c: Cond): void {
  w.str(',"failure":{"path":');
  w.jsonStr(unchecked(p.fields[c.field]).name);
  wLeafOp(w, c);
  if (c.kind == C_FIELD_EQUALS && tagOf(c.fieldB) > T_NULL) {
    const mark = w.len;
    w.str(',"expected":');
    if (!wSlotJson(w, c.fieldB)) w.len = mark;
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
  if (kind == K_FAILED && leaf != null && leaf.leaf >= 0) wFailure(w, p, leaf);
  w.byte(0x7d);
}
