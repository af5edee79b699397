/**
 * Rate-limit windows, written from docs/policy.md ("Rate limits") alone: the times of the calls an
 * Allow rule with `rate_limit` allowed, per (tool, role).
 *
 * Checklist (each line is a sentence of the docs):
 * - the window at `now` counts exactly the allowed calls with a time in (now - S, now], in
 *   whatever order the host's clock gave them;
 * - a call without a usable time (none, or |now| beyond 2^43 seconds) cannot be counted: denied;
 * - bounded, as a long-lived fallback needs: past 10,000 times a pair the oldest go first (only
 *   when time goes far back could one of them still be in a window).
 */

const LARGEST_TIME = 2 ** 43;
const KEEP_AT_MOST = 10_000;

/** The rate-limit windows of one policy. */
export class ReferenceRateLimits {
  /** (tool, role) → the times of the Allowed calls a rate-limited rule counted. */
  readonly #allowed = new Map<string, Map<string, number[]>>();

  /** Counts an Allowed call at `at` on (tool, role). */
  count(tool: string, role: string, at: number): void {
    let byRole = this.#allowed.get(tool);
    if (byRole === undefined) this.#allowed.set(tool, (byRole = new Map()));
    const times = [...(byRole.get(role) ?? []), at];
    if (times.length > KEEP_AT_MOST)
      times.sort((a, b) => a - b).splice(0, times.length - KEEP_AT_MOST);
    byRole.set(role, times);
  }

  /** Null when the window has room at `now`; else what the Deny carries (`retryAfter` with a time). */
  limited(
    tool: string,
    role: string,
    limit: { readonly max: number; readonly perSeconds: number },
    now: number | undefined,
  ): { retryAfter?: number } | null {
    if (now === undefined || Math.abs(now) > LARGEST_TIME) return {};
    const { max, perSeconds } = limit;
    const inWindow = (this.#allowed.get(tool)?.get(role) ?? []).filter(
      (t) => t > now - perSeconds && t <= now,
    );
    if (inWindow.length < max) return null;
    return { retryAfter: Math.min(...inWindow) + perSeconds - now };
  }
}
