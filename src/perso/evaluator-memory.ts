/**
 * What a `Perso`'s evaluator remembers between calls, where the engine runs: the tool results it
 * keeps as untrusted content, remembered approvals and budget windows; read, added to, forgotten.
 *
 * Checklist:
 * - nothing here rejects: a result that cannot be recorded answers why, a state that cannot be
 *   read is `null`, a forget that fails leaves a backend that has lost its state anyway;
 * - a result that no rule can read as untrusted (its tool not in `untrusted_tools`, not marked
 *   `untrusted`) is answered here, without a trip to the engine;
 * - a closed instance or one without a policy records nothing.
 */
import { own } from '../call/own-properties.ts';
import { errorText } from '../encoding/text.ts';
import type { EvaluatorState, RecordAnswer, ToolResultRecord } from '../engine/types.ts';
import type { PersoPolicy } from './perso-policy.ts';

/**
 * Hands a tool's result to the evaluator (`Perso.recordResult`).
 *
 * @param policy the instance's engine and active policy
 * @param record the tool's result and the session it belongs to
 */
export async function recordToolResult(
  policy: PersoPolicy,
  record: ToolResultRecord,
): Promise<RecordAnswer> {
  if (policy.closed) return { ok: false, error: 'perso is closed; load a new instance' };
  if (policy.version === null) return { ok: false, error: policy.noPolicyReason };
  if (
    own(record, 'untrusted') !== true &&
    !(policy.status.untrustedTools ?? []).includes(own(record, 'tool') as string)
  )
    return { ok: true, untrusted: false };
  const backend = policy.backend;
  if (backend === null || backend.recordResult === undefined)
    return { ok: false, error: 'engine fault: no engine is running; reload the policy' };
  try {
    return await backend.recordResult(record);
  } catch (error) {
    return { ok: false, error: `engine fault: ${errorText(error)}; record the result again` };
  }
}

/**
 * The evaluator's state that outlives a call (`Perso.state`); `null` when it cannot be read.
 *
 * @param policy the instance's engine and active policy
 */
export async function evaluatorState(policy: PersoPolicy): Promise<EvaluatorState | null> {
  const backend = policy.backend;
  if (policy.closed || backend === null || backend.state === undefined) return null;
  try {
    return await backend.state();
  } catch {
    return null;
  }
}

/**
 * Forgets every session's untrusted content and every remembered approval (`Perso.forget`).
 *
 * @param policy the instance's engine and active policy
 */
export async function forgetEvaluatorState(policy: PersoPolicy): Promise<void> {
  const backend = policy.backend;
  if (policy.closed || backend === null || backend.forget === undefined) return;
  try {
    await backend.forget();
  } catch {
    // Best effort: a backend that cannot forget has lost its state anyway (a fault).
  }
}
