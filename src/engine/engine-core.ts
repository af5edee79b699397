/**
 * The engine host's core: one engine.wasm instance that loads a policy and decides calls. It is
 * what the evaluator worker starts with; `Engine` (engine.ts) adds what a first decision does not
 * need (batches, tool results, restores, the original ABI), which the worker loads on demand. With the
 * modules it uses (memory, call writer, verdict reader, plan) it is the only code that touches the
 * engine's memory and pointers. `evaluate` writes only the fields the entry's rules read into the
 * request region and expands the engine's packed code. The engine stays the authority: every
 * condition, rule and rate limit is evaluated in wasm.
 *
 * Invariants:
 * - `evaluate` never throws; bad input is an `invalid_request` Deny, no policy a `no_policy` Deny
 * - a trap (or any exception from the module) marks the instance dead; it then answers `engine_fault`
 * - views over `memory.buffer` are refreshed whenever the memory may have grown
 * - every buffer this host allocates in the module is freed before the call returns
 * - `x`, `mem`, `writer` and `loaded` are for the engine host's own modules, never handed on
 */
import type { ToolCall } from '../call/decision.ts';
import type { LoadedState, PlanJson } from './policy-plan.ts';
import type { EvaluatorState, PolicyInfo, PolicyLoad, Verdict } from './types.ts';
import type { CountedCallSink } from './counted-calls.ts';
import { type EngineExports, instantiateEngine } from './engine-exports.ts';
import { WasmMemory } from './wasm-memory.ts';
import { CallWriter, InvalidValue } from './call-writer.ts';
import { buildState } from './policy-plan.ts';
import { loadFailure, readInitReply } from './load-reply.ts';
import { type CallPlan, planCall, unreadable } from './call-plan.ts';
import { errorText } from '../encoding/text.ts';
import { NOT_PLAIN, jsonRoot } from './call-values.ts';
import { constantVerdict, deny, explainedVerdict } from './verdict-reader.ts';
import { countedCall } from './counted-call-fields.ts';
import { CODE_DETAIL } from './engine-boundary.ts';
import { memoise, memoised } from './verdict-memo.ts';

/** A loaded engine.wasm instance with at most one active policy: load and decide. */
export class EngineCore {
  /**
   * Instantiates the module; refuses unknown imports or ABI version. Cheap: call again after a fault.
   * @throws when the module imports anything but `env.abort`, lacks an export, or has another ABI version
   */
  static create(module: WebAssembly.Module): Promise<EngineCore> {
    return EngineCore.instantiate(module, (exports) => new EngineCore(exports));
  }

  /** Instantiates `module` as the instance `make` builds on its exports (this class or a subclass). */
  protected static async instantiate<T extends EngineCore>(
    module: WebAssembly.Module,
    make: (exports: EngineExports) => T,
  ): Promise<T> {
    let engine: T | null = null;
    const exports = await instantiateEngine(module, (ptr) =>
      engine === null ? null : engine.mem.readAsString(ptr),
    );
    engine = make(exports);
    return engine;
  }

  /** The module's exports (the engine host's modules only). */
  readonly x: EngineExports;
  /** The module's memory (the engine host's modules only). */
  readonly mem: WasmMemory;
  /** The request region's writer (the engine host's modules only). */
  readonly writer: CallWriter;
  #dead: string | null = null;
  #state: LoadedState | null = null;
  /** The active policy's text (null: none, or given as bytes) and its load's answer. */
  #text: string | null = null;
  #load: PolicyLoad | null = null;
  #counted: CountedCallSink | null = null;
  /** The session the engine's decisions read now (null: unknown, select before deciding). */
  #session: string | null = null;

  protected constructor(exports: EngineExports) {
    this.x = exports;
    this.mem = new WasmMemory(exports);
    this.writer = new CallWriter(exports, this.mem);
  }

  /** The loaded policy's facts, or null before the first successful load. */
  get policy(): PolicyInfo | null {
    return this.#state?.info ?? null;
  }

  /** The host's state of the loaded policy, or null (the engine host's modules only). */
  get loaded(): LoadedState | null {
    return this.#state;
  }

  /** Size of the engine's linear memory in bytes, for watching growth (no pointer leaves this module). */
  get memoryBytes(): number {
    return this.mem.bytes;
  }

  /** Why this instance is dead (after a trap), or null while it works. */
  get fault(): string | null {
    return this.#dead;
  }

  /** Marks the instance dead after `e` (a trap); returns the reason every later call gets. */
  kill(e: unknown): string {
    this.#dead = `engine fault: ${errorText(e)}; this engine instance is discarded — create a new one`;
    return this.#dead;
  }

  /** Forgets which session the engine reads (after an entry point that selects its own). */
  unselectSession(): void {
    this.#session = null;
  }

