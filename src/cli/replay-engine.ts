/**
 * The engine a replay decides with: one policy, in this process, called directly (no promise and
 * no approval ticket per call). A trap kills an engine instance; the replay then starts a fresh one
 * with the same policy before the next record, as the library's inline backend does (its rate-limit
 * windows start empty again).
 */
import type { ToolCall } from '../call/decision.ts';
import { Engine } from '../engine/engine.ts';
import { loadEngineModule } from '../engine/engine-module.ts';
import type { PolicyLoad, Verdict } from '../engine/types.ts';
import { APPROVED_CALL } from '../engine/approved-call.ts';
import { errorText } from '../encoding/text.ts';

/** A loaded policy to decide recorded calls with. */
export class ReplayEngine {
  /** Loads `policyText` into a fresh engine; the load result says what went wrong. */
  static async load(
    policyText: string,
  ): Promise<{ load: PolicyLoad; engine: ReplayEngine | null }> {
    let engine: Engine;
    try {
      engine = await Engine.create(await loadEngineModule());
    } catch (error) {
      const message = `the engine could not start (${errorText(error)}); rebuild it with "npm run build:engine"`;
      return {
        load: { ok: false, errors: [{ severity: 'error', path: 'engine', message }], warnings: [] },
        engine: null,
      };
    }
    const load = engine.load(policyText);
    return { load, engine: load.ok ? new ReplayEngine(engine, policyText) : null };
  }

  #engine: Engine;
  readonly #policyText: string;

  private constructor(engine: Engine, policyText: string) {
    this.#engine = engine;
    this.#policyText = policyText;
  }

  /** Decides one call (never throws; a fault is an `engine_fault` Deny, see {@link faulted}). */
  decide(call: ToolCall, nowSeconds: number): Verdict {
    return this.#engine.evaluate(call, nowSeconds);
  }

  /**
   * A person approved this Ask when it was recorded: approve it again (a click approval, as the
   * approval ledger does), so it spends its rule's rate limit and budget as it did live and later
   * records see the same state. A WebAuthn Ask is not re-approved: no assertion is recorded.
   */
  reapprove(call: ToolCall, decided: Verdict, nowSeconds: number): void {
    if (decided.decision !== 'Ask' || decided.approvalKind !== undefined) return;
    this.#engine.evaluate({ ...call, [APPROVED_CALL]: true } as ToolCall, nowSeconds);
  }

  /** True once the instance trapped: call {@link recover} before the next decision. */
  get faulted(): boolean {
    return this.#engine.fault !== null;
  }

  /** Replaces a faulted instance with a fresh one holding the same policy. */
  async recover(): Promise<void> {
    const engine = await Engine.create(await loadEngineModule());
    engine.load(this.#policyText);
    this.#engine = engine;
  }
}
