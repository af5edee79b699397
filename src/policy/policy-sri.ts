/**
 * Pinned policy hashes, like Subresource Integrity: `integrity: 'sha256-<base64>'`, several
 * space-separated tokens (`sha256-…`, `sha384-…`, `sha512-…`) meaning "any of these". Loaded by
 * `policy-integrity.ts` on first use: a page that pins no `integrity` never downloads it.
 *
 * Checklist:
 * - a value with no token perso understands is an error, never a pass;
 * - a digest that cannot be made (sha384/sha512 without WebCrypto) is an error, never a pass.
 */
import type { Checked, PolicyBytes } from './policy-integrity.ts';
import { fromBase64, toBase64 } from './base64.ts';
import { sha256Digest } from '../encoding/sha256-hex.ts';
import { errorText, quote } from '../encoding/text.ts';

const SRI_ALGORITHMS = Object.freeze({
  sha256: 'SHA-256',
  sha384: 'SHA-384',
  sha512: 'SHA-512',
} as const);
type SriAlgorithm = keyof typeof SRI_ALGORITHMS;

const NO_WEBCRYPTO =
  'this page has no WebCrypto (crypto.subtle exists only on https pages and localhost); serve the page over https';

/** The SRI token (`sha256-<base64>`) for the bytes, to pin as `integrity`. */
export async function integrityOf(
  bytes: PolicyBytes,
  algorithm: SriAlgorithm = 'sha256',
): Promise<string> {
  const digest = await digestOf(SRI_ALGORITHMS[algorithm], bytes);
  return `${algorithm}-${toBase64(digest)}`;
}

async function digestOf(
  algorithm: 'SHA-256' | 'SHA-384' | 'SHA-512',
  bytes: PolicyBytes,
): Promise<Uint8Array> {
  if (algorithm === 'SHA-256') return sha256Digest(bytes);
  const subtle = globalThis.crypto?.subtle;
  if (subtle !== undefined) return new Uint8Array(await subtle.digest(algorithm, bytes));
  throw new Error(`${algorithm} ${NO_WEBCRYPTO}, or pin a sha256- hash`);
}

/**
 * Checks the bytes against a pinned `integrity` value (SRI syntax; any one token may match).
 * A value with no token perso understands is an error, never a pass.
 */
export async function verifyIntegrity(
  bytes: PolicyBytes,
  integrity: string,
): Promise<Checked<string>> {
  const tokens = integrity
    .trim()
    .split(/\s+/)
    .filter((t) => t.length > 0);
  const wanted: { algorithm: SriAlgorithm; digest: string }[] = [];
  for (const token of tokens) {
    const match = /^(sha256|sha384|sha512)-([A-Za-z0-9+/_-]+={0,2})(\?.*)?$/.exec(token);
    if (match !== null) wanted.push({ algorithm: match[1] as SriAlgorithm, digest: match[2]! });
  }
  if (wanted.length === 0) {
    return {
      ok: false,
      error: `integrity ${quote(integrity, 200)} has no sha256-, sha384- or sha512- token; pin it as "sha256-<base64>"`,
    };
  }
  const actual = new Map<SriAlgorithm, string>();
  for (const { algorithm, digest } of wanted) {
    try {
      if (!actual.has(algorithm))
        actual.set(algorithm, (await integrityOf(bytes, algorithm)).slice(algorithm.length + 1));
    } catch (error) {
      return {
        ok: false,
        error: `integrity ${quote(integrity, 200)} cannot be checked: ${errorText(error)}`,
      };
    }
    const expected = fromBase64(digest);
    if (expected !== null && toBase64(expected) === actual.get(algorithm))
      return { ok: true, value: `${algorithm}-${digest}` };
  }
  const first = wanted[0]!.algorithm;
  return {
    ok: false,
    error: `policy bytes do not match the pinned integrity ${quote(integrity, 200)} (they hash to "${first}-${actual.get(first)}"); publish the pinned policy or update the pin`,
  };
}
