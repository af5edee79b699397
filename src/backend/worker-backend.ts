/**
 * `WorkerBackend`: the engine in a module Worker behind Comlink, seen from the main thread.
 *
 * The worker exposes its five functions with Comlink (behind `worker/calls-only-endpoint.ts`, which
 * lets only plain calls through); this side starts one worker at a time (`worker-generation.ts`),
 * sends calls to it, and checks its replies (`worker-reply.ts`).
 *
 * Invariants, checked in this order on every call:
 * - the Worker and its client live in private fields: nothing outside this class can reach
 *   them, so page scripts cannot post to the worker or call it;
 * - the worker starts lazily, on the first call (or at once with `startNow`), and proves it is
 *   ready (engine started, from the module this page compiled or its own compile; last good
 *   policy re-loaded) before it answers any call: calls made meanwhile are posted behind that
 *   check (the worker answers in order) and answer its failure if it fails;
 * - every call is timed (`timeoutMs`, default 500) and every reply is validated as the tagged
 *   union it must be;
 * - every fault (failed start, crash, `messageerror`, timeout, trap, malformed reply, wasm compile
 *   failure) answers Deny with a reason naming it, settles all pending calls the same way,
 *   terminates the worker and starts a fresh one that re-loads the last good policy;
 * - the calls the engine counted (rate limits) are kept here, from the answers the caller was
 *   given, and a fresh worker counts them again with that re-load, before it answers any call:
 *   a restart, even one the model causes, does not reset a window (a fresh worker that cannot
 *   restore them fails to start, so every call stays a Deny);
 * - nothing here throws: the promises resolve to verdicts.
 */
import { ReasonKind } from '../call/decision.ts';
import type { ToolCall } from '../call/decision.ts';
import type {
  EvaluatorState,
  PolicyLoad,
  RecordAnswer,
  ToolResultRecord,
  Verdict,
} from '../engine/engine.ts';
import type { WorkerStatus } from '../worker/evaluator-api.ts';
import { EVALUATOR_JS_FALLBACK, EVALUATOR_WORKER_NAME } from '../worker/evaluator-api.ts';
import type { ApprovalEvidence } from './approval-evidence.ts';
import type { BatchMessage } from './batch-wire-format.ts';
import type { CountedCallJournal } from './counted-call-journal.ts';
import type { CountedCall } from '../engine/counted-calls.ts';
import { ToolResultJournal, plainRecord } from './tool-result-journal.ts';
import {
  checkEvaluatorState,
  checkForgotten,
  checkRecordAnswer,
} from './evaluator-state-replies.ts';
import type { EvaluatorBackend } from './evaluator-backend.ts';
import { engineWasmUrl, pageEngineModule } from './page-engine-module.ts';
import { startCheckedWorker, startStrictWorker, startUncheckedWorker } from './verified-worker.ts';
import { CLOSED, REPLACED, compileFailure, faultLoad, faultVerdict } from './worker-faults.ts';
import { endGeneration, startGeneration, watchGeneration } from './worker-generation.ts';
import type { Generation, InFlight, Remote } from './worker-generation.ts';
import type { Checked } from './worker-reply.ts';
import {
  checkApprovedVerdict,
  checkPolicyLoad,
  checkStatus,
  checkVerdict,
  openReply,
} from './worker-reply.ts';
import { errorText } from '../encoding/text.ts';

/** How the worker's code is checked; see {@link WorkerBackendOptions.codeIntegrity}. */
export type CodeIntegrity = boolean | 'strict';

/** Options of {@link WorkerBackend}. */
export interface WorkerBackendOptions {
  /** How long one call may take before it is Deny and the worker is replaced; default 500 ms. */
  timeoutMs?: number;
  /**
   * How long a fresh worker may take to compile the engine and re-load the policy; default
   * 5000 ms (a cold start on a slow phone), and never less than `timeoutMs`.
   */
  startTimeoutMs?: number;
  /**
   * Start the worker in the constructor instead of on the first call, so that its script and
   * engine.wasm load while the caller does something else (`Perso.load` fetches the policy).
   */
  startNow?: boolean;
  /**
   * Check the worker script and engine.wasm against the SHA-256 the build recorded: `true` (the
   * default: the worker then starts from its URL), `'strict'` (it starts from the checked bytes, a
   * `blob:` URL, which the page's `worker-src` must allow), or `false` (only for a development
   * server that rewrites the JavaScript it serves, as Vite's does).
   */
  codeIntegrity?: CodeIntegrity;
  /**
   * Where engine.wasm cannot compile (a CSP without `'wasm-unsafe-eval'`), run the reference
   * evaluator in the worker instead of denying every call (`Perso`'s `fallback: 'js'`).
   */
  jsFallback?: boolean;
  /**
   * Test injection point: starts the worker. Tests use it to inject faults (a bad URL, a worker
   * that never answers, one they terminate mid-call). Not part of the public API.
   * @internal
   */
  createWorker?: () => Worker;
}

