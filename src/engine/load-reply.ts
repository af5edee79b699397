/**
 * The engine's `init` reply read as a {@link PolicyLoad}: the policy's facts when it loaded, its
 * errors when it did not, its warnings either way.
 *
 * Checklist:
 * - a failed load always has at least one error (the engine's summary when it listed none);
 * - the facts are frozen: callers share them.
 */
import type { Diagnostic, PolicyInfo, PolicyLoad } from './types.ts';

/** A failed load with one error at `policy`. */
export function loadFailure(message: string): PolicyLoad {
  return { ok: false, errors: [{ severity: 'error', path: 'policy', message }], warnings: [] };
}

/** Reads `init`'s reply (JSON text). */
export function readInitReply(text: string): PolicyLoad {
  const reply = JSON.parse(text) as Record<string, unknown>;
  if (reply.ok !== true) {
    return {
      ok: false,
      errors: diagnostics(
        reply.errors,
        'error',
        typeof reply.error === 'string' ? reply.error : 'the engine rejected the policy',
      ),
      warnings: diagnostics(reply.warnings, 'warning', null),
      ...(reply.tool_pins === undefined ? {} : { toolPins: reply.tool_pins }),
    };
  }
  const info: PolicyInfo = Object.freeze({
    version: String(reply.version),
    mode: reply.mode === 'shadow' ? 'shadow' : 'enforce',
    defaultAction: reply.default_action === 'Allow' ? 'Allow' : 'Deny',
    tools: Object.freeze([...(reply.tools as string[])]) as string[],
    roles: Object.freeze([...(reply.roles as string[])]) as string[],
    ruleCount: Number(reply.rule_count),
    hasRateLimits: reply.rate_limits === true,
    hasBudgets: reply.budgets === true,
    annotationDefaults: reply.annotation_defaults === true,
    ...(reply.approval === 'webauthn' ? { approval: 'webauthn' as const } : {}),
    ...(Array.isArray(reply.untrusted_tools) && reply.untrusted_tools.length > 0
      ? { untrustedTools: Object.freeze([...(reply.untrusted_tools as string[])]) as string[] }
      : {}),
    ...(reply.tool_pins === undefined ? {} : { toolPins: reply.tool_pins }),
  });
  return { ok: true, policy: info, warnings: diagnostics(reply.warnings, 'warning', null) };
}

function diagnostics(
  list: unknown,
  severity: Diagnostic['severity'],
  fallback: string | null,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (Array.isArray(list)) {
    for (const d of list as { path?: unknown; message?: unknown }[]) {
      out.push({ severity, path: String(d.path ?? 'policy'), message: String(d.message ?? '') });
    }
  }
  if (out.length === 0 && fallback !== null)
    out.push({ severity, path: 'policy', message: fallback });
  return out;
}
