/**
 * A fresh worker's readiness check: its engine started (from the page's compiled engine.wasm, or its
 * own compile) and the last good policy re-loaded, with the calls the engine counted under it and
 * the untrusted results it kept.
 *
 * Checklist:
 * - the check and the re-load are posted at once and the generation is then `queued`: a call
 *   posted behind them is answered after them (the worker answers in order);
 * - a worker whose engine did not start, or that refuses the last good policy (or what was counted
 *   under it), is not ready: the answer is the reason, and its owner ends it.
 */
import type { PolicyLoad } from '../engine/engine.ts';
import type { WorkerStatus } from '../worker/evaluator-api.ts';
import type { CountedCallJournal } from './counted-call-journal.ts';
import type { ToolResultJournal } from './tool-result-journal.ts';
import { callWorker } from './worker-call.ts';
import type { Generation } from './worker-generation.ts';
import { checkPolicyLoad, checkStatus } from './worker-reply.ts';

/**
 * Checks that `generation`'s engine started (on `module`, when the page compiled one) and re-loads
 * `policyText` (the last good policy, if any) with the calls `journal` kept and the untrusted
 * `results`; answers `null` when the worker is ready, else why not.
 */
export async function readyWorker(
  generation: Generation,
  module: WebAssembly.Module | null,
  policyText: string | null,
  journal: CountedCallJournal | null,
  results: ToolResultJournal | null,
  timeoutMs: number,
): Promise<string | null> {
  const checking = callWorker<WorkerStatus | string>(
    generation,
    {
      send: (remote) => (module === null ? remote.status() : remote.status(module)),
      check: checkStatus,
      fault: (reason) => reason,
    },
    timeoutMs,
    journal,
  );
  // Taken now, after the worker before this one was ended: nothing it answers can be added later.
  const counted = policyText === null ? [] : (journal?.calls() ?? []);
  const records = policyText === null ? [] : (results?.records() ?? []);
  const reloading =
    policyText === null
      ? null
      : callWorker<PolicyLoad | string>(
          generation,
          {
            send: (remote) =>
              records.length > 0
                ? remote.load(policyText, counted, records)
                : counted.length === 0
                  ? remote.load(policyText)
                  : remote.load(policyText, counted),
            check: checkPolicyLoad,
            fault: (reason) => reason,
          },
          timeoutMs,
          journal,
        );
  generation.queued = true;
  const status = await checking;
  if (typeof status === 'string') return status;
  if (reloading === null) return null;
  const load = await reloading;
  if (typeof load === 'string') return load;
  return load.ok
    ? null
    : `the fresh evaluator worker refused the last good policy ("${load.errors[0]?.message ?? ''}")`;
}
