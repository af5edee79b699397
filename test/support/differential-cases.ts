/**
 * fast-check generators for the differential tests: random policies (every condition, op and
 * source, nesting to depth 4, globs with regex characters and newlines, Deny and Ask rules, rate
 * limits, nested fields, shadow mode, optional roles) and, for each, a few calls aimed at the
 * policy's own thresholds and literals (equal, ±1 ulp, wrong type, null, missing, nested non-finite,
 * unicode normalization), with a time each.
 *
 * Shared by the Node tests, the browser test and `npm run fuzz`; shrinking is fast-check's own.
 */
import fc from 'fast-check';

/** One call of a case, with the time the host gives it. */
export interface DiffCall {
  readonly tool: string;
  readonly role: string;
  readonly args: Record<string, unknown>;
  readonly agentAttributes: Record<string, unknown>;
  readonly resourceAttributes: Record<string, unknown>;
  readonly now: number;
}

/** A policy and the calls made against one fresh instance of it, in order. */
export interface DiffCase {
  readonly policy: Record<string, unknown>;
  readonly calls: readonly DiffCall[];
}

const TOOLS = [
  't0',
  't1',
  'crm_read',
  'crm_write',
  'a.b',
  'a+b',
  '(x)|[y]',
  '^z$',
  'a\\b',
  'q?',
  'n\nl',
  'é',
  'e\u0301',
  'a*b',
  'x',
];
const ROLES = ['r0', 'r1', 'agent', 'Agent', '*', 'r\n1', 'rôle'];
const KEYS = [
  'amount',
  'env',
  'user_id',
  'owner_id',
  'a.b',
  'constructor',
  '__proto__',
  'toString',
  'é',
  'e\u0301',
  'x',
];
const PATH_KEYS = ['customer', 'address', 'country', '0', 'amount'];
const IDS = ['r-a', 'r-b', 'dup', 'dup', "it's", 'x\ny'];
const NUMBERS = [
  0,
  500,
  1,
  2,
  0.1 + 0.2,
  0.3,
  2 ** 53,
  2 ** 53 + 2,
  -1.5,
  1e308,
  5e-324,
  1e-7,
  -500,
  2000.01,
];
const STRINGS = [
  'production',
  'prod',
  '',
  'é',
  'e\u0301',
  'a\u200bb',
  '\u202eabc',
  '/etc/passwd',
  'x\ny',
  'PRODUCTION',
  'production ',
  'crm_',
];
const SOURCES = ['Arguments', 'AgentAttributes', 'ResourceAttributes'] as const;

const source = fc.constantFrom(...SOURCES);
const field: fc.Arbitrary<string | string[]> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KEYS) },
  {
    weight: 1,
    arbitrary: fc.array(fc.constantFrom(...PATH_KEYS, ...KEYS), { minLength: 1, maxLength: 3 }),
  },
);
const number = fc.oneof(
  fc.constantFrom(...NUMBERS),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1000, max: 1000 }),
);
const string = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...STRINGS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 4, unit: 'grapheme' }) },
);
const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    number,
    string,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'amount', 'x'), tie('value'), { maxKeys: 3 }),
  ),
})).value;

const leaf = fc.oneof(
  fc.record({
    NumericCheck: fc.record({
      source,
      field,
      op: fc.constantFrom('Lte', 'Gte', 'Lt', 'Gt', 'Eq'),
      value: number,
    }),
  }),
  fc.record({
    StringCheck: fc.record({
      source,
      field,
      op: fc.constantFrom('In', 'NotIn', 'Prefix', 'Suffix'),
      value: fc.array(string, { maxLength: 3 }),
    }),
  }),
  fc.record({ FieldPresent: fc.record({ source, field }) }),
  fc.record({
    FieldEquals: fc.record({ source_a: source, field_a: field, source_b: source, field_b: field }),
  }),
  fc.record({ Equals: fc.record({ source, field, value: json }) }),
);

