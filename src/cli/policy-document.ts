/**
 * A policy read for analysis (`perso diff`, `perso lint`): its JSON document, once the engine that
 * enforces it has accepted it, so the analysis only ever sees a shape the engine compiles.
 */
import type { PolicyLoad } from '../engine/types.ts';
import type { Policy } from '../policy/policy.ts';
import { resolvePolicySource } from '../policy/policy-source.ts';
import { loadPolicy, policyLabel } from './validate-command.ts';
import { formatDiagnostic } from '../encoding/text.ts';

/** A policy the engine accepted, with its document and what the engine said. */
export interface PolicyDocument {
  /** How the policy is named in output (its path, URL or `(inline JSON)`). */
  label: string;
  /** The policy's JSON text, as read. */
  text: string;
  /** The parsed document. */
  policy: Policy;
  /** The engine's load result (its warnings). */
  load: PolicyLoad & { ok: true };
}

/** Reads and validates a policy; on failure, the lines to print (errors with their paths). */
export async function readPolicyDocument(
  input: string,
): Promise<{ ok: true; document: PolicyDocument } | { ok: false; lines: string[] }> {
  const label = policyLabel(input);
  const resolved = await resolvePolicySource(input);
  if (!resolved.ok) return { ok: false, lines: [`error: ${label}: policy: ${resolved.error}`] };
  const load = await loadPolicy(resolved.text);
  if (!load.ok)
    return {
      ok: false,
      lines: load.errors.map((error) => `error: ${label}: ${formatDiagnostic(error)}`),
    };
  return {
    ok: true,
    document: { label, text: resolved.text, policy: JSON.parse(resolved.text) as Policy, load },
  };
}
