// The package installed as an app installs it (issue 12): `npm pack`, then `npm install` of the
// tarball into a fresh project on this Node, which must print no warning; then, in that project,
// `npx perso embed public/perso` and the page in real headless Chromium (playwright-core), where a
// WebMCP tool call goes through the copied embed; and the README's and docs' runnable Node
// examples, run as written against the installed package.
//
// The tarball is packed from the current dist/ (`npm run build` after editing src/). Dependencies
// come from npm's cache when it has them (--prefer-offline), else from the registry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROME_PATH ?? '/usr/bin/chromium';

let work: string;
let app: string;
let installOutput: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'perso-consumer-'));
  const { stdout } = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
    { cwd: root, maxBuffer: 16 << 20 },
  );
  const tarball = join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'an-app', version: '1.0.0', private: true, type: 'module' }),
  );
  const installed = await run(
    'npm',
    ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'],
    { cwd: app, maxBuffer: 16 << 20 },
  );
  installOutput = `${installed.stdout}${installed.stderr}`;
});

after(() => rmSync(work, { recursive: true, force: true }));

describe('npm install of the packed package', () => {
  test(`prints no warning on Node ${process.versions.node}`, (t) => {
    t.diagnostic(installOutput.trim());
    assert.deepEqual(
      installOutput.split('\n').filter((line) => /\bwarn/i.test(line)),
      [],
    );
    assert.ok(existsSync(join(app, 'node_modules/.bin/perso')));
  });
});

describe('the script-tag embed from node_modules/perso', () => {
  let server: Server;
  let base: string;
  let browser: Browser;

  before(async () => {
    const { stdout } = await run(join(app, 'node_modules/.bin/perso'), ['embed', 'public/perso'], {
      cwd: app,
    });
    assert.match(stdout, /<script src="\/perso\/perso-embed\.js" data-policy="\/policy\.json"/);
    const pub = join(app, 'public');
    mkdirSync(join(pub, 'vendor'));
    copyFileSync(
      join(root, 'node_modules/@mcp-b/global/dist/index.iife.js'),
      join(pub, 'vendor/webmcp.js'),
    );
    copyFileSync(join(root, 'test/fixtures/perso-demo-policy.json'), join(pub, 'policy.json'));
    writeFileSync(
      join(pub, 'index.html'),
      `<!doctype html><html><head>
<script src="/vendor/webmcp.js"></script>
<script src="/perso/perso-embed.js" data-policy="/policy.json" data-role="agent"></script>
<script src="/app.js"></script>
</head><body></body></html>`,
    );
    writeFileSync(
      join(pub, 'app.js'),
      `window.ran = [];
window.registered = document.modelContext.registerTool({
  name: 'process_refund',
  description: 'refund a customer',
  inputSchema: { type: 'object', properties: { customer_id: { type: 'string' }, amount: { type: 'number' } } },
  execute: (args) => { window.ran.push(args); return { content: [{ type: 'text', text: 'refunded' }] }; },
});`,
    );
    server = staticServer(pub);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu'],
    });
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  test('perso embed copies perso-embed.js and its assets (worker, engine.wasm) as the package ships them', () => {
    const shipped = readdirSync(join(app, 'node_modules/perso/dist/script/assets')).sort();
    assert.deepEqual(readdirSync(join(app, 'public/perso/assets')).sort(), shipped);
    assert.ok(shipped.some((f) => f.endsWith('.wasm')));
    assert.ok(shipped.some((f) => f.startsWith('evaluator.worker')));
    assert.deepEqual(
      readFileSync(join(app, 'public/perso/perso-embed.js')),
      readFileSync(join(app, 'node_modules/perso/dist/script/perso-embed.js')),
    );
  });

  test('in Chromium, a WebMCP tool call goes through the copied embed: $800 refused, $200 runs', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${base}/index.html`);
    // A string, not a function: tsx would add helpers (`__name`) to a function the page lacks.
    const outcome = (await page.evaluate(`(async () => {
      await window.registered;
      await window.perso.ready();
      const mc = document.modelContext;
      const tool = (await mc.getTools()).find((t) => t.name === 'process_refund');
      if (tool === undefined) throw new Error('process_refund is not listed');
      const call = async (amount) =>
        JSON.parse((await mc.executeTool(tool, JSON.stringify({ customer_id: 'c1', amount }))) ?? 'null');
      const denied = await call(800);
      const ranAfterDeny = window.ran.length;
      const allowed = await call(200);
      return { denied, ranAfterDeny, allowed, ran: window.ran, status: window.perso.status() };
    })()`)) as {
      denied: { content: { text: string }[]; isError?: boolean };
      ranAfterDeny: number;
      allowed: { content: { text: string }[] };
      ran: unknown[];
      status: { policy: string };
    };
    await page.close();
    assert.deepEqual(errors, []);
    assert.equal(outcome.status.policy, 'loaded', JSON.stringify(outcome.status));
    assert.equal(outcome.denied.isError, true);
    assert.match(outcome.denied.content[0]!.text, /tool 'process_refund' was not run/);
    assert.equal(outcome.ranAfterDeny, 0);
    assert.equal(outcome.allowed.content[0]!.text, 'refunded');
    assert.deepEqual(outcome.ran, [{ customer_id: 'c1', amount: 200 }]);
  });
});

/** Serves a folder as a static host would (the types a browser needs for modules and wasm). */
function staticServer(dir: string): Server {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.json': 'application/json',
    '.wasm': 'application/wasm',
  };
  return createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const file = join(dir, path);
    if (!file.startsWith(dir) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
}
