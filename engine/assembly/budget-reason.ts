// The reason of a budget Deny (budget.ts): what is used of what, in which window, for which
// principal, what this call adds and when enough frees up; or why the budget cannot be checked.
//
// Invariants:
// - it reads the last check's state and changes nothing
// - values from the request are quoted and cut; amounts are shown rounded to 10 decimals

import {
  B_SUM,
  MAX_BUDGET_CALLS,
  MAX_BUDGET_KEYS,
  UNREADABLE,
  lastAmount,
  lastBad,
  lastBadField,
  lastFrees,
  lastFull,
  lastKey,
  lastRetry,
  lastStatus,
  lastUsed,
} from './budget';
import { wKeyReason } from './budget-key';
import { Policy, Rule } from './policy';
import { Writer } from './writer';

function wName(w: Writer, p: Policy, f: i32): void {
  w.str(unchecked(p.fields[f]).name);
}

function wAmount(w: Writer, x: f64): void {
  // Sums of decimals (0.1 + 0.2) are shown rounded to 10 decimals; an amount too large to round
  // that way (x * 1e10 is not finite) is shown as JSON writes it.
  const rounded = Math.round(x * 1e10) / 1e10;
  w.num(isFinite(rounded) ? rounded : x);
}

function wWindow(w: Writer, r: Rule): void {
  w.str(' in the last ');
  w.num(r.budgetSeconds);
  w.str(' s');
}

function wPrincipal(w: Writer, p: Policy, r: Rule): void {
  if (r.budgetPer < 0) return;
  w.str(' for ');
  wName(w, p, r.budgetPer);
  w.str(' = ');
  wKeyReason(w, lastKey);
}

/** Writes the detail of the last budget Deny after the rule prefix. */
export function wBudgetReason(w: Writer, p: Policy, r: Rule): void {
  w.str("; budget of rule '");
  w.str(r.name.length <= 64 ? r.name : r.name.substring(0, 64) + '…');
  w.str("' ");
  if (lastStatus == UNREADABLE) {
    w.str('cannot be checked: ');
    switch (lastBad) {
      case 3:
        return w.str('the host must pass "now" in seconds (at most 2^43)');
      case 4: {
        w.str('it already keeps ');
        w.num(<f64>MAX_BUDGET_KEYS);
        w.str(' budgets by ');
        wName(w, p, r.budgetPer);
        return w.str('; retry when older ones run out');
      }
      default: {
        wName(w, p, lastBadField);
        if (lastBad == 0) w.str(' is missing');
        else if (lastBad == 2) w.str(' is negative');
        else
          w.str(
            ' is not ' +
              (lastBadField == r.budgetField && r.budgetKind == B_SUM
                ? 'a number'
                : 'a string or a number'),
          );
        w.str('; pass ');
        return w.str(
          lastBadField == r.budgetField && r.budgetKind == B_SUM
            ? 'a number of 0 or more'
            : 'a string or a number',
        );
      }
    }
  }
  w.str('reached: ');
  if (lastFull) {
    w.str('it keeps at most ');
    w.num(<f64>MAX_BUDGET_CALLS);
    w.str(' calls');
    wWindow(w, r);
    wPrincipal(w, p, r);
  } else if (r.budgetKind == B_SUM) {
    wAmount(w, lastUsed);
    w.str(' of ');
    wAmount(w, r.budgetMax);
    w.str(' (the sum of ');
    wName(w, p, r.budgetField);
    w.str(') used');
    wWindow(w, r);
    wPrincipal(w, p, r);
    w.str(', and this call adds ');
    wAmount(w, lastAmount);
    if (lastRetry < 0) return w.str(', more than the whole budget');
    w.str('; ');
    wAmount(w, lastFrees);
    w.str(' frees up in ');
  } else {
    wAmount(w, lastUsed);
    w.str(' of ');
    wAmount(w, r.budgetMax);
    w.str(' distinct values of ');
    wName(w, p, r.budgetField);
    w.str(' used');
    wWindow(w, r);
    wPrincipal(w, p, r);
    w.str(', and this call adds a new one');
    if (lastRetry < 0) return;
    w.str('; one frees up in ');
  }
  if (lastFull) w.str('; one frees up in ');
  w.num(lastRetry);
  w.str(' s');
}
