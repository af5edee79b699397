import { test } from 'node:test';
import assert from 'node:assert/strict';
import { visibleText } from '../src/encoding/visible-text.ts';

test('format, bidi, tag and control characters are shown as escapes', () => {
  assert.equal(
    visibleText('a\u200Bb\u202Ec\u{E0041}d\u00ADe\u0007f'),
    'a\\u{200B}b\\u{202E}c\\u{E0041}d\\u{00AD}e\\u{0007}f',
  );
  assert.equal(visibleText('x\uFE0Fy\u3164z\u2028w'), 'x\\u{FE0F}y\\u{3164}z\\u{2028}w');
});

test('letters of every script, spaces, line feeds and tabs are left as they are', () => {
  const text = '{\n\t"to": "Ｍａｌ а́ 李 😀 café"\n}';
  assert.equal(visibleText(text), text);
});
