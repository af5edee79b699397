/**
 * Loads a policy by URL: revalidates the cached copy with its ETag, verifies what it gets (pinned
 * hash, signature, revision), caches it in IndexedDB, and falls back to the cached copy when the
 * network or the server fails — so a page that was online once keeps enforcing offline.
 *
 * Checklist (each a `{ok: false, error}`; `loadPolicy` never throws):
 * - every copy is verified before use, the cached one included, on every load: its SHA-256 against
 *   the one stored with it, the pinned `integrity`, the signature when keys are configured, and its
 *   revision against the highest seen for the URL;
 * - a fresh copy that fails verification is a hard failure, not a reason to use the cache (the
 *   server said what the policy is now);
 * - only a failing network or server (a rejected fetch, a timeout, 408, 429, 5xx) falls back to
 *   the cache; 404 and other answers are hard failures;
 * - a fresh copy is stored only after it verified and the host's `validate` accepted it;
 * - no IndexedDB transaction is open while fetching or hashing (see policy-store.ts).
 */
import type { PolicyStore, PolicyEntry } from './policy-store.ts';
import { checkRevision, readRevision, sha256Hex, verifyIntegrity, verifySignature } from './policy-integrity.ts';
import type { Checked, PolicyBytes, PolicyPublicKey } from './policy-integrity.ts';
import type { ResolvedPolicy } from './policy-source.ts';

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
  /** Where the detached signature is; default `<policy-url>.sig`. */
  signatureUrl?: string | URL;
  /**
   * Checks the text before it is cached (perso loads it into the engine); returns an error text,
   * or `null` to accept. An invalid policy is never cached.
   */
  validate?: (text: string) => Promise<string | null> | string | null;
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

type Fetched =
  | { kind: 'ok'; bytes: PolicyBytes; etag: string | null }
  | { kind: 'not-modified' }
  | { kind: 'unavailable'; error: string }
  | { kind: 'refused'; error: string };

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
const DEFAULT_STORE_TIMEOUT_MS = 1000;

/**
 * Fetches, verifies and caches the policy at `url`; never throws.
 * @example
 * const loaded = await loadPolicy('/policy.json', { store: new PolicyStore(), integrity: 'sha256-…' });
 * if (!loaded.ok) denyEverything(loaded.error);
 */
export async function loadPolicy(url: string | URL, options: PolicyLoadOptions = {}): Promise<PolicyFetchResult> {
  let href: string;
  try {
    href = new URL(url, globalThis.location?.href).href;
  } catch {
    return { ok: false, error: `policy url "${String(url)}" is not a valid url; pass an absolute url or a path` };
  }
  try {
    return await loadFrom(href, options);
  } catch (error) {
    // Nothing below should throw; if it does, it still ends in a refusal.
    return { ok: false, error: `policy "${href}": could not be loaded (${describe(error)})` };
  }
}

/**
 * {@link loadPolicy} in the shape of `resolvePolicySource`'s `fetchPolicy` seam, so `Perso.load`
 * sends URL policies in a browser through the cache. The loader's `notice` is dropped; the
 * status's `source: 'cache'` says that the cached copy is in use.
 */
export function cachedPolicySource(options: PolicyLoadOptions): (url: URL) => Promise<ResolvedPolicy> {
  return async (url) => {
    const loaded = await loadPolicy(url, options);
    if (!loaded.ok) return { ok: false, error: loaded.error, source: 'network', location: url.href };
    return { ok: true, text: loaded.text, source: loaded.source, location: url.href };
  };
}

