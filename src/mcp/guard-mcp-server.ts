/**
 * The MCP server adapter: every tool registered on an official `@modelcontextprotocol/sdk`
 * `McpServer` after {@link guardMcpServer} runs only on Allow, and a refusal comes back as a normal
 * tool result that teaches the model ({@link denialResult}).
 *
 * Checklist:
 * - the principal is the session's: bound by the host once, never taken from the request;
 * - the handler receives the canonical frozen copy of the arguments that was checked, never the
 *   request's own object;
 * - Ask runs the handler only when the host's `approve` says yes and the backend then lifts the
 *   Ask (the session's guard does that); without `approve`, an Ask is refused;
 * - a registration path this adapter cannot guard (task tools) throws instead of bypassing it;
 * - tools registered before `guardMcpServer` are not guarded: guard the server first;
 * - a tool's `annotations` (from `registerTool`'s config) count only where the policy opts in to
 *   annotation defaults and no rule covers the call;
 * - a tool that declares an `outputSchema` gets its denials with the decision in
 *   `_meta["perso/decision"]`, not in `structuredContent` (which clients validate against the
 *   schema even when `isError` is true).
 *
 * `@modelcontextprotocol/sdk` is an optional peer dependency: this module imports only its types.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { readAnnotations } from '../policy/annotation-defaults.ts';
import type { AnnotationHints } from '../policy/annotation-defaults.ts';
import type { DecisionResult } from '../call/decision.ts';
import { denialForOutputSchema, denialResult } from '../call/denial-result.ts';
import type { PersoSession } from '../perso/session.ts';
import { quote } from '../encoding/text.ts';

/** Options of {@link guardMcpServer}. */
export interface McpGuardOptions {
  /**
   * Asks a person to approve a call the policy answered Ask for; resolves `true` to approve. Without
   * it, an Ask is refused with a result saying a person's approval is needed.
   */
  approve?: (decision: DecisionResult, call: { tool: string; args: unknown }) => Promise<boolean>;
}

/** Marks servers already guarded, so guarding twice does not evaluate every call twice. */
const guardedServers = new WeakSet<object>();

/**
 * Guards the tools registered on `server` from now on (`registerTool` and the deprecated `tool`).
 *
 * @param server an `McpServer` from `@modelcontextprotocol/sdk/server/mcp.js`, before its tools are
 *   registered
 * @param session the principal's session, from `perso.session({ role, agentAttributes })`
 * @param options how an Ask is approved
 * @returns the same server
 * @throws if `server` does not look like an `McpServer`
 */
export function guardMcpServer<S extends McpServer>(
  server: S,
  session: PersoSession,
  options: McpGuardOptions = {},
): S {
  if (typeof server?.registerTool !== 'function' || typeof server.tool !== 'function') {
    throw new TypeError(
      'guardMcpServer: expected an McpServer from "@modelcontextprotocol/sdk/server/mcp.js"',
    );
  }
  if (guardedServers.has(server)) return server;
  const registerTool = server.registerTool.bind(server) as (...params: unknown[]) => unknown;
  const tool = server.tool.bind(server) as (...params: unknown[]) => unknown;

  install(server, 'registerTool', (name: unknown, config: unknown, handler: unknown) =>
    registerTool(
      name,
      config,
      guardedHandler(
        String(name),
        handler,
        session,
        options,
        annotationsOf(config),
        declaresOutputSchema(config),
      ),
    ),
  );
  install(server, 'tool', (name: unknown, ...rest: unknown[]) => {
    // The callback is always last, whatever the overload.
    const handler = rest.pop();
    return tool(name, ...rest, guardedHandler(String(name), handler, session, options));
  });
  const tasks = (server as { experimental?: { tasks?: object } }).experimental?.tasks;
  if (tasks !== undefined) {
    install(tasks, 'registerToolTask', (name: unknown) => {
      throw new Error(
        `perso cannot guard task tools yet: register "${String(name)}" with server.registerTool instead`,
      );
    });
  }
  guardedServers.add(server);
  return server;
}

// The SDK calls a handler as (args, extra) when the tool has an input schema, else as (extra).
function guardedHandler(
  name: string,
  handler: unknown,
  session: PersoSession,
  options: McpGuardOptions,
  annotations?: AnnotationHints,
  outputSchema = false,
) {
  if (typeof handler !== 'function') {
    throw new TypeError(`guardMcpServer: tool ${quote(name)} has no handler function`);
  }
  const approve = options.approve;
  return async (...params: unknown[]): Promise<unknown> => {
    const withArgs = params.length >= 2;
    const args = withArgs ? params[0] : {};
    const extra = withArgs ? params[1] : params[0];
    const run = session.guard(
      name,
      (checked: unknown) => (withArgs ? handler(checked, extra) : handler(extra)),
      {
        annotations,
        approve:
          approve === undefined
            ? undefined
            : (decision: DecisionResult, checked: unknown) =>
                approve(decision, { tool: name, args: checked }),
      },
    );
    const outcome = await run(args);
    if (outcome.ok) return outcome.value;
    const denial = denialResult(outcome.decision, { tool: name, args, role: session.role });
    // A client validates structuredContent against the tool's outputSchema even on isError.
    return outputSchema ? denialForOutputSchema(denial) : denial;
  };
}

// Read once, at registration, like the annotations.
function declaresOutputSchema(config: unknown): boolean {
  return (
    config !== null &&
    typeof config === 'object' &&
    (config as { outputSchema?: unknown }).outputSchema !== undefined
  );
}

// Read once, at registration: the SDK keeps its own copy of the config. Every hint is read (and
// recorded in the audit records); MCP's destructiveHint and readOnlyHint are the ones that decide.
function annotationsOf(config: unknown): AnnotationHints | undefined {
  if (config === null || typeof config !== 'object') return undefined;
  return readAnnotations((config as { annotations?: unknown }).annotations);
}

function install(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: false,
    configurable: false,
    enumerable: false,
  });
}
