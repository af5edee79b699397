/**
 * The backend seam: where the engine runs. `Perso` talks to an `EvaluatorBackend` only, so the
 * same library runs the engine in this thread (`InlineBackend`, Node's default) or in a Web Worker
 * behind Comlink (`WorkerBackend` in `worker-backend.ts`, the browser's default).
 *
 * Contract (every implementation):
 * - no method rejects or throws over a fault: a crash, trap, timeout or malformed reply is a
 *   `Verdict` with decision Deny and a reason naming the fault (kind `engine_fault`);
 * - `load` swaps the policy atomically and keeps the previous one when the new one is invalid;
 *   a load of the active policy's text keeps its rate-limit and budget windows;
 * - after `close`, every call is a Deny.
 */
import type { ToolCall } from '../call/decision.ts';
import type { ApprovalEvidence } from './approval-evidence.ts';
import type {
  EvaluatorState,
  PolicyLoad,
  RecordAnswer,
  ToolResultRecord,
  Verdict,
} from '../engine/types.ts';
import type { CountedCall } from '../engine/counted-calls.ts';
import type { JournalRecord } from './tool-result-journal.ts';

/** Where the engine runs; see the module comment for the contract. */
export interface EvaluatorBackend {
  /** Loads a policy's JSON text. A failed load keeps the previous policy. */
  load(policyText: string): Promise<PolicyLoad>;
  /** Decides one call; `nowSeconds` is the rate-limit clock. */
  evaluate(call: ToolCall, nowSeconds: number): Promise<Verdict>;
  /**
   * Decides many calls at one time `nowSeconds`, in order. Additive, optional `argsJson`: the JSON
   * text of the calls' args in order, when the caller already made it (Perso's canonical args), so
   * a backend that sends args as text need not make it again; backends may ignore it.
   */
  evaluateBatch(
    calls: readonly ToolCall[],
    nowSeconds: number,
    argsJson?: string,
  ): Promise<Verdict[]>;
  /** Releases the engine (and its worker); later calls are Deny. */
  close(): void;
  /**
   * Redeems a person's approval of an Ask: the ticket (`Verdict.approval.nonce`) this backend
   * issued for this exact call. Decides the call again and lifts an Ask to Allow; a refused ticket
   * is a Deny. Optional: a backend without it cannot approve, and an Ask stays unrun.
   * `evidence`: for a WebAuthn ticket, the page's assertion or why its ceremony gave none.
   */
  approve?(
    nonce: string,
    call: ToolCall,
    nowSeconds: number,
    evidence?: ApprovalEvidence,
  ): Promise<Verdict>;
  /**
   * The calls the engine counted under the active policy, in the order it counted them (what a
   * fresh engine restores). Optional (additive): `Perso.explain` reads its windows from it, and
   * explains fresh windows without it.
   */
  countedCalls?(): readonly CountedCall[];
  /**
   * Additive, optional: the untrusted results the backend kept for a fresh engine, in order
   * (`tool-result-journal.ts`). `Perso.explain` reads the sessions' untrusted texts from it.
   */
  untrustedResults?(): readonly JournalRecord[];
  /**
   * Additive, optional: hands a tool's result to the engine, which keeps it as the session's
   * untrusted content when the policy (or the record's `untrusted`) says so. The backend keeps a
   * copy for a fresh engine (`tool-result-journal.ts`). A fault answers `ok: false`.
   */
  recordResult?(record: ToolResultRecord): Promise<RecordAnswer>;
  /** Additive, optional: the engine's state that outlives a call; null on a fault. */
  state?(): Promise<EvaluatorState | null>;
  /** Additive, optional: forgets every session's untrusted content (the backend's copy too). */
  forget?(): Promise<void>;
}

/**
 * A backend that can also answer in the same turn (the engine runs in this thread). `Perso` uses
 * these when present: no promise per decision, and a policy swap no evaluation can interleave with.
 * An optional addition to the documented contract; the async methods stay the reference.
 */
export interface SyncEvaluatorBackend extends EvaluatorBackend {
  /** `load`, answered at once. */
  loadNow(policyText: string): PolicyLoad;
  /** `evaluate`, answered at once. */
  evaluateNow(call: ToolCall, nowSeconds: number): Verdict;
}

/** Whether a backend offers the same-turn methods of {@link SyncEvaluatorBackend}. */
export function isSyncBackend(backend: EvaluatorBackend): backend is SyncEvaluatorBackend {
  const candidate = backend as Partial<SyncEvaluatorBackend>;
  return typeof candidate.evaluateNow === 'function' && typeof candidate.loadNow === 'function';
}
