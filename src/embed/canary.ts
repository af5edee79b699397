/**
 * The embed's self-check: registers a canary tool through the page's model context, calls it the
 * way an agent does, and checks that the guard answered it — not the canary's own body.
 *
 * A guard that is not in the path fails silently unless it checks; this check fails loudly. Its
 * causes: the embed loaded before the WebMCP polyfill, a later script replaced the model context,
 * or the polyfill routes calls around `registerTool`.
 */

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
  const random = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return Object.freeze({ name: `perso-canary-${random.slice(0, 8)}`, token: `perso-canary-ok-${random}` });
}

interface ModelContextLike {
  registerTool?: (tool: object, options?: { signal?: AbortSignal }) => unknown;
  getTools?: () => Promise<unknown[]>;
  executeTool?: (tool: unknown, inputJson: string) => Promise<unknown>;
}

interface TestingShim {
  executeTool?: (name: string, inputJson: string) => Promise<unknown>;
}

/**
 * Runs the check against the page's current model context.
 *
 * @param canary the identity the guard recognises
 * @param timeoutMs how long the round trip may take
 */
export async function runCanary(canary: Canary, timeoutMs = 3000): Promise<CanaryVerdict> {
  const context = (document as unknown as { modelContext?: ModelContextLike }).modelContext;
  if (context === undefined || context === null) {
    return 'no WebMCP model context (document.modelContext) is present; load the WebMCP polyfill before perso-embed.js';
  }
  if (typeof context.registerTool !== 'function') return 'document.modelContext has no registerTool';
  let bodyRan = false;
  const registration = new AbortController();
  try {
    await withTimeout(
      Promise.resolve(
        context.registerTool(
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
    const answer = await withTimeout(callAsAgent(context, canary.name), timeoutMs, 'calling the canary tool');
    if (bodyRan) return 'a tool call reached the tool without passing through the guard; load perso-embed.js right after the WebMCP polyfill and before any other script';
    if (!JSON.stringify(answer ?? null).includes(canary.token)) {
      return 'the canary tool call did not come back through the guard; check the order of the scripts in <head>';
    }
    return null;
  } catch (error) {
    return `the self-check failed: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    registration.abort();
  }
}

// An in-page agent calls tools through `executeTool` (WebMCP), or the testing shim of older drafts.
async function callAsAgent(context: ModelContextLike, name: string): Promise<unknown> {
  if (typeof context.getTools === 'function' && typeof context.executeTool === 'function') {
    const tools = await context.getTools();
    const tool = tools.find((candidate) => (candidate as { name?: unknown })?.name === name);
    if (tool === undefined) throw new Error('the canary tool was registered but getTools() does not list it');
    return context.executeTool(tool, '{}');
  }
  const testing = (navigator as unknown as { modelContextTesting?: TestingShim }).modelContextTesting;
  if (typeof testing?.executeTool === 'function') return testing.executeTool(name, '{}');
  throw new Error('the model context offers no way to call a tool (executeTool); cannot check the guard');
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
