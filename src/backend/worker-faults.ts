/**
 * What a worker backend's faults answer: a Deny (or a failed load) whose reason names the fault and
 * says what to do next.
 *
 * Checklist:
 * - an engine fault says so first (`engine fault: <what happened>; <what next>`);
 * - a failed load keeps the previous policy active, and says so;
 * - a wasm compile failure names the CSP fix unless the bytes were not the build's.
 */
import { Decision, ReasonKind } from '../call/decision.ts';
import type { PolicyLoad, Verdict } from '../engine/engine.ts';
import { CODE_MISMATCH } from './code-integrity.ts';

/** Ends a reason when the worker was replaced: the next call runs on a fresh worker. */
export const REPLACED = 'the worker was replaced, retry the call';
/** A closed backend's answer. */
export const CLOSED = 'the evaluator was closed; load a new Perso to evaluate calls';

/** A Deny for a fault; engine faults say so first (`engine fault: <what happened>; <what next>`). */
export function faultVerdict(reason: string, kind: ReasonKind = ReasonKind.EngineFault): Verdict {
  return {
    decision: Decision.Deny,
    reason: kind === ReasonKind.EngineFault ? `engine fault: ${reason}` : reason,
    kind,
  };
}

/** A failed load for a fault: the previous policy stays active. */
export function faultLoad(reason: string): PolicyLoad {
  return {
    ok: false,
    errors: [
      {
        severity: 'error',
        path: 'policy',
        message: `engine fault: ${reason}; the previous policy stays active`,
      },
    ],
    warnings: [],
  };
}

/** The reason for a wasm compile failure in the worker (`error` is the worker's text). */
export function compileFailure(error: string): string {
  // Other bytes than the build recorded: the CSP is not the problem.
  if (error.includes(CODE_MISMATCH))
    return `engine.wasm was refused by the evaluator worker ("${error}")`;
  return `engine.wasm failed to compile in the evaluator worker ("${error}"); if the page sends a Content-Security-Policy, allow 'wasm-unsafe-eval' in script-src`;
}
