/**
 * The guard's decision log: one frozen line per decision, the newest LOG_LIMIT kept.
 */
import type { DecisionResult } from '../call/decision.ts';
import { showJson } from '../encoding/text.ts';

/** One line of the decision log. */
export interface DecisionLogEntry {
  /** Unique within the element. */
  readonly id: number;
  /** The tool called. */
  readonly tool: string;
  /** The checked args as compact JSON (truncated). */
  readonly args: string;
  /** The decision. */
  readonly decision: DecisionResult['decision'];
  /** Its reason. */
  readonly reason: string;
  /** The deciding rule, if any. */
  readonly rule: string | null;
  /** False in shadow mode. */
  readonly enforced: boolean;
}

/** Most log lines kept; older ones scroll away. */
const LOG_LIMIT = 50;

/** `log` with a line for `decision` (its args shown as compact JSON, truncated) appended. */
export function appendDecision(
  log: readonly DecisionLogEntry[],
  id: number,
  tool: string,
  args: unknown,
  decision: DecisionResult,
): readonly DecisionLogEntry[] {
  const entry: DecisionLogEntry = Object.freeze({
    id,
    tool,
    args: showJson(args, 200),
    decision: decision.decision,
    reason: decision.reason,
    rule: decision.rule ?? null,
    enforced: decision.enforced,
  });
  return [...log, entry].slice(-LOG_LIMIT);
}
