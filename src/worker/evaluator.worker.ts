/**
 * The evaluator worker: engine.wasm behind one small, frozen, Comlink-exposed object.
 *
 * This file exports types only ({@link EvaluatorApi}, declared in `evaluator-api.ts` so that the
 * main thread's DOM realm can import them without this worker-realm code); `src/backend/worker-backend.ts`
 * starts the worker and owns the proxy. Invariants:
 * - one exposed object of eight functions (load, evaluate, evaluateBatch, status, approve,
 *   recordResult, state, forget), frozen along
 *   with each function, with a null prototype so no path reaches `Object.prototype`;
 * - only plain calls of those functions reach it (see `calls-only-endpoint.ts`);
 * - every function answers a {@link WorkerReply}; nothing throws across the boundary;
 * - the engine starts on the first call (`worker-engine.ts`); a compile failure is a reply, not a
 *   crash; with `fallback=js` in its name, a worker whose engine.wasm cannot compile runs the
 *   reference evaluator (src/reference/) instead, and its verdicts say `evaluator: 'js'`;
 * - the engine is `EngineCore` (load and decide); tool results and a fresh engine's restores need
 *   the result code (`worker-results.ts`, `results-on-demand.ts`), batches their own
 *   (`worker-batch.ts`, `batch-on-demand.ts`), each loaded on demand: while one loads, later calls
 *   wait (`call-order.ts`), so calls are still answered in order;
 * - every module it loads lazily (its approvals, the WebAuthn verifier, the result code, the batch
 *   code, the JS fallback) comes from the URL the page named, checked against the digest the page named
 *   (`named-module.ts`); one that fails is a Deny (a result not recorded, a restore refused);
 * - the policy object never leaves the worker: callers see `PolicyInfo` and verdicts only;
 * - each answer lists the calls the engine counted while making it (`worker-answers.ts`), and
 *   `load` restores such a list into a fresh engine: the page keeps the windows, not this worker;
 * - approvals of Ask decisions are issued and redeemed here (`ApprovalLedger`): the main thread
 *   can send back a ticket it was given, never mint one or turn an Ask into Allow by itself;
 * - that code (`worker-approvals.ts`) loads on the first Ask (`approvals-on-demand.ts`), from the
 *   URL the page named and checked against the digest it named; an Ask whose approvals cannot load
 *   is a Deny that says why, and the next Ask tries again.
 */
import { expose } from 'comlink';
import { ENGINE_ABI_VERSION } from '../engine/engine-exports.ts';
import type { ToolCall } from '../call/decision.ts';
import type { PolicyLoad, Verdict } from '../engine/types.ts';
import type { EvaluatorApi } from './evaluator-api.ts';
import { callsOnlyEndpoint } from './calls-only-endpoint.ts';
import { importNamed } from './named-module.ts';
import { ApprovalsOnDemand, approvalsFault } from './approvals-on-demand.ts';
import type { Approvals } from './approvals-on-demand.ts';
import { namedApprovals, namedWebAuthn } from './worker-name.ts';
import { answer, badRequest, compileFault } from './worker-answers.ts';
import { type DecidingEngine, engine, readyEngine, startEngine } from './worker-engine.ts';
import { resultsLoaded, resultsOnDemand } from './results-on-demand.ts';
import { inOrder, inTurn, waiting } from './call-order.ts';
import { batchCode, batchFault } from './batch-on-demand.ts';
import { EngineCore } from '../engine/engine-core.ts';
import { loadFailure } from '../engine/load-reply.ts';

export type { EvaluatorApi, WorkerFault, WorkerReply, WorkerStatus } from './evaluator-api.ts';

declare const self: DedicatedWorkerGlobalScope;

function isNow(nowSeconds: unknown): nowSeconds is number {
  return typeof nowSeconds === 'number' && Number.isFinite(nowSeconds);
}

function isCall(call: unknown): call is ToolCall {
  return typeof call === 'object' && call !== null && !Array.isArray(call);
}

// WebAuthn tickets are bound to this worker's origin (the page's: the bridge starts it same-origin;
// `origin`, not `location.origin`, which differs for a page in an about:srcdoc frame) and checked
// against the authenticators registered there.
const approvals = new ApprovalsOnDemand(namedApprovals, {
  origin: self.origin,
  loadWebAuthnCheck: () =>
    importNamed<typeof import('./worker-webauthn.ts')>(
      namedWebAuthn,
      'WebAuthn verifier',
      './worker-webauthn.ts',
    ),
});

/** A verdict as the caller gets it: an Ask goes through the approvals (loaded on the first). */
function decided(
  engine: DecidingEngine,
  call: ToolCall,
  verdict: Verdict,
  nowSeconds: number,
): Promise<Verdict> {
  return approvals.decided(call, verdict, nowSeconds, (approved) =>
    engine.evaluate(approved, nowSeconds),
  );
}

