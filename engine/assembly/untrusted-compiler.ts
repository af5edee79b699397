// The policy keys of issue 14 that the engine only checks or expands: `untrusted_tools` (expanded
// into Policy.untrusted, read by record-result.ts) and an Ask rule's `remember` (kept by the host,
// src/backend/remembered-approvals.ts; the engine checks its shape).
//
// Invariants:
// - a glob in untrusted_tools expands against `tools` only, like a rule's tool_name
// - every error names its JSON path; remember's fields are "<Source>.<field>" like a budget's

import { SOURCE_NAMES } from '../../src/engine/engine-boundary';
import { JARRAY, JNUMBER, JOBJECT, JSTRING, JValue, kindName } from './json-value';
import { indexPath, joinAll, quote } from './json-text';
import { Diagnostics, shownValue } from './diagnostics';
import { Policy } from './policy';
import { globMatch } from './expansion';

/** Largest number of seconds a policy may give (2^43, as for `now`). */
const MAX_SECONDS: f64 = 8796093022208;

/** `untrusted_tools`: tool names or globs (expanded against `tools`, like rule tool names). */
export function compileUntrustedTools(d: Diagnostics, v: JValue, p: Policy): void {
  const list = d.stringList(v, 'untrusted_tools', 'an array of tool names');
  if (list == null) return;
  for (let i = 0; i < list.length; i++) {
    const name = list[i];
    if (!name.includes('*')) {
      p.untrusted.add(name);
      continue;
    }
    let matched = false;
    for (let t = 0; t < p.tools.length; t++) {
      if (globMatch(name, p.tools[t])) {
        p.untrusted.add(p.tools[t]);
        matched = true;
      }
    }
    if (!matched)
      d.warn(
        indexPath('untrusted_tools', i),
        'glob ' + quote(name, 64) + ' matches no tool in tools; it marks nothing untrusted',
      );
  }
}

function sourceIndex(name: string): i32 {
  for (let i = 0; i < SOURCE_NAMES.length; i++) if (SOURCE_NAMES[i] == name) return i;
  return -1;
}

/** `remember`: `{"seconds": S, "same": ["<Source>.<field>", …]}`; false (with errors) when invalid. */
export function compileRemember(d: Diagnostics, v: JValue, path: string): bool {
  if (v.kind != JOBJECT) {
    d.error(
      path,
      'expected {"seconds": S, "same": ["Arguments.<field>", ...]}, got ' + kindName(v.kind),
    );
    return false;
  }
  d.unknownKeys(v, path, ['seconds', 'same']);
  let ok = true;
  const seconds = v.get('seconds');
  if (
    seconds == null ||
    seconds.kind != JNUMBER ||
    !(seconds.num > 0) ||
    seconds.num > MAX_SECONDS
  ) {
    d.error(
      path + '.seconds',
      (seconds == null ? 'missing' : 'got ' + shownValue(seconds)) +
        '; expected a number of seconds greater than 0',
    );
    ok = false;
  }
  const same = v.get('same');
  if (same == null || same.kind != JARRAY) {
    d.error(
      path + '.same',
      (same == null ? 'missing' : 'got ' + shownValue(same)) +
        '; expected the fields a later call must repeat, e.g. ["Arguments.order_id"] ([] for none)',
    );
    return false;
  }
  const items = same.items!;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const dot = item.kind == JSTRING ? item.str.indexOf('.') : -1;
    if (dot <= 0 || sourceIndex(item.str.substring(0, dot)) < 0 || dot + 1 >= item.str.length) {
      d.error(
        indexPath(path + '.same', i),
        'expected "<Source>.<field>" with a source of ' +
          joinAll(SOURCE_NAMES, ', ') +
          ' (e.g. "Arguments.order_id"), got ' +
          shownValue(item),
      );
      ok = false;
    }
  }
  return ok;
}
