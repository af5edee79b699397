/**
 * The engine in this thread: Node's default backend (the CLI, servers, MCP adapters).
 *
 * Checklist:
 * - every answer is a `Verdict`; nothing here throws at a caller;
 * - after a trap kills the instance (`engine.fault`), a fresh instance is built from the
 *   same compiled module, the last good policy is loaded into it and the calls its rate limits
 *   counted are restored (a {@link CountedCallJournal} kept here, outside the instance); until it
 *   is ready, calls are Deny with a reason that says so, and a restore that fails keeps it so;
 * - a load of the active policy's text keeps what was counted (the engine keeps its windows);
 * - the untrusted results it kept are recorded again into a fresh instance (a
 *   {@link ToolResultJournal}), after the counted calls, before it answers a call;
 * - after `close`, every call is a Deny.
 */
import { EngineApprovals } from './engine-approvals.ts';
import type { ApprovalEvidence } from './approval-evidence.ts';
import { CountedCallJournal } from './counted-call-journal.ts';
import type { CountedCall } from '../engine/counted-calls.ts';
import type { ToolCall } from '../call/decision.ts';
import { Engine } from '../engine/engine.ts';
import type {
  EvaluatorState,
  PolicyLoad,
  RecordAnswer,
  ToolResultRecord,
  Verdict,
} from '../engine/types.ts';
import type { JournalRecord } from './tool-result-journal.ts';
import { ToolResultJournal } from './tool-result-journal.ts';
import { APPROVED_CALL } from '../engine/approved-call.ts';
import type { SyncEvaluatorBackend } from './evaluator-backend.ts';

/** Options of {@link InlineBackend.create}. */
export interface InlineBackendOptions {
  /** The compiled engine; default: `engine/build/engine.wasm` read from disk (Node). */
  module?: WebAssembly.Module;
}

/** Runs an {@link Engine} in this thread; see the module comment. */
export class InlineBackend implements SyncEvaluatorBackend {
  #module: WebAssembly.Module;
  #engine: Engine | null;
  #lastGoodPolicy: string | null = null;
  #restarting: Promise<void> | null = null;
  #closed = false;
  /**
   * Tickets for Ask decisions, issued and redeemed here, and the approvals a person gave that cover
   * later calls (engine-approvals.ts). WebAuthn approvals are checked by the worker engine only
   * (see ApprovalLedgerOptions.loadWebAuthnCheck).
   */
  readonly #approvals = new EngineApprovals();
  /** What the engine counted, kept outside it: a fresh instance restores it (see the checklist). */
  readonly #counted = new CountedCallJournal();
  /** The untrusted results the engine kept, for a fresh instance (tool-result-journal.ts). */
  readonly #results = new ToolResultJournal();

