/**
 * Loads a policy by URL: fetches it (and its signature), verifies what it gets (pinned hash,
 * signature naming this policy, revision floor), caches it in IndexedDB, and falls back to the
 * cached copy when the network or the server fails — so a page that was online once keeps
 * enforcing offline.
 *
 * Checklist (each a `{ok: false, error}`; `loadPolicy` never throws):
 * - the store is untrusted input: the cached copy and the rollback floor are verified on every
 *   load, online and offline, against the pin or the keys (with keys, only a floor whose signature
 *   verifies counts; a missing or malformed floor means "refuse anything older than what verifies");
 * - a signature must name this policy's id, its revision and its bytes' SHA-256; a revision at the
 *   floor with other bytes is refused;
 * - a 304 is used only for cached bytes that verify: against the pin, or against the `.sig` fetched
 *   now; without a pin or keys nothing can verify them, so no validator is sent at all;
 * - a stored ETag the browser cannot send is dropped (never a reason to go "offline");
 * - a fresh copy that fails verification is a hard failure, not a reason to use the cache;
 * - only a failing network or server (a rejected fetch, a timeout, 408, 429, 5xx) falls back to
 *   the cache; 404 and other answers are hard failures;
 * - a fresh copy is stored only after it verified and the host accepted it (`validate`, or the
 *   caller's `cache()` with `deferCache`): a refused policy never enters the cache or the floor;
 * - no IndexedDB transaction is open while fetching or hashing (see policy-store.ts).
 */
import type { PolicyStore, PolicyEntry, RevisionMark } from './policy-store.ts';
import type { Checked, PolicyBytes, PolicyPublicKey } from './policy-integrity.ts';
import type { ResolvedPolicy } from './policy-source.ts';
import { fetchPolicy } from './policy-fetch.ts';
import { fetchSignature } from './policy-integrity.ts';
import { verify, verifyCached } from './policy-verification.ts';
import type { VerificationContext, Verified } from './policy-verification.ts';
import { checkFloor, trustedFloor } from './rollback-floor.ts';
import type { Floor } from './rollback-floor.ts';
import { errorText, quote } from '../encoding/text.ts';

/** Where the policy text came from. */
export type PolicySource = 'network' | 'cache';

/** The answer of {@link loadPolicy}. */
export type PolicyFetchResult =
  | {
      ok: true;
      /** The policy's JSON text (UTF-8 decoded from the verified bytes). */
      text: string;
      /** SHA-256 of the exact bytes, lowercase hex. */
      sha256: string;
      /** `network` (fresh 200) or `cache` (304, or the network or server failed). */
      source: PolicySource;
      /** The policy's top-level `revision`, when it has one. */
      revision?: number;
      /** The signing key's id, when keys are configured. */
      keyId?: string;
      /** Why the cached copy was used although a fresh one was asked for, or why it was not cached. */
      notice?: string;
      /**
       * With `deferCache`, for a fresh copy: stores it (and raises the rollback floor) once the
       * caller accepted it; answers a notice when it could not be stored, else `null`. Never throws.
       */
      cache?: () => Promise<string | null>;
    }
  | { ok: false; error: string };

/** A successful {@link PolicyFetchResult}. */
export type PolicyLoaded = Extract<PolicyFetchResult, { ok: true }>;

/** Options of {@link loadPolicy}. */
export interface PolicyLoadOptions {
  /** The IndexedDB cache; `null` or absent: no cache (no offline use, no rollback memory). */
  store?: PolicyStore | null;
  /** A pinned hash in SRI syntax, `sha256-<base64>`: any other bytes are refused. */
  integrity?: string;
  /** Trusted signing keys; when non-empty, a policy without a valid signature by one is refused. */
  publicKeys?: readonly PolicyPublicKey[];
  /**
   * The identity signatures must name (the `id` of the `.sig` file); default the policy's absolute
   * URL. Set it when one signed policy is served from several URLs (a CDN and a mirror).
   */
  policyId?: string;
  /** Where the detached signature is; default `<policy-url>.sig`. */
  signatureUrl?: string | URL;
  /**
   * Checks the text before it is cached (perso loads it into the engine); returns an error text,
   * or `null` to accept. An invalid policy is never cached.
   */
  validate?: (text: string) => Promise<string | null> | string | null;
  /**
   * Don't cache a fresh copy yet: the result's `cache()` stores it once the caller accepted it
   * (perso calls it after the engine loaded the policy).
   */
  deferCache?: boolean;
  /** Give up on the network after this long and use the cache; default 5000 ms. */
  timeoutMs?: number;
  /**
   * Give up on IndexedDB after this long (an open blocked by another tab's pending upgrade waits
   * forever) and go on as if there were no cache; default 1000 ms.
   */
  storeTimeoutMs?: number;
  /** Refuse bigger policies; default 4 MiB. */
  maxBytes?: number;
  /** The fetch to use; default the global one. */
  fetch?: typeof fetch;
}

