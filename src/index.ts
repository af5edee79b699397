// The public API: a list of named re-exports, nothing else.
export { Decision, ReasonKind } from './call/decision.ts';
export type { DecisionResult, JsonObject, JsonValue, ToolCall } from './call/decision.ts';
export type { ConditionFailure } from './call/decision.ts';
export { Perso } from './perso/perso.ts';
export type { PersoMode, PersoOptions, PolicyInput, PolicyStatus } from './perso/perso.ts';
export type { CodeIntegrity } from './backend/worker-backend.ts';
export type { Explanation } from './analysis/explain-call.ts';
export type { CallTrace, ConditionTrace, RuleTrace, Truth } from './analysis/call-trace.ts';
export type { BudgetState, RateLimitState } from './analysis/window-state.ts';
export { PersoSession } from './perso/session.ts';
export type { GuardOptions, GuardOutcome, Principal, SessionCall } from './perso/session.ts';
export { DefaultAction, Effect, NumericOp, PolicyMode, Source, StringOp } from './policy/policy.ts';
export type {
  Budget,
  Condition,
  EqualsCheck,
  Field,
  FieldEquals,
  FieldPresent,
  FromUntrusted,
  NumericCheck,
  Policy,
  RateLimit,
  Rule,
  StringCheck,
} from './policy/policy.ts';
export { canonicalizeArgs, canonicalizeJson } from './call/canonical-args.ts';
export type { CanonicalArgs, CanonicalJson } from './call/canonical-args.ts';
export { buildAuditRecord, isToolResultRecord } from './audit/audit-record.ts';
export type {
  AuditContext,
  AuditEntry,
  AuditRecord,
  AuditTransport,
  ToolFacts,
  ToolResultAuditRecord,
} from './audit/audit-record.ts';
export type { HashKey } from './audit/hashed-args.ts';
export { consoleTransport } from './audit/console-transport.ts';
export type { ConsoleTransportOptions } from './audit/console-transport.ts';
export type { EvaluatorBackend } from './backend/evaluator-backend.ts';
export type {
  BudgetWindowState,
  Diagnostic,
  EvaluatorState,
  PolicyInfo,
  RecordAnswer,
  RememberedApprovalState,
  ToolResultRecord,
  UntrustedSessionState,
} from './engine/types.ts';
export { httpTransport, toOtlp, HttpAuditFormat } from './audit/http-transport.ts';
export type {
  HttpTransport,
  HttpTransportOptions,
  HttpTransportStats,
} from './audit/http-transport.ts';
export { indexedDbTransport } from './audit/indexeddb-transport.ts';
export type {
  AuditDelivery,
  IndexedDbTransport,
  IndexedDbTransportOptions,
} from './audit/indexeddb-transport.ts';
export { PolicyStore } from './policy/policy-store.ts';
export type { PolicyEntry } from './policy/policy-store.ts';
export { loadPolicy } from './policy/policy-loader.ts';
export type { PolicyFetchResult, PolicyLoadOptions } from './policy/policy-loader.ts';
export {
  SignatureAlgorithm,
  generatePolicyKeyPair,
  importPolicyPrivateKey,
  integrityOf,
  signPolicy,
  verifyIntegrity,
  verifySignatureFile,
} from './policy/policy-integrity.ts';
export type {
  PolicyPublicKey,
  PolicySignature,
  PolicySignatureFile,
  PolicyStatement,
  VerifiedSignature,
} from './policy/policy-integrity.ts';
export type { ApprovalTicket } from './call/decision.ts';
export { allowedInstead, denialResult, isDenialResult } from './call/denial-result.ts';
export type {
  DecisionFailure,
  DeniedCall,
  DeniedDecision,
  DenialContent,
  DenialResult,
} from './call/denial-result.ts';
// The MCP adapter is `perso/mcp` (src/mcp/guard-mcp-server.ts): its types need the optional
// @modelcontextprotocol/sdk, which `import 'perso'` must not.
export {
  ANNOTATION_DEFAULTS_KEY,
  applyAnnotationDefaults,
  policyOptsIntoAnnotationDefaults,
} from './policy/annotation-defaults.ts';
export type { AnnotationHints } from './policy/annotation-defaults.ts';
export { requestWebAuthnApproval } from './backend/webauthn-ceremony.ts';
export type { WebAuthnCeremonyOptions } from './backend/webauthn-ceremony.ts';
export type {
  ApprovalEvidence,
  ApprovalKind,
  WebAuthnAssertion,
  WebAuthnRegistration,
} from './backend/approval-evidence.ts';
