/**
 * `WorkerBackend`: the engine in a module Worker behind Comlink, seen from the main thread.
 *
 * The worker exposes its five functions with Comlink (behind `worker/calls-only-endpoint.ts`, which
 * lets only plain calls through); this side holds the `Comlink.wrap` proxy, with one method proxy per
 * function made once per worker.
 *
 * Invariants, checked in this order on every call:
 * - the Worker and its client live in private fields: nothing outside this class can reach
 *   them, so page scripts cannot post to the worker or call it;
 * - the worker starts lazily, on the first call (or at once with `startNow`), and proves it is
 *   ready (engine started, from the module this page compiled or its own compile; last good
 *   policy re-loaded) before it answers any call: calls made meanwhile are posted behind that
 *   check (the worker answers in order) and answer its failure if it fails;
 * - every call is timed (`timeoutMs`, default 500; one watchdog timer per worker, not one per
 *   call) and every reply is validated as the tagged union it must be (an Allow that names a
 *   fault is malformed too);
 * - every fault (failed start, crash, `messageerror`, timeout, trap, malformed reply, wasm compile
 *   failure) answers Deny with a reason naming it, settles all pending calls the same way,
 *   terminates the worker and starts a fresh one that re-loads the last good policy;
 * - the calls the engine counted (rate limits) are kept here, from the answers the caller was
 *   given, and a fresh worker counts them again with that re-load, before it answers any call:
 *   a restart, even one the model causes, does not reset a window (a fresh worker that cannot
 *   restore them fails to start, so every call stays a Deny);
 * - nothing here throws: the promises resolve to verdicts.
 */
import { Decision, ReasonKind } from '../decision.ts';
import type { ApprovalTicket, JsonValue, ToolCall } from '../decision.ts';
import type { ApprovalEvidence } from './approval-evidence.ts';
import type { PolicyInfo, PolicyLoad, Verdict } from '../engine/engine.ts';
import type { EvaluatorBackend } from './evaluator-backend.ts';
import { CountedCallJournal } from './counted-call-journal.ts';
import type { CountedCall } from '../engine/counted-calls.ts';
import { isCountedCallList } from '../engine/counted-calls.ts';
import type { EvaluatorApi, WorkerStatus } from '../worker/evaluator-api.ts';
import { EVALUATOR_JS_FALLBACK, EVALUATOR_WORKER_NAME } from '../worker/evaluator-api.ts';
import { wrap } from 'comlink';
import { TRUSTED_TYPES_POLICY } from './trusted-worker.ts';
import { own } from '../own-properties.ts';
import { CODE_MISMATCH, ENGINE_WASM_SHA256, checkCode, recordedDigest } from './code-integrity.ts';
import {
  pageSha256,
  startCheckedWorker,
  startStrictWorker,
  startUncheckedWorker,
} from './verified-worker.ts';

type Diagnostic = Extract<PolicyLoad, { ok: false }>['errors'][number];

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
 * engine.wasm next to the library; a literal `new URL(...)` so bundlers copy (and rename) the file
 * and rewrite this reference.
 */
