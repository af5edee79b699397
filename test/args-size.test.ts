// The size bound on canonical args (src/call/args-size.ts): measured without making the JSON text,
// refused with the measure and the bound, before anything is sent to an engine.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_ARGS_DEPTH,
  MAX_ARGS_SIZE,
  MAX_ARGS_VALUES,
  measureJson,
} from '../src/call/args-size.ts';
import { canonicalizeArgs } from '../src/call/canonical-args.ts';
import type { JsonValue } from '../src/call/decision.ts';

function nested(depth: number): JsonValue {
  let v: JsonValue = 0;
  for (let i = 1; i < depth; i++) v = i % 2 === 0 ? [v] : { k: v };
  return { v };
}

describe('measureJson', () => {
  test('size is the JSON text length for values without escapes; values and depth count what they say', () => {
    const samples: JsonValue[] = [
      {},
      [],
      0,
      -1.5e-7,
      123456789012,
      true,
      false,
      null,
      '',
      'héllo',
      { a: [1, 2, { b: null, c: 'x' }], d: {}, e: [], f: true },
      { 'key with spaces': [[[]]], n: 9007199254740991 },
    ];
    for (const value of samples)
      assert.equal(measureJson(value).size, JSON.stringify(value).length, JSON.stringify(value));
    assert.deepEqual(measureJson({ a: [1, 2, { b: null }] }), { size: 22, values: 6, depth: 3 });
    assert.deepEqual(measureJson('x'), { size: 3, values: 1, depth: 0 });
    assert.equal(measureJson(nested(100_000)).depth, 100_000, 'no stack: the walk keeps its own');
  });
});

describe('canonicalizeArgs refuses args too large to decide in time', () => {
  test('a 20 MB string: refused with its size and the bound', () => {
    const result = canonicalizeArgs({ s: 'x'.repeat(20 * 2 ** 20) });
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.equal(
        result.error,
        `args: ${20 * 2 ** 20 + 8} characters of JSON, more than the ${MAX_ARGS_SIZE} one call may carry; send smaller args (large content by reference, such as an id or a URL)`,
      );
    }
  });

  test('more values than the bound: refused; at the bound: kept', () => {
    const over = canonicalizeArgs({ a: new Array(MAX_ARGS_VALUES - 1).fill(0) });
    assert.equal(over.ok, false);
    if (!over.ok)
      assert.match(
        over.error,
        /^args: 100001 values, more than the 100000 one call may carry; send smaller args/,
      );
    assert.equal(canonicalizeArgs({ a: new Array(MAX_ARGS_VALUES - 2).fill(0) }).ok, true);
  });

  test('nesting deeper than the engine reads: refused; at the bound: kept', () => {
    const deep = canonicalizeArgs(nested(MAX_ARGS_DEPTH + 1));
    assert.equal(deep.ok, false);
    if (!deep.ok)
      assert.equal(
        deep.error,
        'args: nested 65 deep, more than the 64 one call may carry; flatten the args',
      );
    assert.equal(canonicalizeArgs(nested(MAX_ARGS_DEPTH)).ok, true);
  });

  test('the label names the value (host facts have the same bound)', () => {
    const result = canonicalizeArgs({ blob: 'y'.repeat(MAX_ARGS_SIZE) }, 'resourceAttributes');
    assert.equal(result.ok, false);
    if (!result.ok)
      assert.match(
        result.error,
        /^resourceAttributes: \d+ characters of JSON, more than the 1048576 .*send smaller resourceAttributes/,
      );
  });
});

describe('the bound where the library makes the canonical copy, in Node', () => {
  test('session.guard: a 20 MB argument is an invalid_request Deny and the tool does not run', async () => {
    const { Perso } = await import('../src/perso/perso.ts');
    const perso = await Perso.load({
      policy: {
        version: 'size-1',
        default_action: 'Deny',
        tools: ['upload'],
        roles: ['r'],
        rules: [{ tool_name: 'upload', roles: ['r'] }],
      } as never,
    });
    let ran = 0;
    const upload = perso.session({ role: 'r' }).guard('upload', () => ++ran);
    const outcome = await upload({ blob: 'z'.repeat(20 * 2 ** 20) });
    assert.equal(outcome.ok, false);
    assert.equal(outcome.decision.kind, 'invalid_request');
    assert.match(
      outcome.decision.reason,
      /^invalid request: args: 20971531 characters of JSON, more than the 1048576 one call may carry/,
    );
    assert.equal((await upload({ blob: 'small' })).ok, true);
    assert.equal(ran, 1);
    await perso.close();
  });
});
