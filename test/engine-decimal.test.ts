// The engine's decimal parser (engine/assembly/decimal.ts) against JavaScript's own: a policy bound
// written as text must be the f64 JSON.parse reads, and not its neighbour, over the whole range
// (subnormals, the overflow edge, midpoints, more digits than the parser keeps).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';

const engine = await Engine.create(await loadEngineModule());

const equalsPolicy = (value: string): string =>
  `{"version":"n","default_action":"Deny","tools":["t"],"rules":[{"tool_name":"t","roles":["r"],` +
  `"condition":{"Equals":{"source":"Arguments","field":"a","value":${value}}}}]}`;

const view = new DataView(new ArrayBuffer(8));

/** The f64 one ulp above `a` (a positive or negative finite non-zero number). */
function nextUp(a: number): number {
  view.setFloat64(0, a);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}

/** Loads `text` as an Equals bound and checks it matches JSON.parse's value and not the next f64. */
function assertReadAsJavaScript(text: string): void {
  const a = JSON.parse(text) as number;
  const load = engine.load(equalsPolicy(text));
  if (!Number.isFinite(a)) return; // 1e400: Infinity, which a policy may not hold
  assert.equal(load.ok, true, `${text}: ${JSON.stringify(load)}`);
  assert.equal(
    engine.evaluate({ tool: 't', role: 'r', args: { a } }, 0).decision,
    'Allow',
    `${text} is not read as ${a}`,
  );
  if (a === 0) return;
  const next = nextUp(a);
  if (!Number.isFinite(next)) return;
  assert.equal(
    engine.evaluate({ tool: 't', role: 'r', args: { a: next } }, 0).decision,
    'Deny',
    `${text} is read as ${next}`,
  );
}

describe('engine decimal parser', () => {
  let seed = 2026;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };

  test('edges: subnormals, the smallest and largest f64, halfway cases, 2^53 + 1', () => {
    for (const text of [
      '2.4703282292062328e-324',
      '2.4703282292062327e-324',
      '4.9406564584124654e-324',
      '1e-323',
      '2.2250738585072011e-308',
      '2.2250738585072012e-308',
      '2.2250738585072014e-308',
      '1.7976931348623157e308',
      '1.7976931348623158e308',
      '1.7976931348623159e308',
      '1e308',
      '1e-320',
      '9007199254740993',
      '9007199254740993.0000000001',
      '9007199254740995',
      '-9007199254740993',
      '12345678901234567e25',
      '1.2345678901234567e+41',
      '-1.2345678901234567e+41',
      '1e23',
      '8.98846567431158e307',
      '123456789012345678901234567890e-10',
      '0.1',
      '0.30000000000000004',
      '-0.0',
      '1e-400',
      '1e400',
    ]) {
      assertReadAsJavaScript(text);
    }
  });

  test('JSON.stringify of 1,500 random f64 bit patterns (all exponents, subnormals included)', () => {
    for (let i = 0; i < 1500; i++) {
      view.setUint32(0, Math.floor(random() * 0x7ff00000));
      view.setUint32(4, Math.floor(random() * 2 ** 32));
      assertReadAsJavaScript(JSON.stringify(view.getFloat64(0)));
    }
  });

  test('1,500 random decimal texts: 1 to 25 digits, a point anywhere, exponents -360 to 320', () => {
    for (let i = 0; i < 1500; i++) {
      let digits = '';
      const count = 1 + Math.floor(random() * 25);
      for (let k = 0; k < count; k++) digits += String(Math.floor(random() * 10));
      digits = digits.replace(/^0+(?=\d)/, '');
      const point = Math.floor(random() * (digits.length + 1));
      const mantissa =
        point > 0 && point < digits.length
          ? `${digits.slice(0, point)}.${digits.slice(point)}`
          : digits;
      assertReadAsJavaScript(
        `${random() < 0.3 ? '-' : ''}${mantissa}e${Math.floor(random() * 680) - 360}`,
      );
    }
  });
});
