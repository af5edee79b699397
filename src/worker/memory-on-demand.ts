/**
 * The worker's memory code (`worker-memory.ts`: tool results in, a fresh engine's restores),
 * loaded on demand, as engine.wasm's or the JS fallback's memory.
 *
 * Checklist:
 * - the module comes from the URL the page named, once its bytes match the digest the page named
 *   (`named-module.ts`); unbuilt, the source next to this file;
 * - one that cannot load is an answer that names it, never a pass: a result not recorded (a
 *   guarded call then withholds it, a Deny), a restoring load refused (every call stays a Deny);
 *   the next call tries again;
 * - calls are still answered in order: while an operation waits for the code, {@link waiting}
 *   holds every later call (a decision after a result must see it recorded).
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

const loadMemory = namedOnDemand<MemoryModule>(namedMemory, 'memory', './worker-memory.ts');
let loaded: MemoryModule | null = null;

/**
 * The memory operations not yet done, while one waits for the code (else null): every later call
 * of the worker awaits it first.
 */
export let waiting: Promise<unknown> | null = null;

function stateOf(module: MemoryModule, engine: DecidingEngine): MemoryState {
  return {
    ok: true,
    module,
    memory: engine instanceof EngineCore ? module.memoryOf(engine) : engine,
  };
}

/** `engine`'s memory, loading the memory code if need be; never rejects. */
export async function memoryOnDemand(engine: DecidingEngine): Promise<MemoryState> {
  try {
    loaded = await loadMemory();
    return stateOf(loaded, engine);
  } catch (error) {
    return {
      ok: false,
      error: `engine fault: the worker's memory code did not load (${errorText(error)}); check that the page can fetch perso's files and retry`,
    };
  }
}

/**
 * Runs a memory operation after the calls before it, holding later calls until it is done (see
 * {@link waiting}) while the code is not loaded yet; at once when it is and none waits. Call it
 * when the call arrives (before any await): its place in line is taken then.
 */
export function inOrder<T>(operation: () => Promise<T>): Promise<T> {
  if (loaded !== null && waiting === null) return operation();
  const done = (waiting ?? Promise.resolve()).then(operation);
  const held: Promise<unknown> = done.then(
    () => {
      if (waiting === held) waiting = null;
    },
    () => {
      if (waiting === held) waiting = null;
    },
  );
  waiting = held;
  return done;
}
