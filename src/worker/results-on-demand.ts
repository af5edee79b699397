/**
 * The worker's result code (`worker-results.ts`: tool results in, a fresh engine's restores),
 * loaded on demand, as engine.wasm's or the JS fallback's memory.
 *
 * Checklist:
 * - the module comes from the URL the page named, once its bytes match the digest the page named
 *   (`named-module.ts`); unbuilt, the source next to this file;
 * - one that cannot load is an answer that names it, never a pass: a result not recorded (a
 *   guarded call then withholds it, a Deny), a restoring load refused (every call stays a Deny);
 *   the next call tries again.
 */
import { EngineCore } from '../engine/engine-core.ts';
import { errorText } from '../encoding/text.ts';
import type { EngineMemory } from './worker-results.ts';
import type { DecidingEngine } from './worker-engine.ts';
import { namedOnDemand } from './named-module.ts';
import { namedResults } from './worker-name.ts';

/** The result code's exports. */
export type ResultsModule = typeof import('./worker-results.ts');

/** The result code and the engine's memory through it, or why it could not load. */
export type ResultsState =
  | { ok: true; module: ResultsModule; memory: EngineMemory }
  | { ok: false; error: string };

/** The result code, once loaded (else null). */
const resultsCode = namedOnDemand<ResultsModule>(
  namedResults,
  'result code',
  './worker-results.ts',
);

/** True once the result code is loaded: a memory operation then waits for nothing. */
export function resultsLoaded(): boolean {
  return resultsCode.loaded !== null;
}

/** `engine`'s memory, loading the result code if need be; never rejects. */
export async function resultsOnDemand(engine: DecidingEngine): Promise<ResultsState> {
  try {
    const module = await resultsCode.load();
    return {
      ok: true,
      module,
      memory: engine instanceof EngineCore ? module.memoryOf(engine) : engine,
    };
  } catch (error) {
    return {
      ok: false,
      error: `engine fault: the worker's result code did not load (${errorText(error)}); check that the page can fetch perso's files and retry`,
    };
  }
}
