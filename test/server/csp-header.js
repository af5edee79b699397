// Test-only: a response whose URL carries `perso-test-csp=no-wasm` gets a Content-Security-Policy
// without 'wasm-unsafe-eval'. A dedicated worker takes its CSP from its script's response, so
// `new Worker('/src/worker/evaluator.worker.ts?perso-test-csp=no-wasm')` is the real evaluator
// worker in a page whose CSP forbids compiling WebAssembly (the wasm compile failure fault).

/** @returns {import('koa').Middleware} */
export function cspHeaderForTests() {
  return async (ctx, next) => {
    await next();
    if (ctx.querystring.includes('perso-test-csp=no-wasm')) {
      ctx.set('Content-Security-Policy', "script-src 'self'; worker-src 'self'");
    }
  };
}
