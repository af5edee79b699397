/**
 * Puts the guard in WebMCP's path on one model context: every tool registered through it runs
 * through the policy, and a call to a tool perso did not see registered is refused.
 *
 * Checklist:
 * - `registerTool`, `provideContext` (legacy) and `executeTool` are replaced by wrappers installed as
 *   own properties, non-writable and non-configurable: a later script can neither assign nor
 *   redefine them;
 * - each tool is read field by field (`tool-descriptor.ts`) and registered as a plain copy whose
 *   `execute` checks the call first; the page's own `execute` runs only on Allow (or an approved
 *   Ask, or in shadow mode), on the canonical args; the registration options (`signal`,
 *   `exposedTo`) and the execute's second argument (`{ signal }`, or an older client) pass on as
 *   they are;
 * - `executeTool` runs only tools registered through the guard on this context (a tool the page
 *   registered before perso loaded cannot be guarded, so it is refused with that reason); the
 *   `Tool` it is given is read once, and a plain object is passed on as that one reading;
 * - a refusal is a normal tool result (`denialResult`), never a throw the agent cannot read;
 * - the canary tool (see `canary.ts`) is answered by the wrapper itself, so the self-check proves
 *   that calls reach the wrapper;
 * - a context that mirrors its tools into an inner one (`@mcp-b/global` over the WebMCP polyfill,
 *   whose declarative `<form toolname>` tools register on the inner one) has both wrapped; the
 *   mirror of a tool the outer wrapper already guarded passes the inner wrapper as it is, so a call
 *   is checked once (were the mirror not recognised, it would be checked twice: closed, not open).
 */
import type { AnnotationHints } from '../policy/annotation-defaults.ts';
import type { DecisionResult } from '../call/decision.ts';
import { denialForOutputSchema, denialResult } from '../call/denial-result.ts';
import type { PersoSession } from '../perso/session.ts';
import type { ToolFacts } from '../audit/audit-record.ts';
import { readAnnotations } from '../policy/annotation-defaults.ts';
import {
  callerScriptUrl,
  descriptorSha256,
  readToolDescriptor,
  readToolReference,
} from './tool-descriptor.ts';
import { errorText, quoteName } from '../encoding/text.ts';

/** What the wrapper needs from the embed. */
export interface GuardRuntime {
  /** The session for the current principal, or why calls are denied; waits for the policy. */
  session(): Promise<PersoSession | string>;
  /** Tells the page about a decision. */
  report(tool: string, args: unknown, decision: DecisionResult): void;
  /**
   * Asks a person about an Ask, when the host configured a way to; `signal` aborts when the
   * agent cancels the call, which closes the question as a "no".
   */
  approve(
    tool: string,
    args: unknown,
    decision: DecisionResult,
    signal?: AbortSignal,
  ): Promise<boolean>;
  /** Whether `name` is the canary, and the answer to give it. */
  canaryAnswer(name: string): unknown;
  /** Told of each tool registered through a guard (the canary checks it was), with what was seen of it. */
  registered?(name: string, facts: Promise<ToolFacts>): void;
}

/** What the guard keeps of one model context. */
interface ContextRecord {
  /** Tools registered through the guard and accepted by the context. */
  readonly guarded: Set<string>;
  /** Tools whose guarded registration is under way. */
  readonly pending: Map<string, number>;
  /** The inner context this one mirrors into and calls through (`@mcp-b/global`'s `native`). */
  readonly inner: object | null;
}

const records = new WeakMap<object, ContextRecord>();

/** The tool an outer wrapper is registering right now (synchronously), so its inner mirror passes. */
let mirroring: string | null = null;

/**
 * Whether `name` was registered through the guard on `context` (or is being registered).
 *
 * @param context a model context the guard was installed on
 * @param name a tool name
 */
export function isGuardedTool(context: object, name: string): boolean {
  const record = records.get(context);
  if (record === undefined) return false;
  if (record.guarded.has(name) || record.pending.has(name)) return true;
  return record.inner !== null && isGuardedTool(record.inner, name);
}

