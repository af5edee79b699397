/**
 * A model context's `executeTool`, wrapped: it runs only tools the guard registered on that context.
 *
 * Checklist:
 * - a tool the page registered before perso loaded (or on a surface perso does not hold) cannot be
 *   guarded, so it is refused with that reason, as a normal tool result, never a throw;
 * - the `Tool` it is given is read once, and a plain object is passed on as that one reading.
 */
import type { DecisionResult } from '../call/decision.ts';
import { denialResult } from '../call/denial-result.ts';
import type { GuardRuntime } from './guard-runtime.ts';
import { isGuardedTool } from './guarded-tool-names.ts';
import { readToolReference } from './tool-descriptor.ts';
import { quoteName } from '../encoding/text.ts';

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
