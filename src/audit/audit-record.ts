/**
 * Audit records: one per decision, whatever the decision, for later review of what an agent did
 * or was stopped from doing. Transports ship them (console, HTTP, IndexedDB, or your own).
 *
 * Checklist:
 * - a record is built from the call and its decision only, after the decision is made;
 * - a record is frozen: one transport cannot change what another one sees;
 * - the args are the canonical JSON copy, or only its keyed hash (`argsHmac`) when the host asked
 *   for `hashArgs`, which also keeps values out of the reason;
 * - the host facts (`agentAttributes`, `resourceAttributes`) are the canonical copies the decision
 *   used, omitted when the call had none or the host asked for `hashArgs`; with the args and `now`
 *   they are what `perso replay` needs to decide the call again, with the call's guard `session`;
 * - a tool result is recorded (a {@link ToolResultAuditRecord}) only when the evaluator kept it as
 *   untrusted content, and its value only when it is within the engine's bound and not hashed.
 */
import type {
  Decision,
  DecisionResult,
  JsonObject,
  JsonValue,
  ReasonKind,
} from '../call/decision.ts';
import { own } from '../call/own-properties.ts';
import { toHex } from '../encoding/hex.ts';

export { sha256Hex } from '../encoding/sha256-hex.ts';

/** What perso records about one decision. */
export interface AuditRecord {
  /** A random UUID. */
  id: string;
  /** When the decision was made, ISO 8601. */
  time: string;
  /** The tool the agent called. */
  tool: string;
  /** The principal's role. */
  role: string;
  /** Allow, Deny or Ask. */
  decision: Decision;
  /** The reason given to the caller. */
  reason: string;
  /** Why, as a closed set. */
  kind: ReasonKind;
  /** The deciding rule (`id` or `rules[N]`), or `null` when no rule matched. */
  rule: string | null;
  /** The policy's `version` label, or `null` when none was loaded. */
  policyVersion: string | null;
  /** SHA-256 (hex) of the policy text, or `null` when none was loaded. */
  policyHash: string | null;
  /** False in shadow mode: the call ran whatever the decision. */
  enforced: boolean;
  /** The canonical arguments (absent when hashed or when they could not be read as JSON). */
  args?: JsonValue;
  /**
   * HMAC-SHA-256 (hex) of the canonical arguments' JSON text, keyed per installation, when the host
   * chose `hashArgs` (see `hashed-args.ts`).
   */
  argsHmac?: string;
  /** Older records (before the hash was keyed): the unkeyed SHA-256 of the arguments. */
  argsSha256?: string;
  /** The principal's facts the decision used (canonical copy); absent when none or with `hashArgs`. */
  agentAttributes?: JsonObject;
  /** The target's facts the decision used (canonical copy); absent when none or with `hashArgs`. */
  resourceAttributes?: JsonObject;
  /** The time the decision used for rate limits, in seconds since the epoch; absent when none was read. */
  now?: number;
  /**
   * What the integration saw of the tool when it was registered: its annotation hints
   * (`readOnlyHint`, `destructiveHint`, `consequentialHint`, `untrustedContentHint`...), the SHA-256
   * of its descriptor and the URL of the script that registered it; absent when the host knows none.
   */
  toolFacts?: ToolFacts;
  /** On an Allow that rests on a person's earlier approval (an Ask rule's `remember`): which one. */
  rememberedApproval?: { id: string; rule: string; expiresAt: number };
  /** The call's guard session (whose untrusted content and remembered approvals it read); absent: the default one. */
  session?: string;
}

/**
 * What perso records about a tool result the evaluator kept as untrusted content (issue 14), so a
 * replay rebuilds the session's untrusted content in log order. Results of trusted tools are not
 * recorded.
 */
export interface ToolResultAuditRecord {
  /** Marks this record as a tool result (decision records have no `type`). */
  type: 'toolResult';
  /** A random UUID. */
  id: string;
  /** When the result was recorded, ISO 8601. */
  time: string;
  /** The tool that returned it. */
  tool: string;
  /** The role of the session's principal, when known. */
  role?: string;
  /** The guard session that read it; absent: the default one. */
  session?: string;
  /** The host marked the result untrusted itself (e.g. WebMCP's `untrustedContentHint`). */
  hint?: true;
  /** The result as JSON, when recorded in clear (at most MAX_RESULT_BYTES of JSON, not with `hashArgs`). */
  result?: JsonValue;
  /** Why the result's value is not in the record: `hashArgs`, or larger than the engine keeps. */
  withheld?: 'hashArgs' | 'too large';
}

/** Largest result JSON (UTF-16 units) a record holds: past it the engine keeps none either (it taints everything). */
export const MAX_RESULT_BYTES = 1 << 20;

/** Any line of an audit log: a decision's record or a tool result's. */
export type AuditEntry = AuditRecord | ToolResultAuditRecord;

/** True for a tool result's record. */
export function isToolResultRecord(entry: AuditEntry): entry is ToolResultAuditRecord {
  return (entry as { type?: unknown }).type === 'toolResult';
}

