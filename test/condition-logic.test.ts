// condition-logic.ts: `implies` must never claim what a call disproves. Random conditions over two
// fields are checked against random calls with a three-valued evaluator written from DESIGN §2.3
// (not from the module), from a fixed seed so a failure repeats.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { implies, normalize } from '../src/analysis/condition-logic.ts';

type Three = 'true' | 'false' | 'unknown';
type Condition = Record<string, unknown>;

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const pick = <T>(next: () => number, items: readonly T[]): T =>
  items[Math.floor(next() * items.length)]!;
const NUMBERS = [-1, 0, 1, 2.5, 5, 10, 100];
const STRINGS = ['', 'a', 'ab', 'abc', 'b', 'ba', 'xyz'];

/** A random condition over Arguments.n (numbers) and Arguments.s (strings). */
function condition(next: () => number, depth: number): Condition {
  const roll = next();
  if (depth > 0 && roll < 0.3) {
    const children = Array.from({ length: Math.floor(next() * 3) }, () =>
      condition(next, depth - 1),
    );
    return { [next() < 0.5 ? 'All' : 'Any']: children };
  }
  if (depth > 0 && roll < 0.4) return { Not: condition(next, depth - 1) };
  const leaf = next();
  if (leaf < 0.4)
    return {
      NumericCheck: {
        source: 'Arguments',
        field: 'n',
        op: pick(next, ['Lte', 'Gte', 'Lt', 'Gt', 'Eq']),
        value: pick(next, NUMBERS),
      },
    };
  if (leaf < 0.75) {
    const value = STRINGS.filter(() => next() < 0.35);
    return {
      StringCheck: {
        source: 'Arguments',
        field: 's',
        op: pick(next, ['In', 'NotIn', 'Prefix', 'Suffix']),
        value,
      },
    };
  }
  if (leaf < 0.85) return { FieldPresent: { source: 'Arguments', field: pick(next, ['n', 's']) } };
  return {
    Equals: {
      source: 'Arguments',
      field: pick(next, ['n', 's']),
      value: next() < 0.5 ? pick(next, NUMBERS) : pick(next, STRINGS),
    },
  };
}

/** DESIGN §2.3: missing or mistyped data is unknown (FieldPresent excepted); Kleene All/Any/Not. */
function evaluate(c: Condition, args: Record<string, unknown>): Three {
  const [variant] = Object.keys(c);
  const body = c[variant!] as Record<string, unknown>;
  const value = (field: unknown) =>
    Object.hasOwn(args, field as string) ? args[field as string] : undefined;
  switch (variant) {
    case 'All': {
      const results = (c.All as Condition[]).map((child) => evaluate(child, args));
      return results.includes('false') ? 'false' : results.includes('unknown') ? 'unknown' : 'true';
    }
    case 'Any': {
      const results = (c.Any as Condition[]).map((child) => evaluate(child, args));
      return results.includes('true') ? 'true' : results.includes('unknown') ? 'unknown' : 'false';
    }
    case 'Not': {
      const result = evaluate(c.Not as Condition, args);
      return result === 'unknown' ? 'unknown' : result === 'true' ? 'false' : 'true';
    }
    case 'NumericCheck': {
      const x = value(body.field);
      if (typeof x !== 'number') return 'unknown';
      const v = body.value as number;
      const ok = {
        Lte: x <= v,
        Gte: x >= v,
        Lt: x < v,
        Gt: x > v,
        Eq: Math.abs(x - v) < Number.EPSILON,
      }[body.op as string]!;
      return ok ? 'true' : 'false';
    }
    case 'StringCheck': {
      const x = value(body.field);
      if (typeof x !== 'string') return 'unknown';
      const list = body.value as string[];
      const ok = {
        In: list.includes(x),
        NotIn: !list.includes(x),
        Prefix: list.some((p) => x.startsWith(p)),
        Suffix: list.some((p) => x.endsWith(p)),
      }[body.op as string]!;
      return ok ? 'true' : 'false';
    }
    case 'FieldPresent': {
      const x = value(body.field);
      return x !== undefined && x !== null ? 'true' : 'false';
    }
    case 'Equals': {
      const x = value(body.field);
      if (x === undefined || x === null) return 'unknown';
      return x === body.value ? 'true' : 'false';
    }
  }
  throw new Error(`unknown variant ${variant}`);
}

