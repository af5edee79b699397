/**
 * One started evaluator worker, a generation: the Worker, its Comlink methods, its listeners, its
 * calls in flight and their watchdog. A fault replaces a generation as a whole.
 *
 * Checklist:
 * - the worker's `error` and `messageerror` events are faults of this generation, and an error
 *   event is marked handled (the page never sees it as uncaught), even after the worker died;
 * - one watchdog timer per worker, not one per call: it fires at the earliest deadline it knows
 *   of, reports an overdue call as a fault, else re-arms for the next deadline;
 * - an ended generation drops its Comlink methods and listeners (a dead worker's proxies would
 *   keep it in memory) and settles every call in flight with the reason it ended.
 */
import { wrap } from 'comlink';
import type { EvaluatorApi } from '../worker/evaluator-api.ts';
import { TRUSTED_TYPES_POLICY } from './trusted-worker.ts';
import { REPLACED } from './worker-faults.ts';
import { errorText } from '../encoding/text.ts';

/** A call in flight: how to abort it, and when it times out. */
export interface InFlight {
  readonly abort: (reason: string) => void;
  /** `performance.now()` deadline. */
  readonly deadline: number;
  readonly timeoutMs: number;
}

/**
 * The worker's five functions through Comlink. Replies come back unchecked (`unknown`): a reply is
 * data from another realm, validated field by field (`worker-reply.ts`); a proxy where a value
 * belongs (a function, to `typeof`) fails that validation like any other malformed reply.
 */
export type Remote = {
  readonly [K in keyof EvaluatorApi]: (...args: Parameters<EvaluatorApi[K]>) => Promise<unknown>;
};

/** One started worker; replaced as a whole on any fault. */
export interface Generation {
  /** `null` when the worker could not even be constructed. */
  readonly worker: Worker | null;
  /**
   * `null` once dead. Dropped then, and the worker's listeners with it: Comlink keeps the worker
   * until its proxies are collected, so nothing the worker can reach may hold them (a dead worker's
   * pending calls do), or every replaced worker stays in memory.
   */
  remote: Remote | null;
  /** Removes the generation's listeners from the worker. */
  readonly listening: AbortController;
  /** Reports a fault of this worker to its owner, which ends it (and starts a replacement). */
  readonly fault: (reason: string) => void;
  /** Settles with `null` once ready, or with the reason it could not start. */
  started: Promise<string | null>;
  /**
   * The readiness check (and the re-load of the last good policy) has been posted: a call may be
   * posted behind it, as the worker answers in order; the check's failure settles it.
   */
  queued: boolean;
  ready: boolean;
  dead: boolean;
  /** Why it was ended: a call posted to it afterwards answers this (e.g. a worker script refused before any call). */
  deathReason?: string;
  /** Every call in flight on this worker. */
  readonly pending: Set<InFlight>;
  /** The watchdog timer (see the checklist above), and when it fires. */
  watchdog: ReturnType<typeof setTimeout> | null;
  watchdogAt: number;
  /**
   * The kinds of call (`approve`, `recordResult`, `evaluateBatch`) already posted to this worker:
   * the first of each may make it load code on demand, and is given the start timeout for it.
   */
  readonly posted: Set<string>;
}

function remoteMethods(worker: Worker): Remote {
  // Each property read of a Comlink proxy makes a new proxy: read each method once, per worker.
  const { load, evaluate, evaluateBatch, status, approve, recordResult, state, forget } =
    wrap<EvaluatorApi>(worker);
  return Object.freeze({
    load: (...args) => load(...args),
    evaluate: (...args) => evaluate(...args),
    evaluateBatch: (...args) => evaluateBatch(...args),
    status: (...args) => status(...args),
    approve: (...args) => approve(...args),
    recordResult: (...args) => recordResult(...args),
    state: (...args) => state(...args),
    forget: (...args) => forget(...args),
  });
}

/** Marks a worker's error event handled: the backend answers it, the page does not see it uncaught. */
function handled(event: Event): void {
  event.preventDefault();
}

