/**
 * The audit record of one decision a `Perso` made, and the keyed args hash of `hashArgs`. Loaded
 * with an instance that has audit transports, before its first decision: a page without
 * transports never downloads it.
 *
 * Checklist:
 * - the decided call's tool and role are read once, as own fields (a getter must not record another
 *   tool than the one decided); an unreadable call is recorded with what could be read;
 * - replay facts (the host facts, the time) are recorded as the decision used them; `hashArgs`
 *   keeps the args and the host facts out of the record, and the values out of its reason.
 */
import type { DecisionResult, JsonObject } from '../call/decision.ts';
import type {
  AuditContext,
  AuditRecord,
  ToolFacts,
  ToolResultAuditRecord,
} from '../audit/audit-record.ts';
import type { ToolResultRecord } from '../engine/types.ts';
import { buildAuditRecord, buildToolResultRecord } from '../audit/audit-record.ts';
import { valuelessReason } from '../audit/hashed-args.ts';
import { own } from '../call/own-properties.ts';

export { argsHashKey, hmacHex } from '../audit/hashed-args.ts';

/** What the decision read of a call besides its args: the host facts and the time it used. */
export interface DecidedFacts {
  now?: number;
  agentAttributes?: JsonObject;
  resourceAttributes?: JsonObject;
}

/**
 * Builds the record of `result`. Throws when it cannot be built (the caller reports that once and
 * goes on unaudited).
 *
 * @param call the call as decided (host facts replaced by their canonical copies), or as given
 * @param result the decision
 * @param args the canonical args decided on; `null` when they could not be read
 * @param facts the host facts and time the decision used; `null` when unknown
 * @param policyHash the active policy's hash
 * @param hashArgs the host's `hashArgs`: no args, no host facts, reasons without values
 * @param toolFacts what the integration saw of the tool
 */
export function decisionRecord(
  call: { tool: unknown; role: unknown } | null,
  result: DecisionResult,
  args: Readonly<JsonObject> | null,
  facts: DecidedFacts | null,
  policyHash: string | null,
  hashArgs: boolean,
  toolFacts: ToolFacts | undefined,
): AuditRecord {
  let tool: unknown;
  let role: unknown;
  let session: unknown;
  try {
    tool = own(call, 'tool');
    role = own(call, 'role');
    session = own(call as { session?: unknown } | null, 'session');
  } catch {
    // An unreadable call is recorded with what could be read.
  }
  const context: AuditContext = { policyHash };
  if (toolFacts !== undefined) context.toolFacts = toolFacts;
  // Replay needs the host facts and the time; `hashArgs` keeps the facts out of the record too.
  if (facts !== null) {
    // Own fields: the facts object is made in the page's realm, whose Object.prototype may be polluted.
    const now = own(facts, 'now');
    const agentAttributes = own(facts, 'agentAttributes');
    const resourceAttributes = own(facts, 'resourceAttributes');
    if (now !== undefined) context.now = now;
    if (!hashArgs && agentAttributes !== undefined) context.agentAttributes = agentAttributes;
    if (!hashArgs && resourceAttributes !== undefined)
      context.resourceAttributes = resourceAttributes;
  }
  if (!hashArgs && args !== null) context.args = args;
  // hashArgs: the reason keeps paths and ops, never the values it quoted.
  const recorded = hashArgs ? { ...result, reason: valuelessReason(result) } : result;
  return buildAuditRecord({ tool, role, session }, recorded, context);
}

/**
 * Builds the record of a tool result the evaluator kept as untrusted content (own fields of
 * `record`, read once). Throws when it cannot be built.
 */
export function toolResultRecord(
  record: ToolResultRecord,
  hashArgs: boolean,
): ToolResultAuditRecord {
  const result = own(record, 'result');
  return buildToolResultRecord(
    {
      tool: own(record, 'tool') as string,
      role: own(record, 'role'),
      session: own(record, 'session'),
      hint: own(record, 'untrusted') === true,
      json: hashArgs ? undefined : JSON.stringify(result === undefined ? null : result),
    },
    hashArgs,
  );
}