/** Loads `policyText` into `engine`, and tells the approvals (and the result code) about it. */
function loaded(engine: DecidingEngine, policyText: string): PolicyLoad {
  const load = engine.load(policyText);
  if (!load.ok) return load;
  approvals.policyLoaded(policyText);
  approvals.prefetch(policyText, load.policy);
  // A policy that reads untrusted content gets results recorded: its result code loads now.
  if (load.policy.untrustedTools !== undefined) void resultsOnDemand(engine);
  return load;
}

const methods: EvaluatorApi = {
  async load(policyText, restore, results) {
    if (typeof policyText !== 'string') return badRequest('load takes the policy as JSON text');
    if (restore === undefined && results === undefined) {
      const state = await inTurn();
      if (!state.ok) return compileFault(state.error);
      return answer(loaded(state.engine, policyText));
    }
    // Restoring what an earlier worker kept needs the result code: loaded before the policy, so
    // that a module that cannot load leaves the engine as it was.
    return inOrder(resultsLoaded(), async () => {
      const state = await readyEngine();
      if (!state.ok) return compileFault(state.error);
      const memory = await resultsOnDemand(state.engine);
      if (!memory.ok) return answer(loadFailure(memory.error));
      const problem = memory.module.restoreRequestError(restore, results);
      if (problem !== null) return badRequest(problem);
      const load = loaded(state.engine, policyText);
      const failure = load.ok ? memory.module.restore(memory.memory, restore, results) : null;
      return answer(failure === null ? load : loadFailure(failure));
    });
  },

  async evaluate(call, nowSeconds) {
    if (!isCall(call) || !isNow(nowSeconds))
      return badRequest('evaluate takes a tool call object and a time in seconds');
    const ready = engine;
    if (ready !== null && waiting === null) {
      const verdict = ready.evaluate(call, nowSeconds);
      return answer(
        verdict.decision === 'Ask' ? await decided(ready, call, verdict, nowSeconds) : verdict,
      );
    }
    const state = await inTurn();
    if (!state.ok) return compileFault(state.error);
    const verdict = state.engine.evaluate(call, nowSeconds);
    return answer(await decided(state.engine, call, verdict, nowSeconds));
  },

  async evaluateBatch(batch, nowSeconds, argsJson) {
    if (!Array.isArray(batch) || !batch.every(isCall) || !isNow(nowSeconds)) {
      return badRequest('evaluateBatch takes an array of tool call objects and a time in seconds');
    }
    return inOrder(batchCode.loaded !== null, async () => {
      const state = await readyEngine();
      if (!state.ok) return compileFault(state.error);
      let code: typeof import('./worker-batch.ts');
      try {
        code = await batchCode.load();
      } catch (error) {
        return answer(batch.map(() => batchFault(error)));
      }
      const engine = state.engine;
      const verdicts = await code.decideBatch(
        engine instanceof EngineCore ? code.batchOf(engine) : engine,
        batch,
        nowSeconds,
        argsJson,
        (call, verdict) => decided(engine, call, verdict, nowSeconds),
      );
      return typeof verdicts === 'string' ? badRequest(verdicts) : answer(verdicts);
    });
  },

  async status(compiled) {
    const state = await (engine !== null ? readyEngine() : startEngine(compiled));
    if (!state.ok) return compileFault(state.error);
    return { ok: true, value: { abiVersion: ENGINE_ABI_VERSION, policy: state.engine.policy } };
  },

  async approve(nonce, call, nowSeconds, evidence) {
    if (typeof nonce !== 'string' || !isCall(call) || !isNow(nowSeconds)) {
      return badRequest('approve takes a nonce, a tool call object and a time in seconds');
    }
    const state = await inTurn();
    if (!state.ok) return compileFault(state.error);
    let loaded: Approvals;
    try {
      loaded = await approvals.load();
    } catch (error) {
      return answer(approvalsFault(error));
    }
    const verdict = await loaded.approve(
      nonce,
      call,
      nowSeconds,
      (checked) => state.engine.evaluate(checked, nowSeconds),
      evidence,
    );
    return answer(verdict);
  },

  recordResult(record) {
    return inOrder(resultsLoaded(), async () => {
      const state = await readyEngine();
      if (!state.ok) return compileFault(state.error);
      const memory = await resultsOnDemand(state.engine);
      if (!memory.ok) return answer({ ok: false, error: memory.error });
      if (!memory.module.isResultRecord(record))
        return badRequest('recordResult takes a tool result object');
      return answer(memory.memory.recordResult(record));
    });
  },

  async state() {
    const state = await inTurn();
    if (!state.ok) return compileFault(state.error);
    const now = state.engine.state();
    return answer(
      now === null ? null : { ...now, remembered: approvals.loaded?.remembered.list() ?? [] },
    );
  },

  async forget() {
    const state = await inTurn();
    if (!state.ok) return compileFault(state.error);
    state.engine.forget();
    approvals.loaded?.remembered.forget();
    return answer(null);
  },
};

// Frozen all the way down: the object (with no prototype to climb) and each function on it.
for (const method of Object.values(methods)) Object.freeze(method);
const api: EvaluatorApi = Object.freeze(
  Object.assign(Object.create(null) as EvaluatorApi, methods),
);

expose(api, callsOnlyEndpoint(self, api));
