/**
 * `WorkerBackend`: the engine in a module Worker behind Comlink, seen from the main thread.
 *
 * The worker exposes its functions with Comlink (behind `worker/calls-only-endpoint.ts`, which lets
 * only plain calls through); this side starts one worker at a time (`worker-generation.ts`,
 * `evaluator-worker.ts`), proves it ready (`worker-readiness.ts`) and sends each call through
 * `worker-call.ts`, which times it and checks its reply (`worker-reply.ts`).
 *
 * Invariants, checked in this order on every call:
 * - the Worker and its client live in private fields: nothing outside this class can reach
 *   them, so page scripts cannot post to the worker or call it;
 * - the worker starts lazily, on the first call (or at once with `startNow`), and proves it is
 *   ready (engine started, from the module this page compiled or its own compile; last good
 *   policy re-loaded) before it answers any call: calls made meanwhile are posted behind that
 *   check (the worker answers in order) and answer its failure if it fails;
 * - every call is timed (`timeoutMs`, default 500) and every reply is validated as the tagged
 *   union it must be (`worker-call.ts`); the first approval, result and batch a worker gets may
 *   make it fetch code on demand, and are given the start timeout on top (a slow network is not a
 *   hung worker);
 * - every fault (failed start, crash, `messageerror`, timeout, trap, malformed reply, wasm compile
 *   failure) answers Deny with a reason naming it, settles all pending calls the same way,
 *   terminates the worker and starts a fresh one that re-loads the last good policy;
 * - the calls the engine counted (rate limits) are kept here, from the answers the caller was
 *   given, and a fresh worker counts them again with that re-load, before it answers any call:
 *   a restart, even one the model causes, does not reset a window (a fresh worker that cannot
 *   restore them fails to start, so every call stays a Deny);
 * - the code for untrusted results loads with the first result (`worker-memory.ts`); calls made
 *   while it loads are posted after that result, and one that cannot load (or not within the
 *   start timeout) leaves the result unrecorded, which the guard withholds;
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
import type { ApprovalEvidence } from './approval-evidence.ts';
import type { CountedCallJournal } from './counted-call-journal.ts';
import type { CountedCall } from '../engine/counted-calls.ts';
import type { JournalRecord, ToolResultJournal } from './tool-result-journal.ts';
import type { EvaluatorBackend } from './evaluator-backend.ts';
import { createEvaluatorWorker } from './evaluator-worker.ts';
import { pageEngineModule } from './page-engine-module.ts';
import { type CallPlan, callWorker } from './worker-call.ts';
import type { CodeIntegrity, WorkerBackendOptions } from './worker-backend-options.ts';
import { CLOSED, faultLoad, faultVerdict } from './worker-faults.ts';
import { endGeneration, startGeneration } from './worker-generation.ts';
import type { Generation } from './worker-generation.ts';
import { readyWorker } from './worker-readiness.ts';
import {
  checkApprovedVerdict,
  checkForgotten,
  checkPolicyLoad,
  checkVerdict,
} from './worker-reply.ts';
import { errorText } from '../encoding/text.ts';
import { withinTime } from './within-time.ts';

export type { CodeIntegrity, WorkerBackendOptions } from './worker-backend-options.ts';

/** How long the worker may take to check a WebAuthn approval (IndexedDB and WebCrypto). */
const WEBAUTHN_TIMEOUT_MS = 5000;

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
  batchWireFormat ??= await withinTime(import('./batch-wire-format.ts'));
  return batchWireFormat;
}

type WorkerMemory = typeof import('./worker-memory.ts');
/** The evaluator memory's code, once loaded (see {@link WorkerBackend.recordResult}). */
let workerMemory: WorkerMemory | null = null;

// Imported lazily: a page that never records a tool's result never downloads it.
async function loadWorkerMemory(): Promise<WorkerMemory> {
  workerMemory ??= await import('./worker-memory.ts');
  return workerMemory;
}

