import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Verdict } from '../src/engine/types.ts';
import { memoise, memoised } from '../src/engine/verdict-memo.ts';

const denial = (reason: string): Verdict => ({
  decision: 'Deny',
  reason,
  kind: 'condition_failed',
  failure: { path: 'Arguments.amount', op: 'Lte', expected: 500, actual: 800 },
});

test('memo id 0 is not memoised: nothing is looked up or kept, and the verdict stays unfrozen', () => {
  const memo = new Map<number, Verdict>();
  const verdict = denial('first');
  assert.equal(memoise(memo, 0, verdict), verdict);
  assert.equal(memo.size, 0);
  assert.equal(memoised(memo, 0), undefined);
  assert.equal(Object.isFrozen(verdict), false);
});

test('a kept verdict is answered for its memo id, frozen with its failure', () => {
  const memo = new Map<number, Verdict>();
  const verdict = denial('kept');
  assert.equal(memoise(memo, 7, verdict), verdict);
  assert.equal(memoised(memo, 7), verdict);
  assert.equal(memoised(memo, 8), undefined);
  assert.equal(Object.isFrozen(verdict), true);
  assert.equal(Object.isFrozen(verdict.failure), true);
});

test('the memo is emptied when it is full (4096 verdicts), then keeps the new one', () => {
  const memo = new Map<number, Verdict>();
  for (let id = 1; id <= 4096; id++) memoise(memo, id, denial(`d${id}`));
  assert.equal(memo.size, 4096);
  const next = denial('next');
  memoise(memo, 5000, next);
  assert.equal(memo.size, 1);
  assert.equal(memoised(memo, 1), undefined);
  assert.equal(memoised(memo, 5000), next);
});
