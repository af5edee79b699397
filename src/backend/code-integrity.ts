/**
 * Integrity of the code perso loads in a page: engine.wasm and the evaluator worker's script.
 *
 * The build records their SHA-256 here (`vite.code-digests.ts` writes each digest over its
 * placeholder in the built files, so the page code carries the worker's and the wasm's digests,
 * and the worker carries the wasm's); the runtime refuses any other bytes. Realm-neutral: the page
 * and the worker both import it.
 *
 * Checklist:
 * - a recorded digest is compared with the SHA-256 of the exact bytes about to be used (the worker
 *   started from them, the wasm compiled from them), never with a second download;
 * - a mismatch, an unreadable response or a digest that cannot be computed is an error text (the
 *   callers turn it into a Deny), never a pass;
 * - an unbundled build (sources served as they are, e.g. by a dev server) has no recorded digest:
 *   `recordedDigest` answers `null` and the code is used unchecked. What ships is built.
 */
import { toBase64 } from '../policy/base64.ts';
import { errorText } from '../encoding/text.ts';

/** SHA-256 (base64) of engine.wasm, written by the build over this placeholder (44 characters). */
export const ENGINE_WASM_SHA256 = 'PERSO-DIGEST:engine.wasm:0000000000000000000';
/** SHA-256 (base64) of the built evaluator worker script, written by the build (44 characters). */
export const EVALUATOR_WORKER_SHA256 = 'PERSO-DIGEST:evaluator-worker:00000000000000';
/** SHA-256 (base64) of the worker's approvals module (`src/worker/worker-approvals.ts`), built on its own. */
export const WORKER_APPROVALS_SHA256 = 'PERSO-DIGEST:worker-approvals:00000000000000';
/** SHA-256 (base64) of the worker's JS fallback (`src/worker/worker-reference.ts`), built on its own. */
export const WORKER_REFERENCE_SHA256 = 'PERSO-DIGEST:worker-reference:00000000000000';
/** SHA-256 (base64) of the worker's result code (`src/worker/worker-results.ts`), built on its own. */
export const WORKER_RESULTS_SHA256 = 'PERSO-DIGEST:worker-results:0000000000000000';
/** SHA-256 (base64) of the worker's batch code (`src/worker/worker-batch.ts`), built on its own. */
export const WORKER_BATCH_SHA256 = 'PERSO-DIGEST:worker-batch:000000000000000000';
/** SHA-256 (base64) of the worker's WebAuthn verifier (`src/worker/worker-webauthn.ts`), built on its own. */
export const WORKER_WEBAUTHN_SHA256 = 'PERSO-DIGEST:worker-webauthn:000000000000000';

/** The digest the build recorded, or `null` when this code was not built (a placeholder is left). */
export function recordedDigest(digest: string): string | null {
  // Compared character by character at run time, so no minifier folds the placeholder away.
  return digest.length === 44 &&
    digest.charCodeAt(5) === 45 /* '-' */ &&
    digest.indexOf('PERSO') === 0
    ? null
    : digest;
}

/** The words every mismatch's message carries. */
export const CODE_MISMATCH = 'is not the file this build of perso recorded';

/** A SHA-256 function: the digest of the bytes. */
export type Sha256 = (bytes: Uint8Array<ArrayBuffer>) => Promise<Uint8Array>;

/**
 * SHA-256 by WebCrypto, which exists only in secure contexts. The page passes a fallback (the
 * plain-JavaScript one, a lazy chunk); the worker does not, so that it stays one file: it checks
 * engine.wasm itself only when the page could not compile it.
 */
export async function webCryptoSha256(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined)
    throw new Error('WebCrypto is not available (not a secure context); serve the page over https');
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

/**
 * Checks `bytes` against a recorded digest: `null` when they match, else why not (for a reason).
 *
 * @param bytes the exact bytes about to be used
 * @param expected the recorded SHA-256, base64
 * @param what the file's name and URL, for the message
 * @param digest the SHA-256 function to use
 */
export async function checkCode(
  bytes: Uint8Array<ArrayBuffer>,
  expected: string,
  what: string,
  digest: Sha256 = webCryptoSha256,
): Promise<string | null> {
  let actual: string;
  try {
    actual = toBase64(await digest(bytes));
  } catch (error) {
    return `the SHA-256 of ${what} cannot be computed (${errorText(error)})`;
  }
  if (actual === expected) return null;
  return `${what} ${CODE_MISMATCH} (SHA-256 "${actual}", expected "${expected}"); serve perso's own files unchanged (see docs/browser.md#code-integrity)`;
}

/**
 * Fetches a file perso runs and checks it: its bytes, or why they cannot be used.
 *
 * @param url where the file is
 * @param expected the recorded SHA-256, base64
 * @param name the file's name, for the message
 * @param digest the SHA-256 function to use
 */
export async function fetchVerified(
  url: URL,
  expected: string,
  name: string,
  digest: Sha256 = webCryptoSha256,
): Promise<{ ok: true; bytes: Uint8Array<ArrayBuffer> } | { ok: false; error: string }> {
  const what = `${name} ("${url.href}")`;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    const response = await fetch(url, { credentials: 'same-origin' });
    if (!response.ok)
      return { ok: false, error: `${what} could not be fetched (HTTP ${response.status})` };
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    return {
      ok: false,
      error: `${what} could not be fetched (${errorText(error)})`,
    };
  }
  const problem = await checkCode(bytes, expected, what, digest);
  return problem === null ? { ok: true, bytes } : { ok: false, error: problem };
}
