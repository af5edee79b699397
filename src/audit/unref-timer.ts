/**
 * Background timers (an audit transport's flush or retry) must not keep a Node process alive:
 * `unref` lets the process exit while one is pending. Browsers' timers are numbers, with nothing
 * to unref; there this is a no-op.
 */
export function unrefTimer<T>(timer: T): T {
  (timer as { unref?: () => void } | null | undefined)?.unref?.();
  return timer;
}
