// text-memo.ts: a value is found only for the text it was added with, in any longer text, and
// the memo stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TextMemo } from '../src/cli/text-memo.ts';

test('finds a value by equal text only, among texts of the same length', () => {
  const memo = new TextMemo<number>(100);
  memo.add('xxabcdyy', 2, 6, 1);
  memo.add('abce', 0, 4, 2);
  assert.equal(memo.find('--abcd--', 2, 6), 1);
  assert.equal(memo.find('abce', 0, 4), 2);
  assert.equal(memo.find('abcf', 0, 4), undefined);
  assert.equal(memo.find('abc', 0, 3), undefined);
});

test('keeps a few texts per length and forgets all past its limit', () => {
  const memo = new TextMemo<number>(20);
  for (let i = 0; i < 10; i++) memo.add(`k${i}`, 0, 2, i);
  // Eight per length: the oldest of the ten are forgotten.
  assert.equal(memo.find('k9', 0, 2), 9);
  assert.equal(memo.find('k0', 0, 2), undefined);
  for (let i = 0; i < 11; i++) memo.add(`long${i}`.padEnd(10, '.'), 0, 10, i);
  assert.equal(memo.find('k9', 0, 2), undefined);
  assert.equal(memo.find('long10....', 0, 10), 10);
});