/**
 * Starts a worker with `createWorker` and listens for its faults, which it reports to `fault`. A
 * worker that cannot be constructed gives a dead generation whose `started` is the reason.
 */
export function startGeneration(
  createWorker: () => Worker,
  fault: (generation: Generation, reason: string) => void,
): Generation {
  let worker: Worker;
  try {
    worker = createWorker();
  } catch (error) {
    const trustedTypes = /TrustedScriptURL|Trusted ?Types/i.test(errorText(error));
    const reason = trustedTypes
      ? `the evaluator worker failed to start ("${errorText(error)}"); the page enforces Trusted Types: allow perso's policy name ("trusted-types ${TRUSTED_TYPES_POLICY}")`
      : `the evaluator worker failed to start ("${errorText(error)}"); check the worker URL and the page's worker-src`;
    return {
      worker: null,
      remote: null,
      listening: new AbortController(),
      fault: () => undefined,
      started: Promise.resolve(reason),
      queued: false,
      ready: false,
      dead: true,
      pending: new Set(),
      watchdog: null,
      watchdogAt: 0,
      posted: new Set(),
    };
  }
  const generation: Generation = {
    worker,
    remote: remoteMethods(worker),
    listening: new AbortController(),
    fault: (reason) => fault(generation, reason),
    started: Promise.resolve(null),
    queued: false,
    ready: false,
    dead: false,
    pending: new Set(),
    watchdog: null,
    watchdogAt: 0,
    posted: new Set(),
  };
  // Kept after the worker dies (it holds nothing): an error the dead worker raised before it was
  // terminated can still arrive, and must not reach the page as an uncaught error.
  worker.addEventListener('error', handled);
  worker.addEventListener(
    'error',
    (event: ErrorEvent | Event) => {
      const message =
        event instanceof ErrorEvent && event.message ? ` ("${errorText(event.message)}")` : '';
      generation.fault(
        generation.ready
          ? `the evaluator worker crashed${message}; ${REPLACED}`
          : `the evaluator worker failed to start${message}; check that its script is served from the page's origin and that worker-src allows it`,
      );
    },
    { signal: generation.listening.signal },
  );
  worker.addEventListener(
    'messageerror',
    () => {
      generation.fault(
        `a message from the evaluator worker could not be read (messageerror); ${REPLACED}`,
      );
    },
    { signal: generation.listening.signal },
  );
  return generation;
}

/** Arms the generation's watchdog for `deadline` unless it already fires sooner. */
export function watchGeneration(generation: Generation, deadline: number): void {
  if (generation.watchdog !== null && generation.watchdogAt <= deadline) return;
  if (generation.watchdog !== null) clearTimeout(generation.watchdog);
  generation.watchdogAt = deadline;
  generation.watchdog = setTimeout(
    () => {
      generation.watchdog = null;
      if (generation.dead) return;
      const now = performance.now();
      let next = Number.POSITIVE_INFINITY;
      for (const inFlight of generation.pending) {
        if (inFlight.deadline <= now) {
          generation.fault(
            `the evaluator worker did not answer within ${inFlight.timeoutMs} ms (hung, crashed or terminated); ${REPLACED}`,
          );
          return;
        }
        next = Math.min(next, inFlight.deadline);
      }
      if (next !== Number.POSITIVE_INFINITY) watchGeneration(generation, next);
    },
    Math.max(0, deadline - performance.now()),
  );
}

/** Terminates the generation's worker and settles everything in flight on it with `reason`. */
export function endGeneration(generation: Generation, reason: string): void {
  if (generation.dead) return;
  generation.dead = true;
  generation.deathReason = reason;
  generation.ready = false;
  generation.worker?.terminate();
  generation.listening.abort();
  generation.remote = null;
  if (generation.watchdog !== null) clearTimeout(generation.watchdog);
  generation.watchdog = null;
  for (const inFlight of [...generation.pending]) inFlight.abort(reason);
  generation.pending.clear();
}
