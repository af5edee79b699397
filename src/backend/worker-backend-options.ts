/**
 * The options of the worker backend (`worker-backend.ts`), and how the worker's code is checked.
 */

/** How the worker's code is checked; see {@link WorkerBackendOptions.codeIntegrity}. */
export type CodeIntegrity = boolean | 'strict';

/** Options of {@link WorkerBackend}. */
export interface WorkerBackendOptions {
  /**
   * How long one call may take before it is Deny and the worker is replaced; default 500 ms. A
   * worker's first approval, first result and first batch may fetch code on demand: they get
   * `startTimeoutMs` on top.
   */
  timeoutMs?: number;
  /**
   * How long a fresh worker may take to compile the engine and re-load the policy; default
   * 5000 ms (a cold start on a slow phone), and never less than `timeoutMs`.
   */
  startTimeoutMs?: number;
  /**
   * Start the worker in the constructor instead of on the first call, so that its script and
   * engine.wasm load while the caller does something else (`Perso.load` fetches the policy).
   */
  startNow?: boolean;
  /**
   * Check the worker script and engine.wasm against the SHA-256 the build recorded: `true` (the
   * default: the worker then starts from its URL), `'strict'` (it starts from the checked bytes, a
   * `blob:` URL, which the page's `worker-src` must allow), or `false` (only for a development
   * server that rewrites the JavaScript it serves, as Vite's does).
   */
  codeIntegrity?: CodeIntegrity;
  /**
   * Where engine.wasm cannot compile (a CSP without `'wasm-unsafe-eval'`), run the reference
   * evaluator in the worker instead of denying every call (`Perso`'s `fallback: 'js'`).
   */
  jsFallback?: boolean;
  /**
   * Test injection point: starts the worker. Tests use it to inject faults (a bad URL, a worker
   * that never answers, one they terminate mid-call). Not part of the public API.
   * @internal
   */
  createWorker?: () => Worker;
}
