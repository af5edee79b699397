/**
 * The engine host: one engine.wasm instance behind a small API. `EngineCore` (engine-core.ts)
 * loads a policy and decides; this class adds batches (engine-batch.ts), tool results
 * (result-record.ts), restored counted calls (counted-call-restore.ts) and the original ABI
 * (raw-abi.ts), each written once as a
 * function of the core, so the evaluator worker starts with the core alone and loads the rest on
 * demand. With those modules it is the only code that touches the engine's memory and pointers.
 *
 * Invariants (the core's, and):
 * - every method here never throws: a bad record is an `{ok: false}` answer, a trap kills the instance
 */
import type { RecordAnswer, ToolResultRecord } from './types.ts';
import type { CountedCall } from './counted-calls.ts';
import { EngineCore } from './engine-core.ts';
import { recordResultIn } from './result-record.ts';
import { restoreCounted } from './counted-call-restore.ts';
import { evaluateAbi } from './raw-abi.ts';
import { evaluateBatchIn } from './engine-batch.ts';
import type { ToolCall } from '../call/decision.ts';
import type { Verdict } from './types.ts';

export type {
  Diagnostic,
  EvaluatorState,
  PolicyInfo,
  PolicyLoad,
  RecordAnswer,
  ToolResultRecord,
  Verdict,
  VerdictFailure,
} from './types.ts';
export { ENGINE_ABI_VERSION } from './engine-exports.ts';
export { EngineCore } from './engine-core.ts';

/** A loaded engine.wasm instance with at most one active policy. */
export class Engine extends EngineCore {
  /**
   * Instantiates the module; refuses unknown imports or ABI version. Cheap: call again after a fault.
   * @throws when the module imports anything but `env.abort`, lacks an export, or has another ABI version
   */
  static override create(module: WebAssembly.Module): Promise<Engine> {
    return EngineCore.instantiate(module, (exports) => new Engine(exports));
  }

  /**
   * Decides several calls in order (rate limits see them in that order). With `argsList`, call
   * `i`'s args are `argsList[i]` (its own `args`, if any, are not read): the worker's batches
   * carry the args apart from the calls, and calls that share tool, role and attributes share one
   * object, read once here.
   */
  evaluateBatch(
    calls: readonly ToolCall[],
    nowSeconds: number,
    argsList?: readonly unknown[],
  ): Verdict[] {
    return evaluateBatchIn(this, calls, nowSeconds, argsList);
  }

  /**
   * Additive: counts `calls`, which an earlier instance counted under the same policy, in order
   * (oldest first per pair), so this instance carries on where that one stopped. Returns how many
   * were counted; a call on a pair that counts nothing here, or at a time the engine refuses, is not.
   */
  restoreCounted(calls: readonly CountedCall[]): number {
    return restoreCounted(this, calls);
  }

  /**
   * Additive: hands a tool's result to the engine, which keeps it as the session's untrusted
   * content when the policy's `untrusted_tools` name the tool or `record.untrusted` is true. A
   * result too large to keep (over 1 MiB as JSON) saturates the session instead: every value then
   * counts as from untrusted content. Never throws.
   */
  recordResult(record: ToolResultRecord): RecordAnswer {
    return recordResultIn(this, record);
  }

  /** The original ABI, byte for byte: returns the response JSON text. */
  evaluateAbi(tool: string, argsJson: string, contextJson: string): string {
    return evaluateAbi(this, tool, argsJson, contextJson);
  }
}
