// `perso doctor URL`: real pages (the built perso-embed.js, the real @mcp-b/global polyfill) served
// here and opened in headless Chromium: a clean page has no findings, and each planted problem is
// found, alone. The findings themselves are also checked from facts (doctor-findings.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { doctorFindings, parseCsp } from '../src/cli/doctor-findings.ts';
import type { PageFacts } from '../src/cli/doctor-findings.ts';
import { repoRoot, runPerso } from './support/run-cli.ts';

const GOOD_CSP = "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'";
const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.html': 'text/html',
};

/**
 * `/page?…` composes a page: a WebMCP context that lists tools with their annotations (as a
 * browser's does), perso-embed.js, then the page's tools. Each parameter plants one problem:
 * `early` (a tool registered before perso), `noperso` (no embed), `polyfill` (@mcp-b/global
 * instead, its transports limited to the page's origin) and `anyorigin` (its default transports),
 * `csp=…` (that CSP instead of a good one), `extra=a&extra=b` (more tools, without hints).
 */
function page(query: URLSearchParams): { html: string; csp: string } {
  const extra = query.getAll('extra').join('&');
  const polyfill = query.has('polyfill') || query.has('anyorigin');
  const scripts = [
    polyfill && !query.has('anyorigin')
      ? '<script src="/fixtures/transport-options.js"></script>'
      : '',
    polyfill
      ? '<script src="/polyfill.js"></script>'
      : '<script src="/fixtures/webmcp-context.js"></script>',
    query.has('early') ? '<script src="/fixtures/early-tool.js"></script>' : '',
    query.has('noperso')
      ? ''
      : '<script src="/script/perso-embed.js" data-policy="/fixtures/policy.json" data-role="agent"></script>',
    `<script src="/fixtures/tools.js" data-extra="${extra}"></script>`,
  ];
  return {
    html: `<!doctype html><html><head>${scripts.join('')}</head><body>doctor test page</body></html>`,
    csp: query.get('csp') ?? GOOD_CSP,
  };
}

let server: Server;
let base: string;

before(async () => {
  assert.ok(
    existsSync(join(repoRoot, 'dist/script/perso-embed.js')),
    'dist/script/perso-embed.js is missing: run "npm run build:embed"',
  );
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/page') {
      const { html, csp } = page(url.searchParams);
      response.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': csp });
      response.end(html);
      return;
    }
    const file = url.pathname.startsWith('/script/')
      ? join(repoRoot, 'dist', url.pathname)
      : url.pathname.startsWith('/fixtures/')
        ? join(repoRoot, 'test/fixtures/doctor', url.pathname.slice('/fixtures/'.length))
        : url.pathname === '/polyfill.js'
          ? join(repoRoot, 'node_modules/@mcp-b/global/dist/index.iife.js')
          : null;
    if (file === null || file.includes('..') || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'text/plain' });
    response.end(readFileSync(file));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

interface Report {
  ok: boolean;
  perso: boolean;
  tools: string[];
  findings: { code: string; message: string }[];
}

async function doctor(
  query: string,
  ...args: string[]
): Promise<{ code: number | null; report: Report }> {
  const run = await runPerso(['doctor', '--json', `${base}/page?${query}`, ...args]);
  assert.ok(run.stdout !== '', run.stderr);
  return { code: run.code, report: JSON.parse(run.stdout) as Report };
}

const codes = (report: Report): string[] => report.findings.map((finding) => finding.code).sort();

