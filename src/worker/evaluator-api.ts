/**
 * The evaluator worker's interface: the only thing the main thread knows about the worker.
 *
 * Types and one constant, with no worker globals, so both realms can import it: the worker
 * implements {@link EvaluatorApi} (`evaluator.worker.ts`, exposed with Comlink) and the bridge
 * calls it through `Comlink.wrap` (`src/backend/worker-backend.ts`), validating every reply, since a
 * reply is data from another realm.
 */
import type {
  EvaluatorState,
  PolicyInfo,
  PolicyLoad,
  RecordAnswer,
  Verdict,
} from '../engine/engine.ts';
import type { JournalRecord } from '../backend/tool-result-journal.ts';
import type { CountedCall } from '../engine/counted-calls.ts';
import type { ToolCall } from '../call/decision.ts';
import type { ApprovalEvidence } from '../backend/approval-evidence.ts';

/**
 * The evaluator worker's name, followed by a space and engine.wasm's URL when the bridge starts it
 * (`perso-evaluator https://…/engine-1a2b.wasm`), then the recorded SHA-256 and the URL of each
 * module it loads on demand (`src/backend/worker-module-urls.ts`); without a URL the worker finds the wasm
 * next to itself. Both realms need the same text.
 */
export const EVALUATOR_WORKER_NAME = 'perso-evaluator';

/**
 * The word in place of a digest in the worker's name where the host turned code integrity off
 * (`codeIntegrity: false`, e.g. behind a dev server that rewrites JavaScript).
 */
export const EVALUATOR_UNCHECKED = 'unchecked';

/**
 * The word between the name and the URL (`perso-evaluator fallback=js https://…`) that makes the
 * worker run the reference evaluator where engine.wasm cannot compile (`fallback: 'js'`).
 */
export const EVALUATOR_JS_FALLBACK = 'fallback=js';

/**
 * Why the worker could not answer a request with a value:
 * - `wasm_compile`: engine.wasm could not be fetched, compiled or instantiated (e.g. a CSP
 *   without `'wasm-unsafe-eval'`);
 * - `bad_request`: the request's arguments do not have the types the function takes.
 */
export type WorkerFault = 'wasm_compile' | 'bad_request';

/**
 * Every answer of the worker: a value, or a fault with a message. Additive: `counted` lists the
 * calls the engine counted while it made this answer (src/engine/counted-calls.ts), for the page
 * to keep and give back to a fresh worker; absent when there were none.
 */
export type WorkerReply<T> =
  | { ok: true; value: T; counted?: readonly CountedCall[] }
  | { ok: false; fault: WorkerFault; error: string };

/** What `status()` reports: the engine is ready, and which policy (if any) it holds. */
export interface WorkerStatus {
  /** The engine host's ABI version, for the bridge to check. */
  abiVersion: number;
  /** The loaded policy, or `null` before the first successful load. */
  policy: PolicyInfo | null;
}

/** The worker's whole interface, as the main thread sees it through `Comlink.wrap`. */
export interface EvaluatorApi {
  /**
   * Loads a policy (JSON text); a failed load keeps the previous policy. Additive, optional
   * `restore`: calls an earlier worker's engine counted under this same policy, counted again
   * before this answer (a fresh worker carries on the windows of the one it replaces); when some
   * cannot be, the load answers a failure. Additive, optional `results`: the untrusted results an
   * earlier worker's engine kept (src/backend/tool-result-journal.ts), recorded again after the counted
   * calls; when one cannot be, the load answers a failure too.
   */
  load(
    policyText: string,
    restore?: readonly CountedCall[],
    results?: readonly JournalRecord[],
  ): Promise<WorkerReply<PolicyLoad>>;
  /** Decides one call at `nowSeconds` (for rate limits). */
  evaluate(call: ToolCall, nowSeconds: number): Promise<WorkerReply<Verdict>>;
  /**
   * Decides many calls in one message, in order. With `argsJson` (the JSON text of an array of
   * each call's args), the calls' own `args` are ignored: one string crosses the boundary as a copy
   * of its bytes, where a structured clone of a thousand distinct args objects costs more than
   * the engine deciding them (the calls' shared attribute objects stay cheap to clone).
   */
  evaluateBatch(
    calls: readonly ToolCall[],
    nowSeconds: number,
    argsJson?: string,
  ): Promise<WorkerReply<Verdict[]>>;
  /**
   * Waits for the engine, then reports its ABI version and the loaded policy. Additive, optional
   * `engine`: engine.wasm compiled by the page (modules can be posted to a same-origin worker); when
   * this is the worker's first call, the engine is instantiated from it instead of fetching and
   * compiling the file again. Ignored once the engine started; without it the worker compiles the
   * file itself.
   */
  status(engine?: WebAssembly.Module): Promise<WorkerReply<WorkerStatus>>;
  /**
   * Redeems a person's approval of an Ask (the `approval.nonce` an `evaluate` Ask carried) for
   * this exact call, decides it again and lifts an Ask to Allow; a refused ticket is a Deny.
   * A WebAuthn ticket also needs `evidence`: the assertion, checked here.
   */
  approve(
    nonce: string,
    call: ToolCall,
    nowSeconds: number,
    evidence?: ApprovalEvidence,
  ): Promise<WorkerReply<Verdict>>;
  /**
   * Hands a tool's result to the engine (untrusted content, per session). The page keeps what
   * the engine kept, for a fresh worker.
   */
  recordResult(record: JournalRecord): Promise<WorkerReply<RecordAnswer>>;
  /** The engine's state that outlives a call (untrusted content per session); null when dead. */
  state(): Promise<WorkerReply<EvaluatorState | null>>;
  /** Forgets every session's untrusted content. */
  forget(): Promise<WorkerReply<null>>;
}
