/**
 * The options of `Perso.load`, read once: own properties only (a polluted `Object.prototype.mode`
 * or `.clock` must not reach an instance), checked, and kept as the settings an instance runs with.
 *
 * Checklist:
 * - a missing policy, an unknown `mode` or `engine` is a load failure naming the option and the
 *   values it takes;
 * - an unknown `codeIntegrity` is the default (checked), never "off";
 * - audit transports are read as own items (a hole must not pick up `Array.prototype[0]`).
 */
import type { AuditTransport } from '../audit/audit-record.ts';
import type { HashKey } from '../audit/hashed-args.ts';
import type { CodeIntegrity } from '../backend/worker-backend.ts';
import type { Diagnostic } from '../engine/types.ts';
import { own, ownItems } from '../call/own-properties.ts';
import type { PolicyMode } from '../policy/policy.ts';
import type { PolicyPublicKey } from '../policy/policy-integrity.ts';
import { cachedPolicySource } from '../policy/policy-loader.ts';
import type { PolicyInput, ResolvedPolicy } from '../policy/policy-source.ts';
import { PolicyStore, defaultPolicyStore } from '../policy/policy-store.ts';
import type { PolicyStatus } from './policy-status.ts';
import { quote } from '../encoding/text.ts';

/** Options of {@link Perso.load}. */
export interface PersoOptions {
  /** The policy: an object, JSON text, a file path (Node) or a URL. */
  policy: PolicyInput;
  /**
   * Whether decisions are enforced; the host's decision, not the policy's. `'enforce'` or
   * `'shadow'` (decide and report, but let calls run) win over the policy's own `mode`. Unset, a
   * policy given inline or as a file keeps its `mode`, and a policy fetched by URL is enforced even
   * when it asks for shadow mode (a status warning says so); `'policy'` lets a fetched policy's
   * `mode` decide.
   */
  mode?: PersoMode;
  /** Where audit records go; none by default. */
  audit?: AuditTransport | readonly AuditTransport[];
  /**
   * Audit records carry a keyed hash (HMAC-SHA-256) of the canonical args instead of the args, no
   * host facts, and reasons without values (paths and ops only). See `audit/hashed-args.ts`.
   */
  hashArgs?: boolean;
  /**
   * `hashArgs`' key: 32 or more random bytes, or an HMAC SHA-256 `CryptoKey`. Default in a browser:
   * one made for this installation and kept in IndexedDB; in Node, give one to compare records
   * across runs (else a key lasts the process, and a warning says so).
   */
  hashKey?: HashKey;
  /**
   * `'before-run'`: a decision is answered only once its audit record is stored durably by every
   * transport that can say so (`persisted()`: the IndexedDB transport), so no tool runs without a
   * record; a record that cannot be stored turns the decision into a Deny. Default: records are
   * written after the decision, without delaying it.
   */
  durable?: 'before-run';
  /** The rate-limit clock, in seconds since the epoch; default `Date.now() / 1000`. */
  clock?: () => number;
  /** Where the engine runs: `'inline'` (this thread) or `'worker'` (a Web Worker, browsers). */
  engine?: 'inline' | 'worker';
  /** Worker calls: milliseconds before a call is a Deny and the worker is replaced; default 500. */
  timeoutMs?: number;
  /**
   * Worker engine: check the worker script and engine.wasm against the SHA-256 the build recorded
   * and refuse other bytes. `true` (default): the worker starts from its URL once the script there
   * checked out; `'strict'`: it starts from the checked bytes themselves (a `blob:` URL: the page's
   * `worker-src` must allow `blob:`); `false` only in development, behind a server that rewrites
   * the JavaScript it serves (Vite's dev server does). See docs/browser.md#code-integrity.
   */
  codeIntegrity?: CodeIntegrity;
  /**
   * Worker engine, where engine.wasm cannot compile (a page CSP without `'wasm-unsafe-eval'`):
   * `'none'` (default) denies every call and says what to allow; `'js'` runs the reference evaluator
   * (plain JS, slower) in the worker instead. Each decision's `evaluator` says which one decided.
   */
  fallback?: 'none' | 'js';
  /**
   * URL policies: the IndexedDB cache (offline use, rollback memory); on by default where
   * IndexedDB exists. `false`: network only; or pass your own `PolicyStore`. See docs/policy-loading.md.
   */
  cache?: boolean | PolicyStore;
  /** URL policies: a pinned hash, `sha256-<base64>` (SRI syntax); any other bytes are refused. */
  integrity?: string;
  /** URL policies: trusted signing keys; a policy without a valid `<url>.sig` signature by one is refused. */
  publicKeys?: readonly PolicyPublicKey[];
  /** URL policies: the id signatures must name; default the policy's absolute URL (docs/policy-loading.md). */
  policyId?: string;
  /**
   * Called with the status after each failed load (the first one and any `reload`); the instance
   * still denies what no valid policy allows. Without it, a failed load is a `console.warn`.
   */
  onError?: (status: PolicyStatus) => void;
}

