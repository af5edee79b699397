/**
 * Where the evaluator worker finds the modules it loads on demand, as the page names each to the
 * worker: its approvals (`src/worker/worker-approvals.ts`, loaded on its first Ask), its WebAuthn
 * verifier (`src/worker/worker-webauthn.ts`, on the first WebAuthn approval), its result code
 * (`src/worker/worker-results.ts`, on the first tool result or restore), its batch code
 * (`src/worker/worker-batch.ts`, on the first batch) and, with
 * `fallback: 'js'`, its JS fallback (`src/worker/worker-reference.ts`, where engine.wasm cannot
 * compile). Each is the SHA-256 the build recorded (or `unchecked`, where the host turned code
 * integrity off), a space, the URL.
 *
 * The page names the files, not the worker: an app that bundles perso copies (and renames) each
 * file the page's code names with `new URL(<literal>, import.meta.url)`, the worker's script among
 * them, and never reads inside the worker. Built, a URL is that of the module bundled on its own
 * (`vite.worker-module.ts`); unbuilt, the source file, and the digest is the placeholder (unchecked).
 */
import {
  WORKER_APPROVALS_SHA256,
  WORKER_BATCH_SHA256,
  WORKER_RESULTS_SHA256,
  WORKER_REFERENCE_SHA256,
  WORKER_WEBAUTHN_SHA256,
} from './code-integrity.ts';
import { EVALUATOR_UNCHECKED } from '../worker/evaluator-api.ts';

/**
 * `<digest> <URL>` of the approvals, of the WebAuthn verifier, of the result code, of the batch
 * code and (with
 * `jsFallback`) of the JS fallback, for the worker's name.
 *
 * @param checked false where the host turned code integrity off (`codeIntegrity: false`)
 * @param jsFallback the host chose `fallback: 'js'`
 */
export function workerModuleWords(checked: boolean, jsFallback: boolean): string {
  const named = (digest: string, url: URL) =>
    ` ${checked ? digest : EVALUATOR_UNCHECKED} ${url.href}`;
  return (
    named(WORKER_APPROVALS_SHA256, new URL('../worker/worker-approvals.ts', import.meta.url)) +
    named(WORKER_WEBAUTHN_SHA256, new URL('../worker/worker-webauthn.ts', import.meta.url)) +
    named(WORKER_RESULTS_SHA256, new URL('../worker/worker-results.ts', import.meta.url)) +
    named(WORKER_BATCH_SHA256, new URL('../worker/worker-batch.ts', import.meta.url)) +
    (jsFallback
      ? named(WORKER_REFERENCE_SHA256, new URL('../worker/worker-reference.ts', import.meta.url))
      : '')
  );
}
