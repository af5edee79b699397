/**
 * Where a policy comes from: resolves the `policy` option to the policy's JSON text.
 *
 * Accepted inputs, tried in this order:
 * 1. a policy object → its JSON text (`source: 'inline'`);
 * 2. a string starting with `{` → JSON text as given (`inline`);
 * 3. a `URL`, or a string starting with `http:`, `https:` or `file:` → fetched or read
 *    (`network` or `file`);
 * 4. any other string → a file path, relative to the working directory (`file`).
 *
 * Checklist:
 * - never throws: every failure is `{ok: false, error}` saying what the input was taken for and why
 *   it failed, so a host sees "read as a file path" rather than a bare ENOENT;
 * - text is decoded as strict UTF-8 (invalid bytes are an error, not U+FFFD);
 * - sizes are bounded and network fetches time out;
 * - Node modules are imported lazily, so this module loads in a browser too, where URL policies
 *   go through the policy cache instead (see {@link PolicySourceOptions.fetchPolicy}).
 */
import type { Policy } from './policy.ts';
import { FETCH_FILES_FIX, errorText, notLoaded, quote } from '../encoding/text.ts';

/** What a host may pass as a policy: an object, JSON text, a file path (Node) or a URL. */
export type PolicyInput = Policy | string | URL;

/** Where the loaded policy text came from. */
export type PolicySourceKind = 'inline' | 'file' | 'network' | 'cache';

/** The outcome of {@link resolvePolicySource}. */
export type ResolvedPolicy =
  | {
      ok: true;
      text: string;
      source: PolicySourceKind;
      location: string | null;
      /**
       * Present when the source keeps what it fetched (the browser's policy cache): call it once
       * the policy was accepted (the engine loaded it), so a refused policy is never cached.
       */
      commit?: () => Promise<void>;
    }
  | { ok: false; error: string; source: PolicySourceKind | null; location: string | null };

/** Options of {@link resolvePolicySource}. */
export interface PolicySourceOptions {
  /** Largest accepted policy, in bytes; default 1 MiB. */
  maxBytes?: number;
  /** Network timeout, in milliseconds; default 10 000. */
  timeoutMs?: number;
  /**
   * Seam for the browser: fetches an `http(s)` policy URL instead of the plain `fetch` below
   * (the browser's policy cache plugs in here: ETag revalidation, offline fallback, integrity).
   */
  fetchPolicy?: (url: URL) => Promise<ResolvedPolicy>;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;
/** What the `policy` option accepts, for error texts. */
export const ACCEPTED =
  'pass a policy object, JSON text, a file path, a file: URL or an http(s) URL';

/**
 * Policy files and plain fetches are read by `policy-read.ts`, loaded when a policy comes from
 * one: a page reads URL policies through its cache (`fetchPolicy`) and never downloads it.
 */
async function policyRead(): Promise<typeof import('./policy-read.ts')> {
  try {
    return await import('./policy-read.ts');
  } catch (error) {
    throw new Error(`${notLoaded('the policy reader', error)}; ${FETCH_FILES_FIX}`);
  }
}

/** Resolves a policy input to its JSON text. Never throws. */
export async function resolvePolicySource(
  input: unknown,
  options: PolicySourceOptions = {},
): Promise<ResolvedPolicy> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  try {
    if (input instanceof URL) return await resolveUrl(input, options, maxBytes);
    if (typeof input === 'string') {
      const text = input.trimStart();
      if (text.startsWith('{')) return inlineText(input, maxBytes);
      if (text === '') return failure('inline', null, `policy: the text is empty; ${ACCEPTED}`);
      const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(text);
      // One letter before the colon is a Windows drive (`C:\policy.json`), not a URL scheme.
      if (scheme !== null) {
        let url: URL;
        try {
          url = new URL(text);
        } catch {
          return failure(
            'network',
            text,
            `policy ${quote(text, 200)} was read as a URL but is not a valid one; ${ACCEPTED}`,
          );
        }
        return await resolveUrl(url, options, maxBytes);
      }
      return await (await policyRead()).readPolicyFile(input, maxBytes);
    }
    if (input !== null && typeof input === 'object' && !Array.isArray(input))
      return inlineObject(input, maxBytes);
    return failure(
      null,
      null,
      `policy: expected a policy object, JSON text, a file path or a URL, got ${describe(input)}; ${ACCEPTED}`,
    );
  } catch (error) {
    return failure(null, null, `policy: could not be resolved (${errorText(error)}); ${ACCEPTED}`);
  }
}

function inlineObject(policy: object, maxBytes: number): ResolvedPolicy {
  let text: string;
  try {
    text = JSON.stringify(policy);
  } catch (error) {
    return failure(
      'inline',
      null,
      `policy: the policy object cannot be written as JSON (${errorText(error)}); pass plain JSON data`,
    );
  }
  return inlineText(text, maxBytes);
}

function inlineText(text: string, maxBytes: number): ResolvedPolicy {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: only long texts need the exact count.
  if (text.length * 3 > maxBytes && new TextEncoder().encode(text).length > maxBytes) {
    return failure(
      'inline',
      null,
      `policy: the JSON text is larger than ${maxBytes} bytes; split or shorten the policy`,
    );
  }
  return { ok: true, text, source: 'inline', location: null };
}

async function resolveUrl(
  url: URL,
  options: PolicySourceOptions,
  maxBytes: number,
): Promise<ResolvedPolicy> {
  switch (url.protocol) {
    case 'file:':
      return await (await policyRead()).readPolicyFileUrl(url, maxBytes);
    case 'http:':
    case 'https:':
      if (options.fetchPolicy !== undefined) return await options.fetchPolicy(url);
      return await (await policyRead()).fetchPolicy(
        url,
        options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxBytes,
      );
    default:
      return failure(
        null,
        url.href,
        `policy ${quote(url.href, 200)} has the unsupported scheme ${quote(url.protocol, 200)}; ${ACCEPTED}`,
      );
  }
}

/** A failed resolution. */
export function failure(
  source: PolicySourceKind | null,
  location: string | null,
  error: string,
): ResolvedPolicy {
  return { ok: false, error, source, location };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'undefined' ? 'nothing' : `a ${typeof value}`;
}