describe('perso doctor on pages', { concurrency: 1 }, () => {
  test('a clean page: no findings, exit 0', async () => {
    const { code, report } = await doctor('');
    assert.deepEqual(codes(report), [], JSON.stringify(report.findings));
    assert.equal(code, 0);
    assert.equal(report.perso, true);
    assert.deepEqual(report.tools.sort(), ['delete_record', 'view_report']);
  });

  test('a tool registered before perso', async () => {
    const { code, report } = await doctor('early');
    assert.deepEqual(codes(report), ['registered-before-perso']);
    assert.match(report.findings[0]!.message, /"view_summary"/);
    assert.equal(code, 1);
  });

  test('no perso on the page: the surfaces stay redefinable', async () => {
    const { report } = await doctor('noperso');
    assert.ok(codes(report).includes('no-perso'), JSON.stringify(report.findings));
    assert.ok(codes(report).includes('redefinable-surface'), JSON.stringify(report.findings));
  });

  test('a polyfill whose transport answers any origin; limited to the page, it does not', async () => {
    // @mcp-b/global's getTools drops consequentialHint, so agents cannot see it: found on both.
    const { code, report } = await doctor('anyorigin');
    assert.deepEqual(codes(report), ['any-origin-transport', 'unhinted-consequential']);
    assert.match(report.findings[0]!.message, /channel "mcp-iframe"/);
    assert.equal(code, 1);
    const limited = await doctor('polyfill');
    assert.deepEqual(codes(limited.report), ['unhinted-consequential']);
  });

  test("a CSP without 'wasm-unsafe-eval', and one without worker-src", async () => {
    const noWasm = await doctor(
      `csp=${encodeURIComponent("script-src 'self'; worker-src 'self'")}`,
    );
    assert.ok(codes(noWasm.report).includes('csp-no-wasm'), JSON.stringify(noWasm.report.findings));
    assert.ok(!codes(noWasm.report).includes('csp-no-worker-src'));
    const noWorker = await doctor(
      `csp=${encodeURIComponent("script-src 'self' 'wasm-unsafe-eval'")}`,
    );
    assert.deepEqual(codes(noWorker.report), ['csp-no-worker-src']);
  });

  test('a tool no rule names, and a consequential one without its hint', async () => {
    const { report } = await doctor('extra=archive_report&extra=send_invoice');
    assert.deepEqual(codes(report), ['uncovered-tool', 'unhinted-consequential']);
    assert.match(
      report.findings.find((f) => f.code === 'uncovered-tool')!.message,
      /"archive_report"/,
    );
    assert.match(
      report.findings.find((f) => f.code === 'unhinted-consequential')!.message,
      /"send_invoice"/,
    );
  });

  test('--policy checks the tools against another policy; text output', async () => {
    const policy = JSON.stringify({
      version: 'v',
      default_action: 'Deny',
      tools: ['view_report'],
      rules: [{ tool_name: 'view_report', roles: ['agent'] }],
    });
    const run = await runPerso(['doctor', `${base}/page?`, '--policy', policy]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^uncovered-tool: tool "delete_record" is named by no rule/m);
    assert.match(run.stdout, /: 1 finding; each one lets tool calls past the guard, fix them\n$/);
  });

  test('a page that cannot be opened, or a URL that is not http: exit 1 with why', async () => {
    const closed = await runPerso(['doctor', 'http://127.0.0.1:9/']);
    assert.equal(closed.code, 1);
    assert.match(closed.stderr, /^perso: cannot open "http:\/\/127\.0\.0\.1:9\/"/);
    const file = await runPerso(['doctor', 'file:///etc/passwd']);
    assert.equal(file.code, 1);
    assert.match(file.stderr, /expected an http\(s\) URL/);
  });
});

describe('doctor findings from facts', () => {
  const clean: PageFacts = {
    url: 'http://x/',
    perso: true,
    persoTools: [{ name: 'view_report', surface: 'perso' }],
    tools: [{ name: 'view_report', surface: 'document.modelContext' }],
    surfaces: [{ surface: 'document.modelContext', configurable: false, writable: false }],
    csp: [GOOD_CSP],
    policySource: null,
    policy: null,
    anyOriginChannel: null,
  };
  test('none for a clean page; a writable surface; an unreadable policy', () => {
    assert.deepEqual(doctorFindings(clean), []);
    const writable = doctorFindings({
      ...clean,
      surfaces: [{ surface: 'navigator.modelContext', configurable: false, writable: true }],
    });
    assert.deepEqual(
      writable.map((f) => f.code),
      ['redefinable-surface'],
    );
    assert.match(writable[0]!.message, /overwritten/);
    const unreadable = doctorFindings({ ...clean, policy: { error: '/p.json: not JSON' } });
    assert.deepEqual(
      unreadable.map((f) => f.code),
      ['policy-unreadable'],
    );
  });
  test("'unsafe-eval' also lets wasm compile; default-src stands for script-src", () => {
    const csp = (text: string) => doctorFindings({ ...clean, csp: [text] }).map((f) => f.code);
    assert.deepEqual(csp("default-src 'self' 'unsafe-eval'; worker-src 'self'"), []);
    assert.deepEqual(csp("default-src 'self'; worker-src 'self'"), ['csp-no-wasm']);
    assert.deepEqual(csp("img-src *; worker-src 'self'"), []);
    assert.deepEqual(parseCsp("Script-Src 'a'; script-src 'b'").get('script-src'), ["'a'"]);
  });
});