function engineWasmUrl(): URL {
  return new URL('../../engine/build/engine.wasm', import.meta.url);
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

/**
 * engine.wasm compiled on this thread while the worker boots (its script is fetched and parsed
 * meanwhile), once per page: the worker's first call (`status`) carries the module and the worker
 * instantiates it instead of fetching and compiling the file after its own start. `null` when it
 * cannot be had here (no `compileStreaming`, a fetch refused by `connect-src`, a page CSP without
 * `'wasm-unsafe-eval'`): the worker then compiles the file itself, as before, and its own CSP
 * decides. Only for the library's own worker (an injected `createWorker` compiles its own).
 */
let pageModule: Promise<WebAssembly.Module | null> | null = null;
let uncheckedPageModule: Promise<WebAssembly.Module | null> | null = null;

function compileOnPage(verify: boolean): Promise<WebAssembly.Module | null> {
  if (!verify) {
    uncheckedPageModule ??= WebAssembly.compileStreaming(fetch(engineWasmUrl())).catch(() => null);
    return uncheckedPageModule;
  }
  if (pageModule === null) {
    try {
      const expected = recordedDigest(ENGINE_WASM_SHA256);
      // A built page compiles only bytes it checked; on a mismatch the worker fetches the file
      // itself, checks it too, and answers the reason (every call is then a Deny that says why).
      pageModule = (
        expected === null
          ? WebAssembly.compileStreaming(fetch(engineWasmUrl()))
          : compileChecked(expected)
      ).catch(() => null);
    } catch {
      pageModule = Promise.resolve(null);
    }
  }
  return pageModule;
}

/**
 * engine.wasm compiled on the page from bytes that match the build's record. The compile starts as
 * soon as the bytes are in, beside the check; its module is used only if the check passed.
 */
async function compileChecked(expected: string): Promise<WebAssembly.Module | null> {
  const url = engineWasmUrl();
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) return null;
  const bytes = new Uint8Array(await response.arrayBuffer());
  const compiling = WebAssembly.compile(bytes);
  const problem = await checkCode(bytes, expected, `engine.wasm ("${url.href}")`, pageSha256);
  if (problem !== null) {
    compiling.catch(() => undefined);
    return null;
  }
  return compiling;
}

/** `promise`'s value, or `null` after `ms`: a page-side compile never holds up a start for long. */
function within<T>(promise: Promise<T | null>, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** A call in flight: how to abort it, and when it times out. */
interface InFlight {
  readonly abort: (reason: string) => void;
  /** `performance.now()` deadline. */
  readonly deadline: number;
  readonly timeoutMs: number;
}

/** One started worker; replaced as a whole on any fault. */
interface Generation {
  /** `null` when the worker could not even be constructed. */
  readonly worker: Worker | null;
  /**
   * `null` once dead. Dropped then, and the worker's listeners with it: Comlink keeps the worker
   * until its proxies are collected, so nothing the worker can reach may hold them (a dead worker's
   * pending calls do), or every replaced worker stays in memory.
   */
  remote: Remote | null;
  /** Removes this class's listeners from the worker. */
  readonly listening: AbortController;
  /** Settles with `null` once ready, or with the reason it could not start. */
  started: Promise<string | null>;
  /**
   * The readiness check (and the re-load of the last good policy) has been posted: a call may be
   * posted behind it, as the worker answers in order; the check's failure settles it (see #run).
   */
  queued: boolean;
  ready: boolean;
  dead: boolean;
  /** Why it was ended: a call posted to it afterwards answers this (e.g. a worker script refused before any call). */
  deathReason?: string;
  /** Every call in flight on this worker. */
  readonly pending: Set<InFlight>;
  /**
   * One timer per worker, not one per call: it fires at the earliest deadline it knows of,
   * replaces the worker if a call is overdue, else re-arms for the next deadline.
   */
  watchdog: ReturnType<typeof setTimeout> | null;
  watchdogAt: number;
}

/**
 * The worker's five functions through Comlink. Replies come back unchecked (`unknown`): a reply is
 * data from another realm, validated field by field below; a proxy where a value belongs (a
 * function, to `typeof`) fails that validation like any other malformed reply.
 */
type Remote = {
  readonly [K in keyof EvaluatorApi]: (...args: Parameters<EvaluatorApi[K]>) => Promise<unknown>;
};

function remoteMethods(worker: Worker): Remote {
  // Each property read of a Comlink proxy makes a new proxy: read each method once, per worker.
  const { load, evaluate, evaluateBatch, status, approve } = wrap<EvaluatorApi>(worker);
  return Object.freeze({
    load: (...args) => load(...args),
    evaluate: (...args) => evaluate(...args),
    evaluateBatch: (...args) => evaluateBatch(...args),
    status: (...args) => status(...args),
    approve: (...args) => approve(...args),
  });
}

/** How long the worker may take to check a WebAuthn approval (IndexedDB and WebCrypto). */
const WEBAUTHN_TIMEOUT_MS = 5000;

/** Marks a worker's error event handled: the bridge answers it, the page does not see it uncaught. */
function handled(event: Event): void {
  event.preventDefault();
}

const REPLACED = 'the worker was replaced, retry the call';
const CLOSED = 'the evaluator was closed; load a new Perso to evaluate calls';

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error)
    return String(error.message);
  return String(error);
}

