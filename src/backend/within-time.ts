/**
 * Code loaded on demand, bounded in time: a chunk whose request stalls (a network that never
 * answers) is a failure after a while, which the caller turns into a Deny naming it, instead of a
 * call that never settles.
 */

/**
 * How long the page waits for a chunk of its own code loaded on demand (the default start timeout
 * of the worker: a cold start on a slow phone).
 */
export const LAZY_CODE_TIMEOUT_MS = 5000;

/**
 * `loading`, or a rejection once `ms` passed (a chunk whose request hangs).
 *
 * @param loading the dynamic import (or any promise)
 * @param ms how long to wait for it
 */
export function withinTime<T>(loading: Promise<T>, ms: number = LAZY_CODE_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not loaded within ${ms} ms`)), ms);
  });
  return Promise.race([loading, late]).finally(() => clearTimeout(timer));
}

/**
 * A module loaded on demand: the first call imports it within `ms`, later calls get the same
 * module without a timer; a failed load is tried again by the next call.
 *
 * @param load the dynamic import, e.g. `() => import('./x.ts')`
 */
export function onDemand<T>(
  load: () => Promise<T>,
  ms: number = LAZY_CODE_TIMEOUT_MS,
): () => Promise<T> {
  let loaded: T | undefined;
  return async () => (loaded ??= await withinTime(load(), ms));
}
