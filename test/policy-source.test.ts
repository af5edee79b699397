import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdtemp, writeFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolvePolicySource } from '../src/policy/policy-source.ts';

const policy = { version: 'p-1', default_action: 'Deny', tools: ['t'], rules: [] };
const policyText = JSON.stringify(policy);

describe('resolvePolicySource', () => {
  let dir: string;
  let server: Server;
  let base: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perso-policy-source-'));
    await writeFile(join(dir, 'policy.json'), policyText);
    await writeFile(join(dir, 'latin1.json'), Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d]));
    await mkdir(join(dir, 'folder'));
    server = createServer((request, response) => {
      if (request.url === '/policy.json') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(policyText);
      } else if (request.url === '/hang') {
        // never answers: the client's timeout must end the wait
      } else if (request.url === '/big') {
        response.writeHead(200);
        response.end('{' + ' '.repeat(4096) + '}');
      } else {
        response.writeHead(404);
        response.end('not found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    base = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  test('a policy object becomes its JSON text', async () => {
    const resolved = await resolvePolicySource(policy);
    assert.deepEqual(resolved, { ok: true, text: policyText, source: 'inline', location: null });
  });

  test('JSON text is taken as given, leading whitespace allowed', async () => {
    const resolved = await resolvePolicySource(`\n  ${policyText}`);
    assert.equal(resolved.ok, true);
    assert.equal(resolved.ok && resolved.source, 'inline');
    assert.equal(resolved.ok && resolved.text, `\n  ${policyText}`);
  });

  test('an absolute file path is read as UTF-8', async () => {
    const resolved = await resolvePolicySource(join(dir, 'policy.json'));
    assert.equal(resolved.ok && resolved.text, policyText);
    assert.equal(resolved.ok && resolved.source, 'file');
  });

  test('a relative file path starts at the working directory', async () => {
    const resolved = await resolvePolicySource(relative(process.cwd(), join(dir, 'policy.json')));
    assert.equal(resolved.ok && resolved.text, policyText);
  });

  test('a file: URL, as a string or a URL object, is read from disk', async () => {
    const url = pathToFileURL(join(dir, 'policy.json'));
    for (const input of [url, url.href]) {
      const resolved = await resolvePolicySource(input);
      assert.equal(resolved.ok && resolved.text, policyText);
      assert.equal(resolved.ok && resolved.source, 'file');
    }
  });

  test('a file: URL without a local path (another host): the error says so', async () => {
    const resolved = await resolvePolicySource('file://elsewhere/policy.json');
    assert.equal(resolved.ok, false);
    assert.equal(resolved.ok ? null : resolved.source, 'file');
    assert.match(
      !resolved.ok ? resolved.error : '',
      /^policy "file:\/\/elsewhere\/policy\.json" was read as a file: URL but has no local path \(/,
    );
  });

  test('an http URL is fetched', async () => {
    const resolved = await resolvePolicySource(`${base}/policy.json`);
    assert.equal(resolved.ok && resolved.text, policyText);
    assert.equal(resolved.ok && resolved.source, 'network');
  });

  test('missing file: the error says it was read as a file path', async () => {
    const resolved = await resolvePolicySource('no/such/policy.json');
    assert.equal(resolved.ok, false);
    assert.match(
      !resolved.ok ? resolved.error : '',
      /^policy "no\/such\/policy\.json" was read as a file path, but it cannot be read: no such file/,
    );
  });

  test('a directory is not a policy file', async () => {
    const resolved = await resolvePolicySource(join(dir, 'folder'));
    assert.match(
      !resolved.ok ? resolved.error : '',
      /was read as a file path, but .* is not a file/,
    );
  });

  test('invalid UTF-8 in a file is refused, not replaced', async () => {
    const resolved = await resolvePolicySource(join(dir, 'latin1.json'));
    assert.match(!resolved.ok ? resolved.error : '', /not valid UTF-8/);
  });

  test('http 404: the error says it was fetched as a URL and names the status', async () => {
    const resolved = await resolvePolicySource(`${base}/missing.json`);
    assert.equal(resolved.ok, false);
    assert.match(
      !resolved.ok ? resolved.error : '',
      /was fetched as a URL, but the server answered HTTP 404/,
    );
  });

  test('server that never answers: the fetch times out', async () => {
    const resolved = await resolvePolicySource(`${base}/hang`, { timeoutMs: 200 });
    assert.match(!resolved.ok ? resolved.error : '', /no answer within 200 ms/);
  });

  test('connection refused: the error says the request failed', async () => {
    const resolved = await resolvePolicySource('http://127.0.0.1:9/policy.json');
    assert.match(
      !resolved.ok ? resolved.error : '',
      /was fetched as a URL, but the request failed/,
    );
  });

  test('too large, from the network or inline, is refused', async () => {
    const fetched = await resolvePolicySource(`${base}/big`, { maxBytes: 1024 });
    assert.match(!fetched.ok ? fetched.error : '', /larger than 1024 bytes/);
    const inline = await resolvePolicySource('{' + ' '.repeat(2000) + '}', { maxBytes: 1024 });
    assert.match(!inline.ok ? inline.error : '', /larger than 1024 bytes/);
  });

  test('an unsupported URL scheme is named', async () => {
    const resolved = await resolvePolicySource('ftp://example.test/policy.json');
    assert.match(!resolved.ok ? resolved.error : '', /unsupported scheme "ftp:"/);
  });

  test('the browser seam: fetchPolicy replaces fetch for http(s) URLs', async () => {
    const seen: string[] = [];
    const resolved = await resolvePolicySource('https://policies.example/p.json', {
      fetchPolicy: async (url) => {
        seen.push(url.href);
        return { ok: true, text: policyText, source: 'cache', location: url.href };
      },
    });
    assert.deepEqual(seen, ['https://policies.example/p.json']);
    assert.equal(resolved.ok && resolved.source, 'cache');
  });

  test('wrong input types are refused with what is accepted', async () => {
    for (const input of [null, undefined, 42, ['a'], '', '   ']) {
      const resolved = await resolvePolicySource(input);
      assert.equal(resolved.ok, false, String(input));
      assert.match(
        !resolved.ok ? resolved.error : '',
        /pass a policy object, JSON text, a file path/,
      );
    }
  });

  test('a policy object with a cycle is refused, not thrown', async () => {
    const cyclic: Record<string, unknown> = { version: 'x' };
    cyclic['self'] = cyclic;
    const resolved = await resolvePolicySource(cyclic);
    assert.match(!resolved.ok ? resolved.error : '', /cannot be written as JSON/);
  });
});
