/**
 * The reference evaluator behind the engine host's interface (load, evaluate, evaluateBatch,
 * policy), so the evaluator worker can run it where engine.wasm cannot compile (a CSP without
 * `'wasm-unsafe-eval'`) and the host opted in with `fallback: 'js'`.
 *
 * Checklist:
 * - the policy text is read strictly (duplicate keys, nesting over 64, out-of-range numbers,
 *   lone surrogates refused) and over 1 MiB is refused; a failed load keeps the previous policy;
 * - no policy → Deny `no_policy`; a malformed call, a `now` that is not a finite number, or a value
 *   that is not plain JSON where the call holds one → Deny `invalid_request`;
 * - every verdict says `evaluator: 'js'`; names quoted in reasons are cut at 128 characters;
 * - a call is approved only when the host's approval mark is on it (`APPROVED_CALL`, set by the
 *   approval ledger after a person approved): a caller's own `approved` key is never read, and an
 *   approved call is counted and spent as the Allow it becomes but answered as the Ask it was, for
 *   the host to lift (as the engine does).
 */
import type { ToolCall } from '../call/decision.ts';
import type { CountedCall, CountedCallSink } from '../engine/counted-calls.ts';
import { APPROVED_CALL } from '../engine/approved-call.ts';
import type {
  Diagnostic,
  EvaluatorState,
  PolicyInfo,
  PolicyLoad,
  RecordAnswer,
  ToolResultRecord,
  Verdict,
} from '../engine/types.ts';
import { ReferenceUntrustedContent } from './reference-untrusted.ts';
import {
  ReferenceEvaluator,
  type CountListener,
  type ReferenceVerdict,
} from './reference-evaluator.ts';
import { compileReferencePolicy } from './reference-policy.ts';
import { parseStrictJson } from './strict-json.ts';
import { truncate } from '../encoding/text.ts';

const MAX_POLICY_BYTES = 1024 * 1024;
const MAX_NAME = 128;

const cut = (name: string) => truncate(name, MAX_NAME);
const error = (message: string, path = 'policy'): Diagnostic => ({
  severity: 'error',
  path,
  message,
});

/** The reference evaluator as an engine: same answers as the engine host's, made in plain JS. */
export class ReferenceEngine {
  #evaluator: ReferenceEvaluator | null = null;
  #info: PolicyInfo | null = null;
  #counted: CountedCallSink | null = null;
  /** The active policy's text (null: none, or given as bytes) and its load's answer. */
  #text: string | null = null;
  #load: PolicyLoad | null = null;
  /** Every session's untrusted content: it outlives a policy load, as the engine's does. */
  readonly #untrusted = new ReferenceUntrustedContent();

  /** Records a tool's result as the engine host does (see `Engine.recordResult`). */
  recordResult(record: ToolResultRecord & { saturate?: boolean }): RecordAnswer {
    const evaluator = this.#evaluator;
    if (evaluator === null)
      return { ok: false, error: 'no policy loaded; load a valid policy first' };
    if (
      typeof record !== 'object' ||
      record === null ||
      typeof record.tool !== 'string' ||
      record.tool === ''
    )
      return { ok: false, error: 'tool result: tool must be a non-empty string' };
    const session = record.session ?? '';
    if (typeof session !== 'string')
      return { ok: false, error: 'tool result: session must be a string' };
    if (record.saturate === true) {
      this.#untrusted.saturate(session);
      return { ok: true, untrusted: true };
    }
    let result: unknown;
    try {
      const json = JSON.stringify(record.result);
      if (json === undefined) throw new Error('not JSON');
      result = JSON.parse(json) as unknown;
    } catch {
      return {
        ok: false,
        error:
          'tool result: the result is not plain JSON; pass what the tool returned as JSON data',
      };
    }
    return {
      ok: true,
      untrusted: evaluator.recordResult(session, record.tool, result, record.untrusted === true),
    };
  }

