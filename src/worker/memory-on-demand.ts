/**
 * The worker's memory code (`worker-memory.ts`: tool results in, a fresh engine's restores),
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
import type { EngineMemory } from './worker-memory.ts';
import type { DecidingEngine } from './worker-engine.ts';
import { namedOnDemand } from './named-module.ts';
import { namedMemory } from './worker-name.ts';

/** The memory code's exports. */
export type MemoryModule = typeof import('./worker-memory.ts');

/** The memory code and the engine's memory through it, or why it could not load. */
export type MemoryState =
  | { ok: true; module: MemoryModule; memory: EngineMemory }
  | { ok: false; error: string };

/** The memory code, once loaded (else null). */
const memoryCode = namedOnDemand<MemoryModule>(namedMemory, 'memory', './worker-memory.ts');

/** True once the memory code is loaded: a memory operation then waits for nothing. */
export function memoryLoaded(): boolean {
  return memoryCode.loaded !== null;
}

/** `engine`'s memory, loading the memory code if need be; never rejects. */
export async function memoryOnDemand(engine: DecidingEngine): Promise<MemoryState> {
  try {
    const module = await memoryCode.load();
    return {
      ok: true,
      module,
      memory: engine instanceof EngineCore ? module.memoryOf(engine) : engine,
    };
  } catch (error) {
    return {
      ok: false,
      error: `engine fault: the worker's memory code did not load (${errorText(error)}); check that the page can fetch perso's files and retry`,
    };
  }
}
