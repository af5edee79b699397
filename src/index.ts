// The public API: a list of named re-exports, nothing else.
export { Decision, ReasonKind } from './decision.ts';
export type { DecisionResult, JsonObject, JsonValue, ToolCall } from './decision.ts';
