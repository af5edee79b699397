// A scriptable HTTP endpoint for the browser tests, mounted in the test runner's dev server under
// /__perso__/ (Koa middleware). State is per name, so each test uses its own names.
//
//   PUT  /__perso__/file/<name>   {"body": "...", "etag": "\"v1\"" | null, "status": 200, "delayMs": 0}
//                                 script a file; status "drop" closes the connection (fetch rejects)
//   GET  /__perso__/file/<name>   serves it: ETag, 304 on a matching If-None-Match, or the scripted status
//   GET  /__perso__/log/<name>    [{"ifNoneMatch": ..., "status": ...}] requests the file got
//   PUT  /__perso__/sink/<name>   {"failures": 2, "status": 500, "delayMs": 0}  script an audit sink
//   POST /__perso__/sink/<name>   the next `failures` posts answer `status`; later ones are stored (200)
//   GET  /__perso__/sink/<name>   {"attempts": n, "received": [{"contentType", "body"}]}

const PREFIX = '/__perso__/';

/** @returns {import('koa').Middleware} */
export function persoTestServer() {
  /** @type {Map<string, {body: string, etag: string | null, status: number | 'drop', delayMs: number}>} */
  const files = new Map();
  /** @type {Map<string, {ifNoneMatch: string | null, status: number}[]>} */
  const logs = new Map();
  /** @type {Map<string, {failures: number, status: number, delayMs: number, attempts: number, received: {contentType: string, body: string}[]}>} */
  const sinks = new Map();

  const sink = (name) => {
    if (!sinks.has(name))
      sinks.set(name, { failures: 0, status: 500, delayMs: 0, attempts: 0, received: [] });
    return sinks.get(name);
  };
  const json = (ctx, status, value) => {
    ctx.status = status;
    ctx.set('Content-Type', 'application/json');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = JSON.stringify(value);
  };

  return async function persoTestMiddleware(ctx, next) {
    if (!ctx.path.startsWith(PREFIX)) return next();
    const [kind, ...rest] = ctx.path.slice(PREFIX.length).split('/');
    const name = decodeURIComponent(rest.join('/'));
    const method = ctx.method;

    if (kind === 'file' && method === 'PUT') {
      const script = JSON.parse(await readBody(ctx.req));
      files.set(name, {
        body: script.body ?? '',
        etag: script.etag ?? null,
        status: script.status ?? 200,
        delayMs: script.delayMs ?? 0,
      });
      return json(ctx, 200, { ok: true });
    }
    if (kind === 'file' && method === 'GET') {
      const file = files.get(name);
      const ifNoneMatch = ctx.get('If-None-Match') || null;
      const log = logs.get(name) ?? [];
      logs.set(name, log);
      let status = file === undefined ? 404 : file.status;
      if (status === 200 && file.etag !== null && ifNoneMatch === file.etag) status = 304;
      log.push({ ifNoneMatch, status });
      if (file?.delayMs) await new Promise((resolve) => setTimeout(resolve, file.delayMs));
      if (status === 'drop') {
        ctx.req.socket.destroy();
        ctx.respond = false;
        return;
      }
      ctx.status = status;
      ctx.set('Cache-Control', 'no-cache');
      if (file?.etag) ctx.set('ETag', file.etag);
      if (status === 200) {
        ctx.set('Content-Type', 'application/json');
        ctx.body = Buffer.from(file.body, 'utf8');
      } else if (status !== 304) {
        ctx.body = `scripted status ${status}`;
      }
      return;
    }
    if (kind === 'log' && method === 'GET') return json(ctx, 200, logs.get(name) ?? []);
    if (kind === 'sink' && method === 'PUT') {
      const script = JSON.parse(await readBody(ctx.req));
      Object.assign(sink(name), script);
      return json(ctx, 200, { ok: true });
    }
    if (kind === 'sink' && method === 'POST') {
      const state = sink(name);
      const body = await readBody(ctx.req);
      state.attempts++;
      if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
      if (state.failures > 0) {
        state.failures--;
        return json(ctx, state.status, { error: 'scripted failure' });
      }
      state.received.push({ contentType: ctx.get('Content-Type'), body });
      return json(ctx, 200, {});
    }
    if (kind === 'sink' && method === 'GET') {
      const { attempts, received } = sink(name);
      return json(ctx, 200, { attempts, received });
    }
    return json(ctx, 404, { error: `no test endpoint ${method} ${ctx.path}` });
  };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
