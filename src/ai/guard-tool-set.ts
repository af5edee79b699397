/**
 * The AI SDK adapter (`perso/ai`): {@link guardToolSet} wraps an AI SDK `ToolSet` (the `tools`
 * of `generateText`, `streamText` or an agent) so that each tool's `execute` runs only when the
 * policy allows the call.
 *
 * Checklist:
 * - the principal is the session's, bound by the host; the model chooses only the tool and input;
 * - `execute` runs through `session.guard`: on the frozen canonical copy of the input that was
 *   checked, only on Allow, on an Ask the SDK's approval flow approved, or in shadow mode;
 * - an Ask maps to the SDK's approval flow: `needsApproval` answers true for it (and for the tool's
 *   own `needsApproval`), so the SDK asks the user before `execute`; `execute` lifts an Ask only for
 *   a tool call whose `needsApproval` this set answered true, in this process, for the same input:
 *   when the SDK did not consult it (a `toolApproval` setting that overrides it, an SDK without
 *   approvals), or last answered false for that id (an id a provider reuses after the user
 *   rejected an Ask under it), the Ask is refused rather than run;
 * - `needsApproval` only explains the call (`session.explain`): it counts nothing, so a call spends
 *   its rate limit and budget once, when `execute` decides it;
 * - a Deny (or an unapproved Ask, or a fault) is not thrown: `execute` returns perso's denial
 *   result (`{ content: [{ type: 'text', text }], isError: true, structuredContent }`), which the
 *   model reads as the tool's output and can act on;
 * - tools without `execute` (client-side tools, provider-executed tools) are returned unchanged:
 *   guard them where they run (`session.guard` in `onToolCall`).
 *
 * `ai` is an optional peer dependency: this module imports only its types.
 */
import type { ToolExecutionOptions, ToolSet } from 'ai';
import type { JsonObject } from '../call/decision.ts';
import { canonicalJson } from '../call/canonical-json.ts';
import { denialResult } from '../call/denial-result.ts';
import type { PersoSession } from '../perso/session.ts';

/**
 * Guards every tool of `tools` that has an `execute`, under `session`'s principal.
 *
 * @param tools an AI SDK `ToolSet`, e.g. `{ process_refund: tool({ inputSchema, execute }) }`
 * @param session the principal the calls are checked as (`perso.session({ role, agentAttributes })`)
 * @returns a new `ToolSet` with the same tools; each `execute` resolves to the tool's output, or
 *   to a denial result the model reads
 * @example
 * const perso = await Perso.load({ policy: './policy.json' });
 * const result = await generateText({ model, tools: guardToolSet(tools, perso.session({ role: 'agent' })), prompt });
 */
export function guardToolSet<T extends ToolSet>(tools: T, session: PersoSession): T {
  // Tool calls whose Ask this set sent to the SDK's approval flow, with the input it was about;
  // `execute` redeems each once.
  const sentForApproval = new Map<string, string>();
  const guarded: Record<string, unknown> = {};
  for (const [name, original] of Object.entries(tools)) {
    const execute = original.execute;
    if (typeof execute !== 'function') {
      guarded[name] = original;
      continue;
    }
    const ownNeedsApproval = original.needsApproval;
    guarded[name] = {
      ...original,
      needsApproval: async (
        input: unknown,
        options: Pick<ToolExecutionOptions<unknown>, 'toolCallId' | 'messages'> & {
          context?: unknown;
        },
      ) => {
        const own =
          typeof ownNeedsApproval === 'function'
            ? await ownNeedsApproval(input as never, options as never)
            : ownNeedsApproval === true;
        // Explained, not decided: deciding here would spend the call's rate limit and budget twice.
        const explained = await session.explain({ tool: name, args: input as JsonObject });
        const ask = explained.decision === 'Ask' && explained.enforced !== false;
        const key = inputKey(input);
        if (ask && key !== null) sentForApproval.set(options.toolCallId, key);
        else sentForApproval.delete(options.toolCallId);
        return own || ask;
      },
      execute: async (input: unknown, options: ToolExecutionOptions<unknown>) => {
        const run = session.guard(
          name,
          (checked: unknown) => execute(checked as never, options as never),
          {
            approve: async (_decision, checked) => {
              const sent = sentForApproval.get(options.toolCallId);
              sentForApproval.delete(options.toolCallId);
              return sent !== undefined && sent === inputKey(checked);
            },
          },
        );
        const outcome = await run(input);
        if (outcome.ok) return outcome.value;
        return denialResult(outcome.decision, { tool: name, args: input, role: session.role });
      },
    };
  }
  return guarded as T;
}

// An input as canonical JSON (sorted keys), or null when it has none.
function inputKey(input: unknown): string | null {
  try {
    return canonicalJson(input ?? {});
  } catch {
    return null;
  }
}
