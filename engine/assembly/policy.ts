// The policy compiler: a parsed policy document in, a flat (tool, role) map of compiled rules out.
//
// Invariants after a successful compile:
// - every `*` glob is expanded against `tools`; nothing is matched at request time
// - each (tool, role) entry holds at most one Allow rule (the last one wins) and every Deny/Ask rule
// - each condition leaf reads one global field slot; an entry lists every slot its rules read
// - errors are collected (not just the first) with JSON paths; unknown keys only warn

import {
  JARRAY,
  JFALSE,
  JNULL,
  JNUMBER,
  JTRUE,
  JOBJECT,
  JSTRING,
  JValue,
  joinAll,
  kindName,
  quote,
  toJson,
  jsonString,
  truncate,
} from './json';
import { MemoTable } from './memo';
import { madeGarbage } from './writer';
import {
  P_EXPECTED_FIELD,
  P_EXPECTED_OPS_NUM,
  P_EXPECTED_OPS_STR,
  P_EXPECTED_SOURCES,
  P_EXPECTED_VARIANTS,
} from './messages';

export const SRC_ARGUMENTS: i32 = 0;
export const SRC_AGENT: i32 = 1;
export const SRC_RESOURCE: i32 = 2;
export const SOURCE_NAMES: string[] = ['Arguments', 'AgentAttributes', 'ResourceAttributes'];

export const C_ALL: i32 = 0;
export const C_ANY: i32 = 1;
export const C_NOT: i32 = 2;
export const C_NUMERIC: i32 = 3;
export const C_STRING: i32 = 4;
export const C_PRESENT: i32 = 5;
export const C_FIELD_EQUALS: i32 = 6;
export const C_EQUALS: i32 = 7;

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

/** A policy error or warning at a JSON path. */
export class Diagnostic {
  constructor(
    public severity: string,
    public path: string,
    public message: string,
  ) {}
}

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

/** Everything that applies to one (tool, role) pair. */
export class Entry {
  index: i32 = 0;
  tool: string = '';
  role: string = '';
  prefix: string = '';
  allow: Rule | null = null;
  denies: Rule[] = [];
  asks: Rule[] = [];
  fields: i32[] = [];
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
  tools: string[] = [];
  roles: string[] = [];
  ruleCount: i32 = 0;
  ruleNames: string[] = [];
  /** Indexes of the Ask rules only a WebAuthn assertion releases, for the host to report. */
  webauthnRules: i32[] = [];
  fields: Field[] = [];
  leaves: Cond[] = [];
  entries: Entry[] = [];
  /** Entries by `entryKey(tool, role)`. */
  byKey: Map<string, Entry> = new Map();

  /** The entry for (tool, role), or null: one hash lookup, no scanning. */
  lookup(tool: string, role: string): Entry | null {
    const key = entryKey(tool, role);
    return this.byKey.has(key) ? this.byKey.get(key) : null;
  }
}

/** A map key for (tool, role): the tool's length first, so no two pairs share a key. */
export function entryKey(tool: string, role: string): string {
  return String.fromCharCodes([tool.length & 0xffff, tool.length >>> 16]) + tool + role;
}

/** Most (tool, role) entries a policy may expand to; globs times roles can multiply quickly. */
export const MAX_ENTRIES: i32 = 100000;

/** Truncated, single-quoted name as the original reasons show it. */
export function shown(s: string): string {
  if (s.length <= 64) return s;
  madeGarbage = true;
  return truncate(s, 64);
}

