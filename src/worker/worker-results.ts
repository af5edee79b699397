/**
 * The evaluator worker's result code, loaded on demand: tool results handed to the engine
 * (untrusted content, per session), and a fresh engine's load that restores what the worker
 * before it kept (the calls its rate limits and budgets counted, the untrusted results). A first
 * decision never needs it: the worker loads it on the first `recordResult`, on a load that
 * restores, or with a policy that names `untrusted_tools`.
 *
 * Checklist:
 * - built on its own, self-contained (no import of the worker's file, whose name an app's bundler
 *   changes): `vite.worker-module.ts`; the page names its URL and recorded SHA-256;
 * - it shares no state with the worker: it works on the engine the worker hands it, through the
 *   engine host's functions (`EngineCore`'s parts), or on the JS fallback's own methods;
 * - a restore that does not count every call, or record every result, is a failure that says so:
 *   every call stays a Deny until a worker restores them all.
 */
import type { CountedCall } from '../engine/counted-calls.ts';
import type { EngineCore } from '../engine/engine-core.ts';
import type { RecordAnswer, ToolResultRecord } from '../engine/types.ts';
import { isCountedCallList } from '../engine/counted-calls.ts';
import { recordResultIn } from '../engine/result-record.ts';
import { restoreCounted } from '../engine/counted-call-restore.ts';

/** What the worker's engine keeps between calls, handed in and restored. */
export interface EngineMemory {
  restoreCounted(calls: readonly CountedCall[]): number;
  recordResult(record: ToolResultRecord): RecordAnswer;
}

/** engine.wasm's memory, through the engine host's functions on `engine`. */
export function memoryOf(engine: EngineCore): EngineMemory {
  return {
    restoreCounted: (calls) => restoreCounted(engine, calls),
    recordResult: (record) => recordResultIn(engine, record),
  };
}

/** True when `record` may be a tool result record (an object; the engine host checks the rest). */
export function isResultRecord(record: unknown): record is ToolResultRecord {
  return typeof record === 'object' && record !== null && !Array.isArray(record);
}

/** Why a load's `restore` and `results` are not what `load` takes, or null when they are. */
export function restoreRequestError(restore: unknown, results: unknown): string | null {
  if (restore !== undefined && !isCountedCallList(restore))
    return 'load takes the calls to restore as a list of {tool, role, at, keep}';
  if (results !== undefined && (!Array.isArray(results) || !results.every(isResultRecord)))
    return 'load takes the results to restore as a list of {tool, result, session}';
  return null;
}

/**
 * Restores, after a successful load of the same policy, the calls an earlier engine counted and
 * then the untrusted results it kept; null when all were, else why not.
 */
export function restore(
  memory: EngineMemory,
  calls: readonly CountedCall[] | undefined,
  results: readonly ToolResultRecord[] | undefined,
): string | null {
  const restored = calls === undefined ? 0 : memory.restoreCounted(calls);
  if (calls !== undefined && restored !== calls.length)
    return `the fresh engine restored ${restored} of the ${calls.length} calls its rate limits and budgets had counted; every call stays a Deny until a worker restores them all`;
  // Untrusted content outlives the worker too: a fresh engine that cannot keep it does not start.
  for (const record of results ?? []) {
    const recorded = memory.recordResult(record);
    if (!recorded.ok)
      return `the fresh engine could not restore the untrusted content it had kept ("${recorded.error}"); every call stays a Deny until a worker restores it`;
  }
  return null;
}
