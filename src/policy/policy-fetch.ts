/**
 * A policy fetched over HTTP (its detached signature is fetched by `policy-signature.ts`, loaded
 * only where keys are configured, with the same rules).
 *
 * Checklist:
 * - `cache: 'no-store'`: the cache that counts is perso's (verified); a 304 must reach the loader,
 *   not the HTTP cache;
 * - every request is bounded by `timeoutMs` and sent with same-origin credentials only;
 * - only a failing network or server (a rejected fetch, a timeout, 408, 429, 5xx) is
 *   `unavailable` (the loader may fall back to its cache); 404 and other answers are `refused`.
 */
import type { PolicyBytes } from './policy-integrity.ts';
import { errorText } from '../encoding/text.ts';

/** The settings fetching uses (a subset of the loader's options). */
export interface PolicyFetchSettings {
  /** The fetch to use; default the global one. */
  fetch?: typeof fetch;
  /** Give up on the network after this long; default 5000 ms. */
  timeoutMs?: number;
  /** Where the detached signature is; default `<policy-url>.sig`. */
  signatureUrl?: string | URL;
}

/** How long a request may take when `timeoutMs` is not given. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** The policy's answer: its bytes, not modified (a 304), unavailable (may fall back) or refused. */
export type Fetched =
  | { kind: 'ok'; bytes: PolicyBytes; etag: string | null }
  | { kind: 'not-modified' }
  | { kind: 'unavailable'; error: string }
  | { kind: 'refused'; error: string };

/** The signature's answer: its text, unavailable (may fall back) or refused. */
export type FetchedSignature =
  | { kind: 'ok'; text: string }
  | { kind: 'unavailable'; error: string }
  | { kind: 'refused'; error: string };

/** Fetches the policy at `href`, with `If-None-Match: etag` when given; never throws. */
export async function fetchPolicy(
  href: string,
  etag: string | null,
  options: PolicyFetchSettings,
): Promise<Fetched> {
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
    return { kind: 'unavailable', error: `the network failed (${errorText(error)})` };
  }
  if (response.status === 304) return { kind: 'not-modified' };
  if (isTransient(response.status))
    return { kind: 'unavailable', error: `the server answered ${response.status}` };
  if (response.status !== 200) {
    return {
      kind: 'refused',
      error: `the server answered ${response.status}; publish the policy at this url or fix the url`,
    };
  }
  try {
    return {
      kind: 'ok',
      bytes: new Uint8Array(await response.arrayBuffer()),
      etag: response.headers.get('ETag'),
    };
  } catch (error) {
    return {
      kind: 'unavailable',
      error: `the network failed while reading the body (${errorText(error)})`,
    };
  }
}

/** A status that means the network or server failed (the loader may fall back to its cache). */
export function isTransient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}