async function loadFrom(href: string, options: PolicyLoadOptions): Promise<PolicyFetchResult> {
  const store = options.store ?? null;
  const label = `policy "${href}"`;
  let cached: PolicyEntry | undefined;
  let highest: number | null = null;
  let storeError: string | null = null;
  if (store !== null) {
    try {
      [cached, highest] = await bounded(Promise.all([store.getPolicy(href), store.highestRevision(href)]), options);
    } catch (error) {
      storeError = `the IndexedDB cache is unavailable (${describe(error)})`;
    }
  }

  let fetched = await fetchPolicy(href, cached?.etag ?? null, options);
  if (fetched.kind === 'not-modified') {
    if (cached !== undefined) {
      const fromCache = await verifyCached(cached, highest, options);
      if (fromCache.ok) return fromCache;
    }
    // The cache no longer holds (or no longer verifies) what the server confirmed: ask for the full copy.
    fetched = await fetchPolicy(href, null, options);
    if (fetched.kind === 'not-modified') {
      return { ok: false, error: `${label}: the server answered 304 Not Modified to a request without If-None-Match; fix the server` };
    }
  }
  if (fetched.kind === 'refused') return { ok: false, error: `${label}: ${fetched.error}` };
  if (fetched.kind === 'unavailable') return fallBack(label, fetched.error, cached, highest, storeError, options);

  // A fresh copy: verify, validate, store.
  let signature: string | null = null;
  if ((options.publicKeys?.length ?? 0) > 0) {
    const sig = await fetchSignature(href, options);
    if (sig.kind === 'unavailable') return fallBack(label, sig.error, cached, highest, storeError, options);
    if (sig.kind === 'refused') return { ok: false, error: `${label}: ${sig.error}` };
    signature = sig.text;
  }
  const verified = await verify(fetched.bytes, signature, highest, options);
  if (!verified.ok) return { ok: false, error: `${label}: ${verified.error}` };
  const { text, sha256, revision, keyId } = verified.value;
  const invalid = options.validate === undefined ? null : await options.validate(text);
  if (invalid !== null) return { ok: false, error: `${label}: ${invalid}` };

  let notice = storeError === null ? undefined : `not cached: ${storeError}`;
  if (store !== null && storeError === null) {
    const entry: PolicyEntry = { url: href, bytes: fetched.bytes, etag: fetched.etag, sha256, signature, revision, storedAt: Date.now() };
    try {
      if (!(await bounded(store.savePolicy(entry), options))) {
        const mark = await bounded(store.highestRevision(href), options);
        return { ok: false, error: `${label}: ${(checkRevision(revision, mark) as { error: string }).error}` };
      }
    } catch (error) {
      notice = `not cached: could not write the IndexedDB cache (${describe(error)})`;
    }
  }
  return result(text, sha256, 'network', revision, keyId, notice);
}

/** The network or server failed: the re-verified cached copy, or a refusal that says why there is none. */
async function fallBack(
  label: string,
  failure: string,
  cached: PolicyEntry | undefined,
  highest: number | null,
  storeError: string | null,
  options: PolicyLoadOptions,
): Promise<PolicyFetchResult> {
  if (cached === undefined) {
    const why = storeError ?? 'no cached copy exists (it is stored after the first successful load)';
    return { ok: false, error: `${label}: ${failure}, and ${why}; check the network and the server` };
  }
  const fromCache = await verifyCached(cached, highest, options);
  if (!fromCache.ok) return { ok: false, error: `${label}: ${failure}; ${fromCache.error}` };
  return { ...fromCache, notice: `${failure}; using the cached copy stored ${new Date(cached.storedAt).toISOString()}` };
}

/** Re-verifies a cached entry: untrusted storage, checked like a fresh download and against its own hash. */
async function verifyCached(
  entry: PolicyEntry,
  highest: number | null,
  options: PolicyLoadOptions,
): Promise<PolicyFetchResult> {
  const tampered = 'the cached copy was tampered with or corrupted';
  if (!(entry.bytes instanceof Uint8Array) || typeof entry.sha256 !== 'string') {
    return { ok: false, error: `${tampered} (malformed cache entry); reload while online to fetch it again` };
  }
  const bytes = new Uint8Array(entry.bytes);
  const actual = await sha256Hex(bytes);
  if (actual !== entry.sha256) {
    return { ok: false, error: `${tampered} (sha256 ${actual} does not match the stored ${entry.sha256}); reload while online to fetch it again` };
  }
  const verified = await verify(bytes, entry.signature, highest, options, actual);
  if (!verified.ok) return { ok: false, error: `cached copy refused: ${verified.error}` };
  if (verified.value.revision !== entry.revision) {
    return { ok: false, error: `${tampered} (its revision does not match the one stored with it); reload while online` };
  }
  const { text, sha256, revision, keyId } = verified.value;
  return result(text, sha256, 'cache', revision, keyId);
}

interface Verified {
  text: string;
  sha256: string;
  revision: number | null;
  keyId?: string;
}

