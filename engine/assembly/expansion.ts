// Expands compiled rules into (tool, role) entries: each tool glob against `tools`, each role
// against the declared roles.
//
// Invariants:
// - nothing is matched at request time: an entry exists for every (tool, role) a rule names
// - each entry holds at most one Allow rule (the last one wins, with a warning) and every
//   Deny/Ask rule, WebAuthn Ask rules first
// - at most MAX_ENTRIES entries; past it the compile fails with an error
// - an undeclared role or a glob that matches no tool only warns

import { formatNumber, indexPath, quote } from './json-text';
import {
  C_ALL,
  C_ANY,
  C_FIELD_EQUALS,
  C_NOT,
  C_SESSION_UNTRUSTED,
  Cond,
  EFFECT_ALLOW,
  EFFECT_DENY,
  Entry,
  MAX_ENTRIES,
  Policy,
  Rule,
  shown,
} from './policy';
import { Diagnostics } from './diagnostics';

// The tool names one rule expands to, reused from rule to rule.
const names = new Array<string>();

/** Builds the policy's entries as rules are compiled, reporting into `d`. */
export class Expansion {
  /** The declared roles, or null when the policy declares none (every role a rule names counts). */
  declared: Set<string> | null = null;
  /** (rule, earlier rule) pairs already warned about as shadowing. */
  private shadowed: Set<string> = new Set();
  /** (rule, role) pairs already warned about as undeclared. */
  private roleSeen: Set<string> = new Set();

  constructor(
    private d: Diagnostics,
    private policy: Policy,
  ) {}

  /**
   * Adds `rule` (at `path`, naming `tool` and `roles`) to the entry of every (tool, role) it names;
   * false when the policy expands past MAX_ENTRIES.
   */
  add(rule: Rule, path: string, tool: string, roles: string[]): bool {
    const p = this.policy;
    const i = rule.index;
    // Expand the tool name (a glob only against `tools`), then the roles.
    names.length = 0;
    if (tool.includes('*')) {
      for (let t = 0; t < p.tools.length; t++)
        if (globMatch(tool, p.tools[t])) names.push(p.tools[t]);
      if (names.length == 0) {
        this.d.warn(
          path + '.tool_name',
          'glob ' + quote(tool, 64) + ' matches no tool in tools; the rule has no effect',
        );
      }
    } else names.push(tool);
    const rs = roles;
    for (let r = 0; r < rs.length; r++) {
      const role = rs[r];
      if (this.declared != null && !this.declared!.has(role)) {
        const key = formatNumber(i) + '\u0000' + role;
        if (!this.roleSeen.has(key)) {
          this.roleSeen.add(key);
          this.d.warn(
            indexPath(path + '.roles', r),
            'role ' +
              quote(role, 64) +
              ' is not declared in roles; this grant is ignored — declare it or fix its spelling',
          );
        }
        continue;
      }
      for (let t = 0; t < names.length; t++) {
        const found = p.table.find(p.entries, names[t], role);
        let e: Entry;
        if (found >= 0) e = unchecked(p.entries[found]);
        else {
          if (p.entries.length >= MAX_ENTRIES) {
            this.d.error(
              path,
              'the policy expands to more than ' +
                formatNumber(MAX_ENTRIES) +
                ' (tool, role) pairs; split it or narrow its globs',
            );
            return false;
          }
          e = new Entry();
          e.index = p.entries.length;
          e.tool = names[t];
          e.role = role;
          p.entries.push(e);
          p.table.add(p.entries, e.index);
        }
        if (rule.effect == EFFECT_ALLOW) {
          const prev = e.allow;
          if (prev != null) {
            const pk = formatNumber(i) + ':' + formatNumber(prev.index);
            if (!this.shadowed.has(pk)) {
              this.shadowed.add(pk);
              this.d.warn(
                path,
                'shadows rules[' +
                  formatNumber(prev.index) +
                  '] for (' +
                  shown(names[t]) +
                  ', ' +
                  shown(role) +
                  '); the later rule replaces the earlier one — merge or remove one',
              );
            }
          }
          e.allow = rule;
        } else if (rule.effect == EFFECT_DENY) {
          if (e.denies.length == 0) e.denies = [rule];
          else e.denies.push(rule);
        } else if (e.asks.length == 0) e.asks = [rule];
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
    return true;
  }

  /** Completes a compile without errors: the roles in use, and the slots each entry reads. */
  finish(): void {
    const p = this.policy;
    if (this.declared == null) this.declareNamedRoles(p);
    for (let k = 0; k < p.entries.length; k++) collectEntryFields(p.entries[k]);
  }

  /** Without a declared list, every role a rule names counts as declared (DESIGN §2.1). */
  private declareNamedRoles(p: Policy): void {
    const s = new Set<string>();
    for (let k = 0; k < p.entries.length; k++) {
      const role = p.entries[k].role;
      if (!s.has(role)) {
        s.add(role);
        p.roles.push(role);
      }
    }
  }
}

// The slots one entry reads, collected here, then copied into an array of their own.
const collected = new Array<i32>();

/** Lists in `e.fields` every slot its rules read (an entry that reads none keeps the shared empty list). */
function collectEntryFields(e: Entry): void {
  const out = collected;
  out.length = 0;
  if (e.allow != null) {
    const a = e.allow!;
    collectFields(a.cond, out);
    if (a.budgetKind != 0) {
      addOnce(out, a.budgetField);
      if (a.budgetPer >= 0) addOnce(out, a.budgetPer);
    }
  }
  for (let d = 0; d < e.denies.length; d++) collectFields(e.denies[d].cond, out);
  for (let a = 0; a < e.asks.length; a++) collectFields(e.asks[a].cond, out);
  if (out.length > 0) e.fields = out.slice(0);
}

function collectFields(c: Cond | null, out: i32[]): void {
  if (c == null) return;
  const k = c.kind;
  if (k == C_ALL || k == C_ANY || k == C_NOT) {
    for (let i = 0; i < c.children.length; i++) collectFields(c.children[i], out);
    return;
  }
  if (k == C_SESSION_UNTRUSTED) return;
  addOnce(out, c.field);
  if (k == C_FIELD_EQUALS) addOnce(out, c.fieldB);
}

/** Adds `f` to `out` unless it is there (an entry reads few fields: a scan is as fast as a set). */
function addOnce(out: i32[], f: i32): void {
  if (!out.includes(f)) out.push(f);
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
