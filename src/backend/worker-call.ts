/**
 * One call to the evaluator worker, from the main thread: sent, timed, its reply validated.
 *
 * Checklist:
 * - every call is timed (the generation's watchdog) and settles exactly once;
 * - every reply is validated as the tagged union it must be (`worker-reply.ts`); a malformed reply,
 *   a compile failure or a rejected call is a fault of the worker, which is replaced;
 * - the calls the engine counted are kept before the caller hears of its answer (a restart from
 *   then on restores them); counted calls under a policy that counts none are a malformed reply;
 * - a value the structured clone cannot copy is the caller's fault (`invalid_request`), not the
 *   worker's.
 */
import { ReasonKind } from '../call/decision.ts';
import type { CountedCallJournal } from './counted-call-journal.ts';
import { REPLACED, compileFailure } from './worker-faults.ts';
import { watchGeneration } from './worker-generation.ts';
import type { Generation, InFlight, Remote } from './worker-generation.ts';
import type { Checked } from './worker-reply.ts';
import { openReply } from './worker-reply.ts';
import { errorText } from '../encoding/text.ts';

/** What one call needs: how to send it, check its answer, and answer a fault. */
export interface CallPlan<T> {
  send(remote: Remote): Promise<unknown>;
  check(value: unknown): Checked<T>;
  fault(reason: string, kind?: ReasonKind): T;
  /** True when an answer proves the engine instance is dead (a trap): the worker is replaced. */
  trapped?(value: T): boolean;
  /** Called with a checked answer right before the caller is given it (in the reply's turn). */
  accepted?(value: T): void;
}

/**
 * Sends one call to `generation` and settles it exactly once: reply, fault of the worker, or
 * timeout. `journal` keeps the calls the engine counted (null: the active policy counts none).
 */
export function callWorker<T>(
  generation: Generation,
  plan: CallPlan<T>,
  timeoutMs: number,
  journal: CountedCallJournal | null,
): Promise<T> {
  // No local for the remote: every closure below would keep it (see Generation.remote).
  if (generation.dead || generation.remote === null)
    return Promise.resolve(
      plan.fault(generation.deathReason ?? `the evaluator worker stopped; ${REPLACED}`),
    );
  return new Promise<T>((resolve) => {
    let settled = false;
    const settle = (value: T): void => {
      if (settled) return;
      settled = true;
      generation.pending.delete(inFlight);
      resolve(value);
    };
    const inFlight: InFlight = {
      abort: (reason) => settle(plan.fault(reason)),
      deadline: performance.now() + timeoutMs,
      timeoutMs,
    };
    generation.pending.add(inFlight);
    watchGeneration(generation, inFlight.deadline);

    plan.send(generation.remote as Remote).then(
      (reply) => {
        if (settled) return;
        const opened = openReply(reply);
        if ('badRequest' in opened) {
          settle(plan.fault(`invalid request: ${opened.badRequest}`, ReasonKind.InvalidRequest));
          return;
        }
        if ('compileError' in opened) {
          generation.fault(compileFailure(opened.compileError));
          return;
        }
        const checked = opened.ok ? plan.check(opened.value) : opened;
        if (!checked.ok) {
          generation.fault(
            `malformed reply from the evaluator worker (${checked.problem}); ${REPLACED}`,
          );
          return;
        }
        // Kept before the caller hears of them: a restart from here on restores them.
        const counted = opened.ok ? opened.counted : undefined;
        if (counted !== undefined) {
          if (journal === null) {
            generation.fault(
              `malformed reply from the evaluator worker (counted calls under a policy that counts none); ${REPLACED}`,
            );
            return;
          }
          for (const call of counted) journal.add(call);
        }
        plan.accepted?.(checked.value);
        settle(checked.value);
        // A trap kills the engine instance: this answer stands, the worker is replaced for the next.
        if (plan.trapped?.(checked.value)) generation.fault(`the engine trapped; ${REPLACED}`);
      },
      (error: unknown) => {
        // A value the structured clone cannot copy (or nested too deep for it to try: a
        // RangeError from postMessage) is the caller's fault, not the worker's.
        if (
          (error instanceof DOMException && error.name === 'DataCloneError') ||
          error instanceof RangeError
        ) {
          settle(
            plan.fault(
              `invalid request: the call cannot be sent to the worker (${errorText(error)}); pass JSON values only`,
              ReasonKind.InvalidRequest,
            ),
          );
          return;
        }
        generation.fault(
          `the evaluator worker rejected the call ("${errorText(error)}"); ${REPLACED}`,
        );
      },
    );
  });
}
