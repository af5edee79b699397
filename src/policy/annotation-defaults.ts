/**
 * Tool annotations as defaults: when the policy says nothing about a tool for a role, its
 * annotations may decide — `readOnlyHint` allows; MCP's `destructiveHint` and WebMCP's
 * `consequentialHint` ask a person.
 *
 * Annotations are the tool author's hints, not a policy, so this is off unless the policy opts in
 * with the top-level key `"annotation_defaults": true`. The engine does not read that key: the host
 * layer applies it to `no_rule` decisions only.
 *
 * Checklist:
 * - only a `no_rule` decision changes: any rule for the (tool, role) pair — Allow, Deny or Ask, with
 *   or without a condition — wins over every annotation;
 * - `destructiveHint` or `consequentialHint` wins over `readOnlyHint` when a tool claims both (the
 *   cautious reading);
 * - a destructive or consequential tool's Allow becomes Ask; its Deny stays Deny (approval never
 *   grants more);
 * - `untrustedContentHint` changes no decision (it says the tool's output may carry untrusted
 *   content, which the audit record notes);
 * - a read-only tool's Deny (the default) becomes Allow;
 * - anything but a literal `true` is no hint, and only the annotations' own keys count (a polluted
 *   `Object.prototype.readOnlyHint` is no hint).
 */
import type { DecisionResult } from '../call/decision.ts';
import { own } from '../call/own-properties.ts';

/** The annotations this module reads (MCP's `ToolAnnotations`, WebMCP's `ToolAnnotations`). */
export interface AnnotationHints {
  /** The tool changes nothing. */
  readOnlyHint?: unknown;
  /** The tool may destroy or overwrite data (MCP). */
  destructiveHint?: unknown;
  /** The tool's effect matters to the person: a purchase, a message sent, a record changed (WebMCP). */
  consequentialHint?: unknown;
  /** The tool's output may carry content from untrusted parties (WebMCP); decides nothing here. */
  untrustedContentHint?: unknown;
}

/** The annotation hints the integrations read (WebMCP's and MCP's) and record in audit records. */
const HINTS = [
  'readOnlyHint',
  'destructiveHint',
  'consequentialHint',
  'untrustedContentHint',
  'idempotentHint',
  'openWorldHint',
] as const;

/**
 * The hints of a tool's annotations, read once each and frozen; `undefined` when it has none.
 *
 * @param annotations the descriptor's `annotations` field
 */
export function readAnnotations(annotations: unknown): Readonly<AnnotationHints> | undefined {
  if (annotations === null || typeof annotations !== 'object') return undefined;
  const hints: Record<string, unknown> = {};
  for (const key of HINTS) {
    const value = readHint(annotations, key);
    if (value !== undefined && value !== null) hints[key] = value;
  }
  return Object.freeze(hints);
}

function readHint(annotations: object, key: string): unknown {
  try {
    // Own keys only: a polluted Object.prototype.readOnlyHint is no hint.
    return Object.hasOwn(annotations, key) ? Reflect.get(annotations, key) : undefined;
  } catch {
    return undefined;
  }
}

/** The policy key that opts in. */
export const ANNOTATION_DEFAULTS_KEY = 'annotation_defaults';

/**
 * Whether a policy opts in to annotation defaults (`"annotation_defaults": true` at the top level).
 *
 * @param policy the policy object, or its JSON text
 */
export function policyOptsIntoAnnotationDefaults(policy: unknown): boolean {
  let value = policy;
  if (typeof policy === 'string') {
    try {
      value = JSON.parse(policy);
    } catch {
      return false;
    }
  }
  // Own key only: a polluted Object.prototype.annotation_defaults must not opt a policy in.
  return (
    value !== null &&
    typeof value === 'object' &&
    Object.hasOwn(value, ANNOTATION_DEFAULTS_KEY) &&
    (value as Record<string, unknown>)[ANNOTATION_DEFAULTS_KEY] === true
  );
}

/**
 * Applies a tool's annotations to a decision the policy made without a rule.
 *
 * @param decision the policy's decision
 * @param annotations the tool's annotations, if any
 * @returns the decision, changed only as the module comment says
 */
export function applyAnnotationDefaults<D extends DecisionResult>(
  decision: D,
  annotations: AnnotationHints | undefined,
): D {
  if (decision.kind !== 'no_rule' || annotations === undefined || annotations === null)
    return decision;
  const cautious =
    own(annotations, 'destructiveHint') === true
      ? 'destructiveHint'
      : own(annotations, 'consequentialHint') === true
        ? 'consequentialHint'
        : null;
  if (cautious !== null) {
    if (decision.decision !== 'Allow') return decision;
    return {
      ...decision,
      decision: 'Ask',
      reason: `${decision.reason}; the tool is annotated ${cautious}, so a person must approve it (annotation_defaults)`,
    };
  }
  if (own(annotations, 'readOnlyHint') === true && decision.decision === 'Deny') {
    return {
      ...decision,
      decision: 'Allow',
      reason: `${decision.reason}; the tool is annotated readOnlyHint, so it is allowed (annotation_defaults)`,
    };
  }
  return decision;
}
