// next-index.ts: the remembered next occurrence is the one indexOf finds, read forward, backward,
// and in another text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NextIndex } from '../src/cli/next-index.ts';

test('finds what indexOf finds, wherever it is asked from and in whatever text', () => {
  const texts = ['a\\b\\\\c', 'no backslash', '\\', 'x\\y', 'a\\b\\\\c'];
  const next = new NextIndex('\\');
  let seed = 7;
  for (let round = 0; round < 2000; round++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const text = texts[seed % texts.length]!;
    const from = (seed >> 8) % (text.length + 1);
    const expected = text.indexOf('\\', from);
    assert.equal(next.find(text, from), expected, `${text} ${from}`);
    assert.equal(next.within(text, from, from + 1), text[from] === '\\');
  }
});

test('a position before the one it searched from is searched again', () => {
  const next = new NextIndex(',"e":');
  const text = 'a,"e":1 b,"e":2';
  assert.equal(next.find(text, 3), 9);
  assert.equal(next.find(text, 0), 1);
});
