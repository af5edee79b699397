/**
 * A tool call read from a JSON request in the SDK's shape (`tool`, `args`, `role`,
 * `agentAttributes`, `resourceAttributes`), as `perso eval` lines and `perso test` cases carry it.
 */
import type { JsonObject, ToolCall } from '../call/decision.ts';

/**
 * The call a JSON request describes. Fields are passed on as they are: the engine checks their
 * types and answers a wrong one with an `invalid_request` Deny, in the same words everywhere. `now`
 * is left to the caller, whose rules for it differ.
 */
export function toolCallFromJson(request: Record<string, unknown>): ToolCall {
  return {
    tool: request['tool'] as string,
    args: request['args'],
    role: request['role'] as string,
    agentAttributes: request['agentAttributes'] as JsonObject | undefined,
    resourceAttributes: request['resourceAttributes'] as JsonObject | undefined,
  };
}
