/**
 * Where the evaluator worker finds its approvals (`src/worker/worker-approvals.ts`, loaded on its
 * first Ask) and its JS fallback (`src/worker/worker-reference.ts`), as the page names each to the worker: the SHA-256 the build recorded (or `unchecked`,
 * where the host turned code integrity off), a space, the URL.
 *
 * The page names the file, not the worker: an app that bundles perso copies (and renames) each file
 * the page's code names with `new URL(<literal>, import.meta.url)`, the worker's script among them,
 * and never reads inside the worker. Built, the URL is that of the module bundled on its own
 * (`vite.worker-module.ts`); unbuilt, the source file, and the digest is the placeholder (unchecked).
 */
import { WORKER_APPROVALS_SHA256, WORKER_REFERENCE_SHA256 } from './code-integrity.ts';
import { EVALUATOR_UNCHECKED } from '../worker/evaluator-api.ts';

/**
 * `<base64 SHA-256> <URL>` of the worker's approvals module, for the worker's name.
 *
 * @param checked false where the host turned code integrity off (`codeIntegrity: false`)
 */
export function workerApprovalsWords(checked: boolean): string {
  const digest = checked ? WORKER_APPROVALS_SHA256 : EVALUATOR_UNCHECKED;
  return `${digest} ${new URL('../worker/worker-approvals.ts', import.meta.url).href}`;
}

/**
 * `<base64 SHA-256> <URL>` of the worker's JS fallback (`fallback: 'js'`), for the worker's name.
 *
 * @param checked false where the host turned code integrity off (`codeIntegrity: false`)
 */
export function workerReferenceWords(checked: boolean): string {
  const digest = checked ? WORKER_REFERENCE_SHA256 : EVALUATOR_UNCHECKED;
  return `${digest} ${new URL('../worker/worker-reference.ts', import.meta.url).href}`;
}