  /**
   * Loads a policy (JSON text or UTF-8 bytes). A failed load keeps the previous policy. The text
   * already active is not loaded again: its rate-limit and budget windows go on.
   */
  load(policy: string | Uint8Array): PolicyLoad {
    if (this.#dead) return loadFailure(this.#dead);
    if (typeof policy !== 'string' && !(policy instanceof Uint8Array))
      return loadFailure('expected the policy as JSON text or UTF-8 bytes');
    if (policy === this.#text) return this.#load!;
    const init = (ptr: number, length: number) => this.mem.take(this.x.init(ptr, length));
    try {
      const load = readInitReply(
        typeof policy === 'string' ? this.mem.sendText(policy, init) : this.mem.send(policy, init),
      );
      if (!load.ok) return load;
      const planText = this.mem.take(this.x.plan());
      this.#state = buildState(load.policy, JSON.parse(planText) as PlanJson, (entry) =>
        this.x.countedKeep(entry),
      );
      this.writer.sync();
      this.#text = typeof policy === 'string' ? policy : null;
      this.#load = load;
      return load;
    } catch (e) {
      const message = this.kill(e);
      this.#state = null;
      return loadFailure(message);
    }
  }

  /**
   * Decides one call. Never throws: bad input and traps are Deny (after a trap the instance is dead).
   * Verdicts without per-call detail may be shared, frozen objects: copy before adding fields.
   */
  evaluate(call: ToolCall, nowSeconds: number): Verdict {
    if (this.#dead) return deny('engine_fault', this.#dead);
    // Reading the call runs the caller's code (getters, Proxy traps). What it throws is a bad
    // request, not an engine fault: the instance (and its rate-limit windows) must survive it.
    let plan: CallPlan;
    let args: unknown;
    try {
      plan = planCall(call, this.#state);
      if (plan.early !== null) return plan.early;
      args = Object.hasOwn(call, 'args') ? call.args : undefined;
    } catch (e) {
      return unreadable(e);
    }
    return this.decidePlanned(plan, args, nowSeconds);
  }

  /**
   * Decides a call whose own fields were read into `plan` (see {@link planCall}; a batch reads each
   * call object once) on `args`, read as JSON here ({@link jsonRoot}). Never throws.
   */
  decidePlanned(plan: CallPlan, args: unknown, nowSeconds: number): Verdict {
    let argsRoot: unknown;
    try {
      argsRoot = jsonRoot(args);
    } catch (e) {
      return unreadable(e);
    }
    return this.#decideArgs(this.#state!, plan, argsRoot, nowSeconds);
  }

  /** Decides a call whose own fields passed ({@link planCall}) on its args, read as JSON ({@link jsonRoot}). */
  #decideArgs(state: LoadedState, plan: CallPlan, argsRoot: unknown, nowSeconds: number): Verdict {
    if (argsRoot === NOT_PLAIN)
      return deny('invalid_request', 'invalid request: args must be a plain JSON object');
    if (plan.late !== null) return plan.late;
    const entry = plan.entry!;
    const roots: [unknown, unknown, unknown] = [argsRoot, plan.agent, plan.resource];
    const now = plan.now ?? nowSeconds;
    const hasNow = typeof now === 'number' && Number.isFinite(now) ? 1 : 0;
    let code: number;
    try {
      let invalid: InvalidValue | null;
      try {
        invalid = this.writer.write(entry, roots, state.dataStart);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) throw e;
        invalid = new InvalidValue(
          `the call cannot be read (${errorText(e)}); pass plain JSON data`,
        );
      }
      if (invalid !== null) return deny('invalid_request', `invalid request: ${invalid.message}`);
      if (state.taint && this.#session !== plan.session) this.#selectSession(plan.session);
      code = this.x.decide(entry.index, hasNow ? now : 0, hasNow | (plan.approved ? 2 : 0));
      if (code < 0)
        return deny('engine_fault', 'engine fault: the engine rejected the request slots');
      // Counted (engine/assembly/decision.ts): a final Allow, or an Ask a person approved, on a pair that counts calls.
      if (
        entry.keep > 0 &&
        this.#counted !== null &&
        ((code & 3) === 0 || (plan.approved && (code & 3) === 2))
      ) {
        this.#counted(countedCall(entry, now, roots));
      }
      if ((code & CODE_DETAIL) === 0)
        return entry.verdicts.get(code) ?? constantVerdict(state, entry, code);
      // A repeated denial: the engine says which earlier explanation this is (same entry, code and
      // field values, compared byte for byte), so the verdict built then is the answer now.
      const mem = this.mem;
      mem.views();
      const memoId = mem.dv.getFloat64(this.writer.region, true);
      return (
        memoised(state.memo, memoId) ??
        memoise(state.memo, memoId, explainedVerdict(this.x, mem, state, code, roots))
      );
    } catch (e) {
      return deny('engine_fault', this.kill(e));
    }
  }

  /**
   * Additive: `sink` receives each call the engine counts (see counted-calls.ts) as it counts it,
   * on the fast path (`evaluate`, batches); `null` stops it.
   */
  countCalls(sink: CountedCallSink | null): void {
    this.#counted = sink;
  }

  /** Makes `key` the session the engine's next decisions read. */
  #selectSession(key: string): void {
    if (this.mem.sendText(key, (ptr, length) => this.x.session(ptr, length)) !== 1)
      throw new Error('engine refused the session name');
    this.#session = key;
  }

  /** Additive: the state that outlives a call (untrusted content per session); null when dead. */
  state(): EvaluatorState | null {
    if (this.#dead) return null;
    try {
      return JSON.parse(this.mem.take(this.x.state())) as EvaluatorState;
    } catch (e) {
      this.kill(e);
      return null;
    }
  }

  /** Additive: forgets every session's untrusted content. */
  forget(): void {
    if (this.#dead) return;
    try {
      this.x.forget();
    } catch (e) {
      this.kill(e);
    }
  }
}
