/**
 * Starts perso's worker on pages that enforce Trusted Types (`require-trusted-types-for 'script'`),
 * where `new Worker(url)` refuses a plain URL: the URL goes through a Trusted Types policy named
 * `perso`, which lets through only the URL perso itself is starting, once.
 *
 * Checklist:
 * - the policy is created once, lazily, and kept in this module: no other script can reach it;
 * - it turns into a `TrustedScriptURL` only the exact URL perso is starting, and only during that
 *   call; anything else throws;
 * - without Trusted Types (or when the page's `trusted-types` directive does not allow the name
 *   `perso`), the worker starts from the plain URL, and where Trusted Types are enforced the browser's
 *   refusal becomes a Deny whose reason names the policy to allow.
 */
import { quote } from '../encoding/text.ts';

/** The name of perso's Trusted Types policy; a page that lists allowed names adds it. */
export const TRUSTED_TYPES_POLICY = 'perso';

interface TrustedTypesLike {
  createPolicy(
    name: string,
    rules: { createScriptURL(input: string): string },
  ): { createScriptURL(input: string): unknown };
}

let policy: { createScriptURL(input: string): unknown } | null | undefined;
let expected: string | null = null;

function trustedTypesPolicy(): { createScriptURL(input: string): unknown } | null {
  if (policy !== undefined) return policy;
  const factory = (globalThis as { trustedTypes?: TrustedTypesLike }).trustedTypes;
  if (factory === undefined || typeof factory.createPolicy !== 'function') return (policy = null);
  try {
    policy = factory.createPolicy(TRUSTED_TYPES_POLICY, {
      createScriptURL(input: string): string {
        if (expected === null || input !== expected)
          throw new TypeError(
            `perso's Trusted Types policy only passes perso's own worker URL, not ${quote(input, 100)}`,
          );
        return input;
      },
    });
  } catch {
    // The page's `trusted-types` directive does not allow the name (or already has one of it).
    policy = null;
  }
  return policy;
}

/**
 * Runs `start` (which must construct the worker with the literal `new Worker(new URL(...))` that
 * bundlers look for) with `Worker` passing its URL through perso's Trusted Types policy.
 *
 * Bundlers (Vite, webpack 5) recognise the worker only in that literal form, with `Worker` the
 * global: so the global is swapped, for the synchronous extent of `start` only, for a subclass that
 * converts the URL, and put back before this returns.
 *
 * @param start constructs and returns the worker
 */
export function withTrustedWorker(start: () => Worker): Worker {
  const trusted = trustedTypesPolicy();
  const NativeWorker = globalThis.Worker;
  if (trusted === null || typeof NativeWorker !== 'function') return start();
  class TrustedWorker extends NativeWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      expected = String(url);
      try {
        super(trusted!.createScriptURL(expected) as string, options);
      } finally {
        expected = null;
      }
    }
  }
  try {
    globalThis.Worker = TrustedWorker;
  } catch {
    // A page that froze Worker: start from the plain URL; the browser says why if it refuses.
    return start();
  }
  try {
    return start();
  } finally {
    globalThis.Worker = NativeWorker;
  }
}
