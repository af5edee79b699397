/**
 * What the bridge put in the worker's name (`EVALUATOR_WORKER_NAME`): an optional `fallback=js`,
 * engine.wasm's URL, then the SHA-256 and the URL of the worker's approvals, those of its WebAuthn
 * verifier, those of its result code, those of its batch code, then (with `fallback=js`) those of
 * its JS fallback.
 *
 * Checklist:
 * - a URL counts only on this worker's origin (a blob: worker has its page's); any other word is
 *   ignored, and the worker falls back to what is next to its own script;
 * - another name (a worker started by hand) means none of them.
 */
import { EVALUATOR_JS_FALLBACK, EVALUATOR_WORKER_NAME } from './evaluator-api.ts';

declare const self: DedicatedWorkerGlobalScope;

const words: string[] | null = self.name.startsWith(`${EVALUATOR_WORKER_NAME} `)
  ? self.name.slice(EVALUATOR_WORKER_NAME.length + 1).split(' ')
  : null;

/** The host chose `fallback: 'js'`: where engine.wasm cannot compile, the reference evaluator decides. */
export const jsFallback = words?.[0] === EVALUATOR_JS_FALLBACK;

const [
  wasmWord = '',
  approvalsDigest = '',
  approvalsWord = '',
  webAuthnDigest = '',
  webAuthnWord = '',
  resultsDigest = '',
  resultsWord = '',
  batchDigest = '',
  batchWord = '',
  referenceDigest = '',
  referenceWord = '',
] = words?.slice(jsFallback ? 1 : 0) ?? [];

/** `word` as a URL on this worker's origin, else null. */
function sameOriginUrl(word: string): URL | null {
  if (word === '') return null;
  try {
    const given = new URL(word);
    return given.origin === self.location.origin ? given : null;
  } catch {
    return null;
  }
}

/** engine.wasm's URL from the name, or null. */
export const namedWasmUrl: URL | null = sameOriginUrl(wasmWord);

/** The worker's approvals: the digest the page recorded (or `unchecked`) and their URL, or null. */
export const namedApprovals = { digest: approvalsDigest, url: sameOriginUrl(approvalsWord) };

/** The worker's JS fallback: the digest the page recorded (or `unchecked`) and its URL, or null. */
export const namedReference = { digest: referenceDigest, url: sameOriginUrl(referenceWord) };

/** The worker's WebAuthn verifier: the digest the page recorded (or `unchecked`) and its URL, or null. */
export const namedWebAuthn = { digest: webAuthnDigest, url: sameOriginUrl(webAuthnWord) };

/** The worker's result code: the digest the page recorded (or `unchecked`) and its URL, or null. */
export const namedResults = { digest: resultsDigest, url: sameOriginUrl(resultsWord) };

/** The worker's batch code: the digest the page recorded (or `unchecked`) and its URL, or null. */
export const namedBatch = { digest: batchDigest, url: sameOriginUrl(batchWord) };