/** The checks every copy passes, fresh or cached; `sha256`: the bytes' hash when already made. */
async function verify(
  bytes: PolicyBytes,
  signature: string | null,
  highest: number | null,
  options: PolicyLoadOptions,
  sha256?: string,
): Promise<Checked<Verified>> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (bytes.length > maxBytes) {
    return { ok: false, error: `policy is ${bytes.length} bytes, more than the ${maxBytes} allowed; shrink it or raise maxBytes` };
  }
  if (options.integrity !== undefined) {
    const pinned = await verifyIntegrity(bytes, options.integrity);
    if (!pinned.ok) return pinned;
  }
  let keyId: string | undefined;
  if ((options.publicKeys?.length ?? 0) > 0) {
    if (signature === null) {
      return { ok: false, error: 'missing signature: public keys are configured but no signature was stored; reload while online' };
    }
    const signed = await verifySignature(bytes, signature, options.publicKeys!);
    if (!signed.ok) return signed;
    keyId = signed.value;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, error: 'policy is not valid UTF-8; save it as UTF-8' };
  }
  const revision = readRevision(text);
  if (!revision.ok) return revision;
  const current = checkRevision(revision.value, highest);
  if (!current.ok) return current;
  const verified: Verified = { text, sha256: sha256 ?? (await sha256Hex(bytes)), revision: revision.value };
  if (keyId !== undefined) verified.keyId = keyId;
  return { ok: true, value: verified };
}

async function fetchPolicy(href: string, etag: string | null, options: PolicyLoadOptions): Promise<Fetched> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (etag !== null) headers['If-None-Match'] = etag;
  let response: Response;
  try {
    // no-store: the cache that counts is ours (verified); the 304 must reach us, not the HTTP cache.
    response = await (options.fetch ?? fetch)(href, {
      headers,
      cache: 'no-store',
      credentials: 'same-origin',
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (error) {
    return { kind: 'unavailable', error: `the network failed (${describe(error)})` };
  }
  if (response.status === 304) return { kind: 'not-modified' };
  if (isTransient(response.status)) return { kind: 'unavailable', error: `the server answered ${response.status}` };
  if (response.status !== 200) {
    return { kind: 'refused', error: `the server answered ${response.status}; publish the policy at this url or fix the url` };
  }
  try {
    return { kind: 'ok', bytes: new Uint8Array(await response.arrayBuffer()), etag: response.headers.get('ETag') };
  } catch (error) {
    return { kind: 'unavailable', error: `the network failed while reading the body (${describe(error)})` };
  }
}

async function fetchSignature(
  href: string,
  options: PolicyLoadOptions,
): Promise<{ kind: 'ok'; text: string } | { kind: 'unavailable'; error: string } | { kind: 'refused'; error: string }> {
  const sigUrl = new URL(options.signatureUrl ?? `${href}.sig`, href).href;
  try {
    const response = await (options.fetch ?? fetch)(sigUrl, {
      cache: 'no-store',
      credentials: 'same-origin',
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    if (isTransient(response.status)) return { kind: 'unavailable', error: `the signature server answered ${response.status}` };
    if (response.status !== 200) {
      return { kind: 'refused', error: `missing signature: "${sigUrl}" answered ${response.status}; publish the signature file next to the policy` };
    }
    return { kind: 'ok', text: await response.text() };
  } catch (error) {
    return { kind: 'unavailable', error: `the network failed while fetching the signature (${describe(error)})` };
  }
}

function result(
  text: string,
  sha256: string,
  source: PolicySource,
  revision: number | null,
  keyId: string | undefined,
  notice?: string,
): PolicyLoaded {
  const loaded: PolicyLoaded = { ok: true, text, sha256, source };
  if (revision !== null) loaded.revision = revision;
  if (keyId !== undefined) loaded.keyId = keyId;
  if (notice !== undefined) loaded.notice = notice;
  return loaded;
}

/** The store's answer, or a rejection once `storeTimeoutMs` passed. */
function bounded<T>(operation: Promise<T>, options: PolicyLoadOptions): Promise<T> {
  const ms = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms (another tab may be upgrading the database)`)), ms);
  });
  return Promise.race([operation, timeout]).finally(() => clearTimeout(timer));
}

function isTransient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