/** A Deny for a fault; engine faults say so first (`engine fault: <what happened>; <what next>`). */
function faultVerdict(reason: string, kind: ReasonKind = ReasonKind.EngineFault): Verdict {
  return {
    decision: Decision.Deny,
    reason: kind === ReasonKind.EngineFault ? `engine fault: ${reason}` : reason,
    kind,
  };
}

function faultLoad(reason: string): PolicyLoad {
  return {
    ok: false,
    errors: [
      {
        severity: 'error',
        path: 'policy',
        message: `engine fault: ${reason}; the previous policy stays active`,
      },
    ],
    warnings: [],
  };
}

function compileFailure(error: string): string {
  // Other bytes than the build recorded: the CSP is not the problem.
  if (error.includes(CODE_MISMATCH))
    return `engine.wasm was refused by the evaluator worker ("${error}")`;
  return `engine.wasm failed to compile in the evaluator worker ("${error}"); if the page sends a Content-Security-Policy, allow 'wasm-unsafe-eval' in script-src`;
}

// ---- reply validation: a reply is data from another realm, checked field by field ----

const decisions: ReadonlySet<unknown> = new Set(Object.values(Decision));
const kinds: ReadonlySet<unknown> = new Set(Object.values(ReasonKind));
/** The only kinds an Allow may carry; an Allow naming any other kind (a fault) is malformed. */
const allowKinds: ReadonlySet<unknown> = new Set([
  ReasonKind.NoRule,
  ReasonKind.NoCondition,
  ReasonKind.ConditionPassed,
]);
/** Kinds that are always Deny. */
const denyKinds: ReadonlySet<unknown> = new Set([
  ReasonKind.ConditionFailed,
  ReasonKind.DeniedByRule,
  ReasonKind.RateLimited,
  ReasonKind.InvalidRequest,
  ReasonKind.NoPolicy,
  ReasonKind.EngineFault,
]);

