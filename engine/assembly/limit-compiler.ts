// Compiles a rule's `rate_limit` and `budget` (window.ts and budget.ts enforce them).
//
// Invariants:
// - `rate_limit.max` is an integer from 1 to MAX_RATE; `per_seconds` is greater than 0
// - a budget names exactly one of "sum" and "distinct"; a distinct budget's max is an integer
// - an invalid budget leaves the rule without one (budgetKind 0) and an error recorded

import { JNULL, JNUMBER, JOBJECT, JValue, kindName } from './json-value';
import { MAX_RATE, Rule } from './policy';
import { formatNumber } from './json-text';
import { Diagnostics, shownValue } from './diagnostics';
import { ConditionCompiler } from './condition-compiler';

/** A rule's `rate_limit`: `{"max": N, "per_seconds": S}` into `rule`; false with errors recorded. */
export function compileRateLimit(d: Diagnostics, v: JValue, path: string, rule: Rule): bool {
  if (v.kind != JOBJECT) {
    d.error(path, 'expected {"max": N, "per_seconds": S}, got ' + kindName(v.kind));
    return false;
  }
  d.unknownKeys(v, path, ['max', 'per_seconds']);
  let ok = true;
  const max = v.get('max');
  if (
    max == null ||
    max.kind != JNUMBER ||
    max.num != Math.floor(max.num) ||
    max.num < 1 ||
    max.num > <f64>MAX_RATE
  ) {
    d.error(
      path + '.max',
      (max == null ? 'missing' : 'got ' + shownValue(max)) +
        '; expected an integer from 1 to ' +
        formatNumber(MAX_RATE),
    );
    ok = false;
  } else rule.rateMax = <i32>max.num;
  const per = v.get('per_seconds');
  if (per == null || per.kind != JNUMBER || !(per.num > 0)) {
    d.error(
      path + '.per_seconds',
      (per == null ? 'missing' : 'got ' + shownValue(per)) +
        '; expected a number of seconds greater than 0',
    );
    ok = false;
  } else rule.ratePer = per.num;
  return ok;
}

/** A rule's `budget`: `{"sum" | "distinct": "<Source>.<field>", "max", "per_seconds", "per"?}` (budget.ts) into `rule`; false with errors recorded. */
export function compileBudget(
  d: Diagnostics,
  conditions: ConditionCompiler,
  v: JValue,
  path: string,
  rule: Rule,
): bool {
  if (v.kind != JOBJECT) {
    d.error(
      path,
      'expected {"sum" or "distinct": "Arguments.<field>", "max": N, "per_seconds": S}, got ' +
        kindName(v.kind),
    );
    return false;
  }
  d.unknownKeys(v, path, ['sum', 'distinct', 'max', 'per_seconds', 'per']);
  let ok = true;
  const sumV = v.get('sum');
  const distinctV = v.get('distinct');
  if ((sumV == null) == (distinctV == null)) {
    d.error(
      path,
      (sumV == null ? 'missing' : 'both') +
        ' "sum" and "distinct"; give exactly one, e.g. "sum": "Arguments.amount"',
    );
    ok = false;
  } else {
    rule.budgetKind = sumV != null ? 1 : 2;
    rule.budgetField = conditions.fieldRef(
      sumV != null ? sumV : distinctV!,
      path + (sumV != null ? '.sum' : '.distinct'),
    );
    if (rule.budgetField < 0) ok = false;
  }
  const perV = v.get('per');
  if (perV != null && perV.kind != JNULL) {
    rule.budgetPer = conditions.fieldRef(perV, path + '.per');
    if (rule.budgetPer < 0) ok = false;
  }
  const max = v.get('max');
  if (max == null || max.kind != JNUMBER || !(max.num >= 0) || max.num > 9007199254740991) {
    d.error(
      path + '.max',
      (max == null ? 'missing' : 'got ' + shownValue(max)) + '; expected a number of 0 or more',
    );
    ok = false;
  } else if (rule.budgetKind == 2 && (max.num != Math.floor(max.num) || max.num > <f64>MAX_RATE)) {
    d.error(
      path + '.max',
      'got ' +
        shownValue(max) +
        '; a distinct budget counts values: expected an integer from 0 to ' +
        formatNumber(MAX_RATE),
    );
    ok = false;
  } else rule.budgetMax = max.num;
  const per = v.get('per_seconds');
  if (per == null || per.kind != JNUMBER || !(per.num > 0) || per.num > 8796093022208) {
    d.error(
      path + '.per_seconds',
      (per == null ? 'missing' : 'got ' + shownValue(per)) +
        '; expected a number of seconds greater than 0',
    );
    ok = false;
  } else rule.budgetSeconds = per.num;
  if (!ok) rule.budgetKind = 0;
  return ok;
}
