/**
 * The embed's self-check: registers a canary tool through the page's model context, calls it the
 * way an agent does, and checks that the guard answered it — not the canary's own body.
 *
 * A guard that is not in the path fails silently unless it checks; this check fails loudly. Its
 * causes: no polyfill (or native WebMCP) by the time the page loaded, a script that locked a
 * surface before perso ran, or a polyfill that routes calls around `registerTool`. On a context
 * that offers no way to call a tool from the page, the check is that the registration passed the
 * guard.
 */
import { readToolReference } from './tool-descriptor.ts';
import { toHex } from '../encoding/hex.ts';
import { errorText } from '../encoding/text.ts';

/** A self-check's answer: `null` when the guard is in the path, else why it is not. */
export type CanaryVerdict = string | null;

/** The canary's identity: its name and the token the guard answers it with. */
export interface Canary {
  /** `perso-canary-<random>`. */
  readonly name: string;
  /** What the guard answers, so the check can tell it from the canary's own body. */
  readonly token: string;
}

/** Makes a fresh canary identity. */
export function createCanary(): Canary {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  const random = toHex(bytes);
  return Object.freeze({
    name: `perso-canary-${random.slice(0, 8)}`,
    token: `perso-canary-ok-${random}`,
  });
}

interface ModelContextLike {
  registerTool?: (tool: object, options?: { signal?: AbortSignal }) => unknown;
  getTools?: () => Promise<unknown[]>;
  executeTool?: (tool: unknown, input: unknown) => Promise<unknown>;
}

interface TestingShim {
  executeTool?: (name: string, inputJson: string) => Promise<unknown>;
}

/**
 * Runs the check against one model context.
 *
 * @param canary the identity the guard recognises
 * @param context the model context to check (`document.modelContext`, `navigator.modelContext`)
 * @param surface its name, for the messages
 * @param sawRegistration whether the guard saw the canary registered (the check's last resort on
 *   a context that offers no way to call a tool)
 * @param timeoutMs how long the round trip may take
 */
export async function runCanary(
  canary: Canary,
  context: unknown,
  surface: string,
  sawRegistration: () => boolean,
  timeoutMs = 3000,
): Promise<CanaryVerdict> {
  if (context === undefined || context === null || typeof context !== 'object') {
    return `no WebMCP model context (${surface}) is present; load the WebMCP polyfill in <head>`;
  }
  const target = context as ModelContextLike;
  if (typeof target.registerTool !== 'function') return `${surface} has no registerTool`;
  let bodyRan = false;
  const registration = new AbortController();
  try {
    await withTimeout(
      Promise.resolve(
        target.registerTool(
          {
            name: canary.name,
            description: 'perso self-check; not for agents (it is removed at once)',
            inputSchema: { type: 'object', properties: {} },
            execute: () => {
              bodyRan = true;
              return { content: [{ type: 'text', text: 'canary body ran' }] };
            },
          },
          { signal: registration.signal },
        ),
      ),
      timeoutMs,
      'registering the canary tool',
    );
    if (!sawRegistration())
      return `${surface}.registerTool does not pass through the guard; load perso-embed.js before any script that replaces the model context`;
    const answer = await withTimeout(
      callAsAgent(target, canary.name),
      timeoutMs,
      'calling the canary tool',
    );
    if (answer === NO_WAY_TO_CALL) return null;
    if (bodyRan)
      return `a tool call through ${surface} reached the tool without passing through the guard; load perso-embed.js before any script that replaces the model context`;
    if (!JSON.stringify(answer ?? null).includes(canary.token)) {
      return `the canary tool call through ${surface} did not come back through the guard; check the order of the scripts in <head>`;
    }
    return null;
  } catch (error) {
    return `the self-check of ${surface} failed: ${errorText(error)}`;
  } finally {
    registration.abort();
  }
}

/** The context offers no way to call a tool from the page: the registration check is all there is. */
const NO_WAY_TO_CALL = Symbol('no way to call');

// An in-page agent calls tools through `executeTool` (WebMCP): today with an object input, for a
// `Tool` that names its window `source`; with a JSON string for the older form (`window`). The
// testing shim of older drafts (removed from Chromium) is the fallback. The form is chosen by
// what the objects offer, never by trying one call and then another (a retry can run a tool twice).
async function callAsAgent(context: ModelContextLike, name: string): Promise<unknown> {
  if (typeof context.getTools === 'function' && typeof context.executeTool === 'function') {
    const tools = await context.getTools();
    const tool = tools.find((candidate) => readToolReference(candidate).name === name);
    if (tool === undefined)
      throw new Error('the canary tool was registered but getTools() does not list it');
    return context.executeTool(tool, readToolReference(tool).current ? {} : '{}');
  }
  const testing = (navigator as unknown as { modelContextTesting?: TestingShim })
    .modelContextTesting;
  if (typeof testing?.executeTool === 'function') return testing.executeTool(name, '{}');
  return NO_WAY_TO_CALL;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