/** What an integration saw of a tool at its registration (see `AuditRecord.toolFacts`). */
export interface ToolFacts {
  /** The tool's annotation hints, as literal booleans. */
  annotations?: Readonly<Record<string, boolean>>;
  /** SHA-256 (hex) of the tool's canonical descriptor (WebMCP tools; see docs/integrations.md). */
  descriptorSha256?: string;
  /** The URL of the script that registered the tool (WebMCP tools, from the stack at the call). */
  scriptUrl?: string;
}

/**
 * Where audit records go. `emit` must not block nor throw (perso catches a throw, warns once, and
 * carries on); a transport that ships records asynchronously queues them and offers `flush`.
 */
export interface AuditTransport {
  /** Takes one decision's record; returns at once. */
  emit(record: AuditRecord): void;
  /**
   * Takes one tool result's record (untrusted content a replay rebuilds), in order with the
   * decisions; returns at once. Optional: a transport without it receives decisions only.
   */
  emitResult?(record: ToolResultAuditRecord): void;
  /** Delivers what is queued. */
  flush?(): Promise<void>;
  /**
   * Resolves once every record emitted so far is stored durably, or rejects when it cannot be
   * (the IndexedDB transport has it). With `durable: 'before-run'`, perso answers a decision only
   * after this.
   */
  persisted?(): Promise<void>;
  /** Delivers what is queued and releases resources. */
  close?(): Promise<void>;
}

/** What a record carries beyond the call and its decision. */
export interface AuditContext {
  /** SHA-256 (hex) of the loaded policy text. */
  policyHash: string | null;
  /** The canonical arguments, when they are recorded in clear. */
  args?: JsonValue;
  /** SHA-256 (hex) of the canonical arguments' JSON, when they are recorded hashed. */
  argsSha256?: string;
  /** The principal's facts as the decision used them, when they are recorded. */
  agentAttributes?: JsonObject;
  /** The target's facts as the decision used them, when they are recorded. */
  resourceAttributes?: JsonObject;
  /** The time the decision used, in seconds since the epoch. */
  now?: number;
  /** What the integration saw of the tool at its registration. */
  toolFacts?: ToolFacts;
}

/**
 * Builds the frozen audit record of one decision. `call.tool` and `call.role` are recorded as
 * strings even when the request was malformed (a non-string is recorded as its JSON text).
 */
export function buildAuditRecord(
  call: { readonly tool: unknown; readonly role: unknown; readonly session?: unknown },
  decision: DecisionResult,
  context: AuditContext,
): AuditRecord {
  const record: AuditRecord = {
    id: randomId(),
    time: new Date().toISOString(),
    tool: asText(call.tool),
    role: asText(call.role),
    decision: decision.decision,
    reason: decision.reason,
    kind: decision.kind,
    rule: own(decision, 'rule') ?? null,
    policyVersion: decision.policyVersion,
    policyHash: context.policyHash,
    enforced: decision.enforced,
  };
  // Own fields only: a polluted Object.prototype.resourceAttributes is not what the decision used.
  const argsSha256 = own(context, 'argsSha256');
  const args = own(context, 'args');
  const agentAttributes = own(context, 'agentAttributes');
  const resourceAttributes = own(context, 'resourceAttributes');
  const now = own(context, 'now');
  const toolFacts = own(context, 'toolFacts');
  if (argsSha256 !== undefined) record.argsSha256 = argsSha256;
  else if (args !== undefined) record.args = args;
  if (agentAttributes !== undefined) record.agentAttributes = agentAttributes;
  if (resourceAttributes !== undefined) record.resourceAttributes = resourceAttributes;
  if (typeof now === 'number' && Number.isFinite(now)) record.now = now;
  if (toolFacts !== undefined) record.toolFacts = toolFacts;
  const remembered = own(decision, 'rememberedApproval');
  if (remembered !== undefined) record.rememberedApproval = { ...remembered };
  const session = own(call, 'session');
  if (typeof session === 'string' && session !== '') record.session = session;
  return Object.freeze(record);
}

/**
 * Builds the frozen record of a tool result the evaluator kept as untrusted content: its value in
 * clear unless `hashArgs` (then `withheld: "hashArgs"`) or larger than {@link MAX_RESULT_BYTES}.
 */
export function buildToolResultRecord(
  result: {
    readonly tool: string;
    readonly role?: string;
    readonly session?: string;
    readonly hint?: boolean;
    readonly json: string | undefined;
  },
  hashArgs: boolean,
): ToolResultAuditRecord {
  const record: ToolResultAuditRecord = {
    type: 'toolResult',
    id: randomId(),
    time: new Date().toISOString(),
    tool: result.tool,
  };
  if (typeof result.role === 'string') record.role = result.role;
  if (typeof result.session === 'string' && result.session !== '') record.session = result.session;
  if (result.hint === true) record.hint = true;
  if (hashArgs) record.withheld = 'hashArgs';
  else if (result.json === undefined || result.json.length > MAX_RESULT_BYTES)
    record.withheld = 'too large';
  else record.result = JSON.parse(result.json) as JsonValue;
  return Object.freeze(record);
}

// `crypto.randomUUID` exists only in secure contexts; `getRandomValues` everywhere. Same format.
function randomId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return String(JSON.stringify(value));
  } catch {
    return '(unreadable)';
  }
}
