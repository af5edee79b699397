/**
 * A worker module built on its own and named by the page (`vite.worker-module.ts`): the worker's
 * approvals and its JS fallback. The page names each with the SHA-256 the build recorded in the
 * page's code (or `unchecked`) and its URL, since an app that bundles perso copies the files the
 * page names and never reads inside the worker.
 *
 * Checklist:
 * - built, a module is imported only from the URL the page named, once its bytes match the digest
 *   the page named, or unchecked where the page said so (the host's `codeIntegrity: false`);
 * - a built worker the page named no module to (or no digest) refuses it: the import throws, and
 *   the caller answers Deny naming the module;
 * - unbuilt (a dev server serving the sources), the source next to this file, unchecked, as
 *   `recordedDigest` does for the worker and the wasm.
 */
import { ENGINE_WASM_SHA256, fetchVerified, recordedDigest } from '../backend/code-integrity.ts';
import { EVALUATOR_UNCHECKED } from './evaluator-api.ts';

/** Where the page said a module is: its recorded SHA-256 (or `unchecked`) and its URL, or null. */
export interface NamedModule {
  digest: string;
  url: URL | null;
}

/**
 * Imports a named module, its bytes checked.
 *
 * @param name the module as a message names it (`approvals`, `JS fallback`)
 * @param source the source file next to this one (`./worker-approvals.ts`), for an unbuilt worker
 */
export async function importNamed<T>(
  { digest, url }: NamedModule,
  name: string,
  source: string,
): Promise<T> {
  const built = recordedDigest(ENGINE_WASM_SHA256) !== null;
  const unchecked = digest === EVALUATOR_UNCHECKED;
  if (url === null || (built && !unchecked && recordedDigest(digest) === null)) {
    if (built)
      throw new Error(
        `the page named no ${name} module for this worker (start it through perso's WorkerBackend)`,
      );
    // A variable, not a literal: the build makes no second copy of the module inside the worker.
    return import(/* @vite-ignore */ new URL(source, import.meta.url).href);
  }
  if (!unchecked && recordedDigest(digest) !== null) {
    const checked = await fetchVerified(url, digest, `the worker's ${name}`);
    if (!checked.ok) throw new Error(checked.error);
  }
  return import(/* @vite-ignore */ url.href);
}

/** A named module imported once, on demand: {@link namedOnDemand}. */
export interface OnDemand<T> {
  /** The module, importing it if need be; rejects when it cannot load (tried again next time). */
  load(): Promise<T>;
  /** The module once imported, else null. */
  readonly loaded: T | null;
}

/**
 * {@link importNamed}, once: every load shares the import that succeeded; one that failed is tried
 * again by the next load (a network blip does not refuse the module for the worker's lifetime).
 */
export function namedOnDemand<T>(named: NamedModule, name: string, source: string): OnDemand<T> {
  let loading: Promise<T> | null = null;
  let loaded: T | null = null;
  return {
    load: () =>
      (loading ??= importNamed<T>(named, name, source).then(
        (module) => (loaded = module),
        (error: unknown) => {
          loading = null;
          throw error;
        },
      )),
    get loaded() {
      return loaded;
    },
  };
}