/** Calls with n and s absent, null, of the wrong type, or from the domains above. */
function calls(): Record<string, unknown>[] {
  const ns: unknown[] = [undefined, null, 'x', ...NUMBERS, 1.0000001, 9.999];
  const ss: unknown[] = [undefined, null, 3, ...STRINGS, 'abz', 'zab'];
  const out: Record<string, unknown>[] = [];
  for (const n of ns) {
    for (const s of ss) {
      const args: Record<string, unknown> = {};
      if (n !== undefined) args.n = n;
      if (s !== undefined) args.s = s;
      out.push(args);
    }
  }
  return out;
}

describe('implies', () => {
  test('never claims T(a) ⊆ T(b) or F(a) ⊆ F(b) when a call disproves it (20,000 random pairs)', () => {
    const next = random(1203);
    const all = calls();
    let proven = 0;
    for (let round = 0; round < 20_000; round++) {
      const a = condition(next, 2);
      const b = next() < 0.3 ? condition(next, 2) : mutate(a, next);
      for (const truth of [true, false]) {
        if (!implies(normalize(a), normalize(b), truth)) continue;
        proven++;
        const wanted: Three = truth ? 'true' : 'false';
        for (const args of all) {
          if (evaluate(a, args) === wanted) {
            assert.equal(
              evaluate(b, args),
              wanted,
              `${JSON.stringify(a)} ⇒ ${JSON.stringify(b)} (${truth}) fails on ${JSON.stringify(args)}`,
            );
          }
        }
      }
    }
    // The check must prove something, or it would pass by proving nothing.
    assert.ok(proven > 5000, `only ${proven} implications proven`);
  });

  test('a condition and its double negation or De Morgan dual are proven equal both ways', () => {
    const next = random(77);
    for (let round = 0; round < 2000; round++) {
      const c = condition(next, 3);
      const twice = { Not: { Not: c } };
      for (const truth of [true, false]) {
        assert.equal(implies(normalize(c), normalize(twice), truth), true, JSON.stringify(c));
        assert.equal(implies(normalize(twice), normalize(c), truth), true, JSON.stringify(c));
      }
      for (const args of calls()) assert.equal(evaluate(twice, args), evaluate(c, args));
    }
  });

  test('proves the everyday cases', () => {
    const lte = (value: number) =>
      normalize({ NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value } });
    assert.equal(implies(lte(100), lte(500), true), true);
    assert.equal(implies(lte(500), lte(100), true), false);
    assert.equal(implies(lte(500), lte(100), false), true);
    const inList = (value: string[]) =>
      normalize({ StringCheck: { source: 'Arguments', field: 'region', op: 'In', value } });
    assert.equal(implies(inList(['eu']), inList(['eu', 'us']), true), true);
    assert.equal(
      implies(
        normalize({
          All: [
            { FieldPresent: { source: 'Arguments', field: 'amount' } },
            { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 5 } },
          ],
        }),
        lte(10),
        true,
      ),
      true,
    );
    assert.equal(
      implies(
        normalize({
          Not: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Gt', value: 100 } },
        }),
        lte(100),
        true,
      ),
      true,
    );
  });
});

/** A small change to a condition: a bound, a list, an op, or a wrapper. */
function mutate(c: Condition, next: () => number): Condition {
  const copy = JSON.parse(JSON.stringify(c)) as Condition;
  const [variant] = Object.keys(copy);
  const body = copy[variant!] as Record<string, unknown>;
  if (variant === 'NumericCheck') body.value = pick(next, NUMBERS);
  else if (variant === 'StringCheck') body.value = STRINGS.filter(() => next() < 0.5);
  else if (variant === 'All' || variant === 'Any')
    return next() < 0.5
      ? { [variant === 'All' ? 'Any' : 'All']: copy[variant] }
      : { All: [copy, condition(next, 1)] };
  else if (variant === 'Not') return copy.Not as Condition;
  const roll = next();
  return roll < 0.4
    ? { Any: [copy, condition(next, 1)] }
    : roll < 0.6
      ? { Not: { Not: copy } }
      : roll < 0.8
        ? { Not: copy }
        : copy;
}
