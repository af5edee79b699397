/**
 * Large policies (issue 9, Build 5): load and decide with 100, 1,000 and 10,000 rules, a 200 KB
 * policy and the 100,000-pair limit, in perso's engine and in cedar-wasm on the same policies.
 * Part of `npm run bench:node`; figures are reported, never asserted.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { Engine } from '../src/engine/engine.ts';
import { markdownTable, formatUs } from './measure.ts';

interface Shape {
  name: string;
  perso: string;
  cedar: string;
  /** A call that hits a rule in the middle of the policy. */
  call: { tool: string; role: string; args: { n: number } };
}

/** `n` rules, one tool each, for role `agent`; every 10th under a NumericCheck (as Cedar `when`). */
function rules(n: number, name = `${n.toLocaleString('en')} rules`): Shape {
  const tools = Array.from({ length: n }, (_, i) => `tool_${i}`);
  const persoRules = tools.map((tool, i) =>
    i % 10 === 0
      ? {
          tool_name: tool,
          roles: ['agent'],
          condition: { NumericCheck: { source: 'Arguments', field: 'n', op: 'Lte', value: i } },
        }
      : { tool_name: tool, roles: ['agent'] },
  );
  const cedarText = tools
    .map(
      (tool, i) =>
        `permit (principal, action == Action::"${tool}", resource) when { context.role == "agent"${i % 10 === 0 ? ` && context.args has n && context.args.n <= ${i}` : ''} };`,
    )
    .join('\n');
  const middle = Math.floor(n / 20) * 10;
  return {
    name,
    perso: JSON.stringify({
      version: name,
      default_action: 'Deny',
      tools,
      roles: ['agent'],
      rules: persoRules,
    }),
    cedar: cedarText,
    call: { tool: `tool_${middle}`, role: 'agent', args: { n: middle } },
  };
}

/** As many rules as fit in `bytes` of perso policy text. */
function sized(bytes: number): Shape {
  let n = Math.floor(bytes / 48);
  while (rules(n).perso.length > bytes) n -= 20;
  return rules(n, `${Math.round(bytes / 1024)} KB policy (${n.toLocaleString('en')} rules)`);
}

/** One glob rule over `tools` × `roles` (a Cedar `in` list of actions and a role list). */
function pairs(toolCount: number, roleCount: number): Shape {
  const tools = Array.from({ length: toolCount }, (_, i) => `tool_${i}`);
  const roles = Array.from({ length: roleCount }, (_, i) => `role_${i}`);
  return {
    name: `${(toolCount * roleCount).toLocaleString('en')} (tool, role) pairs, one glob rule (the limit)`,
    perso: JSON.stringify({
      version: 'pairs',
      default_action: 'Deny',
      tools,
      roles,
      rules: [{ tool_name: '*', roles }],
    }),
    cedar: `permit (principal, action in [${tools.map((t) => `Action::"${t}"`).join(', ')}], resource) when { ${JSON.stringify(roles)}.contains(context.role) };`,
    call: { tool: `tool_${toolCount >> 1}`, role: `role_${roleCount >> 1}`, args: { n: 0 } },
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function timeEach(count: number, decide: () => unknown): number {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    decide();
    samples.push((performance.now() - start) * 1000);
  }
  return median(samples);
}

/** Measures every shape; returns Markdown lines. `demoP50Us`: Engine.evaluate's p50 on the demo policy. */
export async function largePolicies(
  module: WebAssembly.Module,
  demoP50Us: number,
  quick: boolean,
): Promise<string[]> {
  const shapes = [rules(100), rules(1000), rules(10000), sized(200 * 1024), pairs(400, 250)];
  const loads = quick ? 1 : 3;
  const calls = quick ? 2000 : 20000;
  const rows: string[][] = [];
  for (const shape of shapes) {
    const persoLoads: number[] = [];
    let engine: Engine | null = null;
    for (let i = 0; i < loads; i++) {
      engine = await Engine.create(module);
      const start = performance.now();
      const load = engine.load(shape.perso);
      persoLoads.push(performance.now() - start);
      if (!load.ok) throw new Error(`${shape.name}: ${JSON.stringify(load.errors)}`);
    }
    const e = engine!;
    const persoDecide = timeEach(calls, () => e.evaluate(shape.call, 0));
    const id = `large-${shape.name}`;
    const cedarLoads: number[] = [];
    for (let i = 0; i < loads; i++) {
      const start = performance.now();
      const answer = cedar.preparsePolicySet(`${id}-${i}`, { staticPolicies: shape.cedar });
      cedarLoads.push(performance.now() - start);
      if (answer.type !== 'success')
        throw new Error(`cedar, ${shape.name}: ${JSON.stringify(answer.errors).slice(0, 300)}`);
    }
    const request = {
      principal: { type: 'User', id: 'principal' },
      action: { type: 'Action', id: shape.call.tool },
      resource: { type: 'Resource', id: 'resource' },
      context: { role: shape.call.role, args: shape.call.args } as never,
      preparsedPolicySetId: `${id}-0`,
      entities: [],
    };
    const cedarDecide = timeEach(Math.max(200, calls / 10), () =>
      cedar.statefulIsAuthorized(request),
    );
    rows.push([
      shape.name,
      `${(shape.perso.length / 1024).toFixed(0)} KiB`,
      `${median(persoLoads).toFixed(1)} ms`,
      `${(e.memoryBytes / 2 ** 20).toFixed(0)} MiB`,
      `${formatUs(persoDecide)} (${(persoDecide / demoP50Us).toFixed(2)}× the demo's)`,
      `${median(cedarLoads).toFixed(1)} ms`,
      formatUs(cedarDecide),
    ]);
  }
  return [
    '## Large policies (perso engine and cedar-wasm on the same policies)',
    '',
    markdownTable(
      [
        'policy',
        'perso text',
        'perso load',
        'perso wasm memory',
        'perso decide p50',
        'cedar load (preparse)',
        'cedar decide p50',
      ],
      rows,
    ),
    '',
    'perso: `Engine.load` on a fresh engine (median of the loads) and `Engine.evaluate` of a call that hits a rule in the middle;',
    'cedar-wasm: `preparsePolicySet` and `statefulIsAuthorized`. Every 10th rule carries a numeric condition (a Cedar `when`).',
    '',
  ];
}
