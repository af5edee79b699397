import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalizeArgs, canonicalizeJson } from '../src/call/canonical-args.ts';

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
  assert.match(
    refused({ constructor: 1 }),
    /args\.constructor: the key "constructor" is not allowed/,
  );
  assert.match(
    refused({ list: [{ prototype: {} }] }),
    /args\.list\[0\]\.prototype: the key "prototype" is not allowed/,
  );
});

test('function values are refused, not dropped', () => {
  assert.match(
    refused({ amount: 1, callback: () => 1 }),
    /^args\.callback: a function is not a JSON value/,
  );
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
  assert.match(
    refused({ list: [1, undefined] }),
    /^args\.list\[1\]: undefined is not a JSON value/,
  );
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
  assert.match(refused(hostile), /^args\.amount: cannot be read \(boom\); pass plain JSON data$/);
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

/** What JSON would make of `value`, or `undefined` where it throws. */
function viaJson(value: unknown): unknown {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

test('the copy is what a JSON round trip gives, on every value JSON does not change silently', () => {
  class Point {
    x = 1;
    y = 2;
    get sum(): number {
      return this.x + this.y;
    }
  }
  const sparseFree = Object.assign([1, 2], { extra: 'ignored' });
  const nullProto = Object.assign(Object.create(null) as object, {
    b: 2,
    a: 1,
    10: 'ten',
    2: 'two',
  });
  const values: unknown[] = [
    { a: 1, b: 'two', c: [true, false, null], d: { e: { f: [] } } },
    { '10': 1, b: 2, '2': 3, a: 4 },
    nullProto,
    new Point(),
    { m: new Map([[1, 2]]), s: new Set([1]) },
    { t: new Uint8Array([1, 2]) },
    { when: new Date(86_400_000), boxed: [Object(1), Object('s'), Object(false)] },
    { custom: { toJSON: (key: string) => `key ${key}` } },
    sparseFree,
    { negZero: -0, big: 1e308, small: 5e-324, int: 2 ** 53 + 2 },
    { text: 'lone \ud800 surrogate, "quotes", \\ and \u0000' },
    'top-level string',
    42,
    null,
  ];
  for (let seed = 1; seed <= 200; seed++) values.push(randomJson(seed, 4));
  for (const value of values) {
    const result = canonicalizeJson(value);
    assert.ok(result.ok, `refused ${JSON.stringify(value)}: ${result.ok ? '' : result.error}`);
    const expected = viaJson(value);
    assert.deepEqual(result.value, expected);
    assert.deepEqual(
      Object.keys(result.value ?? {}),
      Object.keys(expected ?? {}),
      'the key order JSON gives',
    );
    assert.equal(result.json, JSON.stringify(expected));
  }
});

test('-0 becomes 0, as JSON makes it', () => {
  const result = canonicalizeArgs({ n: -0 });
  assert.ok(result.ok);
  assert.ok(Object.is(result.value['n'], 0));
});

test('a forbidden key is refused before its value is read', () => {
  let reads = 0;
  const hostile = Object.defineProperty({}, 'constructor', {
    enumerable: true,
    get() {
      reads++;
      return 1;
    },
  });
  assert.match(refused(hostile), /^args\.constructor: the key "constructor" is not allowed/);
  assert.equal(reads, 0);
});

test('the path of a refused value names every level', () => {
  assert.match(
    refused({ order: { items: [{ price: 1 }, { price: Number.NaN }] } }),
    /^args\.order\.items\[1\]\.price: NaN is not a JSON number/,
  );
  const cyclic: Record<string, unknown> = {};
  cyclic['list'] = [1, cyclic];
  assert.match(
    refused({ wrap: cyclic }),
    /^args: cannot be read as JSON \(args\.wrap\.list\[1\] is a circular reference/,
  );
});

test('the same object twice (not a cycle) is copied twice', () => {
  const shared = { a: 1 };
  const result = canonicalizeArgs({ x: shared, y: [shared, shared] });
  assert.ok(result.ok);
  assert.deepEqual(result.value, { x: { a: 1 }, y: [{ a: 1 }, { a: 1 }] });
});

test('a BigInt object and a BigInt from toJSON are refused', () => {
  assert.match(refused({ n: Object(10n) }), /^args\.n: a bigint is not a JSON value/);
  assert.match(refused({ n: { toJSON: () => 10n } }), /^args\.n: a bigint is not a JSON value/);
});

test('a getter that canonicalizes inside the walk does not disturb it', () => {
  const inner = {
    get deep() {
      return canonicalizeArgs({ x: 1 }).ok ? 'ok' : 'bad';
    },
  };
  const result = canonicalizeArgs({ a: inner, b: [1, 2] });
  assert.ok(result.ok);
  assert.deepEqual(result.value, { a: { deep: 'ok' }, b: [1, 2] });
});

test('the JSON text is made once, when asked for', () => {
  const result = canonicalizeArgs({ b: [1, { c: 'd' }] });
  assert.ok(result.ok);
  assert.equal(result.json, '{"b":[1,{"c":"d"}]}');
  assert.equal(result.json, result.json);
});

/** A deterministic pseudo-random JSON value (a small linear congruential generator). */
function randomJson(seed: number, depth: number): unknown {
  let state = seed;
  const next = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
  const make = (level: number): unknown => {
    switch (next(level > 0 ? 7 : 5)) {
      case 0:
        return null;
      case 1:
        return next(2) === 0;
      case 2:
        return (next(2000001) - 1000000) / (next(3) === 0 ? 7 : 1);
      case 3:
        return String.fromCharCode(...Array.from({ length: next(6) }, () => 32 + next(0x3000)));
      case 4:
        return next(1000);
      case 5:
        return Array.from({ length: next(4) }, () => make(level - 1));
      default: {
        const object: Record<string, unknown> = {};
        for (let i = next(4); i > 0; i--)
          object[next(3) === 0 ? String(next(20)) : `k${next(50)}`] = make(level - 1);
        return object;
      }
    }
  };
  return make(depth);
}

test('a Proxy whose key list throws is refused at its own path', () => {
  const hostile = new Proxy(
    {},
    {
      ownKeys() {
        throw new Error('No keys');
      },
    },
  );
  assert.match(
    refused({ order: hostile }),
    /^args\.order: cannot be read \(no keys\); pass plain JSON data$/,
  );
});

test('a value nested deeper than the stack is refused, not a crash', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 200_000; i++) deep = [deep];
  const result = canonicalizeArgs({ deep });
  assert.equal(result.ok, false);
  assert.match(
    result.ok ? '' : result.error,
    /^args: cannot be read as JSON \(maximum call stack size exceeded\)/,
  );
});