/**
 * The host's `mode` option: a {@link PolicyMode}, or `'policy'` to let a fetched policy's own
 * `mode` turn enforcement off.
 */
export type PersoMode = PolicyMode | 'policy';

/** What an instance keeps of its options: read once, each checked or given its default. */
export interface PersoSettings {
  /** The host's `mode` option, when it is a known one. */
  readonly mode: PersoMode | undefined;
  readonly engine: 'inline' | 'worker' | undefined;
  readonly timeoutMs: number | undefined;
  readonly codeIntegrity: CodeIntegrity;
  readonly jsFallback: boolean;
  readonly clock: (() => number) | null;
  readonly transports: readonly AuditTransport[];
  readonly hashArgs: boolean;
  readonly hashKey: HashKey | undefined;
  /** `durable: 'before-run'` with at least one transport. */
  readonly durableBeforeRun: boolean;
  readonly onError: ((status: PolicyStatus) => void) | null;
  /** How URL policies are fetched (through the verified cache), or `null` for plain fetches. */
  readonly urlPolicy: ((url: URL) => Promise<ResolvedPolicy>) | null;
  /** A pinned hash or keys were given: a policy that is not fetched by URL is refused. */
  readonly pinned: boolean;
}

/** The settings of `options` (an own copy of what the host passed). */
export function readSettings(options: Partial<PersoOptions>): PersoSettings {
  const audit = options.audit;
  // Own items only: a hole in the list must not pick up a polluted Array.prototype[0].
  const transports = Array.isArray(audit)
    ? ownItems<AuditTransport>(audit)!.filter((t) => t !== undefined)
    : audit === undefined
      ? []
      : [audit as AuditTransport];
  return {
    mode:
      options.mode === 'shadow' || options.mode === 'enforce' || options.mode === 'policy'
        ? options.mode
        : undefined,
    engine: options.engine,
    timeoutMs: options.timeoutMs,
    codeIntegrity:
      options.codeIntegrity === false
        ? false
        : options.codeIntegrity === 'strict'
          ? 'strict'
          : true,
    jsFallback: own(options, 'fallback') === 'js',
    clock: typeof options.clock === 'function' ? options.clock : null,
    transports: Object.freeze(transports),
    hashArgs: options.hashArgs === true,
    hashKey: options.hashKey,
    durableBeforeRun: options.durable === 'before-run' && transports.length > 0,
    onError: typeof options.onError === 'function' ? options.onError : null,
    urlPolicy: urlPolicySource(options),
    pinned: options.integrity !== undefined || (options.publicKeys?.length ?? 0) > 0,
  };
}

/** Why `options` cannot be used (a load failure naming the option), or `null`. */
export function optionsProblem(options: unknown): Diagnostic | null {
  if (options === null || typeof options !== 'object') {
    return {
      severity: 'error',
      path: 'options',
      message: 'expected an object {policy, ...}; pass Perso.load({ policy })',
    };
  }
  const { policy, mode, engine } = options as Partial<PersoOptions>;
  if (policy === undefined || policy === null) {
    return {
      severity: 'error',
      path: 'options.policy',
      message: 'missing; pass a policy object, JSON text, a file path or a URL',
    };
  }
  if (mode !== undefined && mode !== 'enforce' && mode !== 'shadow' && mode !== 'policy') {
    return {
      severity: 'error',
      path: 'options.mode',
      message: `unknown mode ${quote(String(mode))}; expected "enforce", "shadow" or "policy"`,
    };
  }
  if (engine !== undefined && engine !== 'inline' && engine !== 'worker') {
    return {
      severity: 'error',
      path: 'options.engine',
      message: `unknown engine ${quote(String(engine))}; expected "inline" or "worker"`,
    };
  }
  return null;
}

/**
 * URL policies go through the verified cache in a browser, and wherever a pinned hash or keys are
 * configured; otherwise `resolvePolicySource` fetches them plainly.
 */
function urlPolicySource(
  options: Partial<PersoOptions>,
): ((url: URL) => Promise<ResolvedPolicy>) | null {
  const { cache, integrity, publicKeys, policyId } = options;
  const hasIndexedDb = typeof indexedDB !== 'undefined';
  if (
    !hasIndexedDb &&
    integrity === undefined &&
    (publicKeys?.length ?? 0) === 0 &&
    !(cache instanceof PolicyStore)
  )
    return null;
  const store =
    cache instanceof PolicyStore
      ? cache
      : hasIndexedDb && cache !== false
        ? defaultPolicyStore()
        : null;
  return cachedPolicySource({
    store,
    ...(integrity === undefined ? {} : { integrity }),
    ...(publicKeys === undefined ? {} : { publicKeys }),
    ...(typeof policyId === 'string' ? { policyId } : {}),
  });
}
