/**
 * Reading a policy's bytes: a file (Node; by path or `file:` URL) or a plain fetch of a URL. Loaded
 * by `policy-source.ts` when a policy comes from one; a page reads URL policies through the policy
 * cache instead.
 *
 * Checklist:
 * - never throws: every failure is `{ok: false, error}` saying what the input was taken for and why;
 * - text is decoded as strict UTF-8 (invalid bytes are an error, not U+FFFD);
 * - sizes are bounded (by the declared length and by the bytes read) and fetches time out.
 */
import type { PolicySourceKind, ResolvedPolicy } from './policy-source.ts';
import { ACCEPTED, failure } from './policy-source.ts';
import { errorText, quote } from '../encoding/text.ts';

/**
 * Reads a policy file (Node only).
 *
 * @param path the file's path, relative to the working directory
 * @param maxBytes the largest accepted file
 * @param label how the file is named in error texts
 */
export async function readPolicyFile(
  path: string,
  maxBytes: number,
  label: string = path,
): Promise<ResolvedPolicy> {
  const what = `policy ${quote(label, 200)} was read as a file path`;
  if (typeof process === 'undefined' || typeof process.versions?.node !== 'string') {
    return failure(
      'file',
      label,
      `${what}, but files can only be read in Node; in a browser pass a URL or a policy object`,
    );
  }
  const { readFile, stat } = await import('node:fs/promises');
  const { resolve } = await import('node:path');
  const absolute = resolve(path);
  let bytes: Uint8Array;
  try {
    const info = await stat(absolute);
    if (!info.isFile())
      return failure(
        'file',
        label,
        `${what}, but ${quote(absolute, 200)} is not a file; ${ACCEPTED}`,
      );
    if (info.size > maxBytes)
      return failure(
        'file',
        label,
        `${what}, but it is larger than ${maxBytes} bytes; split or shorten the policy`,
      );
    bytes = await readFile(absolute);
  } catch (error) {
    return failure(
      'file',
      label,
      `${what}, but it cannot be read: ${fileErrorText(error, absolute)}`,
    );
  }
  return decodeText(bytes, 'file', label, what);
}

/**
 * Reads a policy file named by a `file:` URL (Node only).
 *
 * @param url the file's URL
 * @param maxBytes the largest accepted file
 */
export async function readPolicyFileUrl(url: URL, maxBytes: number): Promise<ResolvedPolicy> {
  const { fileURLToPath } = await import('node:url');
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch (error) {
    return failure(
      'file',
      url.href,
      `policy ${quote(url.href, 200)} was read as a file: URL but has no local path (${errorText(error)})`,
    );
  }
  return readPolicyFile(path, maxBytes, url.href);
}

/**
 * Fetches a policy URL plainly (no cache, no verification): Node, or a page without IndexedDB.
 *
 * @param url the policy's URL
 * @param timeoutMs how long the request may take
 * @param maxBytes the largest accepted policy
 */
export async function fetchPolicy(
  url: URL,
  timeoutMs: number,
  maxBytes: number,
): Promise<ResolvedPolicy> {
  const what = `policy ${quote(url.href, 200)} was fetched as a URL`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'follow',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    const cause = timedOut ? `no answer within ${timeoutMs} ms` : errorText(error);
    return failure(
      'network',
      url.href,
      `${what}, but the request failed (${cause}); check the URL and that the server is up`,
    );
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    return failure(
      'network',
      url.href,
      `${what}, but the server answered HTTP ${response.status}; check the URL`,
    );
  }
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    return failure(
      'network',
      url.href,
      `${what}, but it is larger than ${maxBytes} bytes; split or shorten the policy`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    return failure(
      'network',
      url.href,
      `${what}, but the body could not be read (${errorText(error)}); retry or check the server`,
    );
  }
  if (bytes.length > maxBytes) {
    return failure(
      'network',
      url.href,
      `${what}, but it is larger than ${maxBytes} bytes; split or shorten the policy`,
    );
  }
  return decodeText(bytes, 'network', url.href, what);
}

function decodeText(
  bytes: Uint8Array,
  source: PolicySourceKind,
  location: string,
  what: string,
): ResolvedPolicy {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { ok: true, text, source, location };
  } catch {
    return failure(
      source,
      location,
      `${what}, but it is not valid UTF-8; save the policy as UTF-8 JSON`,
    );
  }
}

function fileErrorText(error: unknown, path: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT')
    return `no such file ${quote(path, 200)}; check the path (relative paths start at the working directory)`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied for ${quote(path, 200)}`;
  if (code === 'EISDIR') return `${quote(path, 200)} is a directory`;
  return errorText(error);
}
