/**
 * `npm run bench:browser`: perso in headless Chromium, side by side with a bare postMessage echo
 * worker (the floor) and cedar-wasm in a worker, in one run. Prints Markdown tables with ratios and
 * writes them to bench/results/browser.md. Timings are reported, never asserted.
 *
 * 1. builds the browser library (vite.lib.config.ts) and measures library + worker + wasm gzipped;
 * 2. serves the repository with Vite's dev server, cross-origin isolated (COOP/COEP) so that
 *    performance.now() has 5 µs resolution instead of 100 µs;
 * 3. opens bench/browser/index.html in Chromium (playwright-core) and calls its `runBench`.
 *
 * `--quick` takes fewer samples (a smoke run).
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { cpus } from 'node:os';
import { build, createServer } from 'vite';
import { chromium } from 'playwright-core';
import type { BenchOptions, BenchResult, ContenderResult } from './bench-page.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const quick = process.argv.includes('--quick');
const options: BenchOptions = quick ? { latencySamples: 2000, batches: 20, loads: 5 } : { latencySamples: 20000, batches: 200, loads: 20 };

const out: string[] = [];
const say = (s = ''): void => {
  out.push(s);
  console.log(s);
};
const us = (x: number): string => `${x.toFixed(0)} µs`;
const ms = (x: number): string => (x < 10 ? `${x.toFixed(2)} ms` : `${x.toFixed(1)} ms`);
const ratio = (x: number): string => `${x.toFixed(2)}×`;
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

// ---- 1. the library build and its size ------------------------------------------------------------
await build({ configFile: join(root, 'vite.lib.config.ts'), logLevel: 'warn' });
const dist = join(root, 'dist/browser');
const files: { name: string; bytes: number; gzip: number }[] = [];
const walk = (dir: string): void => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (!name.endsWith('.map')) {
      const bytes = readFileSync(path);
      files.push({ name: path.slice(dist.length + 1), bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
    }
  }
};
walk(dist);

// ---- 2. serve, 3. measure in Chromium ---------------------------------------------------------------
const server = await createServer({
  configFile: false,
  root,
  logLevel: 'warn',
  server: {
    host: '127.0.0.1',
    port: 5199,
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  // Cedar's web build finds its .wasm next to itself; pre-bundling would move it.
  optimizeDeps: { exclude: ['@cedar-policy/cedar-wasm'] },
  worker: { format: 'es' },
});
await server.listen();
const url = `${server.resolvedUrls?.local[0] ?? 'http://127.0.0.1:5199/'}bench/browser/index.html`;

const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
let result: BenchResult;
try {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  await page.goto(url);
  await page.waitForFunction(() => document.title.endsWith('ready'), undefined, { timeout: 60_000 });
  result = (await page.evaluate(
    (o) => (globalThis as unknown as { runBench(o: unknown): Promise<unknown> }).runBench(o),
    options,
  )) as BenchResult;
} finally {
  await browser.close();
  await server.close();
}

// ---- report -----------------------------------------------------------------------------------------
const byName = (prefix: string): ContenderResult => {
  const found = result.contenders.find((c) => c.name.startsWith(prefix));
  if (found === undefined) throw new Error(`no contender ${prefix}`);
  return found;
};
const echo = byName('postMessage echo');
const perso = byName('perso Perso.evaluate');
const backend = byName('perso WorkerBackend');
const cedar = byName('cedar-wasm');

say(`# perso browser benchmark (${new Date().toISOString().slice(0, 10)})`);
say();
say(`${result.userAgent.match(/(Headless)?Chrome\/[\d.]+/)?.[0] ?? result.userAgent}, ${cpus().length} × ${cpus()[0]?.model.trim()}; ` +
  `cross-origin isolated: ${result.crossOriginIsolated}, timer step ${result.timerResolutionUs.toFixed(1)} µs; ` +
  `${result.cases} demo-policy calls (conformance cases, allowed and denied), every contender checked against them first; ` +
  `${options.latencySamples} single calls per contender in interleaved blocks${quick ? ' (--quick)' : ''}.`);
say();
say('## One call from the main thread through a worker');
say();
say('| contender | p50 | p99 | p50 vs echo | batch of 1,000 (median) | batch p99 | load → first decision (median) | p90 |');
say('|---|---|---|---|---|---|---|---|');
for (const c of result.contenders) {
  say(`| ${c.name} | ${us(c.p50Us)} | ${us(c.p99Us)} | ${ratio(c.p50Us / echo.p50Us)} | ${ms(c.batchMedianMs)} | ${ms(c.batchP99Ms)} | ${ms(c.loadMedianMs)} | ${ms(c.loadP90Ms)} |`);
}
say();
say('## Against the targets');
say();
say('| target | measured | met |');
say('|---|---|---|');
const row = (target: string, measured: string, met: boolean): void => say(`| ${target} | ${measured} | ${met ? 'yes' : '**no**'} |`);
row('Perso.evaluate p50 ≤ 1.2× the echo', `${us(perso.p50Us)} = ${ratio(perso.p50Us / echo.p50Us)} the echo (${us(echo.p50Us)})`, perso.p50Us <= 1.2 * echo.p50Us);
row('Perso.evaluate p99 ≤ 250 µs', us(perso.p99Us), perso.p99Us <= 250);
row('Perso.evaluateBatch of 1,000 ≤ 1 ms', ms(perso.batchMedianMs), perso.batchMedianMs <= 1);
row('Perso.load → first decision ≤ 15 ms', ms(perso.loadMedianMs), perso.loadMedianMs <= 15);
const total = files.reduce((sum, f) => sum + f.gzip, 0);
// What a page on the worker engine downloads: everything but the chunks only the inline engine
// (Node's default) or Node-only policy sources import lazily.
const lazyOnly = /^chunks\/(inline-backend|engine-module|__vite-browser-external)-/;
const loaded = files.filter((f) => !lazyOnly.test(f.name)).reduce((sum, f) => sum + f.gzip, 0);
row('library + worker + wasm ≤ 40 KiB gzipped', `${kib(loaded)} loaded by a page on the worker engine (${kib(total)} with every lazy chunk)`, loaded <= 40 * 1024);
say();
say(`WorkerBackend alone (no library layer): p50 ${us(backend.p50Us)} (${ratio(backend.p50Us / echo.p50Us)} the echo), ` +
  `batch of 1,000 ${ms(backend.batchMedianMs)}. cedar-wasm in a worker: p50 ${ratio(cedar.p50Us / perso.p50Us)} perso's, ` +
  `batch ${ratio(cedar.batchMedianMs / perso.batchMedianMs)} perso's, first decision ${ratio(cedar.loadMedianMs / perso.loadMedianMs)} perso's.`);
say();
say('## Size of the browser build (vite.lib.config.ts → dist/browser)');
say();
say('| file | bytes | gzip -9 |');
say('|---|---|---|');
for (const f of files.sort((a, b) => b.gzip - a.gzip)) say(`| ${f.name}${lazyOnly.test(f.name) ? ' (lazy, not on the worker path)' : ''} | ${f.bytes} | ${kib(f.gzip)} |`);
say(`| **loaded by a page on the worker engine** | | **${kib(loaded)}** |`);
say(`| **total** | ${files.reduce((sum, f) => sum + f.bytes, 0)} | **${kib(total)}** |`);

mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/browser.md'), `${out.join('\n')}\n`);
