/**
 * The worker's JS fallback: the reference evaluator (src/reference/), built on its own as a module
 * the page names (`vite.worker-module.ts`), loaded only where engine.wasm cannot compile and the
 * host chose `fallback: 'js'` (`worker-engine.ts`).
 *
 * Checklist:
 * - it imports nothing at run time and shares no state with the worker (the calls it counts go to
 *   the sink the worker gives it).
 */
export { ReferenceEngine } from '../reference/reference-engine.ts';
