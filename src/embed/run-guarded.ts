/**
 * One call of a guarded tool: decided by the session, run on the canonical args only when it may.
 * Shared by the WebMCP wrapper (`model-context-guard.ts`) and the MCP registry wrapper
 * (`mcp-registry-guard.ts`).
 *
 * Checklist:
 * - the canary (see `canary.ts`) is answered here, so the self-check proves calls reach the wrapper;
 * - no session (no policy, no principal) is a Deny; a refusal is a normal tool result
 *   (`denialResult`, with the decision in `_meta` for a tool with an `outputSchema`);
 * - a call the agent cancelled while the policy or a person was asked does not run;
 * - every decision is reported to the page once.
 */
import type { AnnotationHints } from '../policy/annotation-defaults.ts';
import type { DecisionResult } from '../call/decision.ts';
import { denialForOutputSchema, denialResult } from '../call/denial-result.ts';
import type { ToolFacts } from '../audit/audit-record.ts';
import type { GuardRuntime } from './guard-runtime.ts';

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
