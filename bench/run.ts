/**
 * `npm run bench:node` (the first half of `npm run bench`): perso side by side with its peers, in one process, interleaved, on the original
 * demo policy with a mix of allowed and denied calls. Prints Markdown tables with ratios and writes
 * them to bench/results/node.md. Not part of `npm test`: timings are reported, never asserted.
 *
 * Also `perso replay` on 1,000,000 recorded calls beside reading and `JSON.parse`-ing the log (bench/replay.ts).
 *
 * Contenders: perso's `Perso.evaluate` (the library API), `Engine.evaluate` (the engine host's fast
 * path) and the original JSON ABI; a hand-written JS evaluator of the same rules (the limit);
 * `@cedar-policy/cedar-wasm`; `casbin`.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { cpus } from 'node:os';
import { createRequire } from 'node:module';
import { demoMix, demoPolicyText, hostileRefunds, type BenchCall } from './workload.ts';
import {
  measureSideBySide,
  formatRate,
  formatUs,
  markdownTable,
  type Contender,
} from './measure.ts';
import { decideByHand } from './peers/handwritten.ts';
import { loadCedar, decideWithCedar } from './peers/cedar.ts';
import { loadCasbin, decideWithCasbin } from './peers/casbin.ts';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { Perso } from '../src/perso/perso.ts';
import { largePolicies } from './large-policies.ts';
import { canonicalizeArgs } from '../src/call/canonical-args.ts';
import { benchReplay } from './replay.ts';
import { statefulPolicies } from './stateful-policies.ts';

const quick = process.argv.includes('--quick');
const out: string[] = [];
const say = (s = '') => {
  out.push(s);
  console.log(s);
};

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ratio = (x: number) => (x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(1)}×`);

say(
  `# perso benchmark (Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim()}, ${new Date().toISOString().slice(0, 10)})`,
);
say();

// ---- load time and size --------------------------------------------------------------------------
const wasmBytes = readFileSync(new URL('../engine/build/engine.wasm', import.meta.url));
const module = await loadEngineModule();
const engine = await Engine.create(module);
const load = engine.load(demoPolicyText);
if (!load.ok) throw new Error(`demo policy failed to load: ${JSON.stringify(load.errors)}`);
// Cold start, step by step, on fresh modules (V8 compiles wasm functions lazily, on first call, so the
// first init of a fresh module pays for compiling the functions it touches; a re-init does not).
const coldRuns = {
  compile: [] as number[],
  instantiate: [] as number[],
  firstInit: [] as number[],
  reInit: [] as number[],
};
for (let i = 0; i < 7; i++) {
  const a = performance.now();
  const fresh = await WebAssembly.compile(wasmBytes);
  const b = performance.now();
  const e = await Engine.create(fresh);
  const c = performance.now();
  e.load(demoPolicyText);
  const d = performance.now();
  e.load(demoPolicyText);
  coldRuns.compile.push(b - a);
  coldRuns.instantiate.push(c - b);
  coldRuns.firstInit.push(d - c);
  coldRuns.reInit.push(performance.now() - d);
}
const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const ms = (x: number) => `${x.toFixed(2)} ms`;
// Run 0 is the true cold start; V8 shares compiled code between modules of the same bytes, so later
// runs show a warm process (a second Perso in the same page or server).
const persoReady =
  `cold: compile ${ms(coldRuns.compile[0])} + instantiate ${ms(coldRuns.instantiate[0])} + first init ${ms(coldRuns.firstInit[0])}; ` +
  `warm: ${ms(med(coldRuns.compile) + med(coldRuns.instantiate) + med(coldRuns.firstInit))} in all; re-init ${ms(med(coldRuns.reInit))}`;

const cedarWasm = readFileSync(
  createRequire(import.meta.url)
    .resolve('@cedar-policy/cedar-wasm/nodejs')
    .replace(/cedar_wasm\.js$/, 'cedar_wasm_bg.wasm'),
);
const cedarLoadMs = loadCedar();
const casbinLoadMs = await loadCasbin();

const perso = await Perso.load({ policy: JSON.parse(demoPolicyText) });
if (!perso.status().ok) throw new Error('perso: demo policy failed to load');

// ---- correctness first: every contender must give the expected decisions -------------------------
const now = Date.now() / 1000;
const persoDecide = (c: BenchCall) => perso.evaluate(c);
const engineDecide = (c: BenchCall) => engine.evaluate(c, now).decision;
const abiDecide = (c: BenchCall) =>
  engine.evaluateAbi(
    c.tool,
    JSON.stringify(c.args),
    JSON.stringify({
      role: c.role,
      agent_attrs: c.agentAttributes,
      resource_attrs: c.resourceAttributes,
    }),
  );
const abiDecision = (c: BenchCall) =>
  (JSON.parse(abiDecide(c)) as { decision?: string }).decision ?? 'Deny';

const checks: Array<[string, (c: BenchCall) => string | Promise<string>]> = [
  ['perso Perso.evaluate', async (c) => (await persoDecide(c)).decision],
  ['perso Engine.evaluate', engineDecide],
  ['perso original ABI (JSON)', abiDecision],
  ['hand-written JS', decideByHand],
  ['cedar-wasm', decideWithCedar],
  ['casbin', decideWithCasbin],
];
const wrong = new Map<string, string[]>();
for (const [name, decide] of checks) {
  const bad: string[] = [];
  for (const c of [...demoMix, ...hostileRefunds])
    if ((await decide(c)) !== c.expect) bad.push(c.id);
  wrong.set(name, bad);
}

// ---- throughput and latency, interleaved ---------------------------------------------------------
const contenders: Contender<BenchCall>[] = [
  { name: 'perso Perso.evaluate', decide: persoDecide, async: true },
  { name: 'perso Engine.evaluate', decide: engineDecide },
  // What Perso.evaluate spends on the canonical frozen copy it decides on and returns (issue 9).
  {
    name: 'canonicalizeArgs alone (part of Perso.evaluate)',
    decide: (c) => (canonicalizeArgs(c.args).ok ? 'Allow' : 'Deny'),
  },
  { name: 'perso original ABI (JSON)', decide: abiDecision },
  { name: 'hand-written JS', decide: decideByHand },
  { name: 'cedar-wasm', decide: decideWithCedar },
  { name: 'casbin', decide: decideWithCasbin },
];
wrong.set('canonicalizeArgs alone (part of Perso.evaluate)', []);
const results = await measureSideBySide(
  contenders,
  demoMix,
  quick ? { rounds: 3, roundMs: 60, latencySamples: 4000 } : {},
);
const byName = new Map(results.map((r) => [r.name, r]));
const persoRate = byName.get('perso Perso.evaluate')!.opsPerSecond;

say(
  `## Decisions on the demo policy (${demoMix.length} calls, ${demoMix.filter((c) => c.expect === 'Allow').length} allowed, cycled)`,
);
say();
say(
  markdownTable(
    [
      'contender',
      'decisions/s',
      'p50',
      'p99',
      'Perso.evaluate vs it',
      'wrong decisions (of ' + (demoMix.length + hostileRefunds.length) + ')',
    ],
    results.map((r) => {
      const bad = wrong.get(r.name)!;
      const vs = persoRate / r.opsPerSecond;
      return [
        r.name,
        formatRate(r.opsPerSecond),
        formatUs(r.p50Us),
        formatUs(r.p99Us),
        r.name === 'perso Perso.evaluate'
          ? '—'
          : vs >= 1
            ? `${ratio(vs)} faster`
            : `${ratio(1 / vs)} slower`,
        bad.length ? `${bad.length}: ${bad.join(', ')}` : '0',
      ];
    }),
  ),
);
say();
say(
  'Latency is one call timed alone (timer overhead included). "wrong decisions" counts the demo mix plus five',
);
say('hostile refunds (amount as "400", true, null, [400], "1e2") that a typed engine must deny.');
say();

// ---- load time and size table --------------------------------------------------------------------
say('## Load and size');
say();
say(
  markdownTable(
    ['engine', 'wasm raw', 'wasm gzipped', 'ready to decide (demo policy)'],
    [
      [
        'perso engine.wasm',
        kib(wasmBytes.length),
        kib(gzipSync(wasmBytes, { level: 9 }).length),
        persoReady,
      ],
      [
        'cedar-wasm',
        kib(cedarWasm.length),
        kib(gzipSync(cedarWasm, { level: 9 }).length),
        `${cedarLoadMs.toFixed(2)} ms (policy parse; module load not included)`,
      ],
      ['casbin', '—', '—', `${casbinLoadMs.toFixed(2)} ms (model + policy)`],
    ],
  ),
);
say();

// ---- perso replay over a recorded log, beside reading and parsing it ------------------------------
for (const line of await benchReplay(quick ? 200_000 : 1_000_000)) say(line);

// ---- memory over many evaluations ----------------------------------------------------------------
const memoryCalls = quick ? 1_000_000 : 10_000_000;
const memory = (engine as unknown as { memoryBytes?: number }).memoryBytes;
if (typeof memory === 'number') {
  const before = memory;
  for (let i = 0; i < memoryCalls; i++) engine.evaluate(demoMix[i % demoMix.length], now);
  const after = (engine as unknown as { memoryBytes: number }).memoryBytes;
  say(`## Memory`);
  say();
  say(
    `engine linear memory over ${memoryCalls.toLocaleString('en')} evaluations: ${kib(before)} before, ${kib(after)} after (growth ${after - before} bytes)`,
  );
  say();
}

// ---- decisions with state: budgets and untrusted content (issue 14) ------------------------------
for (const line of await statefulPolicies(() => Engine.create(module), quick)) say(line);

// ---- large policies (issue 9) --------------------------------------------------------------------
for (const line of await largePolicies(module, byName.get('perso Engine.evaluate')!.p50Us, quick))
  say(line);

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/node.md', import.meta.url), out.join('\n') + '\n');
await perso.close();
