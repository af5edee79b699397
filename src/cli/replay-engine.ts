/**
 * The engine a replay decides with: one policy, in this process, called directly (no promise and
 * no approval ticket per call), with the state a live page keeps beside it rebuilt in log order:
 * untrusted content from the log's tool results, and remembered approvals from the Asks a person
 * approved.
 *
 * A recorded approval is redeemed as the approval ledger redeems a ticket (approval-ledger.ts):
 * - it lifts only the Ask the person saw: the call must ask by the recorded rule for the recorded
 *   kind of approval, else the answer is the ledger's Deny (`invalid_request`, naming both rules),
 *   and nothing is spent nor remembered;
 * - a click approval is approved again: it spends its rule's rate limit and budget, and is
 *   remembered where its rule says so;
 * - a WebAuthn approval is not approved again (no assertion is recorded): the Ask stands.
 *
 * A trap kills an engine instance; the replay then starts a fresh one with the same
 * policy before the next record, as the library's inline backend does (its rate-limit windows and
 * untrusted content start empty again).
 */
import type { ToolCall } from '../call/decision.ts';
import { Engine } from '../engine/engine.ts';
import { loadEngineModule } from '../engine/engine-module.ts';
import type { PolicyLoad, Verdict } from '../engine/types.ts';
import { APPROVED_CALL } from '../engine/approved-call.ts';
import { KIND_ASK_BY_RULE } from '../engine/engine-boundary.ts';
import type { RecordAnswer, ToolResultRecord } from '../engine/types.ts';
import { RememberedApprovals } from '../backend/remembered-approvals.ts';
import type { RecordedApproval, RecordedResult } from './audit-record-reader.ts';
import { askChanged, bindingOf } from '../backend/approval-ledger.ts';
import { errorText } from '../encoding/text.ts';

/** What became of a recorded tool result: kept as untrusted content, trusted, withheld (the session is tainted everywhere), or refused. */
export type ResultOutcome =
  | { ok: true; untrusted: boolean; withheld: boolean }
  | { ok: false; error: string };

/** How a replay's reason names a recorded approval (the ledger names its ticket). */
const RECORDED_APPROVAL = 'the recorded approval';

/** How many covered Asks wait for their recorded approval (the oldest go first). */
const COVERED_ASKS_KEPT = 1024;

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
  readonly #remembered = new RememberedApprovals();
  /** Recorded Asks this policy covered, by call: the answer their recorded approval gets. */
  readonly #coveredAsks = new Map<string, Verdict>();

  private constructor(engine: Engine, policyText: string) {
    this.#engine = engine;
    this.#policyText = policyText;
    this.#remembered.policyLoaded(policyText);
  }

  /** The tools the policy's `untrusted_tools` name (globs expanded). */
  get untrustedTools(): readonly string[] {
    return this.#engine.policy?.untrustedTools ?? [];
  }

  /**
   * Decides one call as the live page did (never throws; a fault is an `engine_fault` Deny, see
   * {@link faulted}): an Ask a remembered approval covers is lifted to Allow, whether or not a
   * person approved it when it was recorded (live, a covered call is never asked about). Else, with
   * `approval` (a person approved this Ask when it was recorded) the approval is redeemed, as the module
   * comment says: an Ask by another rule or for another kind of approval is the ledger's
   * `invalid_request` Deny; the same Ask, by a click, is approved again. The answer for an Ask
   * approved again is the policy's Ask (an approved Ask counts as an Ask).
   */
  decide(call: ToolCall, nowSeconds: number, approval: RecordedApproval | null = null): Verdict {
    const engine = this.#engine;
    if (approval !== null && this.#coveredAsks.size > 0) {
      // The approval of an Ask this policy covered when it was replayed: that call already ran
      // (and spent); it is not decided again.
      const key = bindingOf(call);
      const ran = key === null ? undefined : this.#coveredAsks.get(key);
      if (ran !== undefined) {
        this.#coveredAsks.delete(key!);
        return ran;
      }
    }
    const verdict = engine.evaluate(call, nowSeconds);
    if (verdict.decision !== 'Ask') return verdict;
    // A covered Ask is never shown, recorded approval or not: live, the page answers Allow at once.
    const covered = this.#remembered.cover(call, verdict, nowSeconds, (again) =>
      engine.evaluate(again, nowSeconds),
    );
    const key =
      approval === null && (covered !== null || this.#coveredAsks.size > 0)
        ? bindingOf(call)
        : null;
    if (key !== null) {
      // Its recorded approval, if one follows, is this same call: not decided (nor spent) twice.
      // An Ask that stands supersedes an earlier covered one of the same call.
      this.#coveredAsks.delete(key);
      if (covered !== null) this.#coveredAsks.set(key, covered);
      if (this.#coveredAsks.size > COVERED_ASKS_KEPT)
        this.#coveredAsks.delete(this.#coveredAsks.keys().next().value!);
    }
    if (covered !== null || approval === null) return covered ?? verdict;
    // Checked before the approved call is decided: a refused approval spends no budget.
    const changed = askChanged(
      RECORDED_APPROVAL,
      { rule: approval.rule ?? undefined, kind: approval.kind },
      verdict,
    );
    if (changed !== null) return { decision: 'Deny', reason: changed, kind: 'invalid_request' };
    if (approval.kind === 'webauthn') return verdict;
    const again = engine.evaluate({ ...call, [APPROVED_CALL]: true } as ToolCall, nowSeconds);
    if (again.decision === 'Ask' && again.kind === KIND_ASK_BY_RULE)
      this.#remembered.approved(call, { ...again, decision: 'Allow' }, nowSeconds);
    return verdict;
  }

  /**
   * Hands a recorded tool result to the engine, as the live page did. A result whose value the
   * log withholds (`hashArgs`, too large) taints its session everywhere when this policy counts
   * it as untrusted (fail closed: the values it held are unknown).
   */
  recordResult(result: RecordedResult): ResultOutcome {
    const base = {
      tool: result.tool,
      ...(result.role === undefined ? {} : { role: result.role }),
      ...(result.session === undefined ? {} : { session: result.session }),
      ...(result.hint ? { untrusted: true } : {}),
    };
    const engine = this.#engine;
    if (result.withheld === undefined) {
      const answer: RecordAnswer = engine.recordResult({ ...base, result: result.value });
      return answer.ok ? { ok: true, untrusted: answer.untrusted, withheld: false } : answer;
    }
    const probe = engine.recordResult({ ...base, result: null });
    if (!probe.ok || !probe.untrusted)
      return probe.ok ? { ok: true, untrusted: false, withheld: false } : probe;
    const saturated = engine.recordResult({
      ...base,
      saturate: true,
    } as unknown as ToolResultRecord);
    return saturated.ok ? { ok: true, untrusted: true, withheld: true } : saturated;
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
