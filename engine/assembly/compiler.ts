// The policy compiler: a parsed policy document in, a compiled Policy (policy.ts) out. It reads the
// document and each rule; condition-compiler.ts, limit-compiler.ts and expansion.ts do the rest.
//
// Invariants:
// - errors are collected (not just the first) with JSON paths; unknown keys only warn
// - keys read by hosts (revision, annotation_defaults, tests) are checked here, so every host
//   sees the same errors
// - a rule with an error adds nothing to the policy; the compile fails when any error was recorded

import {
  JARRAY,
  JFALSE,
  JNULL,
  JNUMBER,
  JOBJECT,
  JSTRING,
  JTRUE,
  JValue,
  kindName,
} from './json-value';
import { formatNumber, indexPath, quote } from './json-text';
import { EFFECT_ALLOW, EFFECT_ASK, EFFECT_DENY, Policy, Rule } from './policy';
import { Diagnostics, shownValue } from './diagnostics';
import { ConditionCompiler } from './condition-compiler';
import { compileBudget, compileRateLimit } from './limit-compiler';
import { Expansion } from './expansion';
import { compileRemember, compileUntrustedTools } from './untrusted-compiler';

// A rule's keys, allocated once (not once per rule).
const RULE_KEYS: string[] = [
  'tool_name',
  'roles',
  'condition',
  'id',
  'description',
  'effect',
  'rate_limit',
  'approval',
  'budget',
  'remember',
];

/** Compiles a parsed policy document; check `errors` before using `policy`. */
export class Compiler extends Diagnostics {
  policy: Policy = new Policy();
  private conditions!: ConditionCompiler;
  private expansion!: Expansion;
  /** Rule ids seen so far, to the index of the rule that used each first. */
  private ids: Map<string, i32> = new Map();
  // The tool name and roles of the rule being compiled (set by `rule`).
  private tool: string = '';
  private roles: string[] | null = null;
  private untrustedGiven: bool = false;

  constructor() {
    super();
    this.conditions = new ConditionCompiler(this, this.policy);
    this.expansion = new Expansion(this, this.policy);
  }

  /** Compiles `doc` into `policy`, recording every error and warning. */
  compile(doc: JValue): void {
    const p = this.policy;
    if (doc.kind != JOBJECT) {
      this.error('policy', 'expected a JSON object, got ' + kindName(doc.kind));
      return;
    }
    this.header(doc);
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
    for (let i = 0; i < items.length; i++) {
      const path = indexPath('rules', i);
      const rule = this.rule(items[i], i, path);
      if (rule != null && !this.expansion.add(rule, path, this.tool, this.roles!)) return;
    }
    if (this.errors.length > 0) return;
    if (p.taint && !this.untrustedGiven)
      this.warn(
        'untrusted_tools',
        'missing: rules read untrusted content, but only results the host marks untrusted (WebMCP untrustedContentHint) taint a session; list the tools whose results are untrusted',
      );
    this.expansion.finish();
  }

  /** The document's top-level keys other than `rules`. */
  private header(doc: JValue): void {
    const p = this.policy;
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
      'untrusted_tools',
      // read by hosts, not by the engine: checked here so every host sees the same errors
      'revision',
      'annotation_defaults',
      'tests',
      '$schema',
      'tool_pins',
    ]);
    p.toolPins = doc.get('tool_pins');

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
    } else p.annotationDefaults = annotationDefaults != null && annotationDefaults.kind == JTRUE;

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
    const untrustedV = doc.get('untrusted_tools');
    if (untrustedV != null && untrustedV.kind != JNULL) compileUntrustedTools(this, untrustedV, p);
    this.untrustedGiven = untrustedV != null;

    const rolesV = doc.get('roles');
    if (rolesV != null && rolesV.kind != JNULL) {
      const roles = this.stringList(rolesV, 'roles', 'an array of role names');
      if (roles != null) {
        p.roles = roles;
        const s = new Set<string>();
        for (let i = 0; i < roles.length; i++) s.add(roles[i]);
        this.expansion.declared = s;
      }
    }
  }

  /** Compiles `rules[i]`; null (with errors recorded) when it is invalid. Sets `tool` and `roles`. */
  private rule(rv: JValue, i: i32, path: string): Rule | null {
    const p = this.policy;
    if (rv.kind != JOBJECT) {
      this.error(path, 'expected a rule object, got ' + kindName(rv.kind));
      p.ruleNames.push(path);
      return null;
    }
    this.unknownKeys(rv, path, RULE_KEYS);
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
        if (this.ids.has(idV.str)) {
          this.warn(
            path + '.id',
            'id ' +
              quote(idV.str, 64) +
              ' is also used by rules[' +
              formatNumber(this.ids.get(idV.str)) +
              ']; give each rule its own id',
          );
        } else this.ids.set(idV.str, i);
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
      const c = this.conditions.condition(condV, path + '.condition');
      if (c == null) ok = false;
      else rule.cond = c;
    }

    const rateV = rv.get('rate_limit');
    if (rateV != null && rateV.kind != JNULL) {
      if (!compileRateLimit(this, rateV, path + '.rate_limit', rule)) ok = false;
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
      if (!compileBudget(this, this.conditions, budgetV, path + '.budget', rule)) ok = false;
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
    const rememberV = rv.get('remember');
    if (rememberV != null && rememberV.kind != JNULL) {
      if (!compileRemember(this, rememberV, path + '.remember')) ok = false;
      else if (rule.effect != EFFECT_ASK)
        this.warn(path + '.remember', 'remember applies only to Ask rules; it is ignored here');
    }
    p.ruleNames.push(rule.name);
    if (!ok) return null;
    if (rule.effect == EFFECT_ASK && rule.webauthn) p.webauthnRules.push(i);
    if (rule.rateMax > 0) p.hasRateLimits = true;
    if (rule.budgetKind != 0) p.hasBudgets = true;
    this.tool = tool;
    this.roles = roles;
    return rule;
  }

  /** `"click"` → 0, `"webauthn"` → 1; anything else is an error at `path` and -1. */
  private approvalKind(v: JValue, path: string): i32 {
    if (v.kind == JSTRING && v.str == 'click') return 0;
    if (v.kind == JSTRING && v.str == 'webauthn') return 1;
    this.error(path, 'unknown approval ' + shownValue(v) + '; expected "click" or "webauthn"');
    return -1;
  }
}
