/**
 * Starts the evaluator worker the library ships, its script checked as the host asked
 * (`verified-worker.ts`), with engine.wasm's URL and the digest and URL of each module it loads on
 * demand in its name.
 */
import { EVALUATOR_JS_FALLBACK, EVALUATOR_WORKER_NAME } from '../worker/evaluator-api.ts';
import { engineWasmUrl } from './page-engine-module.ts';
import { workerModuleWords } from './worker-module-urls.ts';
import { startCheckedWorker, startStrictWorker, startUncheckedWorker } from './verified-worker.ts';
import type { CodeIntegrity } from './worker-backend-options.ts';

/**
 * The worker the library ships; a literal `new Worker(new URL(...))` so bundlers emit it as a file.
 *
 * engine.wasm's URL travels in the worker's name: an app that bundles the built library (Vite)
 * copies the built worker as a file, verbatim, so the wasm URL inside it would name a file the app
 * build renamed (every call would be a Deny); this reference, on the main thread, is rewritten.
 * So do the URLs of the modules the worker loads on demand (`worker-module-urls.ts`).
 */
export function createEvaluatorWorker(integrity: CodeIntegrity, jsFallback: boolean): Worker {
  // Shadows the global: the script's bytes are checked against the build's record before the
  // worker runs them (unless the host turned that off), and it starts through perso's Trusted Types
  // policy where the page enforces Trusted Types (verified-worker.ts, trusted-worker.ts). The
  // expression keeps the `new Worker(new URL(...))` shape bundlers look for to build the worker.
  const start =
    integrity === 'strict'
      ? startStrictWorker
      : integrity
        ? startCheckedWorker
        : startUncheckedWorker;
  const Worker = start as unknown as new (url: URL, options: WorkerOptions) => globalThis.Worker;
  return new Worker(new URL('../worker/evaluator.worker.ts', import.meta.url), {
    type: 'module',
    name: `${EVALUATOR_WORKER_NAME} ${jsFallback ? `${EVALUATOR_JS_FALLBACK} ` : ''}${engineWasmUrl().href}${workerModuleWords(integrity !== false, jsFallback)}`,
  });
}