  /** The state that outlives a call: untrusted content per session. */
  state(): EvaluatorState {
    return { untrusted: this.#untrusted.state() };
  }

  /** Forgets every session's untrusted content. */
  forget(): void {
    this.#untrusted.forget();
  }

  /** Receives each call a rate limit counts, as `Engine.countCalls` does (windows outlive a worker). */
  countCalls(sink: CountedCallSink | null): void {
    this.#counted = sink;
    this.#evaluator?.onCount(this.#report);
  }

  /** Counts calls an earlier instance counted under this same policy; returns how many were. */
  restoreCounted(calls: readonly CountedCall[]): number {
    const evaluator = this.#evaluator;
    if (evaluator === null) return 0;
    return calls.filter((call) => {
      const counted = evaluator.count(call.tool, call.role, call.at) > 0;
      // A pair with a budget is restored only with what the call spent.
      return evaluator.restoreSpent(call.tool, call.role, call.at, call) ?? counted;
    }).length;
  }

  readonly #report: CountListener = (tool, role, at, keep, spent) =>
    this.#counted?.({ tool, role, at, keep, ...spent });

  /** The loaded policy, or null before the first successful load. */
  get policy(): PolicyInfo | null {
    return this.#info;
  }

  /**
   * Loads a policy (JSON text); a failed load keeps the previous one. The text already active is
   * not loaded again: its rate-limit and budget windows go on, as the engine's do.
   */
  load(policyText: string | Uint8Array): PolicyLoad {
    if (policyText === this.#text) return this.#load!;
    let text: string;
    try {
      text =
        typeof policyText === 'string'
          ? policyText
          : new TextDecoder('utf-8', { fatal: true }).decode(policyText);
    } catch {
      return {
        ok: false,
        errors: [error('invalid UTF-8; save the policy as UTF-8')],
        warnings: [],
      };
    }
    if (text.length > MAX_POLICY_BYTES)
      return {
        ok: false,
        errors: [error(`the policy is larger than ${MAX_POLICY_BYTES} bytes; split it`)],
        warnings: [],
      };
    const parsed = parseStrictJson(text);
    if (!parsed.ok) return { ok: false, errors: [error(parsed.error)], warnings: [] };
    const compiled = compileReferencePolicy(parsed.value);
    if (!compiled.ok) {
      const at = compiled.error.indexOf(': ');
      return {
        ok: false,
        errors: [error(compiled.error.slice(at + 2), compiled.error.slice(0, at))],
        warnings: [],
      };
    }
    const p = parsed.value as {
      tools: string[];
      roles?: string[];
      rules: Array<{ roles: string[]; effect?: string | null }>;
      annotation_defaults?: boolean;
    };
    // An Allow rule (no effect means Allow) with the key set: what the time is needed for.
    const allowsWith = (key: string) =>
      p.rules.some(
        (r) =>
          (r.effect ?? 'Allow') === 'Allow' &&
          Object.hasOwn(r, key) &&
          (r as Record<string, unknown>)[key] !== null,
      );
    this.#evaluator = new ReferenceEvaluator(compiled.policy, this.#untrusted);
    this.#evaluator.onCount(this.#report);
    this.#info = Object.freeze({
      version: compiled.policy.version,
      mode: compiled.policy.mode,
      defaultAction: compiled.policy.defaultAction,
      tools: [...p.tools],
      roles: [...new Set(p.roles ?? p.rules.flatMap((r) => r.roles))],
      ruleCount: p.rules.length,
      hasRateLimits: allowsWith('rate_limit'),
      hasBudgets: allowsWith('budget'),
      annotationDefaults: Object.hasOwn(p, 'annotation_defaults') && p.annotation_defaults === true,
      ...(compiled.policy.untrustedTools.size > 0
        ? { untrustedTools: [...compiled.policy.untrustedTools] }
        : {}),
    });
    this.#text = typeof policyText === 'string' ? policyText : null;
    this.#load = { ok: true, policy: this.#info, warnings: [] };
    return this.#load;
  }

  /** Decides one call at `nowSeconds` (the call's own `now` wins). Never throws. */
  evaluate(call: ToolCall, nowSeconds: number): Verdict {
    if (this.#evaluator === null)
      return {
        decision: 'Deny',
        reason: 'no valid policy loaded; load a valid policy first',
        kind: 'no_policy',
        evaluator: 'js',
      };
    const own: unknown = (call as { now?: unknown }).now;
    const now = own === undefined ? nowSeconds : own;
    if (typeof now !== 'number' || !Number.isFinite(now)) {
      return {
        decision: 'Deny',
        reason: 'invalid request: now must be a finite number of seconds or absent',
        kind: 'invalid_request',
        evaluator: 'js',
      };
    }
    // The reference reads `approved` from the call it decides: only the host's mark may set it.
    const approved = Object.hasOwn(call, APPROVED_CALL);
    const { approved: _ignored, ...asked } = call as ToolCall & { approved?: unknown };
    const decided = this.#evaluator.decide({ ...asked, approved }, now);
    // Counted and spent as an Allow; answered as the Ask a person approved, which the host lifts.
    const answer: ReferenceVerdict =
      approved && decided.decision === 'Allow' && decided.kind === 'ask_by_rule'
        ? { ...decided, decision: 'Ask' }
        : decided;
    return this.#verdict(answer, call);
  }

  /** Decides calls in order; with `argsList`, call i's args are `argsList[i]`. */
  evaluateBatch(
    calls: readonly ToolCall[],
    nowSeconds: number,
    argsList?: readonly unknown[],
  ): Verdict[] {
    return calls.map((call, i) =>
      this.evaluate(argsList === undefined ? call : { ...call, args: argsList[i] }, nowSeconds),
    );
  }

  #verdict(v: ReferenceVerdict, call: ToolCall): Verdict {
    const verdict: Verdict = {
      decision: v.decision,
      reason: v.reason,
      kind: v.kind,
      evaluator: 'js',
    };
    const [rule] = v.rules;
    if (rule !== undefined) verdict.rule = rule;
    const named = (text: string) =>
      text
        .replace(`tool '${call.tool}'`, `tool '${cut(String(call.tool))}'`)
        .replace(`role '${call.role}'`, `role '${cut(String(call.role))}'`);
    if (v.kind === 'denied_by_rule' || v.kind === 'ask_by_rule')
      verdict.reason = named(`${v.reason}${cut(rule ?? '')}'`);
    else if (v.kind === 'budget_exceeded')
      verdict.reason = named(
        `${v.reason}${cut(rule ?? '')}' reached: the calls it allowed in its window leave no room for this one; retry later`,
      );
    else if (v.kind === 'budget_unknown')
      verdict.reason = named(
        `${v.reason}${cut(rule ?? '')}' cannot be checked: a field it reads is missing or mistyped, or the host gave no time; pass them`,
      );
    else if (v.kind === 'rate_limited') {
      if (v.retryAfter === undefined)
        verdict.reason = named(
          `${v.reason.replace(/ reached; retry in $/, '')} cannot be counted without a time; give now, seconds since the epoch (at most 2^43)`,
        );
      else {
        verdict.retryAfter = Math.ceil(v.retryAfter);
        verdict.reason = named(`${v.reason}${verdict.retryAfter} s`);
      }
    } else if (v.kind !== 'invalid_request') verdict.reason = named(v.reason);
    return verdict;
  }
}
