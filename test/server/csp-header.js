// Test-only Content-Security-Policy headers, for the CSP behaviour of the worker and the build:
// - a URL carrying `perso-test-csp=no-wasm` gets a CSP without 'wasm-unsafe-eval'. A dedicated
//   worker takes its CSP from its script's response, so
//   `new Worker('/src/worker/evaluator.worker.ts?perso-test-csp=no-wasm')` is the real evaluator
//   worker in a page whose CSP forbids compiling WebAssembly (the wasm compile failure fault);
// - a URL carrying `perso-test-csp=strict`, and everything under /dist/browser/ (the built
//   library, whose worker script is served from there), gets the CSP docs/browser.md documents:
//   `script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'` (no inline scripts, no data: workers);
// - a page carrying `perso-test-csp=page` gets the CSP docs/integrations.md lists for the embed and
//   the approval prompt: `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'`
//   (no inline scripts or styles); `page-tt` adds `require-trusted-types-for 'script'`, and
//   `page-tt-names` also lists the allowed policy names without perso's (the Trusted Types fault).

const NO_WASM = "script-src 'self'; worker-src 'self'";
const STRICT = "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'";
const PAGE = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'";
const PAGES = {
  page: PAGE,
  'page-tt': `${PAGE}; require-trusted-types-for 'script'`,
  'page-tt-names': `${PAGE}; require-trusted-types-for 'script'; trusted-types lit-html`,
};

/** @returns {import('koa').Middleware} */
export function cspHeaderForTests() {
  return async (ctx, next) => {
    await next();
    const page = PAGES[new URLSearchParams(ctx.querystring).get('perso-test-csp') ?? ''];
    if (page !== undefined) ctx.set('Content-Security-Policy', page);
    else if (ctx.querystring.includes('perso-test-csp=no-wasm'))
      ctx.set('Content-Security-Policy', NO_WASM);
    else if (
      ctx.querystring.includes('perso-test-csp=strict') ||
      ctx.path.startsWith('/dist/browser/')
    ) {
      ctx.set('Content-Security-Policy', STRICT);
    }
  };
}