/**
 * The worker the library ships; a literal `new Worker(new URL(...))` so bundlers emit it as a file.
 *
 * engine.wasm's URL travels in the worker's name: an app that bundles the built library (Vite)
 * copies the built worker as a file, verbatim, so the wasm URL inside it would name a file the app
 * build renamed (every call would be a Deny); this reference, on the main thread, is rewritten.
 */
function createEvaluatorWorker(integrity: CodeIntegrity, jsFallback: boolean): Worker {
  // Shadows the global: the script's bytes are checked against the build's record before the
  // worker runs them (unless the host turned that off), and it starts through perso's Trusted Types
  // policy where the page enforces Trusted Types (verified-worker.ts, trusted-worker.ts). The
  // expression keeps the `new Worker(new URL(...))` shape bundlers look for to build the worker.
  const start =
    integrity === 'strict'
      ? startStrictWorker
      : integrity
        ? startCheckedWorker
        : startUncheckedWorker;
  const Worker = start as unknown as new (url: URL, options: WorkerOptions) => globalThis.Worker;
  return new Worker(new URL('../worker/evaluator.worker.ts', import.meta.url), {
    type: 'module',
    name: `${EVALUATOR_WORKER_NAME} ${jsFallback ? `${EVALUATOR_JS_FALLBACK} ` : ''}${engineWasmUrl().href}`,
  });
}

/** How long the worker may take to check a WebAuthn approval (IndexedDB and WebCrypto). */
const WEBAUTHN_TIMEOUT_MS = 5000;

/** What one call needs: how to send it, check its answer, and answer a fault. */
interface CallPlan<T> {
  send(remote: Remote): Promise<unknown>;
  check(value: unknown): Checked<T>;
  fault(reason: string, kind?: ReasonKind): T;
  /** True when an answer proves the engine instance is dead (a trap): the worker is replaced. */
  trapped?(value: T): boolean;
  /** Called with a checked answer right before the caller is given it (in the reply's turn). */
  accepted?(value: T): void;
}

/**
 * Whether a policy can count calls: only a rule with a `rate_limit` or a `budget` can, and in JSON
 * text those keys are spelled literally or with `\u` escapes. (Were this wrong, the worker would
 * answer counted calls this side cannot keep: a malformed reply, and a Deny.)
 */
function mayCount(policyText: string): boolean {
  return (
    policyText.includes('rate_limit') || policyText.includes('budget') || policyText.includes('\\u')
  );
}

type BatchWireFormat = typeof import('./batch-wire-format.ts');
/** The batch wire format, once loaded (see {@link WorkerBackend.evaluateBatch}). */
let batchWireFormat: BatchWireFormat | null = null;

// Imported lazily: a page that never decides a batch never downloads it.
async function loadBatchWireFormat(): Promise<BatchWireFormat> {
  batchWireFormat ??= await import('./batch-wire-format.ts');
  return batchWireFormat;
}

/**
 * The engine in a dedicated module Worker behind Comlink: the browser's default backend.
 *
 * Owns one worker at a time, in private fields; see the invariants at the top of this file.
 */
export class WorkerBackend implements EvaluatorBackend {
  readonly #timeoutMs: number;
  readonly #startTimeoutMs: number;
  readonly #createWorker: () => Worker;
  /** True for the library's own worker: engine.wasm is compiled on the page too (`page-engine-module.ts`). */
  readonly #compileOnPage: boolean;
  readonly #codeIntegrity: boolean;
  #generation: Generation | null = null;
  /** The last policy text the engine accepted; a fresh worker re-loads it before any call. */
  #lastGoodPolicy: string | null = null;
  /**
   * What the engine counted under that policy; a fresh worker counts it again with the re-load.
   * Loaded with the first policy that can count calls ({@link mayCount}).
   */
  #counted: CountedCallJournal | null = null;
  /** The untrusted results the engine kept; a fresh worker records them again with the re-load. */
  readonly #results = new ToolResultJournal();
  #closed = false;