/**
 * Wraps `registerTool`, `executeTool` and, when present, `provideContext` of `context`.
 *
 * @param context a WebMCP model context (`document.modelContext`, the legacy
 *   `navigator.modelContext`, or a polyfill's inner context)
 * @param runtime the embed's session, reporting and approval
 * @param inner the context `context` mirrors its tools into, if any (guard that one first)
 * @returns `null`, or why the context could not be wrapped
 */
export function installModelContextGuard(
  context: object,
  runtime: GuardRuntime,
  inner: object | null = null,
): string | null {
  if (records.has(context)) return null;
  const target = context as Record<string, unknown>;
  const registerTool = target.registerTool;
  if (typeof registerTool !== 'function') return 'the model context has no registerTool function';
  const provideContext = target.provideContext;
  const executeTool = target.executeTool;
  const record: ContextRecord = { guarded: new Set(), pending: new Map(), inner };
  // executeTool first: were registerTool impossible to wrap, the context is never recorded, and
  // this wrapper then refuses every call made through it.
  if (typeof executeTool === 'function') {
    try {
      lock(target, 'executeTool', guardExecuteTool(context, executeTool, runtime));
    } catch {
      // Locked already: the surface is reported below if registerTool cannot be wrapped either.
    }
  }
  try {
    lock(
      target,
      'registerTool',
      function guardedRegisterTool(this: unknown, tool: unknown, ...rest: unknown[]) {
        // Called from inside another wrapper's registration of the same name: its mirror, guarded.
        if (
          mirroring !== null &&
          tool !== null &&
          typeof tool === 'object' &&
          readToolReference(tool).name === mirroring
        ) {
          const mirrored = mirroring;
          return track(record, [mirrored], () =>
            Reflect.apply(registerTool, context, [tool, ...rest]),
          );
        }
        const prepared = prepareTool(tool, runtime);
        const name = prepared.name;
        const previous = mirroring;
        mirroring = prepared.guarded ? name : null;
        try {
          return track(record, prepared.guarded ? [name as string] : [], () =>
            Reflect.apply(registerTool, context, [prepared.tool, ...rest]),
          );
        } finally {
          mirroring = previous;
        }
      },
    );
    if (typeof provideContext === 'function') {
      lock(
        target,
        'provideContext',
        function guardedProvideContext(this: unknown, provided: unknown, ...rest: unknown[]) {
          const { value, names } = prepareProvided(provided, runtime);
          return track(record, names, () =>
            Reflect.apply(provideContext, context, [value, ...rest]),
          );
        },
      );
    }
  } catch (error) {
    return `could not install the guard on the model context (${errorText(error)})`;
  }
  records.set(context, record);
  return null;
}

/**
 * Wraps an `executeTool(tool | name, input, options)` function (a model context's, or a testing
 * shim's) so that it runs only tools the guard registered on `context`.
 *
 * @param context the context whose guarded tools the function may run
 * @param executeTool the function to wrap
 * @param runtime the embed's reporting
 * @param receiver the object the function belongs to (default: `context`)
 */
export function guardExecuteTool(
  context: object,
  // biome-ignore lint/complexity/noBannedTypes: the page's own function, called with its own arguments
  executeTool: Function,
  runtime: GuardRuntime,
  receiver: object = context,
) {
  return function guardedExecuteTool(
    this: unknown,
    tool: unknown,
    input: unknown,
    ...rest: unknown[]
  ): unknown {
    const reference = readToolReference(tool);
    const name = reference.name;
    if (name === null || !isGuardedTool(context, name)) {
      const shown = name ?? '(a tool without a string name)';
      const decision: DecisionResult = {
        decision: 'Deny',
        reason: `tool ${quoteName(shown)} was not registered through perso (it was registered before perso-embed.js loaded, or on a surface perso does not hold), so it is not run; load perso-embed.js before the scripts that register tools`,
        kind: 'engine_fault',
        policyVersion: null,
        enforced: true,
      };
      runtime.report(shown, input, decision);
      return Promise.resolve(JSON.stringify(denialResult(decision, { tool: shown, args: input })));
    }
    return Reflect.apply(executeTool, receiver, [stableReference(tool, name), input, ...rest]);
  };
}

