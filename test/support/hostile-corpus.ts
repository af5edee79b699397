/**
 * The hostile corpus: calls and policies built to break a JSON reader or a decision (nesting
 * 100,000 deep, a 10 MB string, 1,000,000 keys, invalid UTF-8, lone surrogates, NUL, `__proto__` and
 * `constructor`, 1e400, -0, 2^53+1, duplicate keys, zero-width and bidi characters, 100,000 rules, a
 * glob over 10,000 tools). Every entry point must answer each with a Deny or a clear error, in
 * bounded time and memory, never crash, and never Allow what the policy does not grant.
 *
 * Shared by the Node test (raw ABI, Engine, Perso, perso eval) and the browser test (worker, embed).
 */

/** The policy the hostile calls go to: refunds up to 500 and viewing, for agents; nothing else. */
export const HOSTILE_POLICY = {
  version: 'hostile-1',
  default_action: 'Deny',
  tools: ['process_refund', 'view_customer'],
  roles: ['agent'],
  rules: [
    {
      id: 'refund-cap',
      tool_name: 'process_refund',
      roles: ['agent'],
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 500 } },
    },
    { id: 'view', tool_name: 'view_customer', roles: ['agent'], condition: null },
  ],
} as const;

/** One hostile call. */
export interface HostileCall {
  readonly name: string;
  readonly tool: string;
  readonly role: string;
  /** The args as JSON text (or raw bytes, for what only bytes can carry). */
  readonly argsText: () => string | Uint8Array;
  /** The args as a JS value, for the library entry points; absent when only text can say it. */
  readonly args?: () => unknown;
  /** `deny`: only a Deny (or an error) is right. `granted`: the policy grants it, so Allow is right too. */
  readonly expect: 'deny' | 'granted';
}

const MB10 = 10 * 1024 * 1024;
const DEPTH = 100_000;
const KEYS = 1_000_000;

const deepText = (leaf: string) => '{"a":'.repeat(DEPTH) + leaf + '}'.repeat(DEPTH);
function deepValue(leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < DEPTH; i++) value = { a: value };
  return value;
}
function manyKeysText(last: string): string {
  const parts: string[] = [];
  for (let i = 0; i < KEYS; i++) parts.push(`"k${i}":${i}`);
  return `{${parts.join(',')},${last}}`;
}
function manyKeysValue(amount: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < KEYS; i++) out[`k${i}`] = i;
  out.amount = amount;
  return out;
}
const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Uint8Array.from(
    parts.flatMap((p) => (typeof p === 'string' ? [...new TextEncoder().encode(p)] : p)),
  );
const text = (value: unknown) => () => JSON.stringify(value);
const same = (value: unknown) => () => value;

