/**
 * The engine host: the only module that touches engine.wasm's memory and pointers.
 *
 * Two ways in:
 * - `evaluateAbi` speaks the original ABI byte for byte (JSON in, length-prefixed JSON out);
 * - `evaluate` is the fast path: at load the engine tells us, per (tool, role) entry, which fields
 *   its rules read; per call we write only those fields (typed: tag + f64, or UTF-8 bytes) into
 *   one reserved region, call `decide`, and expand the packed code. Constant answers come from a
 *   per-entry cache; only answers with detail (failures, Deny/Ask rules, rate limits) cross back as
 *   JSON. The engine stays the authority: every condition, rule and rate limit is evaluated in wasm.
 *
 * Invariants:
 * - `evaluate` never throws; bad input is an `invalid_request` Deny, no policy a `no_policy` Deny
 * - a trap (or any exception from the module) marks the instance dead; it then answers `engine_fault`
 * - views over `memory.buffer` are refreshed whenever the memory may have grown
 * - every buffer this host allocates in the module is freed before the call returns
 */
import type { JsonObject, JsonValue, ToolCall } from '../decision.ts';
import type {
  Diagnostic,
  EvaluatorState,
  PolicyInfo,
  PolicyLoad,
  RecordAnswer,
  ToolResultRecord,
  Verdict,
  VerdictFailure,
} from './types.ts';
import { APPROVED_CALL } from './approved-call.ts';
import type { CountedCall, CountedCallSink } from './counted-calls.ts';
import { SHOWN_UNITS, errorText, truncate } from '../text.ts';

export type {
  Diagnostic,
  EvaluatorState,
  PolicyInfo,
  PolicyLoad,
  RecordAnswer,
  ToolResultRecord,
  Verdict,
  VerdictFailure,
} from './types.ts';

/** The engine ABI version this host speaks; `create` refuses a module exporting another. */
export const ENGINE_ABI_VERSION = 1;

/** The only imports an engine module may declare. */
const ALLOWED_IMPORTS: ReadonlySet<string> = new Set(['env.abort']);

interface EngineExports {
  memory: WebAssembly.Memory;
  ABI_VERSION: WebAssembly.Global;
  alloc(len: number): number;
  dealloc(ptr: number, len: number): void;
  init(ptr: number, len: number): number;
  evaluate(
    toolPtr: number,
    toolLen: number,
    argsPtr: number,
    argsLen: number,
    ctxPtr: number,
    ctxLen: number,
  ): number;
  plan(): number;
  region(): number;
  reserve(bytes: number): number;
  decide(entry: number, now: number, hasNow: number): number;
  explain(): number;
  countedKeep(entry: number): number;
  restoreCounted(entry: number, at: number): number;
  recordResult(ptr: number, len: number): number;
  session(ptr: number, len: number): number;
  state(): number;
  forget(): void;
}

const REQUIRED_EXPORTS = [
  'memory',
  'ABI_VERSION',
  'alloc',
  'dealloc',
  'init',
  'evaluate',
  'plan',
  'region',
  'reserve',
  'decide',
  'explain',
  'countedKeep',
  'restoreCounted',
  'recordResult',
  'session',
  'state',
  'forget',
] as const;

// Slot layout (engine/assembly/slots.ts): 16 bytes per field after a 16-byte region header.
const REGION_HEADER = 16;
const T_MISSING = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_NUMBER = 4;
const T_STRING = 5;
const T_JSON = 6;
const CODE_DETAIL = 1 << 6;
/** Most bytes of field values one call may hand the engine (the original ABI's input limit). */
const MAX_FIELD_BYTES = 1 << 20;
/** Most memoised verdicts kept; the map is emptied when it is full. */
const MEMO_LIMIT = 4096;

const DECISIONS = ['Allow', 'Deny', 'Ask'] as const;
const KINDS = [
  'no_rule',
  'no_condition',
  'condition_passed',
  'condition_failed',
  'denied_by_rule',
  'ask_by_rule',
  'rate_limited',
  'budget_exceeded',
  'budget_unknown',
] as const;
const SOURCES: Record<string, number> = { Arguments: 0, AgentAttributes: 1, ResourceAttributes: 2 };

interface FieldPlan {
  /** `Arguments.amount`: the source and the key path. */
  readonly name: string;
  /** Byte offset of the field's slot from the region start. */
  readonly slot: number;
  readonly source: number;
  readonly path: readonly string[];
}

interface LeafPlan {
  readonly field: FieldPlan;
  readonly fieldB: FieldPlan | null;
  readonly op: string;
  readonly expected?: JsonValue;
}

interface EntryPlan {
  readonly index: number;
  readonly tool: string;
  readonly role: string;
  readonly prefix: string;
  readonly fields: readonly FieldPlan[];
  /** How many counted calls the engine keeps for this pair (its rate limit's max); 0: none counted. */
  readonly keep: number;
  /** The budget's counted field and its `per` field (engine/assembly/budget.ts), when it has one. */
  readonly budget: readonly [FieldPlan, FieldPlan | null] | null;
  /** Constant verdicts by packed code (no detail to render). */
  readonly verdicts: Map<number, Verdict>;
}