/** A condition nested at most `depth` combinators deep. */
function condition(depth: number): fc.Arbitrary<unknown> {
  if (depth === 0) return leaf;
  const child = condition(depth - 1);
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    { weight: 1, arbitrary: fc.record({ All: fc.array(child, { maxLength: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ Any: fc.array(child, { maxLength: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ Not: child }) },
  );
}

/** A glob made from a tool name: a run of it replaced by `*` (or two). */
const globOf = (name: string) =>
  fc
    .tuple(fc.nat({ max: name.length }), fc.nat({ max: name.length }), fc.boolean())
    .map(([i, j, twice]) => {
      const [a, b] = i <= j ? [i, j] : [j, i];
      const glob = `${name.slice(0, a)}*${name.slice(b)}`;
      return twice ? glob.replace(/^(.)/s, '$1*') : glob;
    });

const rule = (tools: readonly string[]) =>
  fc.record(
    {
      tool_name: fc.oneof(
        { weight: 3, arbitrary: tools.length > 0 ? fc.constantFrom(...tools) : fc.constant('t0') },
        { weight: 2, arbitrary: fc.constantFrom(...TOOLS).chain(globOf) },
        { weight: 1, arbitrary: fc.constantFrom(...TOOLS, '*', 'nomatch*') },
      ),
      roles: fc.subarray(ROLES, { minLength: 1, maxLength: 3 }),
      condition: fc.oneof(fc.constant(null), condition(4)),
      effect: fc.constantFrom('Allow', 'Deny', 'Ask'),
      id: fc.constantFrom(...IDS),
      rate_limit: fc.record({
        max: fc.integer({ min: 1, max: 3 }),
        per_seconds: fc.integer({ min: 1, max: 20 }),
      }),
    },
    { requiredKeys: ['tool_name', 'roles'] },
  );

const policy: fc.Arbitrary<Record<string, unknown>> = fc
  .subarray(TOOLS, { minLength: 1, maxLength: 6 })
  .chain((tools) =>
    fc.record(
      {
        version: fc.constantFrom('v1', 'perso-1.0.0'),
        default_action: fc.constantFrom('Allow', 'Deny'),
        tools: fc.constant(tools),
        roles: fc.subarray(ROLES, { minLength: 1, maxLength: 5 }),
        rules: fc.array(rule(tools), { maxLength: 6 }),
        mode: fc.constantFrom('enforce', 'shadow'),
      },
      { requiredKeys: ['version', 'default_action', 'tools', 'rules'] },
    ),
  );

// ---- calls aimed at the policy ----

interface Leaf {
  readonly source: string;
  readonly field: string | string[];
  readonly variant: string;
  readonly body: Record<string, unknown>;
}

function leavesOf(condition: unknown, out: Leaf[] = []): Leaf[] {
  if (condition === null || typeof condition !== 'object') return out;
  const [variant] = Object.keys(condition);
  const body = (condition as Record<string, unknown>)[variant!];
  if (variant === 'All' || variant === 'Any') for (const c of body as unknown[]) leavesOf(c, out);
  else if (variant === 'Not') leavesOf(body, out);
  else {
    const b = body as Record<string, unknown>;
    if (variant === 'FieldEquals') {
      out.push({ source: b.source_a as string, field: b.field_a as string, variant, body: b });
      out.push({ source: b.source_b as string, field: b.field_b as string, variant, body: b });
    } else
      out.push({
        source: b.source as string,
        field: b.field as string,
        variant: variant!,
        body: b,
      });
  }
  return out;
}

const ulpUp = (x: number): number => {
  if (x === 0) return 5e-324;
  const buffer = new DataView(new ArrayBuffer(8));
  buffer.setFloat64(0, x);
  buffer.setBigInt64(0, buffer.getBigInt64(0) + (x > 0 ? 1n : -1n));
  return buffer.getFloat64(0);
};
const ulpDown = (x: number): number => -ulpUp(-x);

/** Values aimed at one leaf's literal: equal, ±1 ulp, wrong type, null, nested non-finite... */
function aimedAt(leaf: Leaf, shared: unknown): unknown[] {
  const hostile = [
    null,
    true,
    'x',
    [],
    {},
    Number.POSITIVE_INFINITY,
    Number.NaN,
    { x: Number.NEGATIVE_INFINITY },
    [Number.POSITIVE_INFINITY],
    -0,
  ];
  switch (leaf.variant) {
    case 'NumericCheck': {
      const v = leaf.body.value as number;
      return [
        v,
        v,
        ulpUp(v),
        ulpDown(v),
        v + Number.EPSILON,
        v - Number.EPSILON,
        -v,
        String(v),
        [v],
        { v },
        ...hostile,
      ];
    }
    case 'StringCheck': {
      const list = leaf.body.value as string[];
      const forms = list.flatMap((s) => [
        s,
        s,
        `${s}x`,
        `x${s}`,
        s.normalize('NFD'),
        s.normalize('NFC'),
        s.toUpperCase(),
        `${s}\u200b`,
        s.slice(0, -1),
      ]);
      return [...forms, 'production', 1, ...hostile];
    }
    case 'FieldPresent':
      return [null, false, 0, '', {}, 'yes', ...hostile];
    case 'FieldEquals':
      return [shared, shared, shared, reorder(shared), null, 1, '1', ...hostile];
    case 'Equals': {
      const v = leaf.body.value;
      return [v, v, reorder(v), variantOf(v), null, 1, '1', { v }, ...hostile];
    }
    default:
      return hostile;
  }
}

function reorder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorder);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).reverse())
    define(out, key, reorder((value as Record<string, unknown>)[key]));
  return out;
}