/** The calls, each against HOSTILE_POLICY. */
export const HOSTILE_CALLS: readonly HostileCall[] = [
  {
    name: 'nesting 100,000 deep as the amount',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => `{"amount":${deepText('1')}}`,
    args: () => ({ amount: deepValue(1) }),
    expect: 'deny',
  },
  {
    name: 'nesting 100,000 deep beside an amount of 800',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => `{"amount":800,"x":${deepText('1')}}`,
    args: () => ({ amount: 800, x: deepValue(1) }),
    expect: 'deny',
  },
  {
    name: 'nesting 100,000 deep in a granted call',
    tool: 'view_customer',
    role: 'agent',
    argsText: () => `{"x":${deepText('1')}}`,
    args: () => ({ x: deepValue(1) }),
    expect: 'granted',
  },
  {
    name: 'a 10 MB string as the amount',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => `{"amount":"${'9'.repeat(MB10)}"}`,
    args: () => ({ amount: '9'.repeat(MB10) }),
    expect: 'deny',
  },
  {
    name: 'a 10 MB string beside an amount of 800',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => `{"note":"${'x'.repeat(MB10)}","amount":800}`,
    args: () => ({ note: 'x'.repeat(MB10), amount: 800 }),
    expect: 'deny',
  },
  {
    name: 'a 10 MB tool name',
    tool: `process_refund${'x'.repeat(MB10)}`,
    role: 'agent',
    argsText: text({ amount: 1 }),
    args: same({ amount: 1 }),
    expect: 'deny',
  },
  {
    name: '1,000,000 keys, amount 800 last',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => manyKeysText('"amount":800'),
    args: () => manyKeysValue(800),
    expect: 'deny',
  },
  {
    name: 'invalid UTF-8 in a string beside an amount of 100',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => bytes('{"amount":100,"note":"', [0xff, 0xfe, 0xc0, 0x80], '"}'),
    expect: 'deny',
  },
  {
    name: 'invalid UTF-8 (an overlong encoding of "1") as the amount',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => bytes('{"amount":', [0xc0, 0xb1], '}'),
    expect: 'deny',
  },
  {
    name: 'a lone surrogate as the amount',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"amount":"\\ud800"}',
    args: same({ amount: '\ud800' }),
    expect: 'deny',
  },
  {
    name: 'a lone surrogate in the tool name',
    tool: 'process_refund\ud800',
    role: 'agent',
    argsText: text({ amount: 1 }),
    args: same({ amount: 1 }),
    expect: 'deny',
  },
  {
    name: 'a lone surrogate in a key beside an amount of 100',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"\\udc00":1,"amount":100}',
    args: same({ '\udc00': 1, amount: 100 }),
    expect: 'granted',
  },
  {
    name: 'NUL after the tool name',
    tool: 'process_refund\u0000',
    role: 'agent',
    argsText: text({ amount: 1 }),
    args: same({ amount: 1 }),
    expect: 'deny',
  },
  {
    name: 'NUL after the role',
    tool: 'process_refund',
    role: 'agent\u0000',
    argsText: text({ amount: 1 }),
    args: same({ amount: 1 }),
    expect: 'deny',
  },
  {
    name: 'NUL inside the amount key',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"amount\\u0000":1}',
    args: same({ 'amount\u0000': 1 }),
    expect: 'deny',
  },
  {
    name: '__proto__ carrying an amount of 100',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"__proto__":{"amount":100}}',
    args: () => JSON.parse('{"__proto__":{"amount":100}}'),
    expect: 'deny',
  },
  {
    name: 'constructor.prototype carrying an amount of 100',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"constructor":{"prototype":{"amount":100}}}',
    args: () => JSON.parse('{"constructor":{"prototype":{"amount":100}}}'),
    expect: 'deny',
  },
  {
    name: 'an inherited amount of 100 (library only)',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{}',
    args: () => Object.create({ amount: 100 }) as unknown,
    expect: 'deny',
  },
  {
    name: '1e400 as the amount',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"amount":1e400}',
    args: same({ amount: Number.POSITIVE_INFINITY }),
    expect: 'deny',
  },
  {
    name: '-1e400 as the amount (would be Lte 500)',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"amount":-1e400}',
    args: same({ amount: Number.NEGATIVE_INFINITY }),
    expect: 'deny',
  },
  {
    name: 'NaN as the amount (library only)',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"amount":null}',
    args: same({ amount: Number.NaN }),
    expect: 'deny',
  },
  {
    name: '-0 as the amount',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"amount":-0}',
    args: same({ amount: -0 }),
    expect: 'granted',
  },
  {
    name: '2^53+1 as the amount',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"amount":9007199254740993}',
    args: same({ amount: 2 ** 53 + 2 }),
    expect: 'deny',
  },
  {
    name: 'duplicate keys, 100 then 900',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"amount":100,"amount":900}',
    expect: 'deny',
  },
  {
    name: 'duplicate keys, 900 then 100',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"amount":900,"amount":100}',
    expect: 'deny',
  },
  {
    name: 'a zero-width space inside the tool name',
    tool: 'process\u200b_refund',
    role: 'agent',
    argsText: text({ amount: 1 }),
    args: same({ amount: 1 }),
    expect: 'deny',
  },
  {
    name: 'a zero-width joiner after the role',
    tool: 'process_refund',
    role: 'agent\u200d',
    argsText: text({ amount: 1 }),
    args: same({ amount: 1 }),
    expect: 'deny',
  },
  {
    name: 'a bidi override before the tool name',
    tool: '\u202eprocess_refund',
    role: 'agent',
    argsText: text({ amount: 1 }),
    args: same({ amount: 1 }),
    expect: 'deny',
  },
  {
    name: 'a bidi override in the amount key',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => '{"\\u202damount":1}',
    args: same({ '\u202damount': 1 }),
    expect: 'deny',
  },
  {
    name: 'a byte-order mark before the args',
    tool: 'process_refund',
    role: 'agent',
    argsText: () => bytes([0xef, 0xbb, 0xbf], '{"amount":900}'),
    expect: 'deny',
  },
];

