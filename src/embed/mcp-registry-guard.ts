/**
 * Guards a WebMCP polyfill's own MCP registry: `@mcp-b/global` exposes the `McpServer` that serves
 * its MCP transport as `document.modelContext.mcpServer`, and a tool registered there directly is
 * callable over that transport without passing WebMCP's `registerTool`.
 *
 * Checklist:
 * - `mcpServer.registerTool` (and the older `tool`) are replaced by non-writable, non-configurable
 *   wrappers that guard the handler;
 * - a tool already in the registry when the guard arrives (registered before perso loaded) has its
 *   handler replaced by a guarded one through the registry's own `update({ callback })`; a tool
 *   whose handler cannot be replaced is disabled, and the returned list names it;
 * - the polyfill's mirror of a tool the WebMCP wrapper already guarded passes as it is, so a call
 *   is checked once.
 */
import { readAnnotations } from '../policy/annotation-defaults.ts';
import { runGuarded, signalOf } from './run-guarded.ts';
import type { GuardedCall } from './run-guarded.ts';
import type { GuardRuntime } from './guard-runtime.ts';
import { errorText } from '../encoding/text.ts';

/** An entry of the SDK's `McpServer._registeredTools`, as far as the guard uses it. */
interface RegisteredMcpTool {
  handler?: unknown;
  callback?: unknown;
  annotations?: unknown;
  update?: (changes: { callback?: unknown; enabled?: boolean }) => void;
  disable?: () => void;
}

/**
 * Guards `mcpServer`'s tool registrations from now on, and the tools already in it.
 *
 * @param mcpServer the polyfill's `McpServer`
 * @param runtime the embed's session, reporting and approval
 * @param alreadyGuarded whether a tool of that name is the mirror of one the WebMCP wrapper guards
 * @returns the names of tools that could not be guarded (they were disabled), or why the registry
 *   could not be wrapped
 */
export function guardMcpRegistry(
  mcpServer: object,
  runtime: GuardRuntime,
  alreadyGuarded: (name: string) => boolean,
): { unguarded: string[] } | string {
  const target = mcpServer as Record<string, unknown>;
  const registerTool = target.registerTool;
  if (typeof registerTool !== 'function')
    return 'the polyfill MCP server has no registerTool function';
  const tool = target.tool;
  try {
    lock(
      target,
      'registerTool',
      function guardedRegisterTool(
        this: unknown,
        name: unknown,
        config: unknown,
        handler: unknown,
        ...rest: unknown[]
      ) {
        const key = String(name);
        if (alreadyGuarded(key))
          return Reflect.apply(registerTool, mcpServer, [name, config, handler, ...rest]);
        return Reflect.apply(registerTool, mcpServer, [
          name,
          config,
          guardHandler(key, handler, runtime, describe(config)),
          ...rest,
        ]);
      },
    );
    if (typeof tool === 'function') {
      lock(target, 'tool', function guardedTool(this: unknown, name: unknown, ...rest: unknown[]) {
        // The callback is always last, whatever the overload.
        const handler = rest.pop();
        return Reflect.apply(tool, mcpServer, [
          name,
          ...rest,
          guardHandler(String(name), handler, runtime, {
            annotations: undefined,
            outputSchema: false,
          }),
        ]);
      });
    }
  } catch (error) {
    return `could not install the guard on the polyfill's MCP server (${errorText(error)})`;
  }
  const unguarded: string[] = [];
  const registry = target._registeredTools;
  if (registry !== null && typeof registry === 'object') {
    for (const [name, entry] of Object.entries(registry as Record<string, RegisteredMcpTool>)) {
      if (alreadyGuarded(name) || entry === null || typeof entry !== 'object') continue;
      const handler = entry.handler ?? entry.callback;
      try {
        if (typeof entry.update !== 'function' || typeof handler !== 'function')
          throw new Error('no update');
        entry.update({ callback: guardHandler(name, handler, runtime, describe(entry)) });
      } catch {
        unguarded.push(name);
        try {
          entry.disable?.();
        } catch {
          // nothing more can be done from here; the embed reports the name
        }
      }
    }
  }
  return { unguarded };
}

// The SDK calls a handler as (args, extra) when the tool has an input schema, else as (extra).
function guardHandler(
  name: string,
  handler: unknown,
  runtime: GuardRuntime,
  tool: Omit<GuardedCall, 'signal'>,
) {
  if (typeof handler !== 'function') return handler;
  return async (...params: unknown[]): Promise<unknown> => {
    const withArgs = params.length >= 2;
    const args = withArgs ? params[0] : {};
    const extra = withArgs ? params[1] : params[0];
    return runGuarded(
      name,
      args,
      (checked) =>
        withArgs
          ? Reflect.apply(handler, undefined, [checked, extra])
          : Reflect.apply(handler, undefined, [extra]),
      runtime,
      { ...tool, signal: signalOf(extra) ?? signalOf(readField(extra, 'mcpReq')) },
    );
  };
}

// A registration's config (or a registry entry), read once: annotations, and whether it declares
// an outputSchema.
function describe(config: unknown): Omit<GuardedCall, 'signal'> {
  return {
    annotations: readAnnotations(readField(config, 'annotations')),
    outputSchema: readField(config, 'outputSchema') !== undefined,
  };
}

function readField(value: unknown, key: string): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  try {
    return Reflect.get(value, key);
  } catch {
    return undefined;
  }
}

function lock(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: false,
    configurable: false,
    enumerable: true,
  });
}
