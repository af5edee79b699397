/**
 * How a `Perso` decides one call: its canonical args, its time, the engine's verdict, the result
 * and its audit record.
 *
 * Checklist:
 * - a decision always resolves to a `DecisionResult`: bad requests and engine faults are Deny,
 *   never exceptions a caller could mistake for Allow;
 * - every call is decided on one canonical, frozen copy of its args (canonical-args.ts), whatever
 *   the engine, and the result returns that copy as `args`;
 * - with no audit transport the hot path does no audit work: one canonical copy, one engine call,
 *   one result object; with transports, the host facts are read once and the record holds what
 *   was decided on;
 * - annotation defaults apply before the record is made: the record is the final outcome;
 * - `durable: 'before-run'`: a decision is returned once its record is stored, else it is a Deny.
 *
 * Approvals are redeemed on the same path (approval-redemption.ts).
 */
import type { ToolFacts } from '../audit/audit-record.ts';
import { withArgs } from '../call/call-with-args.ts';
import type { CanonicalArgs } from '../call/canonical-args.ts';
import { canonicalizeArgs } from '../call/canonical-args.ts';
import type { DecisionResult, ReasonKind, ToolCall } from '../call/decision.ts';
import { own } from '../call/own-properties.ts';
import { snapshotCall } from '../call/call-snapshot.ts';
import { errorText } from '../encoding/text.ts';
import type { Verdict } from '../engine/types.ts';
import type { AnnotationHints } from '../policy/annotation-defaults.ts';
import { MAX_SECONDS, badTimeReason, ownNow } from './call-time.ts';
import type { PersoAuditor, RecordedFacts } from './perso-auditor.ts';
import type { PersoPolicy } from './perso-policy.ts';
import { decisionResult } from './perso-result.ts';

declare global {
  /** Defined as `true` by the browser library build only; never set at run time. */
  var __PERSO_PAGE_BUILD__: boolean | undefined;
}

/** The reason of every decision a closed instance is asked for. */
export const CLOSED = 'engine fault: perso is closed; load a new instance';

/** Decides, and audits, one call at a time for a `Perso`. */
export class PersoDecider {
  readonly #policy: PersoPolicy;
  readonly #clock: (() => number) | null;
  /**
   * The auditor, once loaded (with audit transports, before `Perso.load` resolves); else `null`.
   * Set by the instance.
   */
  auditor: PersoAuditor | null = null;
  readonly #auditing: boolean;
  readonly #durableBeforeRun: boolean;

  /**
   * @param policy the instance's engine and active policy
   * @param clock the host's clock (seconds), or `null` for the system clock
   * @param auditing whether the host gave audit transports (the auditor loads with the instance)
   * @param durableBeforeRun whether a decision waits for its record to be stored
   */
  constructor(
    policy: PersoPolicy,
    clock: (() => number) | null,
    auditing: boolean,
    durableBeforeRun: boolean,
  ) {
    this.#policy = policy;
    this.#clock = clock;
    this.#auditing = auditing;
    this.#durableBeforeRun = durableBeforeRun;
  }

  /** Whether decisions are audited (a batch then goes call by call). */
  get auditing(): boolean {
    return this.#auditing;
  }

  /** `Perso.evaluate`; `at`: the time for a call without its own `now` (a batch's one time), else the clock. */
  evaluate(given: ToolCall, at?: number): Promise<DecisionResult> {
    // The caller's object is read once, into a snapshot (call-snapshot.ts); from here on only the
    // snapshot is read: own fields, plain data. One that cannot be read is an invalid_request Deny.
    const call = snapshotCall(given);
    if (typeof call === 'string')
      return Promise.resolve(
        this.refuse({ tool: undefined, role: undefined }, `invalid request: ${call}`),
      );
    const policy = this.#policy;
    const sync = policy.sync;
    if (
      // True only in the browser library build (vite.lib.config.ts), which has no in-thread engine.
      globalThis.__PERSO_PAGE_BUILD__ !== true &&
      !this.#auditing &&
      sync !== null &&
      policy.version !== null
    ) {
      // The hot path: one canonical copy, one engine call, one result object.
      try {
        let now = call.now;
        if (now === undefined) {
          now =
            at !== undefined
              ? at
              : this.#clock !== null
                ? this.#clock()
                : policy.needsClock
                  ? Date.now() / 1000
                  : Number.NaN;
          // A clock past MAX_SECONDS (milliseconds): the path below says so.
          if (Math.abs(now) > MAX_SECONDS) now = undefined;
        } else if (typeof now !== 'number' || !Number.isFinite(now)) now = undefined;
        if (now !== undefined) {
          const canonical = canonicalizeArgs(call.args);
          if (!canonical.ok)
            return Promise.resolve(
              this.deny('invalid_request', `invalid request: ${canonical.error}`),
            );
          // The snapshot is ours, and its args key its own: this assignment runs no caller's setter.
          call.args = canonical.value;
          const result = this.result(sync.evaluateNow(call, now));
          result.args = canonical.value;
          return Promise.resolve(result);
        }
      } catch {
        // A fault of the clock or the engine: the checks below name it.
      }
    }
    // The decision carries the canonical copy, so the tool runs on exactly what was checked (a
    // getter, a toJSON or a nested NaN cannot decide one way and run another); audit records carry
    // it too.
    const canonical = readArgs(call);
    // Never a rejection a caller could mistake for something other than a Deny: whatever throws
    // past the checks (a page that made an Object.prototype key read-only, so a result's field
    // cannot be set) is an engine fault.
    return this.decide(call, canonical, undefined, undefined, at).catch((error: unknown) =>
      this.deny('engine_fault', `engine fault: ${errorText(error)}; retry the call`),
    );
  }

