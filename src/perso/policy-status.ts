/**
 * The state of a `Perso`'s policy, as `status()` answers it: the active policy and the last load
 * attempt, frozen, and the texts a failed load is told with.
 *
 * Checklist:
 * - a status and its diagnostics are frozen: a caller cannot edit what the next caller reads;
 * - a failed load's reason lists at most three errors and says how many more, and what to fix.
 */
import type { Diagnostic } from '../engine/types.ts';
import type { PolicyMode } from '../policy/policy.ts';
import type { PolicySourceKind } from '../policy/policy-source.ts';
import type { ToolPinsResult } from '../policy/tool-pins.ts';
import { formatDiagnostics, quote } from '../encoding/text.ts';

const MAX_ERRORS_IN_REASON = 3;

/** The state of the loaded policy, and of the last load attempt. */
export interface PolicyStatus {
  /** Whether the last load attempt succeeded. */
  ok: boolean;
  /** The active policy's `version` label; `null` when none is active (everything is denied). */
  version: string | null;
  /** SHA-256 (hex) of the active policy's text. */
  hash: string | null;
  /** The mode decisions are made in (the `mode` option, else the policy's, else `enforce`). */
  mode: PolicyMode;
  /** Where the active policy came from. */
  source: PolicySourceKind | null;
  /** The last load attempt's errors (empty when it succeeded). */
  errors: readonly Diagnostic[];
  /** The last load attempt's warnings. */
  warnings: readonly Diagnostic[];
  /**
   * The active policy opts in to tool-annotation defaults (`"annotation_defaults": true`, a
   * host-layer extension: see `annotation-defaults.ts`). Absent or false: annotations are ignored.
   */
  annotationDefaults?: boolean;
  /**
   * The active policy's own `"approval"` when it is `"webauthn"`: every Ask, rule-made or not,
   * then needs an authenticator's verified assertion (absent: a click on perso's prompt).
   */
  approval?: 'webauthn';
  /**
   * The active policy's `tool_pins` (a host-layer extension: see `tool-pins.ts`), or why they
   * cannot be read; absent when the policy pins nothing.
   */
  toolPins?: ToolPinsResult;
  /** The active policy's `untrusted_tools`, globs expanded: whose results are untrusted content. */
  untrustedTools?: readonly string[];
}

/** The `toolPins` field of a status: present only when the policy pins something. */
export function withToolPins(pins: ToolPinsResult | null): { toolPins?: ToolPinsResult } {
  return pins === null ? {} : { toolPins: pins };
}

/** Freezes a status and its diagnostics. */
export function freezeStatus(status: PolicyStatus): PolicyStatus {
  return Object.freeze({
    ...status,
    errors: Object.freeze(status.errors.map((d) => Object.freeze({ ...d }))),
    warnings: Object.freeze(status.warnings.map((d) => Object.freeze({ ...d }))),
  });
}

/** The status of an instance before any load: nothing active, in the host's mode. */
export function initialStatus(mode: PolicyMode): PolicyStatus {
  return freezeStatus({
    ok: false,
    version: null,
    hash: null,
    mode,
    source: null,
    errors: [],
    warnings: [],
  });
}

/** The errors of a failed load, as one reason: the first three, and how many more. */
export function errorList(errors: readonly Diagnostic[]): string {
  return errors.length > 0
    ? formatDiagnostics(errors, MAX_ERRORS_IN_REASON)
    : 'the policy was refused';
}

/** The reason every call is denied while no policy is active: what failed, and what to fix. */
export function noPolicyReason(errors: readonly Diagnostic[]): string {
  const detail = errorList(errors);
  const engineFault = errors.some(
    (error) => error.path === 'engine' || error.message.startsWith('engine fault'),
  );
  const next = engineFault ? 'fix the engine and reload' : 'fix the policy and reload';
  return `no valid policy loaded: ${detail}; ${next}`;
}

/** What the console says of a failed load when the host gave no `onError`. */
export function loadFailureWarning(status: PolicyStatus, activeVersion: string | null): string {
  const kept =
    activeVersion === null
      ? 'every call is denied until a load succeeds'
      : `policy ${quote(activeVersion)} stays active`;
  return `perso: the policy failed to load (${errorList(status.errors)}); ${kept}; pass onError to Perso.load to handle this yourself`;
}