type Checked<T> = { ok: true; value: T } | { ok: false; problem: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** A reply's envelope, opened: a value, the caller's bad request, a compile failure, or malformed. */
type Opened =
  | { ok: true; value: unknown; counted: readonly CountedCall[] | undefined }
  | { ok: false; problem: string }
  | { ok: false; badRequest: string }
  | { ok: false; compileError: string };

function openReply(reply: unknown): Opened {
  if (!isRecord(reply))
    return { ok: false, problem: `expected a reply object, got ${typeof reply}` };
  if (reply.ok === true) {
    if (reply.counted !== undefined && !isCountedCallList(reply.counted))
      return { ok: false, problem: 'counted is not a list of counted calls' };
    return { ok: true, value: reply.value, counted: reply.counted };
  }
  if (reply.ok !== false || typeof reply.error !== 'string')
    return { ok: false, problem: 'reply is neither ok nor a fault' };
  if (reply.fault === 'bad_request') return { ok: false, badRequest: reply.error };
  if (reply.fault === 'wasm_compile') return { ok: false, compileError: reply.error };
  return { ok: false, problem: `unknown fault "${String(reply.fault)}"` };
}

/** An approval ticket: 32 hex digits, an expiry in ms, and `kind: 'webauthn'` or none. */
function isTicket(value: unknown): value is ApprovalTicket {
  return (
    isRecord(value) &&
    typeof value.nonce === 'string' &&
    /^[0-9a-f]{32}$/.test(value.nonce) &&
    typeof value.expiresAt === 'number' &&
    (value.kind === undefined || value.kind === 'webauthn')
  );
}

/** `approve` answers may also be an Ask a person approved: Allow with kind `ask_by_rule`. */
function checkApprovedVerdict(value: unknown): Checked<Verdict> {
  if (isRecord(value) && value.decision === Decision.Allow && value.kind === ReasonKind.AskByRule) {
    const checked = checkVerdict({ ...value, decision: Decision.Ask });
    return checked.ok
      ? { ok: true, value: { ...checked.value, decision: Decision.Allow } }
      : checked;
  }
  return checkVerdict(value);
}

function checkVerdict(value: unknown): Checked<Verdict> {
  if (!isRecord(value)) return { ok: false, problem: 'verdict is not an object' };
  const { decision, reason, kind, rule, retryAfter, failure, approval, approvalKind, evaluator } =
    value;
  if (!decisions.has(decision))
    return { ok: false, problem: `unknown decision "${String(decision)}"` };
  if (typeof reason !== 'string' || reason === '')
    return { ok: false, problem: 'verdict has no reason' };
  if (!kinds.has(kind)) return { ok: false, problem: `unknown kind "${String(kind)}"` };
  if (decision === Decision.Allow && !allowKinds.has(kind))
    return { ok: false, problem: `Allow with kind "${String(kind)}"` };
  if (approval !== undefined && (decision !== Decision.Ask || !isTicket(approval))) {
    return { ok: false, problem: 'approval is not a ticket on an Ask' };
  }
  if (decision !== Decision.Deny && denyKinds.has(kind))
    return { ok: false, problem: `${String(decision)} with kind "${String(kind)}"` };
  if (rule !== undefined && typeof rule !== 'string')
    return { ok: false, problem: 'rule is not a string' };
  if (approvalKind !== undefined && (approvalKind !== 'webauthn' || decision !== Decision.Ask))
    return { ok: false, problem: 'approvalKind is not "webauthn" on an Ask' };
  if (retryAfter !== undefined && !(typeof retryAfter === 'number' && retryAfter >= 0)) {
    return { ok: false, problem: 'retryAfter is not a number of seconds' };
  }
  if (
    failure !== undefined &&
    !(isRecord(failure) && typeof failure.path === 'string' && typeof failure.op === 'string')
  ) {
    return { ok: false, problem: 'failure is not a {path, op} object' };
  }
  // Rebuilt field by field: whatever else the reply carried is dropped.
  const verdict: Verdict = { decision: decision as Decision, reason, kind: kind as ReasonKind };
  if (rule !== undefined) verdict.rule = rule;
  if (retryAfter !== undefined) verdict.retryAfter = retryAfter;
  if (isRecord(failure)) {
    const copy: NonNullable<Verdict['failure']> = {
      path: failure.path as string,
      op: failure.op as string,
    };
    if (failure.expected !== undefined) copy.expected = failure.expected as JsonValue;
    if (failure.actual !== undefined) copy.actual = failure.actual as JsonValue;
    verdict.failure = copy;
  }
  if (approvalKind === 'webauthn') verdict.approvalKind = 'webauthn';
  if (isTicket(approval)) {
    const { nonce, expiresAt } = approval;
    verdict.approval = Object.freeze(
      approval.kind === 'webauthn'
        ? { nonce, expiresAt, kind: 'webauthn' as const }
        : { nonce, expiresAt },
    );
  }
  if (evaluator === 'js' || evaluator === 'wasm') verdict.evaluator = evaluator;
  return { ok: true, value: verdict };
}

function checkDiagnostics(value: unknown): Diagnostic[] | null {
  if (!Array.isArray(value)) return null;
  const out: Diagnostic[] = [];
  for (const item of value) {
    if (!isRecord(item)) return null;
    const { severity, path, message } = item;
    if (
      (severity !== 'error' && severity !== 'warning') ||
      typeof path !== 'string' ||
      typeof message !== 'string'
    )
      return null;
    out.push({ severity, path, message });
  }
  return out;
}

function checkPolicyInfo(value: unknown): PolicyInfo | null {
  if (!isRecord(value)) return null;
  const { version, mode, defaultAction, tools, roles, ruleCount } = value;
  if (typeof version !== 'string' || (mode !== 'enforce' && mode !== 'shadow')) return null;
  if ((defaultAction !== 'Allow' && defaultAction !== 'Deny') || typeof ruleCount !== 'number')
    return null;
  if (!isStringArray(tools) || !isStringArray(roles)) return null;
  if (value.approval !== undefined && value.approval !== 'webauthn') return null;
  return {
    version,
    mode,
    defaultAction,
    tools,
    roles,
    ruleCount,
    ...(value.approval === 'webauthn' ? { approval: 'webauthn' as const } : {}),
  };
}

function checkPolicyLoad(value: unknown): Checked<PolicyLoad> {
  if (!isRecord(value)) return { ok: false, problem: 'policy load is not an object' };
  const warnings = checkDiagnostics(value.warnings);
  if (warnings === null) return { ok: false, problem: 'policy load warnings are not diagnostics' };
  if (value.ok === true) {
    const policy = checkPolicyInfo(value.policy);
    if (policy === null) return { ok: false, problem: 'policy load has no valid policy info' };
    return { ok: true, value: { ok: true, policy, warnings } };
  }
  const errors = checkDiagnostics(value.errors);
  if (value.ok !== false || errors === null || errors.length === 0)
    return { ok: false, problem: 'failed policy load has no errors' };
  return { ok: true, value: { ok: false, errors, warnings } };
}

function checkStatus(value: unknown): Checked<WorkerStatus> {
  if (!isRecord(value) || typeof value.abiVersion !== 'number')
    return { ok: false, problem: 'status has no abiVersion' };
  const policy = value.policy === null ? null : checkPolicyInfo(value.policy);
  if (value.policy !== null && policy === null)
    return { ok: false, problem: 'status has malformed policy info' };
  return { ok: true, value: { abiVersion: value.abiVersion, policy } };
}

function checkVerdicts(count: number): (value: unknown) => Checked<Verdict[]> {
  return (value) => {
    if (!Array.isArray(value) || value.length !== count) {
      return {
        ok: false,
        problem: `expected ${count} verdicts, got ${Array.isArray(value) ? value.length : typeof value}`,
      };
    }
    const verdicts: Verdict[] = new Array<Verdict>(count);
    // The worker sends equal verdicts as one object (see evaluator.worker.ts): checked once, rebuilt
    // once and frozen, and shared by the calls it answers, as the in-thread engine shares its
    // constant verdicts (Perso builds each call its own result from it).
    let seen: Map<unknown, Verdict> | null = null;
    let lastReply: unknown;
    let lastVerdict: Verdict | undefined;
    for (let i = 0; i < count; i++) {
      const reply: unknown = value[i];
      if (reply === lastReply && lastVerdict !== undefined) {
        verdicts[i] = lastVerdict;
        continue;
      }
      const known = seen?.get(reply);
      if (known !== undefined) {
        verdicts[i] = lastVerdict = known;
        lastReply = reply;
        continue;
      }
      const checked = checkVerdict(reply);
      if (!checked.ok) return { ok: false, problem: `verdicts[${i}]: ${checked.problem}` };
      let verdict = checked.value;
      if (verdict.failure === undefined && verdict.approval === undefined) {
        verdict = Object.freeze(verdict);
        (seen ??= new Map()).set(reply, verdict);
        lastReply = reply;
        lastVerdict = verdict;
      } else {
        lastVerdict = undefined;
      }
      verdicts[i] = verdict;
    }
    return { ok: true, value: verdicts };
  };
}

/**
 * A JSON.stringify replacer that throws where JSON would silently change a value (drop a function
 * or symbol, turn NaN or an `undefined` array item into null), so a batch's args reach the engine
 * as given or not at all. (Perso's canonical args always pass; this guards direct callers.)
 */
function refuseNonJson(this: unknown, key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'function':
    case 'symbol':
      throw new TypeError(`args: a ${typeof value} at "${key}" is not a JSON value`);
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`args: ${String(value)} at "${key}" is not a JSON number`);
      return value;
    case 'undefined':
      if (Array.isArray(this))
        throw new TypeError(`args: undefined at "${key}" is not a JSON value`);
      return value;
    default:
      return value;
  }
}