const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
const DEFAULT_STORE_TIMEOUT_MS = 1000;
/** RFC 9110 entity-tag: what a browser can send back as `If-None-Match`. */
const ENTITY_TAG = /^(W\/)?"[\x21\x23-\x7e\x80-\xff]*"$/;

/**
 * Fetches, verifies and caches the policy at `url`; never throws.
 * @example
 * const loaded = await loadPolicy('/policy.json', { store: new PolicyStore(), integrity: 'sha256-…' });
 * if (!loaded.ok) denyEverything(loaded.error);
 */
export async function loadPolicy(
  url: string | URL,
  options: PolicyLoadOptions = {},
): Promise<PolicyFetchResult> {
  let href: string;
  try {
    href = new URL(url, globalThis.location?.href).href;
  } catch {
    return {
      ok: false,
      error: `policy url ${quote(String(url), 200)} is not a valid url; pass an absolute url or a path`,
    };
  }
  try {
    return await loadFrom(href, options);
  } catch (error) {
    // Nothing below should throw; if it does, it still ends in a refusal.
    return {
      ok: false,
      error: `policy ${quote(href, 200)}: could not be loaded (${errorText(error)})`,
    };
  }
}

/**
 * {@link loadPolicy} in the shape of `resolvePolicySource`'s `fetchPolicy` seam, so `Perso.load`
 * sends URL policies in a browser through the cache. A fresh copy is cached only when the caller
 * runs `commit` (after the engine accepted it). The loader's `notice` is dropped; the status's
 * `source: 'cache'` says that the cached copy is in use.
 */
export function cachedPolicySource(
  options: PolicyLoadOptions,
): (url: URL) => Promise<ResolvedPolicy> {
  return async (url) => {
    const loaded = await loadPolicy(url, { ...options, deferCache: true });
    if (!loaded.ok)
      return { ok: false, error: loaded.error, source: 'network', location: url.href };
    const resolved: ResolvedPolicy = {
      ok: true,
      text: loaded.text,
      source: loaded.source,
      location: url.href,
    };
    const cache = loaded.cache;
    if (cache !== undefined) resolved.commit = async () => void (await cache());
    return resolved;
  };
}

async function loadFrom(href: string, options: PolicyLoadOptions): Promise<PolicyFetchResult> {
  const store = options.store ?? null;
  const label = `policy ${quote(href, 200)}`;
  const context: VerificationContext = {
    id: options.policyId ?? href,
    keys: options.publicKeys ?? [],
    integrity: options.integrity,
    maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
  };
  const keyed = context.keys.length > 0;
  // A validator only for bytes that can be checked against something the store cannot change;
  // without one, the request need not wait for the store.
  const anchored = keyed || options.integrity !== undefined;
  const sigFetch = keyed ? fetchSignature(href, options) : null;
  let policyFetch = anchored ? null : fetchPolicy(href, null, options);
  let cached: unknown;
  let mark: unknown;
  let storeError: string | null = null;
  if (store !== null) {
    try {
      [cached, mark] = await bounded(
        Promise.all([store.getPolicy(href), store.getRevisionMark(href)]),
        options,
      );
    } catch (error) {
      storeError = `the IndexedDB cache is unavailable (${errorText(error)})`;
    }
  }
  // Sent before the cached copy is verified (that runs beside the request); a 304 is used only
  // if it verified.
  policyFetch ??= fetchPolicy(href, sendableEtag(cached), options);
  const fromCache = cached === undefined ? null : await verifyCached(cached, context);
  const floor = await trustedFloor(mark, fromCache, context);
  let fetched = await policyFetch;
  const sig = sigFetch === null ? null : await sigFetch;

  if (fetched.kind === 'not-modified') {
    if (fromCache?.ok === true) {
      if (sig?.kind === 'unavailable')
        return fallBack(label, sig.error, fromCache, floor, storeError, cached);
      if (sig?.kind === 'refused') return { ok: false, error: `${label}: ${sig.error}` };
      // The server confirmed the ETag, not the bytes: check them against what it publishes now.
      const fresh = sig === null || sig.text === fromCache.value.signature;
      const now = fresh
        ? fromCache
        : await verify(bytesOf(cached), sig.text, context, fromCache.value.sha256);
      if (now.ok) {
        const current = checkFloor(now.value, floor);
        if (!current.ok)
          return { ok: false, error: `${label}: cached copy refused: ${current.error}` };
        return result(now.value, 'cache');
      }
    }
    // The cache does not hold what the server confirmed: ask for the full copy, without a validator.
    fetched = await fetchPolicy(href, null, options);
    if (fetched.kind === 'not-modified') {
      return {
        ok: false,
        error: `${label}: the server answered 304 Not Modified to a request without If-None-Match; fix the server`,
      };
    }
  }
  if (fetched.kind === 'refused') return { ok: false, error: `${label}: ${fetched.error}` };
  if (fetched.kind === 'unavailable')
    return fallBack(label, fetched.error, fromCache, floor, storeError, cached);
  if (sig?.kind === 'unavailable')
    return fallBack(label, sig.error, fromCache, floor, storeError, cached);
  if (sig?.kind === 'refused') return { ok: false, error: `${label}: ${sig.error}` };

  // A fresh copy: verify, check the floor, validate, store.
  const verified = await verify(fetched.bytes, sig?.text ?? null, context);
  if (!verified.ok) return { ok: false, error: `${label}: ${verified.error}` };
  const current = checkFloor(verified.value, floor);
  if (!current.ok) return { ok: false, error: `${label}: ${current.error}` };
  const invalid =
    options.validate === undefined ? null : await options.validate(verified.value.text);
  if (invalid !== null) return { ok: false, error: `${label}: ${invalid}` };

  const loaded = result(verified.value, 'network');
  if (store === null || storeError !== null) {
    if (storeError !== null) loaded.notice = `not cached: ${storeError}`;
    return loaded;
  }
  const entry: PolicyEntry = {
    url: href,
    bytes: fetched.bytes,
    etag: fetched.etag !== null && ENTITY_TAG.test(fetched.etag) ? fetched.etag : null,
    sha256: verified.value.sha256,
    signature: verified.value.signature,
    revision: verified.value.revision,
    storedAt: Date.now(),
  };
  const newMark: RevisionMark = {
    url: href,
    highest: verified.value.revision ?? 0,
    sha256: verified.value.sha256,
    signature: verified.value.signature,
  };
  // The same verified copy and floor as stored (a 200 without a validator): nothing to write.
  const unchanged =
    fromCache?.ok === true &&
    fromCache.value.sha256 === entry.sha256 &&
    fromCache.value.signature === entry.signature;
  if (unchanged && sameJson([entry.etag, newMark], [(cached as PolicyEntry).etag, mark]))
    return loaded;
  const save = async (): Promise<string | null> => {
    try {
      if (await bounded(store.savePolicy(entry, newMark, mark), options)) return null;
      return 'not cached: another page changed the cached policy meanwhile; the next load stores it';
    } catch (error) {
      return `not cached: could not write the IndexedDB cache (${errorText(error)})`;
    }
  };
  if (options.deferCache === true) {
    loaded.cache = save;
    return loaded;
  }
  const notice = await save();
  if (notice !== null) loaded.notice = notice;
  return loaded;
}

