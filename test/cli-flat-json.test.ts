// flat-json.ts: numbers read in place give the double JSON.parse gives (its quick path of up to
// 15 digits included), number ends follow JSON's grammar, and flat objects are read once per text
// and refused when a key comes twice or is __proto__.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlatObjects, numberEnd, numberValue } from '../src/cli/flat-json.ts';

/** JSON number texts: as JSON.stringify writes doubles, and decimals with few digits. */
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc
    .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.nat({ max: 18 }))
    .map(([negative, digits, point]) => {
      const text = digits.toString();
      const at = Math.max(1, text.length - point);
      const decimal = at < text.length ? `${text.slice(0, at)}.${text.slice(at)}` : text;
      return negative ? `-${decimal}` : decimal;
    }),
  fc.constantFrom('0', '-0', '0.1', '1764000000.01', '9007199254740993', '1e21', '5e-324', '1E+2'),
);

describe('JSON numbers in place', () => {
  test('numberValue gives what JSON.parse gives, -0 included', () => {
    fc.assert(
      fc.property(numberText, fc.string({ maxLength: 3 }), (text, before) => {
        const line = `${before}${text},`;
        const from = before.length;
        assert.equal(numberEnd(line, from), from + text.length, text);
        assert.ok(Object.is(numberValue(line, from, from + text.length), JSON.parse(text)), text);
      }),
      { seed: 20261203, numRuns: 20_000 },
    );
  });

  test('numberEnd refuses what JSON does not read as a number', () => {
    for (const text of ['', '-', '+1', '.5', '1.', '1e', '1e+', '-.1', 'x'])
      assert.equal(numberEnd(`${text},`, 0) === text.length, false, text);
    // A leading zero ends the number: "01" is "0" then something JSON refuses.
    assert.equal(numberEnd('01', 0), 1);
  });
});

describe('flat objects read once per text', () => {
  test('the same text is the same frozen value; another slot compares its own last text', () => {
    const flats = new FlatObjects();
    const text = 'x{"a":1,"b":"c\\"d","e":null}y{"a":1,"b":"c\\"d","e":null}';
    const first = flats.read(text, 1, null);
    assert.ok(first !== null);
    assert.equal(flats.end, 28);
    assert.deepStrictEqual(first.value, { a: 1, b: 'c"d', e: null });
    assert.ok(Object.isFrozen(first.value) && first.canonical);
    assert.equal(flats.read(text, 29, first), first);
    assert.equal(flats.end, 56);
    assert.equal(flats.read(text, 29, null), first);
  });

  test('a key given twice or __proto__ is refused; constructor or 1e999 is not canonical', () => {
    const flats = new FlatObjects();
    assert.equal(flats.read('{"a":1,"a":2}', 0, null), null);
    assert.equal(flats.read('{"__proto__":{}}', 0, null), null);
    assert.equal(flats.read('{"__proto__":1}', 0, null), null);
    assert.equal(flats.read('{"constructor":1}', 0, null)?.canonical, false);
    assert.equal(flats.read('{"n":1e999}', 0, null)?.canonical, false);
    assert.equal(flats.read('{"a":{"b":1}}', 0, null), null);
    assert.equal(flats.read('{"a":1 }', 0, null), null);
  });
});
