// Test-only: a lazily imported module that cannot be loaded (the lazy-chunk fault). A module of
// src/ requested with `?perso-test-fail=<name>` (e.g. `import('/src/perso/perso.ts?perso-test-fail=perso-batch')`)
// is served with the mark added to its relative imports, so the whole graph it imports carries it
// and has URLs of its own: no module another test file's page already fetched is reused for it
// (Chromium reuses a fetched module across a page's successors, and even a refused one). Within
// that graph, `src/**/<name>.ts` is refused with a network error.

const MARK = 'perso-test-fail';
// `from "./x.ts"`, `import "./x.ts"`, `import("./x.ts")` (the runner serves relative specifiers as
// they are written).
const RELATIVE_IMPORT = /((?:\bfrom|\bimport)\s*\(?\s*)(["'])(\.\.?\/[^"'?]+)\2/g;

/** @returns {import('koa').Middleware} */
export function lazyChunkFaultsForTests() {
  return async (ctx, next) => {
    const marked = new URLSearchParams(ctx.querystring).get(MARK);
    if (marked === null || !/^[a-z-]+$/.test(marked) || !ctx.path.startsWith('/src/'))
      return next();
    if (ctx.path.endsWith(`/${marked}.ts`)) {
      // A network error: the module cannot be fetched.
      ctx.respond = false;
      ctx.req.socket.destroy();
      return;
    }
    await next();
    if (ctx.status !== 200) return;
    const body = Buffer.isBuffer(ctx.body) ? ctx.body.toString('utf8') : ctx.body;
    if (typeof body !== 'string') return;
    ctx.body = body.replace(
      RELATIVE_IMPORT,
      (_, head, quote, path) => `${head}${quote}${path}?${MARK}=${marked}${quote}`,
    );
    ctx.set('Cache-Control', 'no-store');
    ctx.remove('ETag');
  };
}