/** True when `name` matches `glob`, where `*` matches any run of characters. */
export function globMatch(glob: string, name: string): bool {
  let g = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  const gl = glob.length;
  const nl = name.length;
  while (n < nl) {
    if (g < gl && glob.charCodeAt(g) == 0x2a) {
      star = g++;
      mark = n;
    } else if (g < gl && glob.charCodeAt(g) == name.charCodeAt(n)) {
      g++;
      n++;
    } else if (star >= 0) {
      g = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (g < gl && glob.charCodeAt(g) == 0x2a) g++;
  return g == gl;
}

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

function indexOf(list: string[], s: string): i32 {
  for (let i = 0; i < list.length; i++) if (list[i] == s) return i;
  return -1;
}

/** Compiles a parsed policy document; check `errors` before using `policy`. */
export class Compiler {
  errors: Diagnostic[] = [];
  warnings: Diagnostic[] = [];
  policy: Policy = new Policy();
  private fieldIds: Map<string, i32> = new Map();

  private error(path: string, message: string): void {
    // Bounded: a hostile policy cannot make the error list itself huge.
    if (this.errors.length < 100) this.errors.push(new Diagnostic('error', path, message));
  }

  private warn(path: string, message: string): void {
    if (this.warnings.length < 100) this.warnings.push(new Diagnostic('warning', path, message));
  }

  private unknownKeys(obj: JValue, path: string, known: string[]): void {
    const keys = obj.keys!;
    for (let i = 0; i < keys.length; i++) {
      if (indexOf(known, keys[i]) < 0) {
        this.warn(
          join(path, keys[i]),
          'unknown key ' + quote(keys[i], 64) + ' is ignored; check its spelling',
        );
      }
    }
  }

  private stringList(v: JValue | null, path: string, what: string): string[] | null {
    if (v == null) {
      this.error(path, 'missing; expected ' + what);
      return null;
    }
    if (v.kind != JARRAY) {
      this.error(path, 'expected ' + what + ', got ' + kindName(v.kind));
      return null;
    }
    const items = v.items!;
    const out = new Array<string>();
    let ok = true;
    for (let i = 0; i < items.length; i++) {
      if (items[i].kind != JSTRING) {
        this.error(
          path + '[' + i.toString() + ']',
          'expected a string, got ' + kindName(items[i].kind),
        );
        ok = false;
      } else {
        out.push(items[i].str);
      }
    }
    return ok ? out : null;
  }

  compile(doc: JValue): void {
    const p = this.policy;
    if (doc.kind != JOBJECT) {
      this.error('policy', 'expected a JSON object, got ' + kindName(doc.kind));
      return;
    }
    this.unknownKeys(doc, '', [
      'version',
      'default_action',
      'tools',
      'roles',
      'rules',
      'mode',
      'description',
      '//',
      'approval',
      // read by hosts, not by the engine: checked here so every host sees the same errors
      'revision',
      'annotation_defaults',
      'tests',
      '$schema',
    ]);

    const revision = doc.get('revision');
    if (
      revision != null &&
      (revision.kind != JNUMBER ||
        revision.num < 0 ||
        revision.num != Math.floor(revision.num) ||
        revision.num > 9007199254740991)
    ) {
      this.error(
        'revision',
        'expected a non-negative integer (raise it with every signed release), got ' +
          shownValue(revision),
      );
    }
    const annotationDefaults = doc.get('annotation_defaults');
    if (
      annotationDefaults != null &&
      annotationDefaults.kind != JTRUE &&
      annotationDefaults.kind != JFALSE
    ) {
      this.error(
        'annotation_defaults',
        'expected true or false, got ' + shownValue(annotationDefaults),
      );
    }

    const version = doc.get('version');
    if (version == null) this.error('version', 'missing; expected a string such as "perso-1.0.0"');
    else if (version.kind != JSTRING)
      this.error('version', 'expected a string, got ' + kindName(version.kind));
    else p.version = version.str;

    const def = doc.get('default_action');
    if (def == null) this.error('default_action', 'missing; expected "Allow" or "Deny"');
    else if (def.kind != JSTRING || (def.str != 'Allow' && def.str != 'Deny')) {
      this.error('default_action', 'expected "Allow" or "Deny", got ' + shownValue(def));
    } else p.defaultAllow = def.str == 'Allow';

    const mode = doc.get('mode');
    if (mode != null && mode.kind != JNULL) {
      if (mode.kind != JSTRING || (mode.str != 'enforce' && mode.str != 'shadow')) {
        this.error('mode', 'expected "enforce" or "shadow", got ' + shownValue(mode));
      } else p.shadow = mode.str == 'shadow';
    }
    const approvalV = doc.get('approval');
    if (approvalV != null) {
      const kind = this.approvalKind(approvalV, 'approval');
      if (kind >= 0) p.webauthn = kind == 1;
    }

    const tools = this.stringList(doc.get('tools'), 'tools', 'an array of tool names');
    if (tools != null) p.tools = tools;

    let declared: Set<string> | null = null;
    const rolesV = doc.get('roles');
    if (rolesV != null && rolesV.kind != JNULL) {
      const roles = this.stringList(rolesV, 'roles', 'an array of role names');
      if (roles != null) {
        p.roles = roles;
        const s = new Set<string>();
        for (let i = 0; i < roles.length; i++) s.add(roles[i]);
        declared = s;
      }
    }

    const rulesV = doc.get('rules');
    if (rulesV == null) {
      this.error('rules', 'missing; expected an array of rules');
      return;
    }
    if (rulesV.kind != JARRAY) {
      this.error('rules', 'expected an array of rules, got ' + kindName(rulesV.kind));
      return;
    }
    const items = rulesV.items!;
    p.ruleCount = items.length;
    const ids = new Map<string, i32>();
    const shadowed = new Set<string>();
    const roleSeen = new Set<string>();
    for (let i = 0; i < items.length; i++) {
      const path = 'rules[' + i.toString() + ']';
      const rv = items[i];
      if (rv.kind != JOBJECT) {
        this.error(path, 'expected a rule object, got ' + kindName(rv.kind));
        p.ruleNames.push(path);
        continue;
      }
      this.unknownKeys(rv, path, [
        'tool_name',
        'roles',
        'condition',
        'id',
        'description',
        'effect',
        'rate_limit',
        'approval',
        'budget',
      ]);
      const rule = new Rule();
      rule.index = i;
      rule.name = path;
      let ok = true;

      const idV = rv.get('id');
      if (idV != null && idV.kind != JNULL) {
        if (idV.kind != JSTRING || idV.str.length == 0) {
          this.error(path + '.id', 'expected a non-empty string, got ' + shownValue(idV));
          ok = false;
        } else {
          rule.name = idV.str;
          if (ids.has(idV.str)) {
            this.warn(
              path + '.id',
              'id ' +
                quote(idV.str, 64) +
                ' is also used by rules[' +
                ids.get(idV.str).toString() +
                ']; give each rule its own id',
            );
          } else ids.set(idV.str, i);
        }
      }
      const descV = rv.get('description');
      if (descV != null && descV.kind != JNULL && descV.kind != JSTRING) {
        this.error(path + '.description', 'expected a string, got ' + kindName(descV.kind));
        ok = false;
      }

      const effV = rv.get('effect');
      if (effV != null && effV.kind != JNULL) {
        if (
          effV.kind != JSTRING ||
          (effV.str != 'Allow' && effV.str != 'Deny' && effV.str != 'Ask')
        ) {
          this.error(
            path + '.effect',
            'unknown effect ' + shownValue(effV) + '; expected one of Allow, Deny, Ask',
          );
          ok = false;
        } else
          rule.effect =
            effV.str == 'Allow' ? EFFECT_ALLOW : effV.str == 'Deny' ? EFFECT_DENY : EFFECT_ASK;
      }

      const toolV = rv.get('tool_name');
      let tool = '';
      if (toolV == null) {
        this.error(path + '.tool_name', 'missing; expected a tool name or a glob such as "crm_*"');
        ok = false;
      } else if (toolV.kind != JSTRING || toolV.str.length == 0) {
        this.error(path + '.tool_name', 'expected a non-empty string, got ' + shownValue(toolV));
        ok = false;
      } else tool = toolV.str;

      const roles = this.stringList(rv.get('roles'), path + '.roles', 'an array of role names');
      if (roles == null) ok = false;
      else if (roles.length == 0) this.warn(path + '.roles', 'no roles; this rule grants nothing');

      const condV = rv.get('condition');
      if (condV != null && condV.kind != JNULL) {
        const c = this.condition(condV, path + '.condition');
        if (c == null) ok = false;
        else rule.cond = c;
      }

      const rateV = rv.get('rate_limit');
      if (rateV != null && rateV.kind != JNULL) {
        if (!this.rateLimit(rateV, path + '.rate_limit', rule)) ok = false;
        else if (rule.effect != EFFECT_ALLOW) {
          this.warn(
            path + '.rate_limit',
            'rate_limit applies only to Allow rules; it is ignored here',
          );
          rule.rateMax = 0;
        }
      }
      const budgetV = rv.get('budget');
      if (budgetV != null && budgetV.kind != JNULL) {
        if (!this.budget(budgetV, path + '.budget', rule)) ok = false;
        else if (rule.effect != EFFECT_ALLOW) {
          this.warn(path + '.budget', 'budget applies only to Allow rules; it is ignored here');
          rule.budgetKind = 0;
        }
      }
      rule.webauthn = p.webauthn;
      const ruleApprovalV = rv.get('approval');
      if (ruleApprovalV != null) {
        const kind = this.approvalKind(ruleApprovalV, path + '.approval');
        if (kind < 0) ok = false;
        else if (rule.effect != EFFECT_ASK)
          this.warn(path + '.approval', 'approval applies only to Ask rules; it is ignored here');
        else rule.webauthn = kind == 1;
      }
      p.ruleNames.push(rule.name);
      if (!ok) continue;
      if (rule.effect == EFFECT_ASK && rule.webauthn) p.webauthnRules.push(i);

      // Expand the tool name (a glob only against `tools`), then the roles.
      const names = new Array<string>();
      if (tool.includes('*')) {
        for (let t = 0; t < p.tools.length; t++)
          if (globMatch(tool, p.tools[t])) names.push(p.tools[t]);
        if (names.length == 0) {
          this.warn(
            path + '.tool_name',
            'glob ' + quote(tool, 64) + ' matches no tool in tools; the rule has no effect',
          );
        }
      } else names.push(tool);
      const rs = roles!;
      for (let r = 0; r < rs.length; r++) {
        const role = rs[r];
        if (declared != null && !declared.has(role)) {
          const key = i.toString() + '\u0000' + role;
          if (!roleSeen.has(key)) {
            roleSeen.add(key);
            this.warn(
              path + '.roles[' + r.toString() + ']',
              'role ' +
                quote(role, 64) +
                ' is not declared in roles; this grant is ignored — declare it or fix its spelling',
            );
          }
          continue;
        }
        for (let t = 0; t < names.length; t++) {
          const key = entryKey(names[t], role);
          let e: Entry;
          if (p.byKey.has(key)) e = p.byKey.get(key);
          else {
            if (p.entries.length >= MAX_ENTRIES) {
              this.error(
                path,
                'the policy expands to more than ' +
                  MAX_ENTRIES.toString() +
                  ' (tool, role) pairs; split it or narrow its globs',
              );
              return;
            }
            e = new Entry();
            e.index = p.entries.length;
            e.tool = names[t];
            e.role = role;
            e.prefix = "rule matched tool '" + shown(names[t]) + "' for role '" + shown(role) + "'";
            p.entries.push(e);
            p.byKey.set(key, e);
          }
          if (rule.effect == EFFECT_ALLOW) {
            const prev = e.allow;
            if (prev != null) {
              const pk = i.toString() + ':' + prev.index.toString();
              if (!shadowed.has(pk)) {
                shadowed.add(pk);
                this.warn(
                  path,
                  'shadows rules[' +
                    prev.index.toString() +
                    '] for (' +
                    shown(names[t]) +
                    ', ' +
                    shown(role) +
                    '); the later rule replaces the earlier one — merge or remove one',
                );
              }
            }
            e.allow = rule;
          } else if (rule.effect == EFFECT_DENY) e.denies.push(rule);
          else if (rule.webauthn) {
            // WebAuthn Ask rules first: of the Ask rules that hold, the strictest is the one reported.
            const asks = e.asks;
            asks.push(rule);
            let at = asks.length - 1;
            while (at > 0 && !asks[at - 1].webauthn) {
              asks[at] = asks[at - 1];
              at--;
            }
            asks[at] = rule;
          } else e.asks.push(rule);
        }
      }
    }
    if (this.errors.length > 0) return;
    if (declared == null) {
      // Without a declared list, every role a rule names counts as declared (DESIGN §2.1).
      const s = new Set<string>();
      for (let k = 0; k < p.entries.length; k++) {
        const role = p.entries[k].role;
        if (!s.has(role)) {
          s.add(role);
          p.roles.push(role);
        }
      }
    }
    for (let k = 0; k < p.entries.length; k++) {
      const e = p.entries[k];
      if (e.allow != null) {
        const a = e.allow!;
        collectFields(a.cond, e.fields);
        if (a.budgetKind != 0 && !e.fields.includes(a.budgetField)) e.fields.push(a.budgetField);
        if (a.budgetKind != 0 && a.budgetPer >= 0 && !e.fields.includes(a.budgetPer))
          e.fields.push(a.budgetPer);
      }
      for (let d = 0; d < e.denies.length; d++) collectFields(e.denies[d].cond, e.fields);
      for (let a = 0; a < e.asks.length; a++) collectFields(e.asks[a].cond, e.fields);
    }
  }

  /** `"click"` → 0, `"webauthn"` → 1; anything else is an error at `path` and -1. */
  private approvalKind(v: JValue, path: string): i32 {
    if (v.kind == JSTRING && v.str == 'click') return 0;
    if (v.kind == JSTRING && v.str == 'webauthn') return 1;
    this.error(path, 'unknown approval ' + shownValue(v) + '; expected "click" or "webauthn"');
    return -1;
  }

  private rateLimit(v: JValue, path: string, rule: Rule): bool {
    if (v.kind != JOBJECT) {
      this.error(path, 'expected {"max": N, "per_seconds": S}, got ' + kindName(v.kind));
      return false;
    }
    this.unknownKeys(v, path, ['max', 'per_seconds']);
    let ok = true;
    const max = v.get('max');
    if (
      max == null ||
      max.kind != JNUMBER ||
      max.num != Math.floor(max.num) ||
      max.num < 1 ||
      max.num > <f64>MAX_RATE
    ) {
      this.error(
        path + '.max',
        (max == null ? 'missing' : 'got ' + shownValue(max)) +
          '; expected an integer from 1 to ' +
          MAX_RATE.toString(),
      );
      ok = false;
    } else rule.rateMax = <i32>max.num;
    const per = v.get('per_seconds');
    if (per == null || per.kind != JNUMBER || !(per.num > 0)) {
      this.error(
        path + '.per_seconds',
        (per == null ? 'missing' : 'got ' + shownValue(per)) +
          '; expected a number of seconds greater than 0',
      );
      ok = false;
    } else rule.ratePer = per.num;
    return ok;
  }

  /** `budget`: `{"sum" | "distinct": "<Source>.<field>", "max", "per_seconds", "per"?}` (budget.ts). */
  private budget(v: JValue, path: string, rule: Rule): bool {
    if (v.kind != JOBJECT) {
      this.error(
        path,
        'expected {"sum" or "distinct": "Arguments.<field>", "max": N, "per_seconds": S}, got ' +
          kindName(v.kind),
      );
      return false;
    }
    this.unknownKeys(v, path, ['sum', 'distinct', 'max', 'per_seconds', 'per']);
    let ok = true;
    const sumV = v.get('sum');
    const distinctV = v.get('distinct');
    if ((sumV == null) == (distinctV == null)) {
      this.error(
        path,
        (sumV == null ? 'missing' : 'both') +
          ' "sum" and "distinct"; give exactly one, e.g. "sum": "Arguments.amount"',
      );
      ok = false;
    } else {
      rule.budgetKind = sumV != null ? 1 : 2;
      rule.budgetField = this.fieldRef(
        sumV != null ? sumV : distinctV!,
        path + (sumV != null ? '.sum' : '.distinct'),
      );
      if (rule.budgetField < 0) ok = false;
    }
    const perV = v.get('per');
    if (perV != null && perV.kind != JNULL) {
      rule.budgetPer = this.fieldRef(perV, path + '.per');
      if (rule.budgetPer < 0) ok = false;
    }
    const max = v.get('max');
    if (max == null || max.kind != JNUMBER || !(max.num >= 0) || max.num > 9007199254740991) {
      this.error(
        path + '.max',
        (max == null ? 'missing' : 'got ' + shownValue(max)) + '; expected a number of 0 or more',
      );
      ok = false;
    } else if (
      rule.budgetKind == 2 &&
      (max.num != Math.floor(max.num) || max.num > <f64>MAX_RATE)
    ) {
      this.error(
        path + '.max',
        'got ' +
          shownValue(max) +
          '; a distinct budget counts values: expected an integer from 0 to ' +
          MAX_RATE.toString(),
      );
      ok = false;
    } else rule.budgetMax = max.num;
    const per = v.get('per_seconds');
    if (per == null || per.kind != JNUMBER || !(per.num > 0) || per.num > 8796093022208) {
      this.error(
        path + '.per_seconds',
        (per == null ? 'missing' : 'got ' + shownValue(per)) +
          '; expected a number of seconds greater than 0',
      );
      ok = false;
    } else rule.budgetSeconds = per.num;
    if (!ok) rule.budgetKind = 0;
    return ok;
  }

  /** A field named as `"<Source>.<field>"` (one top-level key); its slot, or -1 with an error. */
  private fieldRef(v: JValue, path: string): i32 {
    const dot = v.kind == JSTRING ? v.str.indexOf('.') : -1;
    const src = dot > 0 ? indexOf(SOURCE_NAMES, v.str.substring(0, dot)) : -1;
    if (src < 0 || dot + 1 >= v.str.length) {
      this.error(
        path,
        'expected "<Source>.<field>" with a source of ' +
          SOURCE_NAMES.join(', ') +
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
      this.error(path, 'missing; ' + P_EXPECTED_FIELD);
      return -1;
    }
    const keys = new Array<string>();
    if (v.kind == JSTRING) keys.push(v.str);
    else if (v.kind == JARRAY && v.items!.length > 0) {
      const items = v.items!;
      for (let i = 0; i < items.length; i++) {
        if (items[i].kind != JSTRING) {
          this.error(
            path + '[' + i.toString() + ']',
            'expected a string key, got ' + kindName(items[i].kind),
          );
          return -1;
        }
        keys.push(items[i].str);
      }
    } else {
      this.error(
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
      this.error(path, 'missing; ' + P_EXPECTED_SOURCES);
      return -1;
    }
    if (v.kind == JSTRING) {
      const i = indexOf(SOURCE_NAMES, v.str);
      if (i >= 0) return i;
    }
    this.error(path, 'unknown source ' + shownValue(v) + '; ' + P_EXPECTED_SOURCES);
    return -1;
  }

  /** Compiles one condition; null (with errors recorded) when it is invalid. */
  condition(v: JValue, path: string): Cond | null {
    const c = this.conditionNode(v, path);
    if (c != null && c.kind >= C_NUMERIC) {
      c.leaf = this.policy.leaves.length;
      this.policy.leaves.push(c);
    }
    return c;
  }

  private conditionNode(v: JValue, path: string): Cond | null {
    if (v.kind != JOBJECT) {
      this.error(
        path,
        'expected a condition object such as {"NumericCheck": {...}}, got ' + kindName(v.kind),
      );
      return null;
    }
    const keys = v.keys!;
    if (keys.length != 1) {
      this.error(
        path,
        'expected exactly one key (the condition variant), got ' +
          keys.length.toString() +
          '; ' +
          P_EXPECTED_VARIANTS,
      );
      return null;
    }
    const variant = keys[0];
    const body = v.items![0];
    const at = path + '.' + variant;
    if (variant == 'All' || variant == 'Any') {
      if (body.kind != JARRAY) {
        this.error(at, 'expected an array of conditions, got ' + kindName(body.kind));
        return null;
      }
      const c = new Cond(variant == 'All' ? C_ALL : C_ANY);
      const items = body.items!;
      if (items.length == 0) {
        this.warn(
          at,
          variant == 'All'
            ? 'empty All is always true; give it conditions or remove it'
            : 'empty Any is always false; give it conditions or remove it',
        );
      }
      let ok = true;
      for (let i = 0; i < items.length; i++) {
        const child = this.condition(items[i], at + '[' + i.toString() + ']');
        if (child == null) ok = false;
        else c.children.push(child);
      }
      return ok ? c : null;
    }
    if (variant == 'Not') {
      const child = this.condition(body, at);
      if (child == null) return null;
      const c = new Cond(C_NOT);
      c.children.push(child);
      return c;
    }
    const isNum = variant == 'NumericCheck';
    const isStr = variant == 'StringCheck';
    const isPresent = variant == 'FieldPresent';
    const isFieldEq = variant == 'FieldEquals';
    const isEquals = variant == 'Equals';
    if (!(isNum || isStr || isPresent || isFieldEq || isEquals)) {
      this.error(path, 'unknown condition ' + quote(variant, 64) + '; ' + P_EXPECTED_VARIANTS);
      return null;
    }
    if (body.kind != JOBJECT) {
      this.error(at, 'expected an object, got ' + kindName(body.kind));
      return null;
    }
    if (isFieldEq) {
      this.unknownKeys(body, at, ['source_a', 'field_a', 'source_b', 'field_b']);
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
    const known = isPresent
      ? ['source', 'field']
      : isEquals
        ? ['source', 'field', 'value']
        : ['source', 'field', 'op', 'value'];
    this.unknownKeys(body, at, known);
    const src = this.source(body.get('source'), at + '.source');
    const fieldV = body.get('field');
    const f = src < 0 ? -1 : this.field(fieldV, at + '.field', src);
    if (isPresent) {
      if (f < 0) return null;
      const key = this.policy.fields[f].path[this.policy.fields[f].path.length - 1];
      if (looksBoolean(key) || key == 'mfa_verified') {
        this.warn(
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
    const value = body.get('value');
    if (isEquals) {
      if (value == null) {
        this.error(at + '.value', 'missing; expected the JSON value to compare with');
        return null;
      }
      if (f < 0) return null;
      if (value.kind == JNULL) {
        this.warn(
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
      if (value.kind == JSTRING) c.bytes.push(String.UTF8.encode(value.str));
      return c;
    }
    let ok = f >= 0;
    const opV = body.get('op');
    const ops = isNum ? NUM_OPS : STR_OPS;
    let op = -1;
    if (opV == null) {
      this.error(at + '.op', 'missing; ' + (isNum ? P_EXPECTED_OPS_NUM : P_EXPECTED_OPS_STR));
      ok = false;
    } else {
      if (opV.kind == JSTRING) op = indexOf(ops, opV.str);
      if (op < 0) {
        this.error(
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
        this.error(
          at + '.value',
          (value == null ? 'missing' : 'got ' + shownValue(value)) + '; expected a number',
        );
        ok = false;
      } else c.num = value.num;
    } else {
      const list = this.stringList(value, at + '.value', 'an array of strings');
      if (list == null) ok = false;
      else {
        c.strs = list;
        for (let i = 0; i < list.length; i++) c.bytes.push(String.UTF8.encode(list[i]));
      }
    }
    return ok ? c : null;
  }
}

function join(path: string, key: string): string {
  return path.length == 0 ? key : path + '.' + key;
}

/** A JSON value for a message, cut at 64 UTF-16 units on a character boundary (never inside a surrogate pair). */
export function shownValue(v: JValue): string {
  if (v.kind == JSTRING) return quote(v.str, 64);
  return truncate(toJson(v), 64);
}

function collectFields(c: Cond | null, out: i32[]): void {
  if (c == null) return;
  const k = c.kind;
  if (k == C_ALL || k == C_ANY || k == C_NOT) {
    for (let i = 0; i < c.children.length; i++) collectFields(c.children[i], out);
    return;
  }
  // An entry reads few fields: a scan is smaller than a set (code size) and as fast.
  if (!out.includes(c.field)) out.push(c.field);
  if (k == C_FIELD_EQUALS && !out.includes(c.fieldB)) out.push(c.fieldB);
}

/** `{"path": ..., "message": ...}` list as JSON. */
export function diagnosticsJson(list: Diagnostic[]): string {
  const parts = new Array<string>(list.length);
  for (let i = 0; i < list.length; i++) {
    parts[i] =
      '{"path":' + jsonString(list[i].path) + ',"message":' + jsonString(list[i].message) + '}';
  }
  return '[' + joinAll(parts, ',') + ']';
}