/**
 * The calls without their args, as few distinct objects as possible: calls that share tool, role,
 * time and attribute objects (a session's calls do) share one object, which a structured clone
 * then copies once. The args travel apart, as one JSON text.
 */
function withoutArgs(calls: readonly ToolCall[]): ToolCall[] {
  // Looked up by tool, then role, then compared by identity: no key text to build and hash per call.
  const byTool = new Map<unknown, Map<unknown, ToolCall[]>>();
  const out = new Array<ToolCall>(calls.length);
  let last: ToolCall | null = null;
  for (let i = 0; i < calls.length; i++) {
    // Own fields only: a polluted Object.prototype.resourceAttributes must not travel as a host fact.
    const call = calls[i]!;
    const tool = own(call, 'tool');
    const role = own(call, 'role');
    const agentAttributes = own(call, 'agentAttributes');
    const resourceAttributes = own(call, 'resourceAttributes');
    const now = own(call, 'now');
    // A run of calls from one session repeats the previous call's fields.
    if (
      last !== null &&
      last.tool === tool &&
      last.role === role &&
      Object.is(last.now, now) &&
      last.agentAttributes === agentAttributes &&
      last.resourceAttributes === resourceAttributes
    ) {
      out[i] = last;
      continue;
    }
    let byRole = byTool.get(tool);
    if (byRole === undefined) byTool.set(tool, (byRole = new Map()));
    let known = byRole.get(role);
    if (known === undefined) byRole.set(role, (known = []));
    let bare: ToolCall | undefined;
    // The last few only: calls that each bring their own attribute objects must not make this quadratic.
    for (let j = known.length - 1; j >= 0 && j >= known.length - 8; j--) {
      const candidate = known[j]!;
      if (
        Object.is(candidate.now, now) &&
        candidate.agentAttributes === agentAttributes &&
        candidate.resourceAttributes === resourceAttributes
      ) {
        bare = candidate;
        break;
      }
    }
    if (bare === undefined) {
      bare = { tool: tool!, role: role! };
      if (agentAttributes !== undefined) bare.agentAttributes = agentAttributes;
      if (resourceAttributes !== undefined) bare.resourceAttributes = resourceAttributes;
      if (now !== undefined) bare.now = now;
      known.push(bare);
    }
    out[i] = last = bare;
  }
  return out;
}

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
 * The engine in a dedicated module Worker behind Comlink: the browser's default backend.
 *
 * Owns one worker at a time, in private fields; see the invariants at the top of this file.
 */