/** A hostile policy and the calls to make once it was given (loaded, or refused with a clear error). */
export interface HostilePolicy {
  readonly name: string;
  readonly policyText: () => string;
  /** Calls that no reading of the policy grants. */
  readonly calls: ReadonlyArray<{ tool: string; role: string; args: Record<string, unknown> }>;
}

/** How many rules the large policy has (issue 9: 100,000). */
export const LARGE_POLICY_RULES = 100_000;
/** How many tools the glob expands over (issue 9: 10,000). */
export const GLOB_TOOLS = 10_000;

/** The hostile policies. */
export const HOSTILE_POLICIES: readonly HostilePolicy[] = [
  {
    name: `${LARGE_POLICY_RULES.toLocaleString('en')} rules`,
    policyText: () => {
      const tools = Array.from({ length: LARGE_POLICY_RULES }, (_, i) => `tool_${i}`);
      const rules = tools.map((tool) => ({
        tool_name: tool,
        roles: ['agent'],
        condition: {
          NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 500 },
        },
      }));
      return JSON.stringify({
        version: 'many-rules',
        default_action: 'Deny',
        tools,
        roles: ['agent'],
        rules,
      });
    },
    calls: [
      { tool: `tool_${LARGE_POLICY_RULES - 1}`, role: 'agent', args: { amount: 800 } },
      { tool: 'tool_x', role: 'agent', args: { amount: 1 } },
      { tool: 'tool_0', role: 'admin', args: { amount: 1 } },
    ],
  },
  {
    name: `a glob over ${GLOB_TOOLS.toLocaleString('en')} tools`,
    policyText: () => {
      const tools = Array.from({ length: GLOB_TOOLS }, (_, i) => `crm_${i}`);
      return JSON.stringify({
        version: 'glob',
        default_action: 'Deny',
        tools,
        roles: ['agent'],
        rules: [
          {
            tool_name: 'crm_*',
            roles: ['agent'],
            condition: {
              NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 500 },
            },
          },
        ],
      });
    },
    calls: [
      { tool: `crm_${GLOB_TOOLS - 1}`, role: 'agent', args: { amount: 800 } },
      { tool: `crm_${GLOB_TOOLS}`, role: 'agent', args: { amount: 1 } },
      { tool: 'crm_', role: 'agent', args: { amount: 1 } },
    ],
  },
  {
    name: 'a condition nested 100,000 deep',
    policyText: () =>
      `{"version":"deep","default_action":"Deny","tools":["t"],"rules":[{"tool_name":"t","roles":["agent"],"condition":${'{"Not":'.repeat(DEPTH)}{"FieldPresent":{"source":"Arguments","field":"amount"}}${'}'.repeat(DEPTH)}}]}`,
    calls: [{ tool: 't', role: 'agent', args: {} }],
  },
  {
    name: 'duplicate keys in a rule (Deny first, then Allow)',
    policyText: () =>
      '{"version":"dup","default_action":"Deny","tools":["t"],"rules":[{"tool_name":"t","roles":["agent"],"effect":"Deny","effect":"Allow"}]}',
    calls: [{ tool: 't', role: 'agent', args: {} }],
  },
  {
    name: 'a 10 MB tool name in the policy',
    policyText: () =>
      JSON.stringify({
        version: 'long',
        default_action: 'Deny',
        tools: ['t'],
        rules: [{ tool_name: 'x'.repeat(MB10), roles: ['agent'] }],
      }),
    calls: [
      { tool: 't', role: 'agent', args: {} },
      { tool: 'x'.repeat(1000), role: 'agent', args: {} },
    ],
  },
];

/** Worst figures over a run, for the report. */
export class WorstFigures {
  time = { ms: 0, what: '' };
  memory = { bytes: 0, what: '' };
  count = 0;
  /** Records one answer's time and the memory it left (or peaked at). */
  note(what: string, ms: number, bytes: number): void {
    this.count++;
    if (ms > this.time.ms) this.time = { ms, what };
    if (bytes > this.memory.bytes) this.memory = { bytes, what };
  }
  /** One line for the log. */
  toString(): string {
    return `${this.count} answers; worst time ${this.time.ms.toFixed(0)} ms (${this.time.what}); most memory ${(this.memory.bytes / 2 ** 20).toFixed(1)} MiB (${this.memory.what})`;
  }
}
