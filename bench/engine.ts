/**
 * `node --import tsx bench/engine.ts`: the engine host alone, on the demo mix (the demo-policy
 * conformance cases, allowed and denied). Prints decisions/s and p50/p99 of Engine.evaluate, the
 * original ABI's calls/s, load + init time of the demo policy, and engine.wasm's size.
 * Timings are reported, never asserted.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { demoMix, demoPolicyText } from './workload.ts';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule, ENGINE_WASM_URL } from '../src/engine/engine-module.ts';
import type { ToolCall } from '../src/call/decision.ts';

const seconds = Number(process.argv.find((a) => a.startsWith('--seconds='))?.slice(10) ?? 2);

// ---- size and cold start ---------------------------------------------------------------------------
const wasm = readFileSync(ENGINE_WASM_URL);
const t0 = performance.now();
const module = await WebAssembly.compile(wasm);
const tCompiled = performance.now();
const engine = await Engine.create(module);
const tCreated = performance.now();
const load = engine.load(demoPolicyText);
const tLoaded = performance.now();
engine.load(demoPolicyText);
const reloadMs = performance.now() - tLoaded;
if (!load.ok) throw new Error(`demo policy failed to load: ${JSON.stringify(load.errors)}`);
// Warm: a second instance from the compiled module, as after a fault.
const t2 = performance.now();
const second = await Engine.create(await loadEngineModule());
second.load(demoPolicyText);
const warmMs = performance.now() - t2;

// ---- correctness first --------------------------------------------------------------------------------
const now = 1_000_000;
for (const c of demoMix) {
  const v = engine.evaluate(c as unknown as ToolCall, now);
  if (v.decision !== c.expect)
    throw new Error(`${c.id}: expected ${c.expect}, got ${v.decision} (${v.reason})`);
}
const allowed = demoMix.filter((c) => c.expect === 'Allow').length;

// ---- throughput ---------------------------------------------------------------------------------------
function rate(run: (n: number) => void): number {
  run(20_000); // warm-up
  let n = 10_000;
  let best = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const s = performance.now();
    run(n);
    const dt = performance.now() - s;
    best = Math.max(best, (n / dt) * 1000);
    if (dt < 50) n *= 2;
  }
  return best;
}

const calls = demoMix as unknown as readonly ToolCall[];
const k = calls.length;
let sink = 0;
const fastRate = rate((n) => {
  for (let i = 0; i < n; i++) sink += engine.evaluate(calls[i % k]!, now).reason.length;
});
const abiCalls = calls.map(
  (c) =>
    [
      c.tool,
      JSON.stringify(c.args),
      JSON.stringify({
        role: c.role,
        agent_attrs: c.agentAttributes,
        resource_attrs: c.resourceAttributes,
      }),
    ] as const,
);
const abiRate = rate((n) => {
  for (let i = 0; i < n; i++) {
    const [t, a, x] = abiCalls[i % k]!;
    sink += engine.evaluateAbi(t, a, x).length;
  }
});

// ---- latency: each call timed on its own (timer resolution limits the low end) ------------------------
const samples = new Float64Array(200_000);
for (let i = 0; i < samples.length; i++) {
  const c = calls[i % k]!;
  const s = performance.now();
  sink += engine.evaluate(c, now).reason.length;
  samples[i] = performance.now() - s;
}
samples.sort();
const pct = (p: number) =>
  (samples[Math.min(samples.length - 1, Math.floor(samples.length * p))]! * 1000).toFixed(2);

const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
console.log(`engine bench (Node ${process.version}, ${new Date().toISOString()})`);
console.log(`workload: ${k} demo calls (${allowed} allowed, ${k - allowed} denied), round robin`);
console.log(
  `engine.wasm: ${kib(wasm.length)} raw, ${kib(gzipSync(wasm, { level: 9 }).length)} gzipped`,
);
console.log(
  `cold start: compile ${(tCompiled - t0).toFixed(2)} ms, instantiate ${(tCreated - tCompiled).toFixed(2)} ms, first load + init ${(tLoaded - tCreated).toFixed(2)} ms ` +
    `(includes V8 compiling the functions it runs for the first time); reload ${reloadMs.toFixed(2)} ms; second instance create + load ${warmMs.toFixed(2)} ms`,
);
console.log(
  `Engine.evaluate: ${(fastRate / 1e6).toFixed(2)} M decisions/s; p50 ${pct(0.5)} µs, p99 ${pct(0.99)} µs`,
);
console.log(
  `original ABI (JSON in/out via evaluateAbi): ${(abiRate / 1e3).toFixed(0)} k calls/s (${(1e6 / abiRate).toFixed(2)} µs/call)`,
);
if (sink === 0) console.log('');
