/**
 * Puts the guard in WebMCP's path on one model context: every tool registered through it runs
 * through the policy, and a call to a tool perso did not see registered is refused.
 *
 * Checklist:
 * - `registerTool`, `provideContext` (legacy) and `executeTool` are replaced by wrappers installed as
 *   own properties, non-writable and non-configurable: a later script can neither assign nor
 *   redefine them;
 * - each tool is read field by field (`tool-descriptor.ts`) and registered as a plain copy whose
 *   `execute` checks the call first (`run-guarded.ts`); the page's own `execute` runs only on Allow
 *   (or an approved Ask, or in shadow mode), on the canonical args; the registration options
 *   (`signal`, `exposedTo`) and the execute's second argument (`{ signal }`, or an older client)
 *   pass on as they are;
 * - `executeTool` runs only tools registered through the guard on this context
 *   (`guard-execute-tool.ts`);
 * - a context that mirrors its tools into an inner one (`@mcp-b/global` over the WebMCP polyfill,
 *   whose declarative `<form toolname>` tools register on the inner one) has both wrapped; the
 *   mirror of a tool the outer wrapper already guarded passes the inner wrapper as it is, so a call
 *   is checked once (were the mirror not recognised, it would be checked twice: closed, not open).
 */
import type { GuardRuntime } from './guard-runtime.ts';
import { guardExecuteTool } from './guard-execute-tool.ts';
import { type ContextRecord, contextRecords, track } from './guarded-tool-names.ts';
import type { ToolFacts } from '../audit/audit-record.ts';
import { readAnnotations } from '../policy/annotation-defaults.ts';
import { runGuarded, signalOf } from './run-guarded.ts';
import {
  callerScriptUrl,
  descriptorSha256,
  readToolDescriptor,
  readToolReference,
} from './tool-descriptor.ts';
import { errorText } from '../encoding/text.ts';

/** The tool an outer wrapper is registering right now (synchronously), so its inner mirror passes. */
let mirroring: string | null = null;

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
  if (contextRecords.has(context)) return null;
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
  contextRecords.set(context, record);
  return null;
}

/**
 * A copy of `tool` whose `execute` is guarded, or `tool` itself when it is not a tool descriptor
 * (for the model context to reject).
 */
export function guardTool(tool: unknown, runtime: GuardRuntime): unknown {
  return prepareTool(tool, runtime).tool;
}

/** A tool prepared for registration. */
interface PreparedTool {
  /** What to register: the guarded copy, or the value as it was when it is not a tool. */
  tool: unknown;
  /** The name registered, or `null` when the value is not a tool. */
  name: string | null;
  /** Whether the copy's execute is guarded. */
  guarded: boolean;
}

// The guarded copy of `tool`, with the name it is registered under. Called from the wrappers in
// this file: the registering script is the first frame of another file on the stack.
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

// `provideContext`'s argument with each of its tools prepared, and the names guarded.
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

function lock(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: false,
    configurable: false,
    enumerable: true,
  });
}