export class WorkerBackend implements EvaluatorBackend {
  readonly #timeoutMs: number;
  readonly #startTimeoutMs: number;
  readonly #createWorker: () => Worker;
  /** True for the library's own worker: engine.wasm is compiled on the page too ({@link compileOnPage}). */
  readonly #compileOnPage: boolean;
  readonly #codeIntegrity: boolean;
  #generation: Generation | null = null;
  /** The last policy text the engine accepted; a fresh worker re-loads it before any call. */
  #lastGoodPolicy: string | null = null;
  /** What the engine counted under that policy; a fresh worker counts it again with the re-load. */
  readonly #counted = new CountedCallJournal();
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

  /** Loads a policy in the worker; a fault is a failed load, and the previous policy stays active. */
  load(policyText: string): Promise<PolicyLoad> {
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
          this.#counted.clear();
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
    let argsJson: string;
    let bare: ToolCall[];
    try {
      argsJson =
        typeof canonicalArgsJson === 'string'
          ? canonicalArgsJson
          : JSON.stringify(
              calls.map((call) => own(call, 'args') ?? {}),
              refuseNonJson,
            );
      bare = withoutArgs(calls);
    } catch (error) {
      const reason = `invalid request: the batch cannot be sent to the worker (${describe(error)}); pass JSON values only`;
      return Promise.resolve(calls.map(() => faultVerdict(reason, ReasonKind.InvalidRequest)));
    }
    // A batch is one message; big ones get one more timeout per 10,000 calls.
    const timeoutMs = this.#timeoutMs * Math.ceil(count / 10_000);
    return this.#run<Verdict[]>(
      {
        // The args as one JSON text: a string to copy instead of objects to clone (see EvaluatorApi).
        send: (remote) => remote.evaluateBatch(bare, nowSeconds, argsJson),
        check: checkVerdicts(count),
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
      this.#watch(generation, inFlight.deadline);

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
          if (counted !== undefined) for (const call of counted) this.#counted.add(call);
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
                `invalid request: the call cannot be sent to the worker (${describe(error)}); pass JSON values only`,
                ReasonKind.InvalidRequest,
              ),
            );
            return;
          }
          this.#replace(
            generation,
            `the evaluator worker rejected the call ("${describe(error)}"); ${REPLACED}`,
          );
        },
      );
    });
  }

  /** Arms the worker's watchdog for `deadline` unless it already fires sooner. */
  #watch(generation: Generation, deadline: number): void {
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
            const reason = `the evaluator worker did not answer within ${inFlight.timeoutMs} ms (hung, crashed or terminated); ${REPLACED}`;
            this.#replace(generation, reason);
            return;
          }
          next = Math.min(next, inFlight.deadline);
        }
        if (next !== Number.POSITIVE_INFINITY) this.#watch(generation, next);
      },
      Math.max(0, deadline - performance.now()),
    );
  }

  /** Starts a worker and its readiness check: engine compiled, last good policy re-loaded. */
  #start(): Generation {
    let worker: Worker;
    try {
      worker = this.#createWorker();
    } catch (error) {
      const trustedTypes = /TrustedScriptURL|Trusted ?Types/i.test(describe(error));
      const reason = trustedTypes
        ? `the evaluator worker failed to start ("${describe(error)}"); the page enforces Trusted Types: allow perso's policy name ("trusted-types ${TRUSTED_TYPES_POLICY}")`
        : `the evaluator worker failed to start ("${describe(error)}"); check the worker URL and the page's worker-src`;
      return {
        worker: null,
        remote: null,
        listening: new AbortController(),
        started: Promise.resolve(reason),
        queued: false,
        ready: false,
        dead: true,
        pending: new Set(),
        watchdog: null,
        watchdogAt: 0,
      };
    }
    const generation: Generation = {
      worker,
      remote: remoteMethods(worker),
      listening: new AbortController(),
      started: Promise.resolve(null),
      queued: false,
      ready: false,
      dead: false,
      pending: new Set(),
      watchdog: null,
      watchdogAt: 0,
    };
    // Kept after the worker dies (it holds nothing): an error the dead worker raised before it was
    // terminated can still arrive, and must not reach the page as an uncaught error.
    worker.addEventListener('error', handled);
    worker.addEventListener(
      'error',
      (event: ErrorEvent | Event) => {
        const message = event instanceof ErrorEvent && event.message ? ` ("${event.message}")` : '';
        this.#replace(
          generation,
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
        this.#replace(
          generation,
          `a message from the evaluator worker could not be read (messageerror); ${REPLACED}`,
        );
      },
      { signal: generation.listening.signal },
    );
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
      ? await within(compileOnPage(this.#codeIntegrity), this.#startTimeoutMs)
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
    const counted = policyText === null ? [] : this.#counted.calls();
    const reloading =
      policyText === null
        ? null
        : this.#call<PolicyLoad | string>(
            generation,
            {
              send: (remote) =>
                counted.length === 0 ? remote.load(policyText) : remote.load(policyText, counted),
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
    generation.dead = true;
    generation.deathReason = reason;
    generation.ready = false;
    generation.worker?.terminate();
    generation.listening.abort();
    generation.remote = null;
    if (generation.watchdog !== null) clearTimeout(generation.watchdog);
    generation.watchdog = null;
    if (this.#generation === generation) this.#generation = null;
    for (const inFlight of [...generation.pending]) inFlight.abort(reason);
    generation.pending.clear();
  }
}
