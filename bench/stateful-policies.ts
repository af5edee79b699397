/**
 * Decisions with state (issue 14) beside a plain one, interleaved, through `Engine.evaluate`: a sum
 * budget whose window holds 100 or 3,600 allowed calls, a `FromUntrusted` check after a 10 KB
 * untrusted result, and both at once (and a `StringCheck` on the field `FromUntrusted` reads).
 * Reported as ratios to the plain decision; never asserted.
 */
import type { Engine } from '../src/engine/engine.ts';
import type { ToolCall } from '../src/call/decision.ts';
import { formatRate, formatUs, markdownTable, measureSideBySide } from './measure.ts';

const pay = (extra: object = {}) =>
  JSON.stringify({
    version: 'stateful-bench',
    default_action: 'Deny',
    tools: ['pay', 'read_email'],
    untrusted_tools: ['read_email'],
    rules: [{ tool_name: 'pay', roles: ['agent'], ...extra }],
  });
const budget = (perSeconds: number) => ({
  budget: { sum: 'Arguments.amount', max: 1e15, per_seconds: perSeconds },
});
const untrustedRecipient = {
  tool_name: 'pay',
  roles: ['agent'],
  effect: 'Deny',
  condition: { FromUntrusted: { source: 'Arguments', field: 'to' } },
};
const withRules = (allow: object, ...more: object[]) =>
  JSON.stringify({ ...JSON.parse(pay(allow)), rules: [JSON.parse(pay(allow)).rules[0], ...more] });

/** A 10 KB email body: words, numbers and addresses, none of them the payee. */
function tenKilobytes(): string {
  const words: string[] = [];
  for (let i = 0; words.join(' ').length < 10_240; i++)
    words.push(`word${i}`, `acct-${(i * 7919) % 100_000}`, `user${i}@mail.example`, 'and');
  return words.join(' ').slice(0, 10_240);
}

/** The row that reads the fields the stateful rows read, with plain conditions. */
const SAME_FIELDS = 'plain on the same fields (NumericCheck on amount and StringCheck on to)';

/** One row of the table: a policy, whether a 10 KB untrusted result is recorded first, the time step. */
export interface StatefulCase {
  name: string;
  policy: string;
  taint: boolean;
  step: number;
}

/** The rows of the table, plain first. */
export function statefulCases(): StatefulCase[] {
  return [
    { name: 'plain (one Allow rule, no condition)', policy: pay(), taint: false, step: 1 },
    {
      name: 'plain (an Allow rule with a NumericCheck on amount)',
      policy: pay({
        condition: {
          NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 500 },
        },
      }),
      taint: false,
      step: 1,
    },
    {
      // Reads the same string field as FromUntrusted: what writing it into the request costs.
      name: 'plain (an Allow rule with a StringCheck on to)',
      policy: pay({
        condition: {
          StringCheck: { source: 'Arguments', field: 'to', op: 'NotIn', value: ['x'] },
        },
      }),
      taint: false,
      step: 1,
    },
    {
      // The same call decided on the same fields without state: the budget's amount and the
      // FromUntrusted check's to, each read by a plain condition.
      name: SAME_FIELDS,
      policy: pay({
        condition: {
          All: [
            { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 500 } },
            { StringCheck: { source: 'Arguments', field: 'to', op: 'NotIn', value: ['x'] } },
          ],
        },
      }),
      taint: false,
      step: 1,
    },
    { name: 'budget, 100 calls in the window', policy: pay(budget(100)), taint: false, step: 1 },
    { name: 'budget, 3,600 calls in the window', policy: pay(budget(3600)), taint: false, step: 1 },
    {
      name: 'FromUntrusted after a 10 KB untrusted result',
      policy: withRules({}, untrustedRecipient),
      taint: true,
      step: 1,
    },
    {
      name: 'budget (100 calls) and FromUntrusted after 10 KB',
      policy: withRules(budget(100), untrustedRecipient),
      taint: true,
      step: 1,
    },
  ];
}

/** The call every row decides. */
export const statefulCall: ToolCall = {
  tool: 'pay',
  role: 'agent',
  args: { amount: 40, to: 'GB33BUKB20201555555555' },
};

/** A fresh engine for `c`: its policy loaded, the untrusted result recorded when it says so. */
export async function statefulEngine(create: () => Promise<Engine>, c: StatefulCase) {
  const engine = await create();
  const load = engine.load(c.policy);
  if (!load.ok) throw new Error(`${c.name}: ${JSON.stringify(load.errors)}`);
  if (c.taint && !engine.recordResult({ tool: 'read_email', result: { body: tenKilobytes() } }).ok)
    throw new Error(`${c.name}: the result was not recorded`);
  const check = engine.evaluate(statefulCall, 1_000_000);
  if (check.decision !== 'Allow') throw new Error(`${c.name}: ${check.reason}`);
  return engine;
}

/** Lines of Markdown: the per-decision cost of each stateful policy beside the plain one. */
export async function statefulPolicies(
  create: () => Promise<Engine>,
  quick: boolean,
): Promise<string[]> {
  const contenders = [];
  for (const c of statefulCases()) {
    const engine = await statefulEngine(create, c);
    let now = 1_000_000;
    const call = statefulCall;
    contenders.push({
      name: c.name,
      decide: () => {
        now += c.step;
        return engine.evaluate(call, now).decision;
      },
    });
  }
  const results = await measureSideBySide(
    contenders,
    [0],
    quick ? { rounds: 3, roundMs: 60, latencySamples: 4000 } : {},
  );
  const plain = results[0]!;
  const checked = results[1]!;
  const same = results.find((r) => r.name === SAME_FIELDS)!;
  return [
    '## Decisions with state (issue 14)',
    '',
    markdownTable(
      [
        'policy',
        'decisions/s',
        'p50',
        'p99',
        'cost vs plain (throughput; p50)',
        'vs NumericCheck',
        'vs plain on the same fields',
      ],
      results.map((r) => [
        r.name,
        formatRate(r.opsPerSecond),
        formatUs(r.p50Us),
        formatUs(r.p99Us),
        `${(plain.opsPerSecond / r.opsPerSecond).toFixed(2)}×; ${(r.p50Us / plain.p50Us).toFixed(2)}×`,
        `${(checked.opsPerSecond / r.opsPerSecond).toFixed(2)}×; ${(r.p50Us / checked.p50Us).toFixed(2)}×`,
        `${(same.opsPerSecond / r.opsPerSecond).toFixed(2)}×; ${(r.p50Us / same.p50Us).toFixed(2)}×`,
      ]),
    ),
    '',
    'Engine.evaluate, one pay call per decision, the host time one second later each time (so the',
    "budget's window holds its per_seconds of calls). The untrusted result is recorded once before.",
    "Issue 14's target (a decision with a budget and a FromUntrusted check after 10 KB stays within",
    '2× a plain one) is read against the plain decision on the same fields: the same call, the same',
    'two fields written into the request and checked, no state. Against a rule that reads no field',
    'at all the ratio is larger, mostly the cost of writing two fields into wasm memory',
    '(docs/benchmarks.md).',
    '',
  ];
}
