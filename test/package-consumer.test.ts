// The package installed as an app installs it (issue 12): `npm pack`, then `npm install` of the
// tarball into a fresh project on this Node, which must print no warning; then, in that project,
// `npx perso embed public/perso` and the page in real headless Chromium (playwright-core), where a
// WebMCP tool call goes through the copied embed; and the README's runnable Node and shell
// examples (blocks marked in the README), run as written against the installed package, and its
// `<perso-guard>` example built with Vite in that project.
//
// The tarball is packed from the current dist/ (`npm run build` after editing src/). Dependencies
// come from npm's cache when it has them (--prefer-offline), else from the registry.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
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

/** A fenced block of the README or a doc with the marker comment on the line before it. */
interface MarkedBlock {
  doc: string;
  marker: string;
  lang: string;
  text: string;
  line: number;
}

/**
 * The blocks of README.md and docs/*.md preceded by `<!-- file: NAME -->` (a file the examples
 * read), `<!-- run: NAME -->` (an example to run as NAME: `.mjs` with node, `.mts` with node and
 * tsx, as a TypeScript user runs it; `shell`: a console session) or `<!-- output -->` (what the
 * example before it prints).
 */
function markedBlocks(): MarkedBlock[] {
  const docs = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  const blocks: MarkedBlock[] = [];
  for (const doc of docs) {
    const lines = readFileSync(join(root, doc), 'utf8').split('\n');
    for (let i = 1; i < lines.length; i++) {
      const marker = /^<!-- ((?:file|run): \S+|output) -->$/.exec(lines[i - 1]!.trim());
      const fence = /^```(\w+)$/.exec(lines[i]!);
      if (marker === null || fence === null) continue;
      let end = i + 1;
      while (end < lines.length && lines[end] !== '```') end++;
      blocks.push({
        doc,
        marker: marker[1]!,
        lang: fence[1]!,
        text: `${lines.slice(i + 1, end).join('\n')}\n`,
        line: i + 1,
      });
      i = end;
    }
  }
  return blocks;
}

/** Runs a command in the app with `input` on stdin; its exit code and output. */
async function runIn(
  command: string,
  args: readonly string[],
  input: string,
  /** Keep stdin open until the output says the session is done (a server exits at end of input). */
  doneWhen?: (stdout: string) => boolean,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { cwd: app });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (doneWhen?.(stdout)) child.stdin.end();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  if (doneWhen === undefined) child.stdin.end(input);
  else child.stdin.write(`${input}\n`);
  const timer = setTimeout(() => child.kill(), 60_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

// What an MCP client sends to the README's server: initialize, then an $800 and a $200 refund.
const MCP_SESSION = [
  {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'test', version: '1' },
    },
  },
  { jsonrpc: '2.0', method: 'notifications/initialized' },
  {
    jsonrpc: '2.0',
    id: 2,
    method: 'tools/call',
    params: { name: 'process_refund', arguments: { order_id: 'ORD-8821', amount: 800 } },
  },
  {
    jsonrpc: '2.0',
    id: 3,
    method: 'tools/call',
    params: { name: 'process_refund', arguments: { order_id: 'ORD-8821', amount: 200 } },
  },
]
  .map((message) => JSON.stringify(message))
  .join('\n');

