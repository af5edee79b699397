/**
 * Holds every WebMCP surface of the page, whichever of perso and a polyfill loads first:
 * `document.modelContext`, the legacy `navigator.modelContext`, a polyfill's inner context
 * (`.native`), its MCP registry (`.mcpServer`) and the testing shim (`navigator.modelContextTesting`).
 *
 * Checklist:
 * - each context object reachable from a surface is guarded once (`model-context-guard.ts`), the
 *   inner one before the outer; a polyfill's MCP registry is guarded with the tools already in it;
 * - a polyfill that installs itself after perso does so with `Object.defineProperty` (or
 *   `Reflect.defineProperty`, `Object.defineProperties`): while the page loads, those are watched
 *   for the `modelContext` and `modelContextTesting` keys on `document`, `navigator` and their
 *   prototypes, and what was installed is guarded before the definition returns (before any page
 *   script can register a tool on it);
 * - once a surface holds a context, or at the latest when the page has loaded, the surfaces are
 *   pinned (non-configurable) to what perso guards, and the watch is removed;
 * - a surface perso cannot hold is reported, with the reason; it is taken off the page where its
 *   property can still be redefined, and a call through an `executeTool` perso wraps runs only
 *   tools it saw registered.
 */
import { installModelContextGuard } from './model-context-guard.ts';
import { guardExecuteTool } from './guard-execute-tool.ts';
import { isGuardedTool } from './guarded-tool-names.ts';
import type { GuardRuntime } from './guard-runtime.ts';
import { guardMcpRegistry } from './mcp-registry-guard.ts';
import { errorText, quoteName } from '../encoding/text.ts';

/** One surface's state, as `window.perso.status().surfaces` reports it. */
export interface SurfaceState {
  /** `document.modelContext`, `navigator.modelContext`, `navigator.modelContextTesting`. */
  readonly surface: string;
  /** `guarded`, `absent`, or `failed` (see `error`). */
  readonly state: 'guarded' | 'absent' | 'failed';
  /** Why perso cannot hold it. */
  readonly error?: string;
}

/** The holder the embed keeps. */
export interface SurfaceHolder {
  /** Guards whatever the surfaces hold now; returns the problems found (also reported). */
  scan(): string[];
  /** Pins the surfaces to what they hold and stops watching; a page with no context at all is pinned empty. */
  pin(): string | null;
  /** The surfaces' states. */
  states(): SurfaceState[];
}

const SURFACES = [
  ['document', 'modelContext'],
  ['navigator', 'modelContext'],
  ['navigator', 'modelContextTesting'],
] as const;

/**
 * Starts holding the page's WebMCP surfaces.
 *
 * @param runtime the embed's session, reporting and approval
 * @param report tells the page about a surface perso cannot hold
 */
export function holdModelContexts(
  runtime: GuardRuntime,
  report: (message: string) => void,
): SurfaceHolder {
  const families = new WeakSet<object>();
  const failures = new Map<string, string>();
  const reported = new Set<string>();
  let unwatch: (() => void) | null = null;

  const fail = (surface: string, message: string): void => {
    failures.set(surface, message);
    const line = `${surface}: ${message}`;
    if (!reported.has(line)) {
      reported.add(line);
      report(line);
    }
  };

  // The innermost context of a family: the one a testing shim calls into.
  const innermost = (context: object): object => {
    const inner = readProperty(context, 'native');
    return inner !== null && inner !== context ? inner : context;
  };

  const guardFamily = (surface: string, context: object): void => {
    if (families.has(context)) return;
    const inner = readProperty(context, 'native');
    const hasInner =
      inner !== null &&
      inner !== context &&
      typeof (inner as { registerTool?: unknown }).registerTool === 'function';
    if (hasInner) {
      const error = installModelContextGuard(inner, runtime);
      if (error !== null) return fail(surface, `its inner context: ${error}`);
    }
    const error = installModelContextGuard(context, runtime, hasInner ? inner : null);
    if (error !== null) return fail(surface, error);
    const mcpServer = readProperty(context, 'mcpServer');
    if (
      mcpServer !== null &&
      typeof (mcpServer as { registerTool?: unknown }).registerTool === 'function'
    ) {
      const held = guardMcpRegistry(mcpServer, runtime, (name) => isGuardedTool(context, name));
      if (typeof held === 'string') return fail(surface, held);
      if (held.unguarded.length > 0) {
        fail(
          surface,
          `tools registered before perso loaded could not be guarded and were disabled: ${held.unguarded.map((name) => quoteName(name)).join(', ')}`,
        );
      }
    }
    families.add(context);
  };

  const scan = (): string[] => {
    const before = failures.size;
    for (const [ownerName, key] of SURFACES) {
      const owner = ownerName === 'document' ? document : navigator;
      const surface = `${ownerName}.${key}`;
      const value = readProperty(owner, key);
      if (value === null) continue;
      if (key === 'modelContext') {
        guardFamily(surface, value);
        continue;
      }
      // The testing shim calls the polyfill's own context by name, past its executeTool.
      if (families.has(value)) continue;
      const executeTool = (value as { executeTool?: unknown }).executeTool;
      const context =
        readProperty(document, 'modelContext') ?? readProperty(navigator, 'modelContext');
      if (typeof executeTool !== 'function') continue;
      if (context === null) {
        fail(
          surface,
          'a testing shim without a model context; its calls cannot be checked, so it is not held',
        );
        continue;
      }
      try {
        Object.defineProperty(value, 'executeTool', {
          value: guardExecuteTool(innermost(context), executeTool, runtime, value),
          writable: false,
          configurable: false,
          enumerable: true,
        });
        families.add(value);
      } catch (error) {
        fail(surface, `could not install the guard (${errorText(error)})`);
      }
    }
    return [...failures.values()].slice(before);
  };

  const pin = (): string | null => {
    unwatch?.();
    unwatch = null;
    scan();
    const documentContext = readProperty(document, 'modelContext');
    const navigatorContext = readProperty(navigator, 'modelContext');
    if (documentContext === null && navigatorContext === null) {
      // Fail closed: a polyfill loaded later would install an unguarded context, so pin the
      // surfaces empty; the page's tools then fail to register, loudly, instead of running unguarded.
      for (const owner of [document, navigator]) pinProperty(owner, 'modelContext', undefined);
      return 'no WebMCP model context (document.modelContext) appeared by the time the page loaded; load the WebMCP polyfill in <head> (tools are blocked)';
    }
    for (const [owner, name, context] of [
      [document, 'document', documentContext],
      [navigator, 'navigator', navigatorContext],
    ] as const) {
      if (context === null) continue;
      // A context perso could not guard is taken off the page where it can be: its tools then
      // cannot be registered, so none runs unguarded.
      const held = families.has(context);
      const error = pinProperty(owner, 'modelContext', held ? context : undefined);
      if (error !== null) fail(`${name}.modelContext`, error);
      else if (!held)
        fail(
          `${name}.modelContext`,
          'perso could not guard it, so it was removed from the page (tools cannot be registered through it)',
        );
    }
    return null;
  };

  const states = (): SurfaceState[] =>
    SURFACES.map(([ownerName, key]) => {
      const surface = `${ownerName}.${key}`;
      const error = failures.get(surface);
      if (error !== undefined) return Object.freeze({ surface, state: 'failed' as const, error });
      const value = readProperty(ownerName === 'document' ? document : navigator, key);
      return Object.freeze({
        surface,
        state: value !== null && families.has(value) ? ('guarded' as const) : ('absent' as const),
      });
    });

  scan();
  if (
    readProperty(document, 'modelContext') === null &&
    readProperty(navigator, 'modelContext') === null
  ) {
    unwatch = watchDefinitions(() => {
      try {
        scan();
      } catch (error) {
        report(`guarding a model context failed (${errorText(error)})`);
      }
    });
  }
  return { scan, pin, states };
}