interface LoadedState {
  readonly info: PolicyInfo;
  readonly entries: Map<string, Map<string, EntryPlan>>;
  readonly ruleNames: readonly string[];
  /** Indexes of the Ask rules only a WebAuthn assertion releases. */
  readonly webauthnRules: ReadonlySet<number>;
  readonly leaves: readonly LeafPlan[];
  readonly dataStart: number;
  /** Verdicts with detail by the engine's memo id. */
  readonly memo: Map<number, Verdict>;
  /** A rule reads untrusted content: decisions depend on the call's session. */
  readonly taint: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const EMPTY: JsonObject = Object.freeze({}) as JsonObject;

/** Marks a field value the fast path cannot encode; the call is an `invalid_request` Deny. */
class InvalidValue {
  constructor(readonly message: string) {}
}

/** Truncates a name the way the engine does for reasons (64 UTF-16 units, no split pair). */
function shown(s: string): string {
  return truncate(s, SHOWN_UNITS);
}

function noRuleReason(tool: string, role: string): string {
  return `no rule matched tool '${shown(tool)}' for role '${shown(role)}'; applying default_action`;
}

function deny(kind: Verdict['kind'], reason: string): Verdict {
  return { decision: 'Deny', reason, kind };
}

/** Marks a source that is not a plain JSON object. */
const NOT_PLAIN: unique symbol = Symbol('not a plain object');

/**
 * A source object as `JSON.stringify` would write it (see {@link readPath}): `EMPTY` when absent,
 * {@link NOT_PLAIN} when it is not a plain object (an array, a class instance, a primitive). A plain
 * object's JSON differs from itself only through a `toJSON`. One prototype read per source.
 */
function jsonRoot(v: unknown): unknown {
  if (v === undefined || v === null) return EMPTY;
  if (typeof v !== 'object' || Array.isArray(v)) return NOT_PLAIN;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return NOT_PLAIN;
  return typeof (v as { toJSON?: unknown }).toJSON === 'function' ? asJson(v) : v;
}

/**
 * What a call's own fields other than its args decide, read once: the answer already (a malformed
 * call, no policy, no rule), or the entry to decide on with the attribute roots (read as JSON, see
 * {@link jsonRoot}). Inherited fields are absent (a polluted `Object.prototype` adds nothing). A
 * batch reads each distinct call object once and decides each of its calls' args against it.
 */
interface CallPlan {
  /** The answer before the args are looked at: the call, its tool or its role is malformed. */
  readonly early: Verdict | null;
  /** The answer once the args pass: a malformed attribute object, no policy, no rule. */
  readonly late: Verdict | null;
  readonly entry: EntryPlan | null;
  readonly agent: unknown;
  readonly resource: unknown;
  /** The call's own `now`, when it is a number. */
  readonly now: number | undefined;
  /** Carries the approval marker (engine/approved-call.ts). */
  readonly approved: boolean;
  /** The call's guard session (its untrusted content); `''` by default. */
  readonly session: string;
}

/** A call's own `now` that is not a finite number: refused (`null` too, which means "no time" nowhere). */
function badNow(now: unknown): Verdict {
  const shown = now === null ? 'null' : typeof now === 'number' ? String(now) : `a ${typeof now}`;
  return deny(
    'invalid_request',
    `invalid request: now: expected seconds since the epoch as a finite number, got ${shown}; leave it out to use the host's clock`,
  );
}

function earlyAnswer(verdict: Verdict): CallPlan {
  return {
    early: verdict,
    late: null,
    entry: null,
    agent: EMPTY,
    resource: EMPTY,
    now: undefined,
    approved: false,
    session: '',
  };
}

function unreadable(e: unknown): Verdict {
  return deny(
    'invalid_request',
    `invalid request: the call cannot be read (${errorText(e)}); pass plain JSON data`,
  );
}

/**
 * Reads `call` (its getters and Proxy traps run here, once; the caller turns what they throw
 * into a bad request) into a {@link CallPlan} under `state`. Checks in the order the answer names them: the call,
 * tool, role, then (after the args, by the caller) the attributes, the policy, the entry.
 */
function planCall(call: ToolCall, state: LoadedState | null): CallPlan {
  if (typeof call !== 'object' || call === null)
    return earlyAnswer(
      deny('invalid_request', 'invalid request: the call must be an object {tool, args, role}'),
    );
  const tool: unknown = Object.hasOwn(call, 'tool') ? call.tool : undefined;
  const role: unknown = Object.hasOwn(call, 'role') ? call.role : undefined;
  if (typeof tool !== 'string' || tool.length === 0)
    return earlyAnswer(deny('invalid_request', 'invalid request: tool must be a non-empty string'));
  if (typeof role !== 'string' || role.length === 0) {
    return earlyAnswer(
      deny(
        'invalid_request',
        "invalid request: role must be a non-empty string; the host must pass the caller's role",
      ),
    );
  }
  const agent = jsonRoot(Object.hasOwn(call, 'agentAttributes') ? call.agentAttributes : undefined);
  const resource = jsonRoot(
    Object.hasOwn(call, 'resourceAttributes') ? call.resourceAttributes : undefined,
  );
  const now: unknown = Object.hasOwn(call, 'now') ? call.now : undefined;
  const approved = Object.hasOwn(call, APPROVED_CALL);
  const session: unknown = Object.hasOwn(call, 'session') ? call.session : undefined;
  let late: Verdict | null = null;
  let entry: EntryPlan | null = null;
  if (agent === NOT_PLAIN)
    late = deny('invalid_request', 'invalid request: agentAttributes must be a plain JSON object');
  else if (resource === NOT_PLAIN)
    late = deny(
      'invalid_request',
      'invalid request: resourceAttributes must be a plain JSON object',
    );
  else if (now !== undefined && (typeof now !== 'number' || !Number.isFinite(now)))
    late = badNow(now);
  else if (session !== undefined && (typeof session !== 'string' || !isWellFormed(session)))
    late = deny('invalid_request', 'invalid request: session must be a string (the guard session)');
  else if (state === null) late = deny('no_policy', 'no policy loaded; load a valid policy first');
  else {
    entry = state.entries.get(tool)?.get(role) ?? null;
    if (entry === null)
      late = {
        decision: state.info.defaultAction,
        reason: noRuleReason(tool, role),
        kind: 'no_rule',
      };
  }
  return {
    early: null,
    late,
    entry,
    agent,
    resource,
    now: typeof now === 'number' ? now : undefined,
    approved,
    session: typeof session === 'string' ? session : '',
  };
}

/** {@link planCall}, with what reading the call throws as the early answer. */
function planCallSafely(call: ToolCall, state: LoadedState | null): CallPlan {
  try {
    return planCall(call, state);
  } catch (e) {
    return earlyAnswer(unreadable(e));
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` has no lone surrogate (it would not survive UTF-8 encoding unchanged). */
function isWellFormed(s: string): boolean {
  const native = (s as unknown as { isWellFormed?: () => boolean }).isWellFormed;
  return native !== undefined ? native.call(s) : !LONE_SURROGATE.test(s);
}

/** A loaded engine.wasm instance with at most one active policy. */
export class Engine {
  /**
   * Instantiates the module; refuses unknown imports or ABI version. Cheap: call again after a fault.
   * @throws when the module imports anything but `env.abort`, lacks an export, or has another ABI version
   */
  static async create(module: WebAssembly.Module): Promise<Engine> {
    for (const imp of WebAssembly.Module.imports(module)) {
      const name = `${imp.module}.${imp.name}`;
      if (!ALLOWED_IMPORTS.has(name)) {
        throw new Error(
          `engine module imports "${name}"; only env.abort is allowed — rebuild engine.wasm with npm run build:engine`,
        );
      }
    }
    let engine: Engine | null = null;
    const instance = await WebAssembly.instantiate(module, {
      env: {
        abort(msgPtr: number, filePtr: number, line: number, column: number): never {
          throw new Error(
            `engine aborted: ${engine?.readAsString(msgPtr) ?? 'unknown'} at ${engine?.readAsString(filePtr) ?? '?'}:${line}:${column}`,
          );
        },
      },
    });
    const exports = instance.exports as Record<string, unknown>;
    for (const name of REQUIRED_EXPORTS) {
      if (!(name in exports))
        throw new Error(
          `engine module lacks the export "${name}"; rebuild engine.wasm with npm run build:engine`,
        );
    }
    const version = (exports.ABI_VERSION as WebAssembly.Global).value;
    if (version !== ENGINE_ABI_VERSION) {
      throw new Error(
        `engine module has ABI version ${String(version)}; this host speaks ${ENGINE_ABI_VERSION} — use the engine.wasm built with this package`,
      );
    }
    engine = new Engine(exports as unknown as EngineExports);
    return engine;
  }

  readonly #x: EngineExports;
  #u8: Uint8Array;
  #dv: DataView;
  #dead: string | null = null;
  #state: LoadedState | null = null;
  #region = 0;
  #regionCap = 0;
  #counted: CountedCallSink | null = null;
  /** The session the engine's decisions read now (null: unknown, select before deciding). */
  #session: string | null = null;

  private constructor(exports: EngineExports) {
    this.#x = exports;
    this.#u8 = new Uint8Array(exports.memory.buffer);
    this.#dv = new DataView(exports.memory.buffer);
  }

  /** The loaded policy's facts, or null before the first successful load. */
  get policy(): PolicyInfo | null {
    return this.#state?.info ?? null;
  }

  /** Size of the engine's linear memory in bytes, for watching growth (no pointer leaves this module). */
  get memoryBytes(): number {
    return this.#x.memory.buffer.byteLength;
  }

  /** Why this instance is dead (after a trap), or null while it works. */
  get fault(): string | null {
    return this.#dead;
  }

  #views(): void {
    // Growing a (non-shared) memory detaches the old buffer, so a zero length means "refresh".
    if (this.#u8.byteLength === 0) {
      this.#u8 = new Uint8Array(this.#x.memory.buffer);
      this.#dv = new DataView(this.#x.memory.buffer);
    }
  }

  #kill(e: unknown): string {
    this.#dead = `engine fault: ${errorText(e)}; this engine instance is discarded — create a new one`;
    return this.#dead;
  }

  /** Reads an AssemblyScript string (UTF-16, byte length at ptr - 4), for abort messages. */
  private readAsString(ptr: number): string {
    try {
      this.#views();
      if (ptr < 4 || ptr >= this.#u8.byteLength) return '?';
      const bytes = this.#dv.getUint32(ptr - 4, true);
      const n = Math.min(bytes >>> 1, 256);
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(this.#dv.getUint16(ptr + 2 * i, true));
      return s;
    } catch {
      return '?';
    }
  }

  /** Copies bytes into a fresh module buffer; the caller frees it. */
  #put(bytes: Uint8Array): number {
    const ptr = this.#x.alloc(bytes.length);
    if (ptr === 0) throw new Error(`engine could not allocate ${bytes.length} bytes`);
    this.#views();
    this.#u8.set(bytes, ptr);
    return ptr;
  }

  /** Reads and frees a length-prefixed response. */
  #take(ptr: number): string {
    this.#views();
    if (ptr <= 0 || ptr + 4 > this.#u8.byteLength)
      throw new Error('engine returned an invalid response pointer');
    const n = this.#dv.getUint32(ptr, true);
    if (ptr + 4 + n > this.#u8.byteLength)
      throw new Error('engine returned an invalid response length');
    const text = decoder.decode(this.#u8.subarray(ptr + 4, ptr + 4 + n));
    this.#x.dealloc(ptr, 4 + n);
    return text;
  }

  /** Loads a policy (JSON text or UTF-8 bytes). A failed load keeps the previous policy. */
  load(policy: string | Uint8Array): PolicyLoad {
    if (this.#dead)
      return {
        ok: false,
        errors: [{ severity: 'error', path: 'policy', message: this.#dead }],
        warnings: [],
      };
    if (typeof policy !== 'string' && !(policy instanceof Uint8Array)) {
      return {
        ok: false,
        errors: [
          {
            severity: 'error',
            path: 'policy',
            message: 'expected the policy as JSON text or UTF-8 bytes',
          },
        ],
        warnings: [],
      };
    }
    const bytes = typeof policy === 'string' ? encoder.encode(policy) : policy;
    let text: string;
    let planText: string | null = null;
    try {
      const ptr = this.#put(bytes);
      try {
        text = this.#take(this.#x.init(ptr, bytes.length));
      } finally {
        this.#x.dealloc(ptr, bytes.length);
      }
      const reply = JSON.parse(text) as Record<string, unknown>;
      if (reply.ok !== true) {
        return {
          ok: false,
          errors: diagnostics(
            reply.errors,
            'error',
            typeof reply.error === 'string' ? reply.error : 'the engine rejected the policy',
          ),
          warnings: diagnostics(reply.warnings, 'warning', null),
        };
      }
      planText = this.#take(this.#x.plan());
      const info: PolicyInfo = Object.freeze({
        version: String(reply.version),
        mode: reply.mode === 'shadow' ? 'shadow' : 'enforce',
        defaultAction: reply.default_action === 'Allow' ? 'Allow' : 'Deny',
        tools: Object.freeze([...(reply.tools as string[])]) as string[],
        roles: Object.freeze([...(reply.roles as string[])]) as string[],
        ruleCount: Number(reply.rule_count),
        ...(reply.approval === 'webauthn' ? { approval: 'webauthn' as const } : {}),
        ...(Array.isArray(reply.untrusted_tools) && reply.untrusted_tools.length > 0
          ? { untrustedTools: Object.freeze([...(reply.untrusted_tools as string[])]) as string[] }
          : {}),
      });
      this.#state = buildState(info, JSON.parse(planText) as PlanJson, (entry) =>
        this.#x.countedKeep(entry),
      );
      this.#syncRegion();
      return { ok: true, policy: info, warnings: diagnostics(reply.warnings, 'warning', null) };
    } catch (e) {
      const message = this.#kill(e);
      this.#state = null;
      return { ok: false, errors: [{ severity: 'error', path: 'policy', message }], warnings: [] };
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
    const state = this.#state;
    let plan: CallPlan;
    let args: unknown;
    try {
      plan = planCall(call, state);
      if (plan.early !== null) return plan.early;
      args = jsonRoot(Object.hasOwn(call, 'args') ? call.args : undefined);
    } catch (e) {
      return unreadable(e);
    }
    return this.#decideArgs(state!, plan, args, nowSeconds);
  }

  /**
   * Decides several calls in order (rate limits see them in that order). With `argsList`, call
   * `i`'s args are `argsList[i]` (its own `args`, if any, are not read): the worker's batches
   * carry the args apart from the calls, and calls that share tool, role and attributes share one
   * object, read once here.
   */
  evaluateBatch(
    calls: readonly ToolCall[],
    nowSeconds: number,
    argsList?: readonly unknown[],
  ): Verdict[] {
    if (!Array.isArray(calls)) return [];
    const count = calls.length;
    const out = new Array<Verdict>(count);
    if (argsList === undefined) {
      for (let i = 0; i < count; i++) out[i] = this.evaluate(calls[i]!, nowSeconds);
      return out;
    }
    if (!Array.isArray(argsList) || argsList.length !== count) {
      return Array.from({ length: count }, () =>
        deny('invalid_request', 'invalid request: a batch needs one args value per call'),
      );
    }
    const state = this.#state;
    const plans = new Map<unknown, CallPlan>();
    for (let i = 0; i < count; i++) {
      if (this.#dead) {
        out[i] = deny('engine_fault', this.#dead);
        continue;
      }
      const call = calls[i]!;
      let plan = plans.get(call);
      if (plan === undefined) {
        plan = planCallSafely(call, state);
        // Primitives are not worth a map entry; objects are read once per batch.
        if (typeof call === 'object' && call !== null) plans.set(call, plan);
      }
      if (plan.early !== null) {
        out[i] = plan.early;
        continue;
      }
      let argsRoot: unknown;
      try {
        argsRoot = jsonRoot(argsList[i]);
      } catch (e) {
        out[i] = unreadable(e);
        continue;
      }
      out[i] = this.#decideArgs(state!, plan, argsRoot, nowSeconds);
    }
    return out;
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
        invalid = this.#writeFields(entry, roots, state.dataStart);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) throw e;
        invalid = new InvalidValue(
          `the call cannot be read (${errorText(e)}); pass plain JSON data`,
        );
      }
      if (invalid !== null) return deny('invalid_request', `invalid request: ${invalid.message}`);
      if (state.taint && this.#session !== plan.session) this.#selectSession(plan.session);
      code = this.#x.decide(entry.index, hasNow ? now : 0, hasNow | (plan.approved ? 2 : 0));
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
        return entry.verdicts.get(code) ?? this.#constant(state, entry, code);
      // A repeated denial: the engine says which earlier explanation this is (same entry, code and
      // field values, compared byte for byte), so the verdict built then is the answer now.
      this.#views();
      const memoId = this.#dv.getFloat64(this.#region, true);
      if (memoId !== 0) {
        const seen = state.memo.get(memoId);
        if (seen !== undefined) return seen;
      }
      const verdict = this.#explained(state, code, roots);
      if (memoId !== 0) {
        if (state.memo.size >= MEMO_LIMIT) state.memo.clear();
        if (verdict.failure) Object.freeze(verdict.failure);
        state.memo.set(memoId, Object.freeze(verdict));
      }
      return verdict;
    } catch (e) {
      return deny('engine_fault', this.#kill(e));
    }
  }

  /**
   * Additive: `sink` receives each call the engine counts (see counted-calls.ts) as it counts it,
   * on the fast path (`evaluate`, `evaluateBatch`); `null` stops it.
   */
  countCalls(sink: CountedCallSink | null): void {
    this.#counted = sink;
  }

  /**
   * Additive: counts `calls`, which an earlier instance counted under the same policy, in order
   * (oldest first per pair), so this instance carries on where that one stopped. Returns how many
   * were counted; a call on a pair that counts nothing here, or at a time the engine refuses, is not.
   */
  restoreCounted(calls: readonly CountedCall[]): number {
    const state = this.#state;
    if (this.#dead || state === null) return 0;
    let restored = 0;
    try {
      for (const call of calls) {
        const entry = state.entries.get(call.tool)?.get(call.role);
        if (entry === undefined || entry.keep <= 0) continue;
        // A budget reads what the call spent from its slots: write them as the call had them.
        if (
          entry.budget !== null &&
          this.#writeFields(entry, spentRoots(entry, call), state.dataStart) !== null
        )
          continue;
        restored += this.#x.restoreCounted(entry.index, call.at);
      }
    } catch (e) {
      this.#kill(e);
    }
    return restored;
  }

  /** Makes `key` the session the engine's next decisions read. */
  #selectSession(key: string): void {
    const bytes = encoder.encode(key);
    const ptr = this.#put(bytes);
    try {
      if (this.#x.session(ptr, bytes.length) !== 1)
        throw new Error('engine refused the session name');
    } finally {
      this.#x.dealloc(ptr, bytes.length);
    }
    this.#session = key;
  }

  /**
   * Additive: hands a tool's result to the engine, which keeps it as the session's untrusted
   * content when the policy's `untrusted_tools` name the tool or `record.untrusted` is true. A
   * result too large to keep (over 1 MiB as JSON) saturates the session instead: every value then
   * counts as from untrusted content. Never throws.
   */
  recordResult(record: ToolResultRecord): RecordAnswer {
    if (this.#dead) return { ok: false, error: this.#dead };
    if (this.#state === null)
      return { ok: false, error: 'no policy loaded; load a valid policy first' };
    let text: string;
    try {
      if (typeof record !== 'object' || record === null)
        return { ok: false, error: 'tool result: expected an object {tool, role, result}' };
      const { tool, role, result, session, untrusted } = record;
      if ((record as { saturate?: unknown }).saturate === true)
        return this.#record(
          JSON.stringify({ session: session ?? '', tool, untrusted, saturate: true }),
        );
      if (session !== undefined && (typeof session !== 'string' || !isWellFormed(session)))
        return { ok: false, error: 'tool result: session must be a string' };
      if (result === undefined)
        return {
          ok: false,
          error: 'tool result: result is missing; pass the JSON value the tool returned',
        };
      let json: string | undefined;
      try {
        json = JSON.stringify(result, refuseHiddenNull);
      } catch {
        json = undefined;
      }
      if (json === undefined)
        return {
          ok: false,
          error:
            'tool result: the result is not plain JSON; pass what the tool returned as JSON data',
        };
      const head = { session: session ?? '', tool, role, untrusted };
      if (json.length > MAX_FIELD_BYTES) {
        // Too large to keep: an untrusted tool's result saturates its session (fail closed).
        const probe = this.#record(JSON.stringify({ ...head, result: null }));
        if (!probe.ok || !probe.untrusted) return probe;
        return this.#record(JSON.stringify({ ...head, saturate: true }));
      }
      text = `${JSON.stringify(head).slice(0, -1)},"result":${json}}`;
    } catch (e) {
      return {
        ok: false,
        error: `tool result: cannot be read (${errorText(e)}); pass plain JSON data`,
      };
    }
    return this.#record(text);
  }

  #record(text: string): RecordAnswer {
    try {
      const bytes = encoder.encode(text);
      const ptr = this.#put(bytes);
      let reply: string;
      try {
        reply = this.#take(this.#x.recordResult(ptr, bytes.length));
      } finally {
        this.#x.dealloc(ptr, bytes.length);
      }
      const answer = JSON.parse(reply) as {
        recorded?: boolean;
        untrusted?: boolean;
        error?: string;
      };
      if (answer.recorded === true) return { ok: true, untrusted: answer.untrusted === true };
      return { ok: false, error: String(answer.error ?? 'the engine did not record the result') };
    } catch (e) {
      return { ok: false, error: this.#kill(e) };
    }
  }

  /** Additive: the state that outlives a call (untrusted content per session); null when dead. */
  state(): EvaluatorState | null {
    if (this.#dead) return null;
    try {
      return JSON.parse(this.#take(this.#x.state())) as EvaluatorState;
    } catch (e) {
      this.#kill(e);
      return null;
    }
  }

  /** Additive: forgets every session's untrusted content. */
  forget(): void {
    if (this.#dead) return;
    try {
      this.#x.forget();
    } catch (e) {
      this.#kill(e);
    }
  }

  /** The original ABI, byte for byte: returns the response JSON text. */
  evaluateAbi(tool: string, argsJson: string, contextJson: string): string {
    if (this.#dead) return JSON.stringify({ error: this.#dead });
    if (
      typeof tool !== 'string' ||
      typeof argsJson !== 'string' ||
      typeof contextJson !== 'string'
    ) {
      return JSON.stringify({
        error:
          'tool, arguments and context must be strings (the arguments and context as JSON text)',
      });
    }
    try {
      // One buffer holds the three inputs back to back (each is its own pointer and length to the
      // engine); encodeInto writes straight into wasm memory.
      const cap = (tool.length + argsJson.length + contextJson.length) * 3 + 3;
      const base = this.#x.alloc(cap);
      if (base === 0) throw new Error(`engine could not allocate ${cap} bytes`);
      try {
        this.#views();
        const t = this.#encode(tool, base);
        const a = this.#encode(argsJson, base + t);
        const c = this.#encode(contextJson, base + t + a);
        // The raw ABI selects the context's session (or the default one) for itself.
        this.#session = null;
        return this.#take(this.#x.evaluate(base, t, base + t, a, base + t + a, c));
      } finally {
        this.#x.dealloc(base, cap);
        // The engine may have grown (and so moved) the request region for large values.
        if (this.#state !== null) this.#syncRegion();
      }
    } catch (e) {
      return JSON.stringify({ error: this.#kill(e) });
    }
  }

  /** Expands a code whose reason carries detail: the engine writes the reason, we add the failure. */
  #explained(
    state: LoadedState,
    code: number,
    roots: readonly [unknown, unknown, unknown],
  ): Verdict {
    const decision = DECISIONS[code & 3];
    const kind = KINDS[(code >> 2) & 15];
    if (kind === undefined || decision === undefined)
      throw new Error(`engine returned an unknown decision code ${code}`);
    const ptr = this.#x.explain();
    this.#views();
    if (ptr <= 0 || ptr + 16 > this.#u8.byteLength)
      throw new Error('engine returned an invalid explanation pointer');
    const n = this.#dv.getUint32(ptr, true);
    const leaf = this.#dv.getInt32(ptr + 4, true);
    const retry = this.#dv.getFloat64(ptr + 8, true);
    if (ptr + 16 + n > this.#u8.byteLength)
      throw new Error('engine returned an invalid explanation length');
    const verdict: Verdict = {
      decision,
      reason: decoder.decode(this.#u8.subarray(ptr + 16, ptr + 16 + n)),
      kind,
    };
    const ruleIndex = (code >> 8) - 1;
    if (ruleIndex >= 0) {
      const rule = state.ruleNames[ruleIndex];
      if (rule === undefined) throw new Error(`engine returned an unknown rule index ${ruleIndex}`);
      verdict.rule = rule;
      if (decision === 'Ask' && state.webauthnRules.has(ruleIndex))
        verdict.approvalKind = 'webauthn';
    }
    if (retry >= 0) verdict.retryAfter = retry;
    if (kind === 'condition_failed' && leaf >= 0) {
      const plan = state.leaves[leaf];
      if (plan === undefined) throw new Error(`engine returned an unknown leaf ${leaf}`);
      // The failure re-reads the call; a getter that throws now costs the detail, not the instance.
      try {
        verdict.failure = failureOf(plan, roots);
      } catch {
        verdict.failure = { path: plan.field.name, op: plan.op };
      }
    }
    return verdict;
  }

  #constant(state: LoadedState, entry: EntryPlan, code: number): Verdict {
    const kind = KINDS[(code >> 2) & 15];
    const decision = DECISIONS[code & 3];
    if (kind === undefined || decision === undefined)
      throw new Error(`engine returned an unknown decision code ${code}`);
    const ruleIndex = (code >> 8) - 1;
    let reason: string;
    if (kind === 'no_rule') reason = noRuleReason(entry.tool, entry.role);
    else if (kind === 'no_condition') reason = `${entry.prefix}; no condition required`;
    else if (kind === 'condition_passed') reason = `${entry.prefix}; condition passed`;
    else throw new Error(`engine returned code ${code} without detail for kind ${kind}`);
    const verdict: Verdict = { decision, reason, kind };
    if (ruleIndex >= 0) {
      const rule = state.ruleNames[ruleIndex];
      if (rule === undefined) throw new Error(`engine returned an unknown rule index ${ruleIndex}`);
      verdict.rule = rule;
    }
    Object.freeze(verdict);
    entry.verdicts.set(code, verdict);
    return verdict;
  }

  /** Writes the entry's fields into the region; an InvalidValue when one cannot be encoded. */
  #writeFields(
    entry: EntryPlan,
    roots: readonly [unknown, unknown, unknown],
    dataStart: number,
  ): InvalidValue | null {
    this.#views();
    const fields = entry.fields;
    let region = this.#region;
    let dv = this.#dv;
    let at = dataStart;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const path = f.path;
      const v = readPath(roots[f.source], path);
      const s = region + f.slot;
      switch (typeof v) {
        case 'undefined':
          dv.setUint8(s, T_MISSING);
          continue;
        case 'boolean':
          dv.setUint8(s, v ? T_TRUE : T_FALSE);
          continue;
        case 'number':
          if (!Number.isFinite(v))
            return new InvalidValue(
              `${SOURCE_NAMES[f.source]}.${path.join('.')} is ${String(v)}, not a finite number; pass finite numbers only`,
            );
          dv.setUint8(s, T_NUMBER);
          dv.setFloat64(s + 8, v, true);
          continue;
        case 'string':
        case 'object': {
          let text: string;
          let tag: number;
          if (typeof v === 'string') {
            if (!isWellFormed(v))
              return new InvalidValue(
                `${SOURCE_NAMES[f.source]}.${path.join('.')} is not well-formed UTF-16`,
              );
            text = v;
            tag = T_STRING;
          } else if (v === null) {
            dv.setUint8(s, T_NULL);
            continue;
          } else {
            try {
              text = JSON.stringify(v, refuseHiddenNull);
            } catch (e) {
              const name = `${SOURCE_NAMES[f.source]}.${path.join('.')}`;
              if (e !== HIDDEN_NULL) return new InvalidValue(`${name} is not JSON-serialisable`);
              // The policy would read null where the tool gets Infinity (or NaN, or undefined).
              const at = hiddenNullAt(v);
              return new InvalidValue(
                at === null
                  ? `${name} holds a value that is not JSON; pass finite numbers and plain data`
                  : `${name}${at.path} ${at.what}`,
              );
            }
            tag = T_JSON;
          }
          if (at - dataStart + text.length > MAX_FIELD_BYTES) {
            return new InvalidValue(
              `the values the policy reads are larger than ${MAX_FIELD_BYTES} bytes; send smaller arguments`,
            );
          }
          const max = text.length * 3;
          if (at + max > this.#regionCap) {
            region = this.#grow(at - dataStart + max);
            dv = this.#dv;
          }
          const len = this.#encode(text, region + at);
          const slot = region + f.slot;
          dv.setUint8(slot, tag);
          dv.setUint32(slot + 4, len, true);
          dv.setUint32(slot + 8, at, true);
          at += len;
          continue;
        }
        default:
          return new InvalidValue(
            `${SOURCE_NAMES[f.source]}.${path.join('.')} is a ${typeof v}, not a JSON value`,
          );
      }
    }
    return null;
  }

  /** Re-reads where the request region is and how large it is. */
  #syncRegion(): void {
    this.#region = this.#x.region();
    this.#views();
    this.#regionCap = this.#dv.getUint32(this.#region + 8, true);
  }

  #grow(dataBytes: number): number {
    this.#region = this.#x.reserve(dataBytes);
    this.#views();
    this.#regionCap = this.#dv.getUint32(this.#region + 8, true);
    if (this.#regionCap < dataBytes)
      throw new Error(`engine could not reserve ${dataBytes} bytes for the request`);
    return this.#region;
  }

  /** UTF-8 encodes into memory at `ptr`; ASCII without allocation, the rest with encodeInto. */
  #encode(text: string, ptr: number): number {
    const u8 = this.#u8;
    const n = text.length;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      u8[ptr + i] = c;
    }
    if (i === n) return n;
    const { written } = encoder.encodeInto(
      text.slice(i),
      u8.subarray(ptr + i, ptr + i + (n - i) * 3),
    );
    return i + written;
  }
}

const SOURCE_NAMES = ['Arguments', 'AgentAttributes', 'ResourceAttributes'];

interface PlanJson {
  dataStart: number;
  fields: { source: string; path: string[] }[];
  rules: string[];
  webauthn?: number[];
  taint?: boolean;
  leaves: { field: number; fieldB: number; op: string; expected?: JsonValue }[];
  entries: {
    tool: string;
    role: string;
    prefix: string;
    fields: number[];
    budget?: [number, number];
  }[];
}

function buildState(
  info: PolicyInfo,
  plan: PlanJson,
  keepOf: (entry: number) => number,
): LoadedState {
  const fields: FieldPlan[] = plan.fields.map((f, i) => {
    const source = SOURCES[f.source];
    if (source === undefined) throw new Error(`engine plan names an unknown source "${f.source}"`);
    return Object.freeze({
      name: `${f.source}.${f.path.join('.')}`,
      slot: REGION_HEADER + i * 16,
      source,
      path: Object.freeze([...f.path]),
    });
  });
  const entries = new Map<string, Map<string, EntryPlan>>();
  const fieldAt = (id: number): FieldPlan => {
    const f = fields[id];
    if (f === undefined) throw new Error(`engine plan names an unknown field ${id}`);
    return f;
  };
  plan.entries.forEach((e, index) => {
    let roles = entries.get(e.tool);
    if (roles === undefined) entries.set(e.tool, (roles = new Map()));
    roles.set(e.role, {
      index,
      tool: e.tool,
      role: e.role,
      prefix: e.prefix,
      fields: e.fields.map((id) => {
        const f = fields[id];
        if (f === undefined) throw new Error(`engine plan names an unknown field ${id}`);
        return f;
      }),
      keep: Math.max(0, keepOf(index)),
      budget:
        e.budget === undefined
          ? null
          : [fieldAt(e.budget[0]), e.budget[1] < 0 ? null : fieldAt(e.budget[1])],
      verdicts: new Map(),
    });
  });
  const field = (id: number): FieldPlan => {
    const f = fields[id];
    if (f === undefined) throw new Error(`engine plan names an unknown field ${id}`);
    return f;
  };
  const leaves: LeafPlan[] = plan.leaves.map((l) => {
    const leaf: { field: FieldPlan; fieldB: FieldPlan | null; op: string; expected?: JsonValue } = {
      field: field(l.field),
      fieldB: l.fieldB >= 0 ? field(l.fieldB) : null,
      op: l.op,
    };
    if (l.expected !== undefined) leaf.expected = l.expected;
    return Object.freeze(leaf);
  });
  const webauthnRules = new Set(plan.webauthn ?? []);
  return {
    info,
    entries,
    ruleNames: Object.freeze([...plan.rules]),
    webauthnRules,
    leaves,
    dataStart: plan.dataStart,
    memo: new Map(),
    taint: plan.taint === true,
  };
}

function diagnostics(
  list: unknown,
  severity: Diagnostic['severity'],
  fallback: string | null,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (Array.isArray(list)) {
    for (const d of list as { path?: unknown; message?: unknown }[]) {
      out.push({ severity, path: String(d.path ?? 'policy'), message: String(d.message ?? '') });
    }
  }
  if (out.length === 0 && fallback !== null)
    out.push({ severity, path: 'policy', message: fallback });
  return out;
}

/** A call's value at a field, as the engine saw it; undefined when missing. */
function valueAt(f: FieldPlan, roots: readonly [unknown, unknown, unknown]): unknown {
  return readPath(roots[f.source], f.path);
}

/** True when JSON.stringify writes `v` as its own properties: a plain object or array without toJSON. */
function jsonShaped(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null && proto !== Array.prototype) return false;
  return typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

/** An object as JSON.stringify writes it (a Date as its string, a boxed number as the number...). */
function asJson(v: object): unknown {
  const text = JSON.stringify(v) as string | undefined;
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}

/**
 * The value at `path` under `root` (already read as its JSON, see {@link jsonRoot}) as the raw ABI
 * would see it in `JSON.stringify`: a class instance, a boxed primitive or an object with `toJSON`
 * on the way is read as its JSON; an array has no keys; inherited properties are absent.
 * Undefined when missing.
 */
/** The call the engine just counted on `entry`, with what it spent of the budget, if any. */
function countedCall(
  entry: EntryPlan,
  at: number,
  roots: readonly [unknown, unknown, unknown],
): CountedCall {
  const call = { tool: entry.tool, role: entry.role, at, keep: entry.keep };
  if (entry.budget === null) return call;
  const [spentField, perField] = entry.budget;
  const spent = readPath(roots[spentField.source], spentField.path) as string | number;
  return perField === null
    ? { ...call, spent }
    : { ...call, spent, per: readPath(roots[perField.source], perField.path) as string | number };
}

/** Sources holding only what a counted call spent, at the budget's field paths, for a restore. */
function spentRoots(entry: EntryPlan, call: CountedCall): [unknown, unknown, unknown] {
  const roots: [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>] = [
    {},
    {},
    {},
  ];
  const put = (f: FieldPlan, value: unknown): void => {
    let o = roots[f.source as 0 | 1 | 2];
    for (let k = 0; k < f.path.length - 1; k++) {
      const key = f.path[k]!;
      const next = Object.hasOwn(o, key) ? o[key] : undefined;
      o =
        typeof next === 'object' && next !== null
          ? (next as Record<string, unknown>)
          : ((o[key] = {}) as Record<string, unknown>);
    }
    o[f.path[f.path.length - 1]!] = value;
  };
  const [spentField, perField] = entry.budget!;
  if (call.spent !== undefined) put(spentField, call.spent);
  if (perField !== null && call.per !== undefined) put(perField, call.per);
  return roots;
}

function readPath(root: unknown, path: readonly string[]): unknown {
  let v: unknown = root;
  for (let k = 0; k < path.length; k++) {
    if (k > 0 && typeof v === 'object' && v !== null && !jsonShaped(v)) v = asJson(v);
    const key = path[k]!;
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, key))
      return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  if (typeof v === 'object' && v !== null && !jsonShaped(v)) v = asJson(v);
  return v;
}

/** Thrown by {@link refuseHiddenNull}: a value that JSON would write as `null`. */
const HIDDEN_NULL: unique symbol = Symbol('hidden null');

/**
 * A `JSON.stringify` replacer that stops at a value JSON would silently write as `null`: a
 * non-finite number anywhere, or `undefined`, a function or a symbol in an array. The engine
 * would read `null` where the tool receives something else (`{"id": Infinity}` "equals"
 * `{"id": -Infinity}`, and passes `Equals {"id": null}`).
 */
function refuseHiddenNull(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'number') {
    if (value - value !== 0) throw HIDDEN_NULL;
  } else if (
    Array.isArray(this) &&
    (value === undefined || typeof value === 'function' || typeof value === 'symbol')
  ) {
    throw HIDDEN_NULL;
  }
  return value;
}

/**
 * Where {@link refuseHiddenNull} stops in `v`, as a path below it (`.scope.tenant`, `[0]`) and what
 * is there; null when a second reading finds nothing (a getter that changed its answer).
 */
function hiddenNullAt(v: unknown): { path: string; what: string } | null {
  // Each container's path, by the object JSON.stringify walks (after toJSON); the root has ''.
  const paths = new Map<unknown, string>();
  let found: { path: string; what: string } | null = null;
  try {
    JSON.stringify(v, function (this: unknown, key: string, value: unknown): unknown {
      const base = paths.get(this);
      const path =
        base === undefined ? '' : Array.isArray(this) ? `${base}[${key}]` : `${base}.${key}`;
      if (base !== undefined) {
        if (typeof value === 'number' && value - value !== 0) {
          found = {
            path,
            what: `is ${String(value)}, not a finite number; pass finite numbers only`,
          };
          throw HIDDEN_NULL;
        }
        if (
          Array.isArray(this) &&
          (value === undefined || typeof value === 'function' || typeof value === 'symbol')
        ) {
          found = {
            path,
            what: `is ${value === undefined ? 'undefined' : `a ${typeof value}`}, which JSON writes as null; pass null or remove it`,
          };
          throw HIDDEN_NULL;
        }
      }
      if (typeof value === 'object' && value !== null) paths.set(value, path);
      return value;
    });
  } catch {
    // `found` says where, when the walk stopped at a hidden null.
  }
  return found;
}

/** UTF-8 length of a string without allocating. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** A value as a failure record shows it (as the engine does): strings cut, long JSON omitted. */
function shownJson(v: unknown): { value: JsonValue } | null {
  if (typeof v === 'string') return { value: shown(v) };
  if (typeof v === 'object' && v !== null) {
    const text = JSON.stringify(v);
    return utf8Length(text) <= 256 ? { value: JSON.parse(text) as JsonValue } : null;
  }
  return { value: v as JsonValue };
}

function failureOf(leaf: LeafPlan, roots: readonly [unknown, unknown, unknown]): VerdictFailure {
  const failure: VerdictFailure = { path: leaf.field.name, op: leaf.op };
  if (leaf.fieldB !== null) {
    const b = valueAt(leaf.fieldB, roots);
    if (b !== undefined && b !== null) {
      const e = shownJson(b);
      if (e !== null) failure.expected = e.value;
    }
  } else if (leaf.expected !== undefined) {
    failure.expected = leaf.expected;
  }
  const a = valueAt(leaf.field, roots);
  if (a !== undefined) {
    const e = shownJson(a);
    if (e !== null) failure.actual = e.value;
  }
  return failure;
}