  private constructor(module: WebAssembly.Module, engine: Engine) {
    this.#module = module;
    this.#engine = engine;
    engine.countCalls((call) => this.#counted.add(call));
  }

  /** Compiles (or takes) the engine module and starts an engine. Rejects when it cannot start. */
  static async create(options: InlineBackendOptions = {}): Promise<InlineBackend> {
    const module = options.module ?? (await defaultModule());
    return new InlineBackend(module, await Engine.create(module));
  }

  /** Loads a policy at once; keeps the previous one when the new one is invalid. */
  loadNow(policyText: string): PolicyLoad {
    if (this.#closed || this.#engine === null) {
      const message = this.#closed
        ? 'the evaluator is closed; create a new one'
        : 'the engine is restarting after a fault; retry';
      return { ok: false, errors: [{ severity: 'error', path: 'policy', message }], warnings: [] };
    }
    const engine = this.#engine;
    const result = engine.load(policyText);
    if (result.ok) {
      // The text already active keeps its windows (the engine did not load it again).
      if (policyText !== this.#lastGoodPolicy) this.#counted.clear();
      this.#lastGoodPolicy = policyText;
      this.#approvals.policyLoaded(policyText);
    } else if (engine.fault !== null) this.#restart();
    return result;
  }

  /** The untrusted results kept for a fresh engine, in order (see evaluator-backend.ts). */
  untrustedResults(): readonly JournalRecord[] {
    return this.#results.records();
  }

  /** The calls the engine counted under the active policy, in order (see evaluator-backend.ts). */
  countedCalls(): readonly CountedCall[] {
    return this.#counted.calls();
  }

  /** Decides one call at once. */
  evaluateNow(call: ToolCall, nowSeconds: number): Verdict {
    const verdict = this.#decided(call, nowSeconds);
    return verdict.decision === 'Ask' ? this.#ask(call, verdict, nowSeconds) : verdict;
  }

  /** The engine's answer, before any approval (as the worker's approvals get it); a fault restarts it. */
  #decided(call: ToolCall, nowSeconds: number): Verdict {
    const engine = this.#engine;
    if (engine === null) {
      this.#restart();
      return this.#unavailable();
    }
    const verdict = engine.evaluate(call, nowSeconds);
    if (engine.fault !== null) this.#restart();
    return verdict;
  }

  /** An Ask: lifted by a remembered approval that covers it, else offered a ticket. */
  #ask(call: ToolCall, verdict: Verdict, nowSeconds: number): Verdict {
    // A call already decided as approved is not covered: covering it would count it twice.
    if (Object.hasOwn(call, APPROVED_CALL)) return this.#approvals.tickets.attach(call, verdict);
    return this.#approvals.decided(call, verdict, nowSeconds, (approved) =>
      this.#decided(approved, nowSeconds),
    );
  }

  /** {@inheritDoc EvaluatorBackend.approve} */
  approve(
    nonce: string,
    call: ToolCall,
    nowSeconds: number,
    evidence?: ApprovalEvidence,
  ): Promise<Verdict> {
    return this.#approvals.approve(
      nonce,
      call,
      nowSeconds,
      (checked) => this.#decided(checked, nowSeconds),
      evidence,
    );
  }

  /** {@inheritDoc EvaluatorBackend.load} */
  load(policyText: string): Promise<PolicyLoad> {
    return Promise.resolve(this.loadNow(policyText));
  }

  /** {@inheritDoc EvaluatorBackend.evaluate} */
  evaluate(call: ToolCall, nowSeconds: number): Promise<Verdict> {
    return Promise.resolve(this.evaluateNow(call, nowSeconds));
  }

  /** {@inheritDoc EvaluatorBackend.evaluateBatch} */
  evaluateBatch(calls: readonly ToolCall[], nowSeconds: number): Promise<Verdict[]> {
    const engine = this.#engine;
    if (engine === null) {
      this.#restart();
      return Promise.resolve(calls.map(() => this.#unavailable()));
    }
    const verdicts = engine.evaluateBatch(calls, nowSeconds);
    if (engine.fault !== null) this.#restart();
    return Promise.resolve(
      verdicts.map((verdict, i) =>
        verdict.decision === 'Ask' ? this.#ask(calls[i] as ToolCall, verdict, nowSeconds) : verdict,
      ),
    );
  }

  /** {@inheritDoc EvaluatorBackend.recordResult} */
  recordResult(record: ToolResultRecord): Promise<RecordAnswer> {
    const engine = this.#engine;
    if (engine === null) {
      this.#restart();
      return Promise.resolve({ ok: false, error: this.#unavailable().reason });
    }
    const answer = engine.recordResult(record);
    if (engine.fault !== null) this.#restart();
    else if (answer.ok && answer.untrusted) this.#results.add(record, journalText(record));
    return Promise.resolve(answer);
  }

  /** {@inheritDoc EvaluatorBackend.state} */
  state(): Promise<EvaluatorState | null> {
    const state = this.#engine?.state() ?? null;
    return Promise.resolve(
      state === null ? null : { ...state, remembered: this.#approvals.remembered.list() },
    );
  }

  /** {@inheritDoc EvaluatorBackend.forget} */
  forget(): Promise<void> {
    this.#results.clear();
    this.#approvals.remembered.forget();
    this.#engine?.forget();
    return Promise.resolve();
  }

  /** {@inheritDoc EvaluatorBackend.close} */
  close(): void {
    this.#closed = true;
    this.#engine = null;
  }

  #unavailable(): Verdict {
    const reason = this.#closed
      ? 'engine fault: the evaluator is closed; load a new perso instance'
      : 'engine fault: the engine is restarting after a fault; retry the call';
    return { decision: 'Deny', reason, kind: 'engine_fault' };
  }

  // Replaces a faulted instance; a trap may have left its memory in any state.
  #restart(): void {
    if (this.#restarting !== null || this.#closed) return;
    this.#engine = null;
    this.#restarting = Engine.create(this.#module).then(
      (engine) => {
        this.#restarting = null;
        if (this.#closed) return;
        if (this.#lastGoodPolicy !== null) {
          const counted = this.#counted.calls();
          // A fresh instance that cannot carry on the old one's windows answers nothing: the next call tries again.
          if (
            !engine.load(this.#lastGoodPolicy).ok ||
            engine.restoreCounted(counted) !== counted.length ||
            !this.#results.records().every((record) => engine.recordResult(record).ok)
          )
            return;
        }
        engine.countCalls((call) => this.#counted.add(call));
        this.#engine = engine;
      },
      () => {
        // Stay unavailable (every call is Deny); the next call tries again.
        this.#restarting = null;
      },
    );
  }
}

/** A recorded result's JSON for the journal; `null` when it has none (the engine refused it then). */
function journalText(record: ToolResultRecord): string {
  try {
    return JSON.stringify(record.result) ?? 'null';
  } catch {
    return 'null';
  }
}

let compiled: Promise<WebAssembly.Module> | null = null;

// Node only: imported lazily so this module also loads in a browser (which passes `module`).
function defaultModule(): Promise<WebAssembly.Module> {
  compiled ??= import('../engine/engine-module.ts').then(({ loadEngineModule }) =>
    loadEngineModule(),
  );
  compiled.catch(() => {
    compiled = null;
  });
  return compiled;
}