/**
 * A copy of `tool` whose `execute` is guarded, or `tool` itself when it is not a tool descriptor
 * (for the model context to reject).
 */
export function guardTool(tool: unknown, runtime: GuardRuntime): unknown {
  return prepareTool(tool, runtime).tool;
}

/**
 * Decides one call of tool `name` and runs `execute` on the canonical args only when it may.
 * Shared by the WebMCP wrapper and the MCP registry wrapper (`mcp-registry-guard.ts`).
 *
 * @param name the tool's name
 * @param input the arguments the agent sent
 * @param execute the tool's own body, on the checked args
 * @param runtime the embed's session, reporting and approval
 * @param tool what the guard read at registration, and the call's AbortSignal
 */
export async function runGuarded(
  name: string,
  input: unknown,
  execute: (args: unknown) => unknown,
  runtime: GuardRuntime,
  tool: GuardedCall,
): Promise<unknown> {
  const { annotations, signal } = tool;
  const toolFacts = await tool.facts;
  const refuse = (decision: DecisionResult, role?: string): unknown => {
    const denial = denialResult(
      decision,
      role === undefined ? { tool: name, args: input } : { tool: name, args: input, role },
    );
    return tool.outputSchema ? denialForOutputSchema(denial) : denial;
  };
  const canary = runtime.canaryAnswer(name);
  if (canary !== undefined) return canary;
  const session = await runtime.session();
  if (typeof session === 'string') {
    const decision: DecisionResult = {
      decision: 'Deny',
      reason: session,
      kind: 'no_policy',
      policyVersion: null,
      enforced: true,
    };
    runtime.report(name, input, decision);
    return refuse(decision);
  }
  let reported = false;
  const run = session.guard(
    name,
    (args: unknown) => {
      // Cancelled while the policy or a person was asked: the agent no longer wants the call.
      signal?.throwIfAborted();
      return execute(args);
    },
    {
      annotations,
      toolFacts,
      approve: (decision: DecisionResult, args: unknown) => {
        runtime.report(name, args, decision);
        reported = true;
        return runtime.approve(name, args, decision, signal);
      },
    },
  );
  const outcome = await run(input ?? {});
  if (!reported || outcome.decision.decision !== 'Ask')
    runtime.report(name, input, outcome.decision);
  if (outcome.ok) return outcome.value;
  return refuse(outcome.decision, session.role);
}

/** What {@link runGuarded} knows of a tool and of one call of it. */
export interface GuardedCall {
  /** The tool's annotations, read at registration. */
  annotations: AnnotationHints | undefined;
  /** Whether the tool declares an `outputSchema` (a denial then carries its decision in `_meta`). */
  outputSchema: boolean;
  /** The call's AbortSignal, if the caller gave one. */
  signal: AbortSignal | undefined;
  /** What was seen of the tool at registration (descriptor hash, script URL), for pins and audit. */
  facts?: Promise<ToolFacts>;
}

/** The signal of an `execute(input, { signal })` call's second argument, if it carries one. */
export function signalOf(options: unknown): AbortSignal | undefined {
  if (options === null || typeof options !== 'object') return undefined;
  try {
    const signal: unknown = Reflect.get(options, 'signal');
    return signal instanceof AbortSignal ? signal : undefined;
  } catch {
    return undefined;
  }
}

interface PreparedTool {
  /** What to register: the guarded copy, or the value as it was when it is not a tool. */
  tool: unknown;
  /** The name registered, or `null` when the value is not a tool. */
  name: string | null;
  /** Whether the copy's execute is guarded. */
  guarded: boolean;
}

