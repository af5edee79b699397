/**
 * The worker's batch code (`worker-batch.ts`), loaded with the first `evaluateBatch`.
 *
 * Checklist:
 * - the module comes from the URL the page named, once its bytes match the digest the page named
 *   (`named-module.ts`); unbuilt, the source next to this file;
 * - a batch whose code cannot load is a Deny for each of its calls that names it, never a pass;
 *   the next batch tries again.
 */
import type { Verdict } from '../engine/types.ts';
import { errorText } from '../encoding/text.ts';
import { namedOnDemand } from './named-module.ts';
import { namedBatch } from './worker-name.ts';

/** The batch code, loaded on demand. */
export const batchCode = namedOnDemand<typeof import('./worker-batch.ts')>(
  namedBatch,
  'batch code',
  './worker-batch.ts',
);

/** The Deny for each call of a batch whose code could not load. */
export function batchFault(error: unknown): Verdict {
  return {
    decision: 'Deny',
    kind: 'engine_fault',
    reason: `engine fault: the worker's batch code did not load (${errorText(error)}); the call was not run, check that the page can fetch perso's files and retry`,
  };
}
