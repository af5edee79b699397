import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyAnnotationDefaults,
  policyOptsIntoAnnotationDefaults,
} from '../src/policy/annotation-defaults.ts';
import type { DecisionResult } from '../src/call/decision.ts';
import { Perso } from '../src/perso/perso.ts';

const base = { policyVersion: 'v1', enforced: true } as const;
const noRuleDeny: DecisionResult = {
  ...base,
  decision: 'Deny',
  kind: 'no_rule',
  reason: "no rule matched tool 't' for role 'r'; applying default_action",
};
const noRuleAllow: DecisionResult = { ...noRuleDeny, decision: 'Allow' };

describe('applyAnnotationDefaults', () => {
  it('readOnlyHint allows a tool the policy says nothing about', () => {
    const result = applyAnnotationDefaults(noRuleDeny, { readOnlyHint: true });
    assert.equal(result.decision, 'Allow');
    assert.ok(result.reason.startsWith(noRuleDeny.reason));
    assert.match(result.reason, /readOnlyHint/);
  });

  it('destructiveHint turns a default Allow into Ask, and leaves a Deny alone', () => {
    assert.equal(applyAnnotationDefaults(noRuleAllow, { destructiveHint: true }).decision, 'Ask');
    assert.equal(applyAnnotationDefaults(noRuleDeny, { destructiveHint: true }), noRuleDeny);
  });

  it('destructiveHint wins when a tool claims both', () => {
    assert.equal(
      applyAnnotationDefaults(noRuleDeny, { readOnlyHint: true, destructiveHint: true }).decision,
      'Deny',
    );
    assert.equal(
      applyAnnotationDefaults(noRuleAllow, { readOnlyHint: true, destructiveHint: true }).decision,
      'Ask',
    );
  });

  it("WebMCP's consequentialHint turns a default Allow into Ask, and leaves a Deny alone", () => {
    const asked = applyAnnotationDefaults(noRuleAllow, { consequentialHint: true });
    assert.equal(asked.decision, 'Ask');
    assert.match(asked.reason, /consequentialHint/);
    assert.equal(applyAnnotationDefaults(noRuleDeny, { consequentialHint: true }), noRuleDeny);
    assert.equal(
      applyAnnotationDefaults(noRuleDeny, { readOnlyHint: true, consequentialHint: true }).decision,
      'Deny',
    );
  });

  it('untrustedContentHint decides nothing', () => {
    assert.equal(applyAnnotationDefaults(noRuleAllow, { untrustedContentHint: true }), noRuleAllow);
    assert.equal(applyAnnotationDefaults(noRuleDeny, { untrustedContentHint: true }), noRuleDeny);
  });

  it('never changes a decision an explicit rule made', () => {
    for (const kind of [
      'condition_failed',
      'denied_by_rule',
      'rate_limited',
      'invalid_request',
      'no_policy',
      'engine_fault',
    ] as const) {
      const ruled: DecisionResult = { ...base, decision: 'Deny', kind, reason: 'x' };
      assert.equal(applyAnnotationDefaults(ruled, { readOnlyHint: true }), ruled, kind);
    }
    const allowed: DecisionResult = {
      ...base,
      decision: 'Allow',
      kind: 'no_condition',
      reason: 'x',
    };
    assert.equal(applyAnnotationDefaults(allowed, { destructiveHint: true }), allowed);
  });

  it('takes only a literal true as a hint', () => {
    assert.equal(applyAnnotationDefaults(noRuleDeny, { readOnlyHint: 'true' }), noRuleDeny);
    assert.equal(applyAnnotationDefaults(noRuleDeny, undefined), noRuleDeny);
  });
});

describe('policyOptsIntoAnnotationDefaults', () => {
  it('is off unless the policy says annotation_defaults: true', () => {
    assert.equal(policyOptsIntoAnnotationDefaults({ annotation_defaults: true }), true);
    assert.equal(policyOptsIntoAnnotationDefaults('{"annotation_defaults": true}'), true);
    assert.equal(policyOptsIntoAnnotationDefaults({ annotation_defaults: 'yes' }), false);
    assert.equal(policyOptsIntoAnnotationDefaults({}), false);
    assert.equal(policyOptsIntoAnnotationDefaults('{not json'), false);
  });
});

describe('annotation defaults through Perso', () => {
  it('fault: the annotation_defaults key spelled with \\u escapes — the policy still opts in, and a destructive tool asks', async () => {
    const text = JSON.stringify({
      version: 'escaped-1',
      default_action: 'Allow',
      tools: ['drop'],
      rules: [],
      annotation_defaults: true,
    }).replace('"annotation_defaults"', '"annotation\\u005fdefaults"');
    assert.ok(!text.includes('annotation_defaults'));
    const perso = await Perso.load({ policy: text });
    assert.equal(perso.status().annotationDefaults, true);
    let ran = false;
    const drop = perso.session({ role: 'agent' }).guard('drop', () => (ran = true), {
      annotations: { destructiveHint: true },
    });
    const outcome = await drop({});
    assert.equal(outcome.ok, false);
    assert.equal(outcome.decision.decision, 'Ask');
    assert.equal(ran, false);
    await perso.close();
  });
});
