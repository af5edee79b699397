import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalizeArgs, canonicalizeJson } from '../src/canonical-args.ts';

function refused(value: unknown): string {
  const result = canonicalizeArgs(value);
  assert.equal(result.ok, false, `expected ${String(value)} to be refused`);
  return result.ok ? '' : result.error;
}

test('a plain object becomes a deep-frozen copy with its JSON text', () => {
  const input = { amount: 200, tags: ['a', { b: true }], nested: { deep: null } };
  const result = canonicalizeArgs(input);
  assert.ok(result.ok);
  assert.deepEqual(result.value, input);
  assert.notEqual(result.value, input);
  assert.equal(result.json, JSON.stringify(input));
  assert.ok(Object.isFrozen(result.value));
  assert.ok(Object.isFrozen(result.value['tags']));
  assert.ok(Object.isFrozen((result.value['tags'] as object[])[1]));
  assert.throws(() => {
    (result.value as Record<string, unknown>)['amount'] = 9000;
  }, TypeError);
});

test('absent args are an empty object', () => {
  const result = canonicalizeArgs(undefined);
  assert.ok(result.ok);
  assert.deepEqual(result.value, {});
  assert.equal(result.json, '{}');
});

test('getter is read exactly once, and the copy keeps the value read', () => {
  let reads = 0;
  const hostile = {
    get amount() {
      reads++;
      return reads === 1 ? 200 : 90000;
    },
  };
  const result = canonicalizeArgs(hostile);
  assert.ok(result.ok);
  assert.equal(reads, 1);
  assert.equal(result.value['amount'], 200);
  assert.equal(result.value['amount'], 200);
  assert.equal(reads, 1);
});

test('proxy get trap runs once per key', () => {
  const counts = new Map<string | symbol, number>();
  const proxy = new Proxy({ amount: 1 } as Record<string, unknown>, {
    get(target, key, receiver) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return Reflect.get(target, key, receiver);
    },
  });
  const result = canonicalizeArgs(proxy);
  assert.ok(result.ok);
  assert.equal(counts.get('amount'), 1);
  assert.equal(Object.getPrototypeOf(result.value), Object.prototype);
});

test('__proto__ key (own property from JSON.parse) is refused', () => {
  const error = refused(JSON.parse('{"a": {"__proto__": {"isAdmin": true}}}'));
  assert.match(error, /^args\.a\.__proto__: the key "__proto__" is not allowed/);
});

test('constructor and prototype keys are refused anywhere', () => {
  assert.match(refused({ constructor: 1 }), /args\.constructor: the key "constructor" is not allowed/);
  assert.match(refused({ list: [{ prototype: {} }] }), /args\.list\[0\]\.prototype: the key "prototype" is not allowed/);
});

test('function values are refused, not dropped', () => {
  assert.match(refused({ amount: 1, callback: () => 1 }), /^args\.callback: a function is not a JSON value/);
});

test('BigInt values are refused', () => {
  assert.match(refused({ amount: 10n }), /^args\.amount: a bigint is not a JSON value/);
});

test('symbols are refused', () => {
  assert.match(refused({ s: Symbol('x') }), /^args\.s: a symbol is not a JSON value/);
});

test('cycles are refused', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  assert.match(refused(cyclic), /^args: cannot be read as JSON \(.*circular.*\)/);
});

test('NaN and Infinity are refused, not turned into null', () => {
  assert.match(refused({ amount: Number.NaN }), /^args\.amount: NaN is not a JSON number/);
  assert.match(refused({ list: [Infinity] }), /^args\.list\[0\]: Infinity is not a JSON number/);
});

test('undefined in an array is refused; an undefined property is absent', () => {
  assert.match(refused({ list: [1, undefined] }), /^args\.list\[1\]: undefined is not a JSON value/);
  const result = canonicalizeArgs({ a: 1, b: undefined });
  assert.ok(result.ok);
  assert.deepEqual(Object.keys(result.value), ['a']);
});

test('a throwing getter is refused with its message', () => {
  const hostile = {
    get amount(): number {
      throw new Error('Boom');
    },
  };
  assert.match(refused(hostile), /^args: cannot be read as JSON \(boom\)/);
});

test('non-objects at the top are refused', () => {
  assert.match(refused([1, 2]), /^args: expected a JSON object, got an array/);
  assert.match(refused(null), /^args: expected a JSON object, got null/);
  assert.match(refused('amount'), /^args: expected a JSON object, got a string/);
});

test('toJSON is honoured once (a Date becomes its ISO string)', () => {
  const result = canonicalizeArgs({ when: new Date(0) });
  assert.ok(result.ok);
  assert.equal(result.value['when'], '1970-01-01T00:00:00.000Z');
});

test('canonicalizeJson accepts any JSON value and names it by label', () => {
  const result = canonicalizeJson([1, 'a'], 'list');
  assert.ok(result.ok);
  assert.deepEqual(result.value, [1, 'a']);
  const bad = canonicalizeJson({ f: () => 0 }, 'agentAttributes');
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.error, /^agentAttributes\.f: a function/);
});
