// Compiles condition trees: variants, sources and field paths, ops and literals, each leaf given
// one field slot in the policy (the same (source, path) always the same slot).
//
// Invariants:
// - a condition object has exactly one key, its variant; an invalid node yields null with errors
// - errors name the JSON path and list what is expected; unknown keys only warn
// - a leaf that can never hold (Equals null, FieldPresent on a boolean-looking key) warns

import { SOURCE_NAMES } from '../../src/engine/engine-boundary';
import { JARRAY, JNULL, JNUMBER, JOBJECT, JSTRING, JTRUE, JValue, kindName } from './json-value';
import { formatNumber, indexPath, joinAll, quote, toJson, utf8 } from './json-text';
import {
  P_EXPECTED_FIELD,
  P_EXPECTED_OPS_NUM,
  P_EXPECTED_OPS_STR,
  P_EXPECTED_SOURCES,
  P_EXPECTED_VARIANTS,
} from './messages';
import {
  C_ALL,
  C_ANY,
  C_EQUALS,
  C_FIELD_EQUALS,
  C_FROM_UNTRUSTED,
  C_NOT,
  C_NUMERIC,
  C_PRESENT,
  C_SESSION_UNTRUSTED,
  C_STRING,
  Cond,
  Field,
  NUM_OPS,
  Policy,
  STR_OPS,
  nameIndex,
} from './policy';
import { Diagnostics, shownValue } from './diagnostics';

function looksBoolean(key: string): bool {
  return (
    key.startsWith('is_') ||
    key.startsWith('has_') ||
    key.startsWith('can_') ||
    key.endsWith('_enabled') ||
    key.endsWith('_verified') ||
    key.endsWith('_confirmed') ||
    key.endsWith('_allowed') ||
    key == 'verified' ||
    key == 'enabled'
  );
}

/** Compiles conditions and field references into `policy`, reporting into `d`. */
export class ConditionCompiler {
  private fieldIds: Map<string, i32> = new Map();

  constructor(
    private d: Diagnostics,
    private policy: Policy,
  ) {}

  /** A field named as `"<Source>.<field>"` (one top-level key); its slot, or -1 with an error. */
  fieldRef(v: JValue, path: string): i32 {
    const dot = v.kind == JSTRING ? v.str.indexOf('.') : -1;
    const src = dot > 0 ? nameIndex(SOURCE_NAMES, v.str.substring(0, dot)) : -1;
    if (src < 0 || dot + 1 >= v.str.length) {
      this.d.error(
        path,
        'expected "<Source>.<field>" with a source of ' +
          joinAll(SOURCE_NAMES, ', ') +
          ' (e.g. "Arguments.amount"), got ' +
          shownValue(v),
      );
      return -1;
    }
    const key = new JValue(JSTRING);
    key.str = v.str.substring(dot + 1);
    return this.field(key, path, src);
  }

  private field(v: JValue | null, path: string, source: i32): i32 {
    if (v == null) {
      this.d.error(path, 'missing; ' + P_EXPECTED_FIELD);
      return -1;
    }
    const keys = new Array<string>();
    if (v.kind == JSTRING) keys.push(v.str);
    else if (v.kind == JARRAY && v.items!.length > 0) {
      const items = v.items!;
      for (let i = 0; i < items.length; i++) {
        if (items[i].kind != JSTRING) {
          this.d.error(indexPath(path, i), 'expected a string key, got ' + kindName(items[i].kind));
          return -1;
        }
        keys.push(items[i].str);
      }
    } else {
      this.d.error(
        path,
        P_EXPECTED_FIELD + ', got ' + (v.kind == JARRAY ? 'an empty array' : kindName(v.kind)),
      );
      return -1;
    }
    const id = SOURCE_NAMES[source] + '\u0000' + joinAll(keys, '\u0000');
    if (this.fieldIds.has(id)) return this.fieldIds.get(id);
    const n = this.policy.fields.length;
    this.policy.fields.push(
      new Field(source, keys, SOURCE_NAMES[source] + '.' + joinAll(keys, '.')),
    );
    this.fieldIds.set(id, n);
    return n;
  }