/** The network or server failed: the verified cached copy, or a refusal that says why there is none. */
function fallBack(
  label: string,
  failure: string,
  fromCache: Checked<Verified> | null,
  floor: Floor | null,
  storeError: string | null,
  cached: unknown,
): PolicyFetchResult {
  if (fromCache === null) {
    const why =
      storeError ?? 'no cached copy exists (it is stored after the first successful load)';
    return {
      ok: false,
      error: `${label}: ${failure}, and ${why}; check the network and the server`,
    };
  }
  if (!fromCache.ok) return { ok: false, error: `${label}: ${failure}; ${fromCache.error}` };
  const current = checkFloor(fromCache.value, floor);
  if (!current.ok)
    return { ok: false, error: `${label}: ${failure}; cached copy refused: ${current.error}` };
  const storedAt = (cached as PolicyEntry).storedAt;
  const when =
    typeof storedAt === 'number' && Number.isFinite(storedAt)
      ? ` stored ${new Date(storedAt).toISOString()}`
      : '';
  return {
    ...result(fromCache.value, 'cache'),
    notice: `${failure}; using the cached copy${when}`,
  };
}

/** The cached entry's ETag when the browser can send it; anything else is dropped (a full fetch). */
function sendableEtag(entry: unknown): string | null {
  const etag =
    entry !== null && typeof entry === 'object' ? (entry as { etag?: unknown }).etag : null;
  return typeof etag === 'string' && ENTITY_TAG.test(etag) ? etag : null;
}

function sameJson(a: unknown, b: unknown): boolean {
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

function bytesOf(entry: unknown): PolicyBytes {
  return new Uint8Array((entry as PolicyEntry).bytes);
}

function result(copy: Verified, source: PolicySource): PolicyLoaded {
  const loaded: PolicyLoaded = { ok: true, text: copy.text, sha256: copy.sha256, source };
  if (copy.revision !== null) loaded.revision = copy.revision;
  if (copy.keyId !== undefined) loaded.keyId = copy.keyId;
  return loaded;
}

/** The store's answer, or a rejection once `storeTimeoutMs` passed. */
function bounded<T>(operation: Promise<T>, options: PolicyLoadOptions): Promise<T> {
  const ms = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new Error(`no answer within ${ms} ms (another tab may be upgrading the database)`)),
      ms,
    );
  });
  return Promise.race([operation, timeout]).finally(() => clearTimeout(timer));
}