function prepareTool(tool: unknown, runtime: GuardRuntime): PreparedTool {
  if (tool === null || typeof tool !== 'object') return { tool, name: null, guarded: false };
  const copy = readToolDescriptor(tool);
  const execute = copy.execute;
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
  if (typeof execute !== 'function') return { tool: copy, name, guarded: false };
  const annotations = readAnnotations(copy.annotations);
  const outputSchema = copy.outputSchema !== undefined;
  // What a policy may pin: the descriptor as registered, and the script whose call registered it.
  const scriptUrl = callerScriptUrl(new Error().stack);
  const facts = descriptorSha256(copy).then(
    (hash): ToolFacts =>
      scriptUrl === undefined ? { descriptorSha256: hash } : { descriptorSha256: hash, scriptUrl },
    (): ToolFacts => (scriptUrl === undefined ? {} : { scriptUrl }),
  );
  copy.execute = function execute_(input: unknown, options?: unknown): Promise<unknown> {
    // biome-ignore lint/complexity/noArguments: a second argument passed as undefined is forwarded as given
    const rest = arguments.length > 1 ? [options] : [];
    return runGuarded(
      name,
      input,
      (args) => Reflect.apply(execute, undefined, [args, ...rest]),
      runtime,
      { annotations, outputSchema, signal: signalOf(options), facts },
    );
  };
  runtime.registered?.(name, facts);
  return { tool: copy, name, guarded: true };
}

function prepareProvided(
  provided: unknown,
  runtime: GuardRuntime,
): { value: unknown; names: string[] } {
  if (provided === null || typeof provided !== 'object') return { value: provided, names: [] };
  const copy: Record<string, unknown> = { ...(provided as Record<string, unknown>) };
  const names: string[] = [];
  if (Array.isArray(copy.tools)) {
    copy.tools = copy.tools.map((tool: unknown) => {
      const prepared = prepareTool(tool, runtime);
      if (prepared.guarded && prepared.name !== null) names.push(prepared.name);
      return prepared.tool;
    });
  }
  return { value: copy, names };
}

// Marks `names` pending while `register` runs and guarded once it succeeded.
function track(record: ContextRecord, names: (string | null)[], register: () => unknown): unknown {
  const valid = names.filter((name): name is string => name !== null);
  for (const name of valid) record.pending.set(name, (record.pending.get(name) ?? 0) + 1);
  const settle = (accepted: boolean): void => {
    for (const name of valid) {
      const left = (record.pending.get(name) ?? 1) - 1;
      if (left > 0) record.pending.set(name, left);
      else record.pending.delete(name);
      if (accepted) record.guarded.add(name);
    }
  };
  let result: unknown;
  try {
    result = register();
  } catch (error) {
    settle(false);
    throw error;
  }
  if (
    result !== null &&
    typeof result === 'object' &&
    typeof (result as { then?: unknown }).then === 'function'
  ) {
    return (result as Promise<unknown>).then(
      (value) => {
        settle(true);
        return value;
      },
      (error: unknown) => {
        settle(false);
        throw error;
      },
    );
  }
  settle(true);
  return result;
}

// A plain-object Tool is passed on as the one reading the guard checked; a platform `Tool` (whose
// fields cannot change under it) as it is.
function stableReference(tool: unknown, name: string): unknown {
  if (tool === null || typeof tool !== 'object') return name;
  const proto: unknown = Object.getPrototypeOf(tool);
  if (proto !== Object.prototype && proto !== null) return tool;
  const copy: Record<string, unknown> = { name };
  for (const key of [
    'title',
    'description',
    'inputSchema',
    'outputSchema',
    'annotations',
    'origin',
    'source',
    'window',
  ]) {
    try {
      if (key in tool) copy[key] = Reflect.get(tool, key);
    } catch {
      // unreadable: left out, for the model context to judge
    }
  }
  return copy;
}

function lock(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: false,
    configurable: false,
    enumerable: true,
  });
}