  private source(v: JValue | null, path: string): i32 {
    if (v == null) {
      this.d.error(path, 'missing; ' + P_EXPECTED_SOURCES);
      return -1;
    }
    if (v.kind == JSTRING) {
      const i = nameIndex(SOURCE_NAMES, v.str);
      if (i >= 0) return i;
    }
    this.d.error(path, 'unknown source ' + shownValue(v) + '; ' + P_EXPECTED_SOURCES);
    return -1;
  }

  /** Compiles one condition; null (with errors recorded) when it is invalid. */
  condition(v: JValue, path: string): Cond | null {
    const c = this.conditionNode(v, path);
    if (c != null && (c.kind == C_SESSION_UNTRUSTED || c.kind == C_FROM_UNTRUSTED))
      this.policy.taint = true;
    if (c != null && c.kind >= C_NUMERIC && c.kind != C_SESSION_UNTRUSTED) {
      c.leaf = this.policy.leaves.length;
      this.policy.leaves.push(c);
    }
    return c;
  }

  private conditionNode(v: JValue, path: string): Cond | null {
    if (v.kind != JOBJECT) {
      this.d.error(
        path,
        'expected a condition object such as {"NumericCheck": {...}}, got ' + kindName(v.kind),
      );
      return null;
    }
    const keys = v.keys!;
    if (keys.length != 1) {
      this.d.error(
        path,
        'expected exactly one key (the condition variant), got ' +
          formatNumber(keys.length) +
          '; ' +
          P_EXPECTED_VARIANTS,
      );
      return null;
    }
    const variant = keys[0];
    const body = v.items![0];
    const at = path + '.' + variant;
    if (variant == 'All' || variant == 'Any') return this.combination(variant, body, at);
    if (variant == 'Not') {
      const child = this.condition(body, at);
      if (child == null) return null;
      const c = new Cond(C_NOT);
      c.children.push(child);
      return c;
    }
    if (variant == 'SessionUntrusted') {
      if (body.kind != JTRUE) {
        this.d.error(
          at,
          'expected true, got ' +
            shownValue(body) +
            '; for a session that read no untrusted content use {"Not": {"SessionUntrusted": true}}',
        );
        return null;
      }
      return new Cond(C_SESSION_UNTRUSTED);
    }
    const isNum = variant == 'NumericCheck';
    const isStr = variant == 'StringCheck';
    const isPresent = variant == 'FieldPresent';
    const isFieldEq = variant == 'FieldEquals';
    const isEquals = variant == 'Equals';
    const isFrom = variant == 'FromUntrusted';
    if (!(isNum || isStr || isPresent || isFieldEq || isEquals || isFrom)) {
      this.d.error(path, 'unknown condition ' + quote(variant, 64) + '; ' + P_EXPECTED_VARIANTS);
      return null;
    }
    if (body.kind != JOBJECT) {
      this.d.error(at, 'expected an object, got ' + kindName(body.kind));
      return null;
    }
    if (isFieldEq) return this.fieldEquals(body, at);
    const known =
      isPresent || isFrom
        ? ['source', 'field']
        : isEquals
          ? ['source', 'field', 'value']
          : ['source', 'field', 'op', 'value'];
    this.d.unknownKeys(body, at, known);
    const src = this.source(body.get('source'), at + '.source');
    const fieldV = body.get('field');
    const f = src < 0 ? -1 : this.field(fieldV, at + '.field', src);
    if (isFrom) {
      if (f < 0) return null;
      const c = new Cond(C_FROM_UNTRUSTED);
      c.field = f;
      return c;
    }
    if (isPresent) return this.present(at, src, fieldV, f);
    if (isEquals) return this.equals(body, at, src, fieldV, f);
    return this.check(body, at, isNum, f);
  }

  /** `All` or `Any` over an array of conditions. */
  private combination(variant: string, body: JValue, at: string): Cond | null {
    if (body.kind != JARRAY) {
      this.d.error(at, 'expected an array of conditions, got ' + kindName(body.kind));
      return null;
    }
    const c = new Cond(variant == 'All' ? C_ALL : C_ANY);
    const items = body.items!;
    if (items.length == 0) {
      this.d.warn(
        at,
        variant == 'All'
          ? 'empty All is always true; give it conditions or remove it'
          : 'empty Any is always false; give it conditions or remove it',
      );
    }
    let ok = true;
    for (let i = 0; i < items.length; i++) {
      const child = this.condition(items[i], indexPath(at, i));
      if (child == null) ok = false;
      else c.children.push(child);
    }
    return ok ? c : null;
  }

