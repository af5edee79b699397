// The evaluator worker's modules that load on demand (its approvals, src/worker/worker-approvals.ts,
// its result code, worker-results.ts, its batch code, worker-batch.ts, its JS fallback, src/worker/worker-reference.ts, and its
// WebAuthn verifier, worker-webauthn.ts),
// each built on its own: one self-contained ES module with its exports, a file next to the worker.
// The page's code names such a module as `new URL('../worker/<name>.ts', import.meta.url)` (a dev
// server serves the source there); in a build this plugin makes that the URL of the module built
// on its own (Vite's `?worker&url`), so an app that bundles the built library copies the file as
// it copies the worker, and the worker imports it from the URL the page gives it.
//
// Invariants:
// - a worker module imports nothing at run time (Vite bundles a worker entry whole): never the
//   worker's own file, whose name an app's bundler changes;
// - it shares no state with the worker: a module both import is a copy in each (a symbol both
//   must agree on is made with `Symbol.for`, src/engine/approved-call.ts);
// - its exports are kept (Vite drops a worker entry's exports: the `options` hook keeps them);
// - its digest is recorded in the page's code by vite.code-digests.ts (`WORKER_APPROVALS_SHA256`,
//   `WORKER_RESULTS_SHA256`, `WORKER_BATCH_SHA256`, `WORKER_REFERENCE_SHA256`, `WORKER_WEBAUTHN_SHA256`).
import type { Plugin } from 'vite';

const WORKER_MODULES = [
  'worker-approvals',
  'worker-batch',
  'worker-results',
  'worker-reference',
  'worker-webauthn',
];
const NAMED = new RegExp(
  `new URL\\((['"])((?:\\.\\.?/)+worker/(?:${WORKER_MODULES.join('|')})\\.ts)\\1, import\\.meta\\.url\\)`,
  'g',
);
const ENTRY = new RegExp(`/src/worker/(?:${WORKER_MODULES.join('|')})\\.ts$`);

/** The Vite plugin; add it to `plugins` and to `worker.plugins` of every build that ships the worker. */
export function workerModules(): Plugin {
  return {
    name: 'perso-worker-modules',
    apply: 'build',
    enforce: 'pre',
    options(options) {
      const input = options.input;
      return typeof input === 'string' && ENTRY.test(input)
        ? { ...options, preserveEntrySignatures: 'strict' }
        : null;
    },
    transform(code) {
      if (!code.includes('/worker/')) return null;
      const imports: string[] = [];
      const rewritten = code.replace(NAMED, (_, _quote: string, path: string) => {
        const name = `__persoWorkerModule${imports.length}`;
        imports.push(`import ${name} from ${JSON.stringify(`${path}?worker&url`)};`);
        return `new URL(${name})`;
      });
      if (imports.length === 0) return null;
      return { code: `${imports.join('\n')}\n${rewritten}`, map: null };
    },
  };
}
