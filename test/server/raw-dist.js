// The built files, served byte for byte as a static server or a CDN serves them, for the code
// integrity checks (src/backend/code-integrity.ts): the test runner's dev server rewrites the JavaScript it
// serves (it inlines source maps), which would change the bytes perso checks.
//
//   GET /dist/<path>                         the file under dist/, unchanged (and
//   GET /engine/build/engine.wasm            the package's one engine.wasm, which dist/browser uses)
//   GET /__tampered__/worker/dist/<path>     the same files from a compromised CDN: the evaluator
//                                            worker script has one more line
//   GET /__tampered__/wasm/dist/<path>       the same, with engine.wasm replaced by the engine's
//                                            debug build (the same exports and ABI version, other bytes)
//   GET /__tampered__/nowasm/dist/<path>     the files unchanged, the evaluator worker script with a
//                                            CSP without 'wasm-unsafe-eval' (its JS fallback loads)
//   GET /__tampered__/chunk/dist/<path>      the same, with the worker's modules (the JS
//                                            fallback, the WebAuthn verifier) one line longer
//   GET /__tampered__/approvals/dist/<path>  the files unchanged, the worker's approvals module
//                                            (loaded on the first Ask) one line longer
//   GET /__tampered__/webauthn/dist/<path>   the files unchanged, the worker's WebAuthn verifier
//                                            one line longer
//   GET /__tampered__/results/dist/<path>     the files unchanged, the worker's result code (tool
//                                            results, restores) one line longer
//   GET /__tampered__/batch/dist/<path>       the files unchanged, the worker's batch code one
//                                            line longer

import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TYPES = {
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.json': 'application/json',
};
const TAMPERED =
  /^\/__tampered__\/(worker|wasm|nowasm|chunk|approvals|webauthn|results|batch)(\/dist\/.*|\/engine\/build\/engine\.wasm)$/;
const LAZY_WORKER_CHUNK = /^(worker-reference|worker-webauthn)-.*\.js$/;
const PACKAGE_WASM = '/engine/build/engine.wasm';

/** @returns {import('koa').Middleware} */
export function rawDist() {
  return async (ctx, next) => {
    if (ctx.method !== 'GET') return next();
    const tampered = TAMPERED.exec(ctx.path);
    const path = tampered ? tampered[2] : ctx.path;
    // the package's engine.wasm is served by the dev server unchanged already; here only when tampered
    if (!path.startsWith('/dist/') && !(tampered && path === PACKAGE_WASM)) return next();
    const file = normalize(join(ROOT, path));
    if (path !== PACKAGE_WASM && !file.startsWith(join(ROOT, 'dist') + sep)) return next();
    let body;
    try {
      body = await readFile(file);
    } catch {
      return next();
    }
    const name = path.split('/').pop() ?? '';
    if (tampered?.[1] === 'worker' && /^evaluator\.worker-.*\.js$/.test(name)) {
      body = Buffer.concat([body, Buffer.from('\n;/* altered on the CDN */\n')]);
    }
    if (tampered?.[1] === 'wasm' && /^engine(-.*)?\.wasm$/.test(name)) {
      body = await readFile(join(ROOT, 'engine/build/engine.debug.wasm'));
    }
    if (tampered?.[1] === 'approvals' && /^worker-approvals-.*\.js$/.test(name)) {
      body = Buffer.concat([body, Buffer.from('\n;/* altered on the CDN */\n')]);
    }
    if (tampered?.[1] === 'webauthn' && /^worker-webauthn-.*\.js$/.test(name)) {
      body = Buffer.concat([body, Buffer.from('\n;/* altered on the CDN */\n')]);
    }
    if (tampered?.[1] === 'batch' && /^worker-batch-.*\.js$/.test(name)) {
      body = Buffer.concat([body, Buffer.from('\n;/* altered on the CDN */\n')]);
    }
    if (tampered?.[1] === 'results' && /^worker-results-.*\.js$/.test(name)) {
      body = Buffer.concat([body, Buffer.from('\n;/* altered on the CDN */\n')]);
    }
    if (tampered?.[1] === 'chunk' && LAZY_WORKER_CHUNK.test(name)) {
      body = Buffer.concat([body, Buffer.from('\n;/* altered on the CDN */\n')]);
    }
    if (
      (tampered?.[1] === 'nowasm' || tampered?.[1] === 'chunk') &&
      /^evaluator\.worker-.*\.js$/.test(name)
    ) {
      ctx.set('Content-Security-Policy', "script-src 'self'; worker-src 'self'");
    }
    ctx.status = 200;
    ctx.set('Content-Type', TYPES[extname(name)] ?? 'application/octet-stream');
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = body;
  };
}
