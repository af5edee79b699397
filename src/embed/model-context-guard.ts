/**
 * Puts the guard in WebMCP's path: wraps `registerTool` (and the legacy `provideContext`) of a
 * model context so that every tool registered afterwards runs through the policy.
 *
 * Checklist:
 * - the wrapper is installed as an own property, non-writable and non-configurable: a later script
 *   can neither assign nor redefine it;
 * - each tool is registered as a copy whose `execute` checks the call first; the page's own
 *   `execute` runs only on Allow (or an approved Ask, or in shadow mode), on the canonical args;
 * - a call made while the policy loads waits for it, up to the timeout, then is denied;
 * - a refusal is a normal tool result (`denialResult`), never a throw the agent cannot read;
 * - the canary tool (see `canary.ts`) is answered by the wrapper itself, so the self-check proves
 *   that calls reach the wrapper;
 * - a context that mirrors its tools into an inner one (`@mcp-b/global` over the WebMCP polyfill,
 *   whose declarative `<form toolname>` tools register on the inner one) has both wrapped; the
 *   mirror of a tool the outer wrapper already guarded passes the inner wrapper as it is, so a call
 *   is checked once (were the mirror not recognised, it would be checked twice: closed, not open).
 */
import type { AnnotationHints } from '../annotation-defaults.ts';
import type { DecisionResult } from '../decision.ts';
import { denialResult } from '../denial-result.ts';
import type { PersoSession } from '../session.ts';

/** What the wrapper needs from the embed. */
export interface GuardRuntime {
  /** The session for the current principal, or why calls are denied; waits for the policy. */
  session(): Promise<PersoSession | string>;
  /** Tells the page about a decision. */
  report(tool: string, args: unknown, decision: DecisionResult): void;
  /** Asks a person about an Ask, when the host configured a way to. */
  approve(tool: string, args: unknown, decision: DecisionResult): Promise<boolean>;
  /** Whether `name` is the canary, and the answer to give it. */
  canaryAnswer(name: string): unknown;
}

/** A WebMCP tool descriptor, as far as the guard reads it. */
interface ToolDescriptor {
  name: string;
  execute: (input: unknown, client?: unknown) => unknown;
  [key: string]: unknown;
}

/** The legacy `provideContext({ tools })` argument, as far as the guard reads it. */
interface ProvidedContext {
  tools?: unknown;
  [key: string]: unknown;
}

/** Marks contexts already wrapped. */
const wrappedContexts = new WeakSet<object>();

/** The tool an outer wrapper is registering right now (synchronously), so its inner mirror passes. */
let mirroring: string | null = null;

/**
 * Wraps `registerTool` and, when present, `provideContext` of `context`.
 *
 * @param context a WebMCP model context (`document.modelContext`, or the legacy
 *   `navigator.modelContext`)
 * @param runtime the embed's session, reporting and approval
 * @returns `null`, or why the context could not be wrapped
 */
export function installModelContextGuard(context: object, runtime: GuardRuntime, role: 'outer' | 'inner' = 'outer'): string | null {
  if (wrappedContexts.has(context)) return null;
  const target = context as Record<string, unknown>;
  const registerTool = target.registerTool;
  if (typeof registerTool !== 'function') return 'the model context has no registerTool function';
  const provideContext = target.provideContext;
  try {
    lock(target, 'registerTool', function guardedRegisterTool(this: unknown, tool: unknown, ...rest: unknown[]) {
      const guarded = guardTool(tool, runtime);
      const name = (guarded as { name?: unknown } | null)?.name;
      if (role === 'inner' && mirroring !== null && name === mirroring) return Reflect.apply(registerTool, context, [tool, ...rest]);
      const previous = mirroring;
      mirroring = role === 'outer' && typeof name === 'string' ? name : previous;
      try {
        return Reflect.apply(registerTool, context, [guarded, ...rest]);
      } finally {
        mirroring = previous;
      }
    });
    if (typeof provideContext === 'function') {
      lock(target, 'provideContext', function guardedProvideContext(this: unknown, provided: unknown, ...rest: unknown[]) {
        return Reflect.apply(provideContext, context, [guardProvided(provided, runtime), ...rest]);
      });
    }
  } catch (error) {
    return `could not install the guard on the model context (${error instanceof Error ? error.message : String(error)})`;
  }
  wrappedContexts.add(context);
  return null;
}

/**
 * A copy of `tool` whose `execute` is guarded. Anything that is not a tool descriptor is passed on
 * as it is, for the model context to reject.
 */
export function guardTool(tool: unknown, runtime: GuardRuntime): unknown {
  if (tool === null || typeof tool !== 'object') return tool;
  // One read of each property: a getter cannot show the guard one execute and WebMCP another.
  const copy = { ...(tool as ToolDescriptor) };
  const execute = copy.execute;
  if (typeof execute !== 'function') return copy;
  // A tool that can run is always guarded, whatever its name is: a name that is not a primitive
  // string (a String object, a number, an object with a toString) is read once, turned into the
  // string WebMCP would see, and that exact string is both registered and checked. A name that
  // cannot be read as a string gets a tool that refuses every call.
  let name: string;
  try {
    name = typeof copy.name === 'string' ? copy.name : String(copy.name);
  } catch {
    name = '(unreadable tool name)';
  }
  copy.name = name;
  copy.execute = guardedExecute(name, execute, runtime, annotationsOf(copy.annotations));
  return copy;
}

function guardProvided(provided: unknown, runtime: GuardRuntime): unknown {
  if (provided === null || typeof provided !== 'object') return provided;
  const copy = { ...(provided as ProvidedContext) };
  if (Array.isArray(copy.tools)) copy.tools = copy.tools.map((tool: unknown) => guardTool(tool, runtime));
  return copy;
}

function annotationsOf(annotations: unknown): AnnotationHints | undefined {
  if (annotations === null || typeof annotations !== 'object') return undefined;
  const { readOnlyHint, destructiveHint } = annotations as AnnotationHints;
  return Object.freeze({ readOnlyHint, destructiveHint });
}

function guardedExecute(name: string, execute: ToolDescriptor['execute'], runtime: GuardRuntime, annotations: AnnotationHints | undefined) {
  return async function execute_(input: unknown, client?: unknown): Promise<unknown> {
    const canary = runtime.canaryAnswer(name);
    if (canary !== undefined) return canary;
    const session = await runtime.session();
    if (typeof session === 'string') {
      const decision: DecisionResult = { decision: 'Deny', reason: session, kind: 'no_policy', policyVersion: null, enforced: true };
      runtime.report(name, input, decision);
      return denialResult(decision, { tool: name, args: input });
    }
    let reported = false;
    const run = session.guard(name, (args: unknown) => Reflect.apply(execute, undefined, [args, client]), {
      annotations,
      approve: (decision: DecisionResult, args: unknown) => {
        runtime.report(name, args, decision);
        reported = true;
        return runtime.approve(name, args, decision);
      },
    });
    const outcome = await run(input ?? {});
    if (!reported || outcome.decision.decision !== 'Ask') runtime.report(name, input, outcome.decision);
    if (outcome.ok) return outcome.value;
    return denialResult(outcome.decision, { tool: name, args: input, role: session.role });
  };
}

function lock(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: false, configurable: false, enumerable: true });
}