function variantOf(value: unknown): unknown {
  if (typeof value === 'number') return ulpUp(value);
  if (typeof value === 'string') return `${value} `;
  if (typeof value === 'boolean') return !value;
  if (Array.isArray(value)) return [...value, null];
  if (value !== null && typeof value === 'object') return { ...(value as object), extra: 1 };
  return false;
}

/** Sets an own property, even `__proto__` (as JSON.parse does). */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** A deep copy (own keys, `__proto__` included), so no two places share an object. */
function copy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copy);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value))
    define(out, key, copy((value as Record<string, unknown>)[key]));
  return out;
}

function setPath(target: Record<string, unknown>, path: string | string[], value: unknown): void {
  const keys = typeof path === 'string' ? [path] : path;
  let current = target;
  keys.forEach((key, i) => {
    if (i === keys.length - 1) return define(current, key, copy(value));
    const next = Object.hasOwn(current, key) ? current[key] : undefined;
    if (next === null || typeof next !== 'object' || Array.isArray(next)) define(current, key, {});
    current = current[key] as Record<string, unknown>;
  });
}

function callsFor(p: Record<string, unknown>): fc.Arbitrary<DiffCall[]> {
  const rules = p.rules as Array<Record<string, unknown>>;
  const leaves = rules.flatMap((r) => leavesOf(r.condition ?? null));
  const tools = [
    ...new Set([...(p.tools as string[]), ...rules.map((r) => r.tool_name as string)]),
  ];
  const roles = [...new Set([...rules.flatMap((r) => r.roles as string[]), ...ROLES])];
  const sources = fc
    .tuple(
      ...[0, 1, 2].map(() =>
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: leaves.length + 1 }),
      ),
    )
    .chain((picks) =>
      fc.tuple(json, fc.constantFrom(...KEYS), json).map(([shared, noiseKey, noise]) => {
        const out = SOURCES.map(() => ({}) as Record<string, unknown>);
        picks.forEach((list) => {
          for (const [which, value, skip] of list) {
            if (leaves.length === 0 || skip) continue;
            const target = leaves[which % leaves.length]!;
            const values = aimedAt(target, shared);
            setPath(
              out[SOURCES.indexOf(target.source as (typeof SOURCES)[number])]!,
              target.field,
              values[value % values.length],
            );
          }
        });
        define(out[0]!, noiseKey, copy(noise));
        return out;
      }),
    );
  const start = fc.constantFrom(0, 100, -50, 1e9, 2 ** 43, ulpUp(2 ** 43), 1.5);
  // Mostly a (tool, role) pair some rule names (a glob's tool drawn from `tools`), else any names.
  const named = rules.map(
    (r) =>
      [
        String(r.tool_name).includes('*') ? (p.tools as string[]) : [r.tool_name as string],
        r.roles as string[],
      ] as const,
  );
  const pair = fc.oneof(
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...tools), fc.constantFrom(...roles)) },
    {
      weight: named.length > 0 ? 3 : 0,
      arbitrary:
        named.length > 0
          ? fc
              .constantFrom(...named)
              .chain(([ts, rs]) => fc.tuple(fc.constantFrom(...ts), fc.constantFrom(...rs)))
          : fc.constant(['t0', 'r0'] as [string, string]),
    },
  );
  const call = fc.record({
    pair,
    sources,
    step: fc.oneof(fc.integer({ min: -15, max: 30 }), fc.constantFrom(0, 1, 10, 20)),
  });
  return fc.tuple(start, fc.array(call, { minLength: 1, maxLength: 10 })).map(([t0, list]) => {
    let now = t0;
    return list.map(({ pair: [tool, role], sources: [args, agent, resource], step }) => {
      now += step;
      return {
        tool,
        role,
        args: args!,
        agentAttributes: agent!,
        resourceAttributes: resource!,
        now,
      };
    });
  });
}

/** A random policy and the calls made against it. */
export const diffCase: fc.Arbitrary<DiffCase> = policy.chain((p) =>
  callsFor(p).map((calls) => ({ policy: p, calls })),
);

/** JSON text of a value as a request line carries it: -0 stays -0, a non-finite number is written out of range (1e400). */
export function toJsonText(value: unknown): string {
  if (typeof value === 'number') {
    if (Number.isNaN(value) || value === Number.POSITIVE_INFINITY) return '1e400';
    if (value === Number.NEGATIVE_INFINITY) return '-1e400';
    return Object.is(value, -0) ? '-0' : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .map((k) => `${JSON.stringify(k)}:${toJsonText((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The generated cases for a seed, as `npm test` and the fuzzer draw them. */
export function sampleCases(seed: number, count: number): DiffCase[] {
  return fc.sample(diffCase, { seed, numRuns: count });
}