/** A call that may make the worker fetch code on demand the first time it gets one. */
type OnDemandCall = 'approve' | 'recordResult' | 'evaluateBatch';

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
  /**
   * The untrusted results the engine kept; a fresh worker records them again with the re-load.
   * Made with the first result recorded.
   */
  #results: ToolResultJournal | null = null;
  /** While the evaluator memory's code loads for a first result: calls made meanwhile wait for it. */
  #memoryLoading: Promise<unknown> | null = null;
  /** How many times `forget` was called: a result handed over before one is not kept after it. */
  #forgets = 0;
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

  /** The untrusted results kept for a fresh engine, in order (see evaluator-backend.ts). */
  untrustedResults(): readonly JournalRecord[] {
    return this.#results?.records() ?? [];
  }

  /** The calls the engine counted under the active policy, in order (see evaluator-backend.ts). */
  countedCalls(): readonly CountedCall[] {
    return this.#counted?.calls() ?? [];
  }

  /** Loads a policy in the worker; a fault is a failed load, and the previous policy stays active. */
  load(policyText: string): Promise<PolicyLoad> {
    if (this.#counted !== null || !mayCount(policyText)) return this.#load(policyText);
    // Before the worker takes a policy that can count calls, so that none it counts is lost.
    return withinTime(import('./counted-call-journal.ts')).then(
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
        // other's counted calls. A new policy starts new windows, in the engine as here; the
        // same text keeps them (the engine did not load it again).
        accepted: (load) => {
          if (!load.ok) return;
          if (policyText !== this.#lastGoodPolicy) this.#counted?.clear();
          this.#lastGoodPolicy = policyText;
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
    // A batch is one message; big ones get one more timeout per 10,000 calls.
    const timeoutMs = this.#timeoutMs * Math.ceil(calls.length / 10_000);
    return wire.sendBatch(
      (plan) => this.#run(plan, timeoutMs, 'evaluateBatch'),
      calls,
      nowSeconds,
      canonicalArgsJson,
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
      'approve',
    );
  }

  /**
   * Hands a tool's result to the worker's engine; kept here too when it kept it (see the journal).
   * The first loads the code for it (calls made meanwhile are posted after it).
   */
  recordResult(record: ToolResultRecord): Promise<RecordAnswer> {
    const forgets = this.#forgets;
    return this.#withMemory(
      (memory) => this.#recordResult(memory, record, forgets),
      (error) => ({
        ok: false,
        error: `engine fault: the untrusted-content code did not load (${errorText(error)}); the result was not recorded, check that the page can fetch perso's files and record it again`,
      }),
    );
  }

  #recordResult(
    memory: WorkerMemory,
    record: ToolResultRecord,
    forgets: number,
  ): Promise<RecordAnswer> {
    const plain = memory.plainRecord(record);
    if ('error' in plain) return Promise.resolve({ ok: false, error: plain.error });
    return this.#run<RecordAnswer>(
      {
        send: (remote) => remote.recordResult(plain.record),
        check: memory.checkRecordAnswer,
        fault: (reason) => ({ ok: false, error: reason }),
        accepted: (answer) => {
          // A `forget` made after this result was handed over reached the worker after it: the
          // worker forgot it, so a fresh worker must not be given it back.
          if (!answer.ok || !answer.untrusted || forgets !== this.#forgets) return;
          this.#results ??= new memory.ToolResultJournal();
          this.#results.add(plain.record, plain.json);
        },
      },
      this.#timeoutMs,
      'recordResult',
    );
  }

  /** The worker engine's state that outlives a call; null on a fault. */
  state(): Promise<EvaluatorState | null> {
    return this.#withMemory(
      (memory) =>
        this.#run<EvaluatorState | null>(
          {
            send: (remote) => remote.state(),
            check: memory.checkEvaluatorState,
            fault: () => null,
          },
          this.#timeoutMs,
        ),
      () => null,
    );
  }

  /** Forgets every session's untrusted content, here and in the worker. */
  forget(): Promise<void> {
    this.#forgets++;
    this.#results?.clear();
    return this.#run<undefined>(
      { send: (remote) => remote.forget(), check: checkForgotten, fault: () => undefined },
      this.#timeoutMs,
    );
  }

  /**
   * Runs `use` with the evaluator memory's code, loading it first (imported lazily: a page that
   * never records a result never downloads it). While it loads, every call waits (`#run`), and
   * `use` posts before them: a decision made after a result was handed over is decided after it.
   * `failed` answers when it cannot load, or has not loaded within the start timeout (the calls
   * waiting behind it then go on).
   */
  #withMemory<T>(
    use: (memory: WorkerMemory) => Promise<T>,
    failed: (error: unknown) => T,
  ): Promise<T> {
    const loading = this.#memoryLoading;
    if (loading !== null) return loading.then(() => this.#withMemory(use, failed));
    if (workerMemory !== null) return use(workerMemory);
    let answer: Promise<T> | undefined;
    const posted = withinTime(loadWorkerMemory(), this.#startTimeoutMs).then(
      (memory) => {
        this.#memoryLoading = null;
        answer = use(memory);
      },
      (error: unknown) => {
        this.#memoryLoading = null;
        answer = Promise.resolve(failed(error));
      },
    );
    this.#memoryLoading = posted;
    return posted.then(() => answer as Promise<T>);
  }

  /** Terminates the worker; pending and later calls are Deny. */
  close(): void {
    this.#closed = true;
    const generation = this.#generation;
    if (generation !== null) this.#kill(generation, CLOSED);
  }

  /** Runs one call on a ready worker, starting one first if needed (no extra await when ready). */
  #run<T>(plan: CallPlan<T>, callTimeoutMs: number, onDemand?: OnDemandCall): Promise<T> {
    if (this.#closed) return Promise.resolve(plan.fault(CLOSED));
    const memoryLoading = this.#memoryLoading;
    if (memoryLoading !== null)
      return memoryLoading.then(() => this.#run(plan, callTimeoutMs, onDemand));
    const generation = this.#generation ?? this.#start();
    let timeoutMs = callTimeoutMs;
    if (onDemand !== undefined && !generation.posted.has(onDemand)) {
      generation.posted.add(onDemand);
      timeoutMs += this.#startTimeoutMs;
    }
    if (generation.ready) return callWorker(generation, plan, timeoutMs, this.#counted);
    // Posted right behind the readiness check, not after its answer: one round trip less before a
    // fresh worker's first decision. The worker answers in order, so the check is answered first;
    // if it fails, the worker is ended and this call answers that failure, as it would have waiting.
    if (generation.queued)
      return callWorker(generation, plan, this.#startTimeoutMs + timeoutMs, this.#counted);
    // Dead by then (a fault between ready and now): callWorker answers Deny, the replacement is starting.
    return generation.started.then((failure) =>
      failure !== null
        ? plan.fault(failure)
        : callWorker(generation, plan, timeoutMs, this.#counted),
    );
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
    // The page's compiled engine.wasm, when it has one within the start timeout (else the worker compiles it).
    const module = this.#compileOnPage
      ? await pageEngineModule(this.#codeIntegrity, this.#startTimeoutMs)
      : null;
    const failure = await readyWorker(
      generation,
      module,
      this.#lastGoodPolicy,
      this.#counted,
      this.#results,
      this.#startTimeoutMs,
    );
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