  /** Nothing starts until the first call, unless `startNow` is set. */
  constructor(options: WorkerBackendOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 500;
    this.#timeoutMs = Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 500;
    this.#startTimeoutMs = Math.max(options.startTimeoutMs ?? 5000, this.#timeoutMs);
    const integrity: CodeIntegrity =
      options.codeIntegrity === false
        ? false
        : options.codeIntegrity === 'strict'
          ? 'strict'
          : true;
    this.#codeIntegrity = integrity !== false;
    const jsFallback = options.jsFallback === true;
    this.#createWorker =
      options.createWorker ?? (() => createEvaluatorWorker(integrity, jsFallback));
    this.#compileOnPage = options.createWorker === undefined;
    if (options.startNow === true) this.#start();
  }

  /** The calls the engine counted under the active policy, in order (see evaluator-backend.ts). */
  countedCalls(): readonly CountedCall[] {
    return this.#counted?.calls() ?? [];
  }

  /** Loads a policy in the worker; a fault is a failed load, and the previous policy stays active. */
  load(policyText: string): Promise<PolicyLoad> {
    if (this.#counted !== null || !mayCount(policyText)) return this.#load(policyText);
    // Before the worker takes a policy that can count calls, so that none it counts is lost.
    return import('./counted-call-journal.ts').then(
      ({ CountedCallJournal }) => {
        this.#counted ??= new CountedCallJournal();
        return this.#load(policyText);
      },
      (error: unknown) =>
        faultLoad(
          `the journal of counted calls did not load (${errorText(error)}), so rate limits and budgets could not survive a restart; check that the page can fetch perso's files and reload`,
        ),
    );
  }

  #load(policyText: string): Promise<PolicyLoad> {
    return this.#run<PolicyLoad>(
      {
        send: (remote) => remote.load(policyText),
        check: checkPolicyLoad,
        fault: faultLoad,
        // In the reply's turn, both at once: a restart must never re-load one policy with the
        // other's counted calls. A new policy starts new windows, in the engine as here.
        accepted: (load) => {
          if (!load.ok) return;
          this.#lastGoodPolicy = policyText;
          this.#counted?.clear();
        },
      },
      this.#startTimeoutMs,
    );
  }

  /** Decides one call in the worker; every fault is a Deny naming it. */
  evaluate(call: ToolCall, nowSeconds: number): Promise<Verdict> {
    return this.#run<Verdict>(
      {
        send: (remote) => remote.evaluate(call, nowSeconds),
        check: checkVerdict,
        fault: faultVerdict,
        trapped: (verdict) => verdict.kind === ReasonKind.EngineFault,
      },
      this.#timeoutMs,
    );
  }

  /**
   * Decides many calls in one message; a fault denies all of them. `canonicalArgsJson`, when
   * given, is the JSON text of the calls' args in order, already checked (Perso's canonical args):
   * sent as it is instead of made again here.
   */
  evaluateBatch(
    calls: readonly ToolCall[],
    nowSeconds: number,
    canonicalArgsJson?: string,
  ): Promise<Verdict[]> {
    const count = calls.length;
    if (count === 0) return Promise.resolve([]);
    // Loaded with the first batch; later batches are encoded and posted in the caller's turn.
    if (batchWireFormat !== null)
      return this.#sendBatch(batchWireFormat, calls, nowSeconds, canonicalArgsJson);
    return loadBatchWireFormat().then(
      (wire) => this.#sendBatch(wire, calls, nowSeconds, canonicalArgsJson),
      (error: unknown) => {
        const reason = `the batch code did not load (${errorText(error)}); no call was decided, check that the page can fetch perso's files and retry`;
        return calls.map(() => faultVerdict(reason));
      },
    );
  }

  #sendBatch(
    wire: BatchWireFormat,
    calls: readonly ToolCall[],
    nowSeconds: number,
    canonicalArgsJson: string | undefined,
  ): Promise<Verdict[]> {
    const count = calls.length;
    let message: BatchMessage;
    try {
      message = wire.encodeBatch(calls, canonicalArgsJson);
    } catch (error) {
      const reason = `invalid request: the batch cannot be sent to the worker (${errorText(error)}); pass JSON values only`;
      return Promise.resolve(calls.map(() => faultVerdict(reason, ReasonKind.InvalidRequest)));
    }
    // A batch is one message; big ones get one more timeout per 10,000 calls.
    const timeoutMs = this.#timeoutMs * Math.ceil(count / 10_000);
    return this.#run<Verdict[]>(
      {
        // The args as one JSON text: a string to copy instead of objects to clone (see EvaluatorApi).
        send: (remote) => remote.evaluateBatch(message.calls, nowSeconds, message.argsJson),
        check: wire.checkVerdicts(count),
        fault: (reason, kind) => Array.from({ length: count }, () => faultVerdict(reason, kind)),
        trapped: (verdicts) => verdicts.some((verdict) => verdict.kind === ReasonKind.EngineFault),
      },
      timeoutMs,
    );
  }

  /**
   * Redeems a person's approval of an Ask in the worker, which decides the call again and lifts
   * the Ask to Allow; a refused ticket or any fault is a Deny naming it.
   */
  approve(
    nonce: string,
    call: ToolCall,
    nowSeconds: number,
    evidence?: ApprovalEvidence,
  ): Promise<Verdict> {
    return this.#run<Verdict>(
      {
        send: (remote) =>
          evidence === undefined
            ? remote.approve(nonce, call, nowSeconds)
            : remote.approve(nonce, call, nowSeconds, evidence),
        check: checkApprovedVerdict,
        fault: faultVerdict,
        trapped: (verdict) => verdict.kind === ReasonKind.EngineFault,
      },
      // Checking an assertion opens IndexedDB and verifies a signature in the worker: more than a decision.
      evidence === undefined ? this.#timeoutMs : Math.max(this.#timeoutMs, WEBAUTHN_TIMEOUT_MS),
    );
  }

  /** Hands a tool's result to the worker's engine; kept here too when it kept it (see the journal). */
  recordResult(record: ToolResultRecord): Promise<RecordAnswer> {
    const plain = plainRecord(record);
    if ('error' in plain) return Promise.resolve({ ok: false, error: plain.error });
    return this.#run<RecordAnswer>(
      {
        send: (remote) => remote.recordResult(plain.record),
        check: checkRecordAnswer,
        fault: (reason) => ({ ok: false, error: reason }),
        accepted: (answer) => {
          if (answer.ok && answer.untrusted) this.#results.add(plain.record, plain.json);
        },
      },
      this.#timeoutMs,
    );
  }

  /** The worker engine's state that outlives a call; null on a fault. */
  state(): Promise<EvaluatorState | null> {
    return this.#run<EvaluatorState | null>(
      { send: (remote) => remote.state(), check: checkEvaluatorState, fault: () => null },
      this.#timeoutMs,
    );
  }

  /** Forgets every session's untrusted content, here and in the worker. */
  forget(): Promise<void> {
    this.#results.clear();
    return this.#run<undefined>(
      { send: (remote) => remote.forget(), check: checkForgotten, fault: () => undefined },
      this.#timeoutMs,
    );
  }

  /** Terminates the worker; pending and later calls are Deny. */
  close(): void {
    this.#closed = true;
    const generation = this.#generation;
    if (generation !== null) this.#kill(generation, CLOSED);
  }

  /** Runs one call on a ready worker, starting one first if needed (no extra await when ready). */
  #run<T>(plan: CallPlan<T>, timeoutMs: number): Promise<T> {
    if (this.#closed) return Promise.resolve(plan.fault(CLOSED));
    const generation = this.#generation ?? this.#start();
    if (generation.ready) return this.#call(generation, plan, timeoutMs);
    // Posted right behind the readiness check, not after its answer: one round trip less before a
    // fresh worker's first decision. The worker answers in order, so the check is answered first;
    // if it fails, the worker is ended and this call answers that failure, as it would have waiting.
    if (generation.queued) return this.#call(generation, plan, this.#startTimeoutMs + timeoutMs);
    // Dead by then (a fault between ready and now): #call answers Deny, the replacement is starting.
    return generation.started.then((failure) =>
      failure !== null ? plan.fault(failure) : this.#call(generation, plan, timeoutMs),
    );
  }

  /** Sends one call and settles it exactly once: reply, fault of the worker, or timeout. */
  #call<T>(generation: Generation, plan: CallPlan<T>, timeoutMs: number): Promise<T> {
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
            this.#replace(generation, compileFailure(opened.compileError));
            return;
          }
          const checked = opened.ok ? plan.check(opened.value) : opened;
          if (!checked.ok) {
            this.#replace(
              generation,
              `malformed reply from the evaluator worker (${checked.problem}); ${REPLACED}`,
            );
            return;
          }
          // Kept before the caller hears of them: a restart from here on restores them.
          const counted = opened.ok ? opened.counted : undefined;
          if (counted !== undefined) {
            const journal = this.#counted;
            if (journal === null) {
              this.#replace(
                generation,
                `malformed reply from the evaluator worker (counted calls under a policy that counts none); ${REPLACED}`,
              );
              return;
            }
            for (const call of counted) journal.add(call);
          }
          plan.accepted?.(checked.value);
          settle(checked.value);
          // A trap kills the engine instance: this answer stands, the worker is replaced for the next.
          if (plan.trapped?.(checked.value))
            this.#replace(generation, `the engine trapped; ${REPLACED}`);
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
          this.#replace(
            generation,
            `the evaluator worker rejected the call ("${errorText(error)}"); ${REPLACED}`,
          );
        },
      );
    });
  }

  /** Starts a worker and its readiness check: engine compiled, last good policy re-loaded. */
  #start(): Generation {
    const generation = startGeneration(this.#createWorker, (dead, reason) =>
      this.#replace(dead, reason),
    );
    // One that could not be constructed is not kept: the next call tries again.
    if (generation.dead) return generation;
    this.#generation = generation;
    generation.started = this.#prepare(generation);
    return generation;
  }

  /** Waits for the engine in a fresh worker and re-loads the last good policy; `null` when ready. */
  async #prepare(generation: Generation): Promise<string | null> {
    // Each step answers its value, or the reason it failed (a string).
    let failure: string | null = null;
    // The page's compiled engine.wasm, when it has one within the start timeout (else the worker compiles it).
    const module = this.#compileOnPage
      ? await pageEngineModule(this.#codeIntegrity, this.#startTimeoutMs)
      : null;
    const checking = this.#call<WorkerStatus | string>(
      generation,
      {
        send: (remote) => (module === null ? remote.status() : remote.status(module)),
        check: checkStatus,
        fault: (reason) => reason,
      },
      this.#startTimeoutMs,
    );
    const policyText = this.#lastGoodPolicy;
    // Taken now, after the worker before this one was ended: nothing it answers can be added later.
    const counted = policyText === null ? [] : (this.#counted?.calls() ?? []);
    const results = policyText === null ? [] : this.#results.records();
    const reloading =
      policyText === null
        ? null
        : this.#call<PolicyLoad | string>(
            generation,
            {
              send: (remote) =>
                results.length > 0
                  ? remote.load(policyText, counted, results)
                  : counted.length === 0
                    ? remote.load(policyText)
                    : remote.load(policyText, counted),
              check: checkPolicyLoad,
              fault: (reason) => reason,
            },
            this.#startTimeoutMs,
          );
    generation.queued = true;
    const status = await checking;
    if (typeof status === 'string') failure = status;
    if (failure === null && reloading !== null) {
      const load = await reloading;
      if (typeof load === 'string') failure = load;
      else if (!load.ok)
        failure = `the fresh evaluator worker refused the last good policy ("${load.errors[0]?.message ?? ''}")`;
    }
    if (failure !== null) {
      this.#kill(generation, failure);
      return failure;
    }
    generation.ready = true;
    return null;
  }

  /** Ends a worker for `reason`, then starts its replacement if it had been working. */
  #replace(generation: Generation, reason: string): void {
    const wasReady = generation.ready;
    this.#kill(generation, reason);
    if (wasReady && !this.#closed && this.#generation === null) this.#start();
  }

  /** Terminates a worker and settles everything in flight on it with `reason`. */
  #kill(generation: Generation, reason: string): void {
    if (generation.dead) return;
    if (this.#generation === generation) this.#generation = null;
    endGeneration(generation, reason);
  }
}
