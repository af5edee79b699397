/**
 * `npm run bench:browser`: perso in headless Chromium, side by side with a bare postMessage echo
 * worker (the floor) and cedar-wasm in a worker, in one run. Prints Markdown tables with ratios and
 * writes them to bench/results/browser.md. Timings are reported, never asserted.
 *
 * 1. builds the browser library (vite.lib.config.ts), then a tiny page that does
 *    `import { Perso } from 'perso'` with Vite (tree-shaken, as a user's app would be), serves it,
 *    opens it in Chromium and sums, gzipped, every file the page actually requested to reach its
 *    first decision: that is what a user pays (the raw library files are listed too);
 * 2. serves the repository with Vite's dev server, cross-origin isolated (COOP/COEP) so that
 *    performance.now() has 5 µs resolution instead of 100 µs;
 * 3. opens bench/browser/index.html in Chromium (playwright-core) and calls its `runBench`.
 *
 * `--baseline <git-rev>` also builds the library at that revision (its sources from `git archive`,
 * its engine with its own `build:engine`) into dist/baseline/ and measures it in the same
 * interleaved run, as `Perso.evaluate at <rev> (before)`.
 * `--quick` takes fewer samples (a smoke run); `--size-only` stops after the sizes (and prints
 * the page payload in exact gzip bytes, which `npm run test:size` holds to its budget);
 * `--profile` prints where the page's main thread spends its time (a CPU profile, by function).
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { execSync } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { cpus } from 'node:os';
import { build, createServer } from 'vite';
import { chromium } from 'playwright-core';
import type { BenchOptions, BenchResult, ContenderResult } from './bench-page.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const quick = process.argv.includes('--quick');
const profile = process.argv.includes('--profile');
const baselineAt = process.argv.indexOf('--baseline');
const baseline = baselineAt > 0 ? process.argv[baselineAt + 1] : undefined;
const options: BenchOptions = {
  ...(quick
    ? { latencySamples: 2000, batches: 20, loads: 5 }
    : { latencySamples: 20000, batches: 200, loads: 20 }),
  ...(baseline === undefined ? {} : { baseline }),
};

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
      files.push({
        name: path.slice(dist.length + 1),
        bytes: bytes.length,
        gzip: gzipSync(bytes, { level: 9 }).length,
      });
    }
  }
};
walk(dist);

// ---- 1a. the baseline revision, built beside it -------------------------------------------------------
// Laid out as the package is, under dist/baseline/: its library in dist/baseline/dist/browser/ and
// its own engine.wasm in dist/baseline/engine/build/, where that library's relative URL (and the
// digest its build recorded, code integrity) point. Its engine is built with its own build:engine.
if (baseline !== undefined) {
  const tree = mkdtempSync(join(tmpdir(), 'perso-baseline-'));
  execSync(`git archive ${JSON.stringify(baseline)} | tar -x -C ${JSON.stringify(tree)}`, {
    cwd: root,
    stdio: 'inherit',
  });
  symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
  execSync('npm run build:engine --silent', { cwd: tree, stdio: 'inherit' });
  const out = join(root, 'dist/baseline');
  rmSync(out, { recursive: true, force: true });
  await build({
    configFile: join(tree, 'vite.lib.config.ts'),
    root: tree,
    logLevel: 'error',
    build: { outDir: join(out, 'dist/browser'), emptyOutDir: true },
  });
  mkdirSync(join(out, 'engine/build'), { recursive: true });
  copyFileSync(join(tree, 'engine/build/engine.wasm'), join(out, 'engine/build/engine.wasm'));
  rmSync(tree, { recursive: true, force: true });
}

// ---- 1b. what a page that imports Perso loads ---------------------------------------------------------
const policyText = readFileSync(join(root, 'test/fixtures/perso-demo-policy.json'));
// The same policy with an Ask rule: after its first decision (and the sizes) the page asks, which loads the
// worker's approvals (not part of the payload; the check that they reach a Vite-built app).
const askPolicy = JSON.parse(policyText.toString()) as { rules: unknown[] };
askPolicy.rules.unshift({ tool_name: 'update_customer', roles: ['agent'], effect: 'Ask' });
// And an Ask only an authenticator releases: approved with a click, the worker's WebAuthn verifier
// (loaded then) says a click is not enough, which shows that it reaches a Vite-built app too.
askPolicy.rules.unshift({
  id: 'view-with-a-key',
  tool_name: 'view_customer',
  roles: ['manager'],
  effect: 'Ask',
  approval: 'webauthn',
});
const askPolicyText = Buffer.from(JSON.stringify(askPolicy));
const app = mkdtempSync(join(tmpdir(), 'perso-size-app-'));
writeFileSync(
  join(app, 'index.html'),
  '<!doctype html><meta charset="utf-8"><title>app</title><script type="module" src="./main.js"></script>\n',
);
writeFileSync(
  join(app, 'main.js'),
  `import { Perso } from 'perso';
const perso = await Perso.load({ policy: './policy.json' });
const decision = await perso.evaluate({ tool: 'view_customer', role: 'agent', args: { customer_id: 'C-1' } });
document.title = 'decided ' + decision.decision + (decision.decision === 'Allow' ? '' : ': ' + decision.reason);
window.Perso = Perso;
`,
);
await build({
  configFile: false,
  root: app,
  base: './',
  logLevel: 'warn',
  resolve: { alias: { perso: join(dist, 'index.js') } },
  build: {
    outDir: join(app, 'dist'),
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: false,
  },
  worker: { format: 'es' },
});
const served: string[] = [];
const types: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};
// Under /nowasm/ the same app is served with a CSP without 'wasm-unsafe-eval' (page and worker):
// engine.wasm cannot compile there, and a Perso with `fallback: 'js'` decides with the worker's JS
// fallback (the check that it reaches a Vite-built app).
const NO_WASM = '/nowasm/';
const appServer = createHttpServer((request, response) => {
  const requested = new URL(request.url ?? '/', 'http://x').pathname;
  const noWasm = requested.startsWith(NO_WASM);
  const path = noWasm ? requested.slice(NO_WASM.length - 1) : requested;
  const file = path === '/' ? '/index.html' : path;
  if (noWasm) response.setHeader('Content-Security-Policy', "script-src 'self'; worker-src 'self'");
  try {
    const body =
      file === '/policy.json'
        ? policyText
        : file === '/ask-policy.json'
          ? askPolicyText
          : readFileSync(join(app, 'dist', file));
    served.push(file.slice(1));
    response
      .writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' })
      .end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
const appBrowser = await chromium.launch({
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu'],
});
let appDecision = '';
let appAsk = '';
let appFallback = '';
let appUntrusted = '';
let beforeDecision: string[] = [];
try {
  const page = await appBrowser.newPage();
  await page.goto(`http://127.0.0.1:${(appServer.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => document.title.startsWith('decided '), undefined, {
    timeout: 30_000,
  });
  // What the page requested to reach its first decision: the payload.
  beforeDecision = [...served];
  appDecision = await page.title();
  appAsk = await page.evaluate(async () => {
    const { Perso } = globalThis as unknown as { Perso: typeof import('../../src/index.ts').Perso };
    const asking = await Perso.load({ policy: './ask-policy.json' });
    const ask = await asking.evaluate({
      tool: 'update_customer',
      role: 'agent',
      args: { customer_id: 'C-1' },
    });
    const keyCall = { tool: 'view_customer', role: 'manager', args: { customer_id: 'C-1' } };
    const keyAsk = await asking.evaluate(keyCall);
    if (keyAsk.approval?.kind !== 'webauthn')
      return `asked for a key ${keyAsk.decision}: ${keyAsk.reason}`;
    const clicked = await asking.approve(keyAsk.approval.nonce, keyCall);
    if (!/a click is not enough/.test(clicked.reason))
      return `approved a key's Ask with a click: ${clicked.decision}: ${clicked.reason}`;
    return `asked ${ask.decision}${ask.approval === undefined ? `: ${ask.reason}` : ' with a ticket'}`;
  });
  // Untrusted content as a new user writes it: the page's untrusted-content code and the worker's
  // result code (loaded on demand) reach a Vite-built app, and a later call that names what a
  // result said is refused (a result not recorded would be withheld: this says which).
  appUntrusted = await page.evaluate(async () => {
    const { Perso } = globalThis as unknown as { Perso: typeof import('../../src/index.ts').Perso };
    const reading = await Perso.load({
      policy: {
        version: 'size-untrusted',
        default_action: 'Deny',
        tools: ['read_page', 'send_money'],
        roles: ['agent'],
        untrusted_tools: ['read_page'],
        rules: [
          { tool_name: 'read_page', roles: ['agent'] },
          { tool_name: 'send_money', roles: ['agent'] },
          {
            id: 'no-untrusted-payee',
            tool_name: 'send_money',
            roles: ['agent'],
            effect: 'Deny',
            condition: { FromUntrusted: { source: 'Arguments', field: 'account' } },
          },
        ],
      } as never,
    });
    const session = reading.session({ role: 'agent' });
    const read = await session.guard('read_page', () => ({ text: 'pay DE0012345' }))({});
    if (!read.ok) return `the guarded read was withheld: ${read.decision.reason}`;
    const paid = [
      (await session.evaluate({ tool: 'send_money', args: { account: 'DE0012345' } })).decision,
    ];
    // The calls without a session: a result recorded directly, then a batch.
    const recorded = await reading.recordResult({
      tool: 'read_page',
      role: 'agent',
      result: { text: 'or FR7630006' },
    });
    if (!recorded.ok) return `a result was not recorded: ${recorded.error}`;
    const batch = await reading.evaluateBatch([
      { tool: 'send_money', role: 'agent', args: { account: 'FR7630006' } },
      { tool: 'send_money', role: 'agent', args: { account: 'IT60X' } },
    ]);
    for (const decision of batch) paid.push(decision.decision);
    await reading.close();
    return `paid ${paid.join(' ')}`;
  });
  await page.goto(`http://127.0.0.1:${(appServer.address() as AddressInfo).port}${NO_WASM}`);
  await page.waitForFunction(() => document.title.startsWith('decided '), undefined, {
    timeout: 30_000,
  });
  appFallback = await page.evaluate(async () => {
    const { Perso } = globalThis as unknown as { Perso: typeof import('../../src/index.ts').Perso };
    const guarded = await Perso.load({ policy: './policy.json', fallback: 'js' });
    const decision = await guarded.evaluate({
      tool: 'view_customer',
      role: 'agent',
      args: { customer_id: 'C-1' },
    });
    return `decided ${decision.decision} by ${decision.evaluator ?? 'wasm'}${decision.decision === 'Allow' ? '' : `: ${decision.reason}`}`;
  });
} finally {
  await appBrowser.close();
  appServer.close();
}
if (appDecision !== 'decided Allow')
  throw new Error(`the size page did not decide Allow: ${appDecision}`);
if (appAsk !== 'asked Ask with a ticket')
  throw new Error(
    `the size page's Ask got no ticket (the worker's approvals) or no WebAuthn check: ${appAsk}`,
  );
if (appUntrusted !== 'paid Deny Deny Allow')
  throw new Error(
    `the size page's untrusted content (recordResult, FromUntrusted) did not work: ${appUntrusted}`,
  );
if (appFallback !== 'decided Allow by js')
  throw new Error(
    `the size page without wasm did not decide with the JS fallback (fallback: 'js'): ${appFallback}`,
  );
const appFiles = [...new Set(beforeDecision)]
  .filter((name) => name !== 'index.html' && name !== 'policy.json')
  .map((name) => {
    const bytes = readFileSync(join(app, 'dist', name));
    return { name, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
const emitted: string[] = [];
const walkApp = (dir: string): void => {
  for (const name of readdirSync(dir))
    statSync(join(dir, name)).isDirectory()
      ? walkApp(join(dir, name))
      : emitted.push(join(dir, name));
};
walkApp(join(app, 'dist'));
if (!process.argv.includes('--keep-app')) rmSync(app, { recursive: true, force: true });
else console.log(app);
if (process.argv.includes('--size-only')) {
  for (const f of appFiles) console.log(`${f.name}\t${f.bytes}\t${kib(f.gzip)}`);
  console.log(
    `loaded by the page: ${kib(appFiles.reduce((sum, f) => sum + f.gzip, 0))}; dist/browser: ${kib(files.reduce((sum, f) => sum + f.gzip, 0))}`,
  );
  // Exact figures, for test/size/page-payload.test.ts (npm run test:size).
  for (const f of appFiles) console.log(`gzip bytes\t${f.name}\t${f.gzip}`);
  console.log(`page payload gzip bytes: ${appFiles.reduce((sum, f) => sum + f.gzip, 0)}`);
  process.exit(0);
}

// ---- 2. serve, 3. measure in Chromium ---------------------------------------------------------------
const server = await createServer({
  configFile: false,
  root,
  logLevel: 'warn',
  server: {
    host: '127.0.0.1',
    port: 5199,
    headers: {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    },
    // Other people edit this tree during a run: no file watching, no reload of the page mid-run.
    hmr: false,
    watch: null,
  },
  // The demo policy by URL with an ETag, as a static server sends it: a revalidation answers 304.
  plugins: [
    {
      name: 'perso-bench-policy',
      configureServer(devServer) {
        // The built library byte for byte, as a static server sends it: Vite's dev server rewrites
        // the JavaScript it serves, which the worker's code integrity check would refuse.
        devServer.middlewares.use('/dist/', (request, response, next) => {
          const path = new URL(request.url ?? '/', 'http://x').pathname;
          const file = join(root, 'dist', path);
          if (!file.startsWith(join(root, 'dist')) || path.endsWith('/')) return next();
          try {
            const body = readFileSync(file);
            response
              .writeHead(200, {
                'Content-Type': types[extname(file)] ?? 'application/octet-stream',
                'Cross-Origin-Opener-Policy': 'same-origin',
                'Cross-Origin-Embedder-Policy': 'require-corp',
              })
              .end(body);
          } catch {
            next();
          }
        });
        const etag = `"${gzipSync(policyText).length.toString(16)}-${policyText.length.toString(16)}"`;
        devServer.middlewares.use('/__bench__/policy.json', (request, response) => {
          if (request.headers['if-none-match'] === etag) {
            response.writeHead(304, { ETag: etag }).end();
            return;
          }
          response
            .writeHead(200, { 'Content-Type': 'application/json', ETag: etag })
            .end(policyText);
        });
      },
    },
  ],
  // Cedar's web build finds its .wasm next to itself; pre-bundling would move it.
  optimizeDeps: { exclude: ['@cedar-policy/cedar-wasm'] },
  worker: { format: 'es' },
});
await server.listen();
const url = `${server.resolvedUrls?.local[0] ?? 'http://127.0.0.1:5199/'}bench/browser/index.html`;

const browser = await chromium.launch({
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
let result: BenchResult;
try {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
  await page.goto(url);
  await page.waitForFunction(() => document.title.endsWith('ready'), undefined, {
    timeout: 60_000,
  });
  const cdp = profile ? await page.context().newCDPSession(page) : null;
  if (cdp !== null) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
    await cdp.send('Profiler.start');
  }
  result = (await page.evaluate(
    (o) => (globalThis as unknown as { runBench(o: unknown): Promise<unknown> }).runBench(o),
    options,
  )) as BenchResult;
  if (cdp !== null) {
    // The main thread's self time by function: where the page spends its time (workers not included).
    const { profile: cpu } = (await cdp.send('Profiler.stop')) as unknown as {
      profile: {
        nodes: {
          id: number;
          callFrame: { functionName: string; url: string; lineNumber: number };
        }[];
        samples: number[];
      };
    };
    const byNode = new Map(cpu.nodes.map((node) => [node.id, node]));
    const self = new Map<string, number>();
    for (const id of cpu.samples) {
      const frame = byNode.get(id)?.callFrame;
      const key =
        frame === undefined
          ? '?'
          : `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\//, '')}:${frame.lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + 1);
    }
    const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 40);
    for (const [key, count] of top)
      console.log(`${((100 * count) / cpu.samples.length).toFixed(1).padStart(5)}%  ${key}`);
  }
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
say(
  `${result.userAgent.match(/(Headless)?Chrome\/[\d.]+/)?.[0] ?? result.userAgent}, ${cpus().length} × ${cpus()[0]?.model.trim()}; ` +
    `cross-origin isolated: ${result.crossOriginIsolated}, timer step ${result.timerResolutionUs.toFixed(1)} µs; ` +
    `${result.cases} demo-policy calls (conformance cases, allowed and denied), every contender checked against them first; ` +
    `${options.latencySamples} single calls per contender in interleaved blocks${quick ? ' (--quick)' : ''}.`,
);
say();
say('## One call from the main thread through a worker');
say();
say(
  "Paired: the median over rounds of a contender's block median over the echo's in the same round (blocks of 100 calls, a few ms apart), which cancels the drift of a shared machine. " +
    'The echo sends each call with its time and answers a verdict-sized object (a distinct one per call in a batch), as perso must. ' +
    "Batches of 1,000: the same 1,000 calls, in interleaved rounds of 10; cedar's after the others' (a cedar batch runs 50 times longer, and its worker's garbage collection and compilation go on after it answers). " +
    'Load: a fresh worker each time, the policy given inline (cedar: built in); perso by URL with a warm cache is in the targets below.',
);
say();
say(
  '| contender | p50 | p99 | p50 vs echo | paired vs echo | batch of 1,000 (median) | batch paired vs echo | batch p99 | load → first decision (median) | p90 |',
);
say('|---|---|---|---|---|---|---|---|---|---|');
for (const c of result.contenders) {
  say(
    `| ${c.name} | ${us(c.p50Us)} | ${us(c.p99Us)} | ${ratio(c.p50Us / echo.p50Us)} | ${ratio(c.pairedRatio)} | ${ms(c.batchMedianMs)} | ${Number.isNaN(c.batchPairedRatio) ? `${ratio(c.batchMedianMs / echo.batchMedianMs)} (apart)` : ratio(c.batchPairedRatio)} | ${ms(c.batchP99Ms)} | ${ms(c.loadMedianMs)} | ${ms(c.loadP90Ms)} |`,
  );
}
say();
say('## Against the targets');
say();
say('| target | measured | met |');
say('|---|---|---|');
const row = (target: string, measured: string, met: boolean): void =>
  say(`| ${target} | ${measured} | ${met ? 'yes' : '**no**'} |`);
row(
  'Perso.evaluate p50 ≤ 1.7× the echo (paired by round)',
  `${us(perso.p50Us)} = ${ratio(perso.p50Us / echo.p50Us)} the echo (${us(echo.p50Us)}); paired by round: ${ratio(perso.pairedRatio)}`,
  perso.pairedRatio <= 1.7,
);
row('Perso.evaluate p99 ≤ 250 µs', us(perso.p99Us), perso.p99Us <= 250);
row(
  'Perso.evaluateBatch of 1,000 ≤ 1 ms',
  `${ms(perso.batchMedianMs)} (the echo's batch: ${ms(echo.batchMedianMs)}; paired by round: ${ratio(perso.batchPairedRatio)} the echo's)`,
  perso.batchMedianMs <= 1,
);
const urlLoad = perso.urlLoadMedianMs ?? Number.NaN;
row(
  'Perso.load (URL, warm IndexedDB cache) → first decision ≤ 15 ms',
  `${ms(urlLoad)} (p90 ${ms(perso.urlLoadP90Ms ?? Number.NaN)}; policy source: ${(perso.urlLoadSources ?? []).join(', ')}); with the policy inline: ${ms(perso.loadMedianMs)}; ` +
    `paired by round with an empty echo worker's first answer (${ms(echo.loadMedianMs)}): ${ratio(perso.urlLoadPairedRatio ?? Number.NaN)} by URL, ${ratio(perso.loadPairedRatio)} inline`,
  urlLoad <= 15,
);
const total = files.reduce((sum, f) => sum + f.gzip, 0);
const loaded = appFiles.reduce((sum, f) => sum + f.gzip, 0);
row(
  'page payload (page code + worker + wasm) ≤ 48 KiB gzipped',
  `${kib(loaded)} (${loaded} bytes) loaded by a page that imports Perso, built with Vite, to its first decision (${kib(total)}: every file of dist/browser)`,
  loaded <= 48 * 1024,
);
if (baseline !== undefined) {
  const before = byName('perso Perso.evaluate at');
  say();
  say(`## Before (${baseline}) and after, measured in this same interleaved run`);
  say();
  say('| measure | before | after |');
  say('|---|---|---|');
  say(
    `| Perso.evaluate p50 (paired vs echo) | ${us(before.p50Us)} (${ratio(before.pairedRatio)}) | ${us(perso.p50Us)} (${ratio(perso.pairedRatio)}) |`,
  );
  say(`| Perso.evaluate p99 | ${us(before.p99Us)} | ${us(perso.p99Us)} |`);
  say(
    `| Perso.evaluateBatch of 1,000 (median) | ${ms(before.batchMedianMs)} | ${ms(perso.batchMedianMs)} |`,
  );
  say(
    `| Perso.load (URL, warm cache) → first decision (median) | ${ms(before.urlLoadMedianMs ?? Number.NaN)} | ${ms(urlLoad)} |`,
  );
  say(
    `| Perso.load (inline policy) → first decision (median) | ${ms(before.loadMedianMs)} | ${ms(perso.loadMedianMs)} |`,
  );
}
say();
say(
  `WorkerBackend alone (no library layer): p50 ${us(backend.p50Us)} (${ratio(backend.p50Us / echo.p50Us)} the echo), ` +
    `batch of 1,000 ${ms(backend.batchMedianMs)}. cedar-wasm in a worker: p50 ${ratio(cedar.p50Us / perso.p50Us)} perso's, ` +
    `batch ${ratio(cedar.batchMedianMs / perso.batchMedianMs)} perso's, first decision ${ratio(cedar.loadMedianMs / perso.loadMedianMs)} perso's.`,
);
say();
say("## What a page pays: `import { Perso } from 'perso'`, built with Vite");
say();
say(
  `The page loads the policy by URL and decides one call (answer: ${appDecision.slice(8)}); these are the files it requested, ` +
    `of ${emitted.length} the build emitted (the rest are lazy chunks a worker-engine page never requests).`,
);
say();
say('| file | bytes | gzip -9 |');
say('|---|---|---|');
for (const f of appFiles.sort((a, b) => b.gzip - a.gzip))
  say(`| ${f.name} | ${f.bytes} | ${kib(f.gzip)} |`);
say(`| **loaded** | ${appFiles.reduce((sum, f) => sum + f.bytes, 0)} | **${kib(loaded)}** |`);
say();
say('## The raw browser build (vite.lib.config.ts → dist/browser)');
say();
say('| file | bytes | gzip -9 |');
say('|---|---|---|');
for (const f of files.sort((a, b) => b.gzip - a.gzip))
  say(`| ${f.name} | ${f.bytes} | ${kib(f.gzip)} |`);
say(`| **total** | ${files.reduce((sum, f) => sum + f.bytes, 0)} | **${kib(total)}** |`);

mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/browser.md'), `${out.join('\n')}\n`);
