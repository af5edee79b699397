// `perso/element`: importing it defines <perso-guard>; a list of named re-exports, nothing else.
export { PersoGuardElement } from './guard-element.ts';
export {
  PersoDecisionEvent,
  PersoErrorEvent,
  PersoStatusEvent,
  PersoToolCallEvent,
} from './guard-events.ts';
export type { DecisionLogEntry } from './decision-log.ts';
export type { GuardedTool, ToolAnnotations, ToolFunction, ToolOptions } from './guarded-tool.ts';
export { isDenialResult } from '../call/denial-result.ts';
export type { DenialResult } from '../call/denial-result.ts';