// Calls `onDefined` after every definition of a WebMCP key on document, navigator or their
// prototypes, through this realm's define functions. Returns the function that stops watching.
function watchDefinitions(onDefined: () => void): () => void {
  const targets = new Set<unknown>([
    document,
    navigator,
    Document.prototype,
    Navigator.prototype,
    Object.getPrototypeOf(document),
  ]);
  const keys = new Set<PropertyKey>(['modelContext', 'modelContextTesting']);
  const objectDefine = Object.defineProperty;
  const objectDefineAll = Object.defineProperties;
  const reflectDefine = Reflect.defineProperty;
  const watchedDefine = function defineProperty<T>(
    target: T,
    key: PropertyKey,
    attributes: PropertyDescriptor & ThisType<unknown>,
  ): T {
    const result = objectDefine(target, key, attributes);
    if (targets.has(target) && keys.has(key)) onDefined();
    return result;
  };
  const watchedDefineAll = function defineProperties<T>(
    target: T,
    properties: PropertyDescriptorMap & ThisType<unknown>,
  ): T {
    const result = objectDefineAll(target, properties);
    if (targets.has(target) && Reflect.ownKeys(Object(properties)).some((key) => keys.has(key)))
      onDefined();
    return result;
  };
  const watchedReflectDefine = function defineProperty(
    target: object,
    key: PropertyKey,
    attributes: PropertyDescriptor,
  ): boolean {
    const result = reflectDefine(target, key, attributes);
    if (result && targets.has(target) && keys.has(key)) onDefined();
    return result;
  };
  Object.defineProperty = watchedDefine;
  Object.defineProperties = watchedDefineAll;
  Reflect.defineProperty = watchedReflectDefine;
  return () => {
    // Put back only what is still ours: a later script may have wrapped it in turn.
    if (Object.defineProperty === watchedDefine) Object.defineProperty = objectDefine;
    if (Object.defineProperties === watchedDefineAll) Object.defineProperties = objectDefineAll;
    if (Reflect.defineProperty === watchedReflectDefine) Reflect.defineProperty = reflectDefine;
  };
}

function pinProperty(owner: object, key: string, value: unknown): string | null {
  try {
    const current = Object.getOwnPropertyDescriptor(owner, key);
    if (current !== undefined && current.configurable === false) {
      return Reflect.get(owner, key) === value
        ? null
        : `it is locked to another object by a script that ran before perso; load perso-embed.js earlier`;
    }
    Object.defineProperty(owner, key, {
      value,
      writable: false,
      configurable: false,
      enumerable: true,
    });
    return null;
  } catch (error) {
    return `could not pin it (${errorText(error)})`;
  }
}

function readProperty(owner: object, key: string): object | null {
  try {
    const value: unknown = Reflect.get(owner, key);
    return value !== null && typeof value === 'object' ? value : null;
  } catch {
    return null;
  }
}