  /**
   * Decides and audits one call. With `annotations` (a guarded tool's), annotation defaults are
   * applied where the policy opts in, before the record is made.
   */
  async decide(
    call: ToolCall,
    canonical: CanonicalArgs | null,
    toolFacts?: ToolFacts,
    annotations?: AnnotationHints,
    at?: number,
  ): Promise<DecisionResult> {
    let result: DecisionResult;
    let facts: RecordedFacts | string | null = null;
    if (canonical !== null && !canonical.ok) {
      result = this.deny('invalid_request', `invalid request: ${canonical.error}`);
    } else {
      const checked = canonical === null ? call : withArgs(call, canonical.value);
      facts = this.facts(checked);
      if (typeof facts === 'string') {
        result = this.deny('invalid_request', `invalid request: ${facts}`);
      } else {
        result = await this.#decideChecked(facts?.call ?? checked, facts, at);
        if (canonical !== null) result.args = canonical.value;
      }
    }
    const defaults = this.#policy.annotationDefaults;
    if (annotations !== undefined && defaults !== null)
      result = defaults.applyAnnotationDefaults(result, annotations);
    return this.record(call, result, canonical, facts, toolFacts);
  }

  /**
   * With audit: canonical copies of the call's host facts for its record, or why one cannot be
   * read; `null` without an auditor.
   */
  facts(call: ToolCall): RecordedFacts | string | null {
    return this.auditor === null ? null : this.auditor.facts(call);
  }

  /** A Deny that never reached the engine (a guarded call's own refusal), audited. */
  refuse(
    call: { tool: unknown; role: unknown },
    reason: string,
    kind: ReasonKind = 'invalid_request',
    toolFacts?: ToolFacts,
  ): DecisionResult {
    const result = this.deny(kind, reason);
    this.auditor?.record(call, result, null, null, this.#policy.status.hash, toolFacts);
    return result;
  }

  /** The time of a call without its own `now`: the host's clock, else the system clock. */
  now(): number {
    const now = this.#clock === null ? Date.now() / 1000 : this.#clock();
    // Milliseconds given as seconds would make every window 1,000 times shorter (call-time.ts).
    if (Math.abs(now) > MAX_SECONDS)
      throw new RangeError(`the clock gave ${now}: milliseconds, not seconds?`);
    return now;
  }

  /** The result of the engine's verdict, under the active policy. */
  result(verdict: Verdict): DecisionResult {
    return decisionResult(verdict, this.#policy.version, this.#policy.enforced);
  }

  /** A Deny made here (a fault or a bad request), always enforced; not audited. */
  deny(kind: ReasonKind, reason: string): DecisionResult {
    return { decision: 'Deny', reason, kind, policyVersion: this.#policy.version, enforced: true };
  }

  /** Audits `result`; with `durable: 'before-run'`, answers once its record is stored. */
  record(
    call: ToolCall,
    result: DecisionResult,
    canonical: CanonicalArgs | null,
    facts: RecordedFacts | string | null,
    toolFacts?: ToolFacts,
  ): DecisionResult | Promise<DecisionResult> {
    this.auditor?.record(
      call,
      result,
      canonical,
      typeof facts === 'string' ? null : facts,
      this.#policy.status.hash,
      toolFacts,
    );
    return this.#durableBeforeRun ? this.#stored(result) : result;
  }

  /** The decision, once every transport that can say so stored its record; a Deny when one cannot. */
  async #stored(result: DecisionResult): Promise<DecisionResult> {
    try {
      await this.auditor?.persisted();
      return result;
    } catch (error) {
      if (result.decision === 'Deny') return result;
      return this.deny(
        'engine_fault',
        `audit fault: the record of this decision could not be stored (${errorText(error)}); the call was not run, as durable: "before-run" asks — retry, or check IndexedDB`,
      );
    }
  }

  async #decideChecked(
    call: ToolCall,
    facts: RecordedFacts | null,
    at?: number,
  ): Promise<DecisionResult> {
    const policy = this.#policy;
    if (policy.closed) return this.deny('engine_fault', CLOSED);
    if (policy.version === null) return this.deny('no_policy', policy.noPolicyReason);
    // \`call\` is an object: a snapshot (call-snapshot.ts refuses anything else) or a guard's own.
    let now: unknown;
    try {
      const given = ownNow(call);
      now = given === undefined ? (at ?? this.now()) : given;
    } catch (error) {
      return this.deny(
        'invalid_request',
        `invalid request: the time cannot be read (${errorText(error)}); check the call's "now" and the clock option`,
      );
    }
    if (typeof now !== 'number' || !Number.isFinite(now))
      return this.deny('invalid_request', badTimeReason(now));
    if (facts !== null) facts.now = now;
    try {
      const sync = policy.sync;
      const backend = policy.backend;
      if (sync !== null) return this.result(sync.evaluateNow(call, now));
      if (backend === null)
        return this.deny('engine_fault', 'engine fault: no engine is running; reload the policy');
      return this.result(await backend.evaluate(call, now));
    } catch (error) {
      return this.deny('engine_fault', `engine fault: ${errorText(error)}; retry the call`);
    }
  }
}

/** The call's canonical args; args that cannot be read (a throwing getter) are refused. */
export function readArgs(call: ToolCall): CanonicalArgs {
  try {
    return canonicalizeArgs(own(call, 'args'));
  } catch (error) {
    return { ok: false, error: `args: cannot be read (${errorText(error)}); pass plain JSON data` };
  }
}
