// Test-only: a lazily imported module that cannot be loaded (the lazy-chunk fault). A module of
// src/ requested with `?perso-test-fail=<name>` (e.g. `import('/src/perso/perso.ts?perso-test-fail=perso-batch')`)
// is served with the mark added to its relative imports, so the whole graph it imports carries it
// and has URLs of its own: no module another test file's page already fetched is reused for it
// (Chromium reuses a fetched module across a page's successors, and even a refused one). Within
// that graph, `src/**/<name>.ts` is refused with a network error; with `?perso-test-stall=<name>`
// instead, its request is never answered (a stalled network).

const MARK = 'perso-test-fail';
const STALL = 'perso-test-stall';
// `from "./x.ts"`, `import "./x.ts"`, `import("./x.ts")` (the runner serves relative specifiers as
// they are written).
const RELATIVE_IMPORT = /((?:\bfrom|\bimport)\s*\(?\s*)(["'])(\.\.?\/[^"'?]+)\2/g;

/** @returns {import('koa').Middleware} */
export function lazyChunkFaultsForTests() {
  return async (ctx, next) => {
    const query = new URLSearchParams(ctx.querystring);
    const stalled = query.get(STALL);
    const mark = stalled === null ? MARK : STALL;
    const marked = stalled ?? query.get(MARK);
    if (marked === null || !/^[a-z-]+$/.test(marked) || !ctx.path.startsWith('/src/'))
      return next();
    if (ctx.path.endsWith(`/${marked}.ts`)) {
      ctx.respond = false;
      // Stalled: never answered (the page's fetch waits until it gives up or the page closes).
      if (stalled !== null) return;
      // A network error: the module cannot be fetched.
      ctx.req.socket.destroy();
      return;
    }
    await next();
    if (ctx.status !== 200) return;
    const body = Buffer.isBuffer(ctx.body) ? ctx.body.toString('utf8') : ctx.body;
    if (typeof body !== 'string') return;
    ctx.body = body.replace(
      RELATIVE_IMPORT,
      (_, head, quote, path) => `${head}${quote}${path}?${mark}=${marked}${quote}`,
    );
    ctx.set('Cache-Control', 'no-store');
    ctx.remove('ETag');
  };
}