describe("the README's and docs' runnable examples, as written, in the app", () => {
  const blocks = markedBlocks();

  before(() => {
    // The optional peers the MCP example names, and tsx for TypeScript examples, as the app would
    // install them.
    for (const pkg of ['@modelcontextprotocol/sdk', 'zod', 'tsx']) {
      mkdirSync(join(app, 'node_modules', pkg, '..'), { recursive: true });
      if (!existsSync(join(app, 'node_modules', pkg)))
        symlinkSync(join(root, 'node_modules', pkg), join(app, 'node_modules', pkg), 'dir');
    }
    for (const block of blocks)
      if (block.marker.startsWith('file: '))
        writeFileSync(join(app, block.marker.slice(6)), block.text);
  });

  test('the README marks its files, its Node examples and its shell session', () => {
    const markers = blocks.map((b) => b.marker);
    assert.ok(markers.includes('file: policy.json'), markers.join(', '));
    assert.ok(markers.filter((m) => /^run: .*\.m[jt]s$/.test(m)).length >= 3, markers.join(', '));
    assert.ok(markers.includes('run: shell'), markers.join(', '));
  });

  test('each Node example runs, and prints its output block exactly', async () => {
    for (const [i, block] of blocks.entries()) {
      const file = /^run: (.*\.m[jt]s)$/.exec(block.marker)?.[1];
      if (file === undefined) continue;
      const where = `${block.doc}:${block.line} ${file}`;
      writeFileSync(join(app, file), block.text);
      const args = file.endsWith('.mts') ? ['--import', 'tsx', file] : [file];
      const isMcp = file === 'mcp-server.mjs';
      const result = isMcp
        ? await runIn(process.execPath, args, MCP_SESSION, (out) => out.includes('"id":3'))
        : await runIn(process.execPath, args, '');
      assert.equal(result.code, 0, `${where}: ${result.stderr}`);
      const next = blocks[i + 1];
      if (next?.marker === 'output')
        assert.equal(result.stdout, next.text, `${where}: its output block`);
      if (isMcp) {
        const replies = result.stdout
          .trim()
          .split('\n')
          .map(
            (l) =>
              JSON.parse(l) as {
                id: number;
                result: { isError?: boolean; content: { text: string }[] };
              },
          );
        const byId = new Map(replies.map((r) => [r.id, r.result]));
        assert.equal(byId.get(2)?.isError, true);
        assert.match(byId.get(2)!.content[0]!.text, /at most 500/);
        assert.equal(byId.get(3)?.content[0]?.text, 'refunded $200 on ORD-8821');
      }
    }
  });

  test('the shell session prints what the README shows, command by command', async () => {
    const session = blocks.find((b) => b.doc === 'README.md' && b.marker === 'run: shell');
    assert.ok(session);
    const steps: { command: string; expected: string }[] = [];
    for (const line of session.text.trimEnd().split('\n')) {
      if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: '' });
      else steps.at(-1)!.expected += `${line}\n`;
    }
    assert.ok(steps.length >= 2);
    for (const step of steps) {
      const result = await runIn('sh', ['-c', step.command], '');
      assert.equal(result.code, 0, `${step.command}: ${result.stderr}`);
      assert.equal(result.stdout, step.expected, step.command);
    }
  });

  test('the element example builds with Vite in the app (perso/element from node_modules), without a warning', async () => {
    const lines = readFileSync(join(root, 'README.md'), 'utf8');
    const element = lines.slice(lines.indexOf('### An agent UI in your page'));
    const html = /```html\n([\s\S]*?)```/.exec(element)?.[1];
    const main = /```ts\n\/\/ main\.ts\n([\s\S]*?)```/.exec(element)?.[1];
    assert.ok(html !== undefined && main !== undefined);
    const site = join(app, 'site');
    mkdirSync(site, { recursive: true });
    writeFileSync(join(site, 'index.html'), `<!doctype html><html><body>${html}</body></html>`);
    writeFileSync(join(site, 'main.ts'), main);
    const { stdout, stderr } = await run(
      join(root, 'node_modules/.bin/vite'),
      ['build', '--logLevel', 'warn'],
      { cwd: site, maxBuffer: 16 << 20 },
    );
    assert.equal(`${stdout}${stderr}`.trim(), '');
    const built = readdirSync(join(site, 'dist/assets'));
    assert.ok(
      built.some((f) => f.endsWith('.wasm')),
      built.join(', '),
    );
    assert.ok(
      built.some((f) => /evaluator\.worker/.test(f)),
      built.join(', '),
    );
  });
});

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
