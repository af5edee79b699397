// `plan`: what the engine host's fast path needs to know about the active policy, as JSON: the
// field slots, the rule names, the condition leaves and, per (tool, role) entry, the slots it reads.
//
// Invariants:
// - written straight into one buffer, never as one string per entry (a policy at the 100,000-pair
//   limit would make a million managed objects to allocate and sweep), and handed over uncopied
// - entries carry no reason prefix: the host writes `rule matched tool ... for role ...` itself
// - entry i of the plan is entry i of the engine: the host passes that index to `decide`

import { SOURCE_NAMES } from '../../src/engine/engine-boundary';
import { E_NOT_INITIALISED } from './messages';
import { C_FIELD_EQUALS } from './policy';
import { wLeafOp } from './response';
import { active } from './decision';
import { dataStart } from './slots';
import { Writer } from './writer';
import { fail } from './abi';

/** Writes a list of strings as a JSON array. */
function wStrings(w: Writer, list: string[]): void {
  w.byte(0x5b);
  for (let i = 0; i < list.length; i++) {
    if (i > 0) w.byte(0x2c);
    w.jsonStr(list[i]);
  }
  w.byte(0x5d);
}

const planOut = new Writer();

/** `plan`: what the fast path needs to know about the active policy, as JSON. */
export function planJson(): usize {
  const p = active;
  if (p == null) return fail(E_NOT_INITIALISED);
  const w = planOut;
  w.reset();
  // The response's length goes first (takeResponse writes it): the plan is not copied again.
  w.ensure(4);
  w.len = 4;
  w.str('{"dataStart":');
  w.num(<f64>dataStart);
  w.str(',"fields":[');
  for (let i = 0; i < p.fields.length; i++) {
    const f = p.fields[i];
    if (i > 0) w.byte(0x2c);
    w.str('{"source":"');
    w.str(SOURCE_NAMES[f.source]);
    w.str('","path":');
    wStrings(w, f.path);
    w.byte(0x7d);
  }
  w.str('],"taint":');
  w.str(p.taint ? 'true' : 'false');
  w.str(',"rules":');
  wStrings(w, p.ruleNames);
  w.str(',"webauthn":[');
  for (let i = 0; i < p.webauthnRules.length; i++) {
    if (i > 0) w.byte(0x2c);
    w.num(<f64>p.webauthnRules[i]);
  }
  w.str('],"leaves":[');
  for (let i = 0; i < p.leaves.length; i++) {
    const c = p.leaves[i];
    if (i > 0) w.byte(0x2c);
    w.str('{"field":');
    w.num(<f64>c.field);
    w.str(',"fieldB":');
    w.num(<f64>(c.kind == C_FIELD_EQUALS ? c.fieldB : -1));
    wLeafOp(w, c);
    w.byte(0x7d);
  }
  w.str('],"entries":[');
  // Room for the entries at once (exact for ASCII names without fields): growing by doubling
  // would copy the largest part of the plan several times and hold two copies at the end.
  let room = 0;
  for (let i = 0, n = p.entries.length; i < n; i++) {
    const e = unchecked(p.entries[i]);
    room += 34 + e.tool.length + e.role.length + e.fields.length * 8;
  }
  w.ensure(room + 2);
  for (let i = 0; i < p.entries.length; i++) {
    const e = p.entries[i];
    if (i > 0) w.byte(0x2c);
    w.str('{"tool":');
    w.jsonStr(e.tool);
    w.str(',"role":');
    w.jsonStr(e.role);
    w.str(',"fields":[');
    for (let k = 0; k < e.fields.length; k++) {
      if (k > 0) w.byte(0x2c);
      w.num(<f64>e.fields[k]);
    }
    w.byte(0x5d);
    const a = e.allow;
    if (a != null && a.budgetKind != 0) {
      w.str(',"budget":[');
      w.num(<f64>a.budgetField);
      w.byte(0x2c);
      w.num(<f64>a.budgetPer);
      w.byte(0x5d);
    }
    w.byte(0x7d);
  }
  w.str(']}');
  return w.takeResponse();
}
