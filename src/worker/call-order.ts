/**
 * The order the worker answers in: the order the calls arrive, though some wait for code it loads
 * on demand (its result code, its batch code) and the others would overtake them.
 *
 * Checklist:
 * - a call that waits for code takes its place in line when it arrives (before any await) and
 *   holds every call after it until it is done: a decision after a tool result sees the result
 *   recorded, a call after a batch is counted after the batch's calls;
 * - a call whose code is loaded, with none waiting, runs at once: the hot path waits for nothing.
 */
import { type EngineState, readyEngine } from './worker-engine.ts';

/** The calls in line not yet done, while one waits for its code; else null. */
export let waiting: Promise<unknown> | null = null;

/**
 * Runs `operation` after the calls before it: at once when its code is `loaded` and none waits,
 * else in line, holding later calls until it is done.
 */
export function inOrder<T>(loaded: boolean, operation: () => Promise<T>): Promise<T> {
  if (loaded && waiting === null) return operation();
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

/** The engine, once the calls that arrived before this one are done. */
export async function inTurn(): Promise<EngineState> {
  const before = waiting;
  const state = await readyEngine();
  if (before !== null) await before;
  return state;
}