  /** `FieldEquals`: two fields, each with its own source. */
  private fieldEquals(body: JValue, at: string): Cond | null {
    this.d.unknownKeys(body, at, ['source_a', 'field_a', 'source_b', 'field_b']);
    const sa = this.source(body.get('source_a'), at + '.source_a');
    const sb = this.source(body.get('source_b'), at + '.source_b');
    const fa = sa < 0 ? -1 : this.field(body.get('field_a'), at + '.field_a', sa);
    const fb = sb < 0 ? -1 : this.field(body.get('field_b'), at + '.field_b', sb);
    if (fa < 0 || fb < 0) return null;
    const c = new Cond(C_FIELD_EQUALS);
    c.field = fa;
    c.fieldB = fb;
    return c;
  }

  /** `FieldPresent` on slot `f` (-1: the field was invalid). */
  private present(at: string, src: i32, fieldV: JValue | null, f: i32): Cond | null {
    if (f < 0) return null;
    const key = this.policy.fields[f].path[this.policy.fields[f].path.length - 1];
    if (looksBoolean(key) || key == 'mfa_verified') {
      this.d.warn(
        at + '.field',
        quote(key, 64) +
          ' looks boolean; FieldPresent passes for false too — use {"Equals": {"source": "' +
          SOURCE_NAMES[src] +
          '", "field": ' +
          toJson(fieldV!) +
          ', "value": true}}',
      );
    }
    const c = new Cond(C_PRESENT);
    c.field = f;
    return c;
  }

  /** `Equals` of slot `f` (-1: the field was invalid) with a JSON literal. */
  private equals(body: JValue, at: string, src: i32, fieldV: JValue | null, f: i32): Cond | null {
    const value = body.get('value');
    if (value == null) {
      this.d.error(at + '.value', 'missing; expected the JSON value to compare with');
      return null;
    }
    if (f < 0) return null;
    if (value.kind == JNULL) {
      this.d.warn(
        at + '.value',
        'Equals with value null never holds: null counts as absent, so the check is unknown (a Deny or Ask rule holds, an Allow rule fails); to test that the field is absent or null, use {"Not": {"FieldPresent": {"source": "' +
          SOURCE_NAMES[src] +
          '", "field": ' +
          toJson(fieldV!) +
          '}}}',
      );
    }
    const c = new Cond(C_EQUALS);
    c.field = f;
    c.value = value;
    c.literal = toJson(value);
    c.shown = shownValue(value);
    if (value.kind == JSTRING) c.bytes.push(utf8(value.str));
    return c;
  }

  /** `NumericCheck` or `StringCheck` of slot `f` (-1: the field was invalid): an op and a value. */
  private check(body: JValue, at: string, isNum: bool, f: i32): Cond | null {
    const value = body.get('value');
    let ok = f >= 0;
    const opV = body.get('op');
    const ops = isNum ? NUM_OPS : STR_OPS;
    let op = -1;
    if (opV == null) {
      this.d.error(at + '.op', 'missing; ' + (isNum ? P_EXPECTED_OPS_NUM : P_EXPECTED_OPS_STR));
      ok = false;
    } else {
      if (opV.kind == JSTRING) op = nameIndex(ops, opV.str);
      if (op < 0) {
        this.d.error(
          at + '.op',
          'unknown op ' +
            shownValue(opV) +
            '; ' +
            (isNum ? P_EXPECTED_OPS_NUM : P_EXPECTED_OPS_STR),
        );
        ok = false;
      }
    }
    const c = new Cond(isNum ? C_NUMERIC : C_STRING);
    c.field = f;
    c.op = op;
    if (isNum) {
      if (value == null || value.kind != JNUMBER) {
        this.d.error(
          at + '.value',
          (value == null ? 'missing' : 'got ' + shownValue(value)) + '; expected a number',
        );
        ok = false;
      } else c.num = value.num;
    } else {
      const list = this.d.stringList(value, at + '.value', 'an array of strings');
      if (list == null) ok = false;
      else {
        c.strs = list;
        for (let i = 0; i < list.length; i++) c.bytes.push(utf8(list[i]));
      }
    }
    return ok ? c : null;
  }
}
