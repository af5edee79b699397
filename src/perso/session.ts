/**
 * A principal bound once: `perso.session({ role, agentAttributes })` → a frozen `PersoSession`
 * whose role and attributes no later call can change, and `guard(tool, fn)` to wrap a tool so it
 * runs only when the policy allows it.
 *
 * Checklist:
 * - role and agentAttributes are copied (one JSON round trip) and deep-frozen at creation; a
 *   principal that is not plain JSON makes a session that denies every call (`invalid_request`);
 * - `guard` canonicalizes the args once, checks that copy, and passes that same frozen copy to the
 *   tool (a getter in the args runs once; what ran is what was checked);
 * - the tool runs only on Allow, on an Ask a person approved, or in shadow mode (where the
 *   decision says `enforced: false`); never on a fault;
 * - a guarded tool's result reaches the evaluator (untrusted content) before the caller sees it;
 *   a result it could not record is withheld (a Deny `engine_fault`);
 * - an Ask that needs a WebAuthn approval is released only by an authenticator's assertion: after
 *   `approve` says yes, the session runs the ceremony itself (loaded on demand) unless `approve`
 *   already answered with evidence, and the engine's side checks it;
 * - a guarded call's code (`guarded-call.ts`) loads with the first one; a call whose code cannot
 *   load is a Deny (`engine_fault`) naming it, and the tool does not run.
 */
import type { DecisionResult, JsonObject, ReasonKind, ToolCall } from '../call/decision.ts';
import type { CanonicalArgs } from '../call/canonical-args.ts';
import { canonicalizeArgs } from '../call/canonical-args.ts';
import type { AnnotationHints } from '../policy/annotation-defaults.ts';
import type { ApprovalEvidence } from '../backend/approval-evidence.ts';
import type { WebAuthnCeremonyOptions } from '../backend/webauthn-ceremony.ts';
import type { ToolFacts } from '../audit/audit-record.ts';
import type { ToolPinsResult } from '../policy/tool-pins.ts';
import { own } from '../call/own-properties.ts';
import { FETCH_FILES_FIX, errorText, notLoaded } from '../encoding/text.ts';
import type { RecordAnswer, ToolResultRecord } from '../engine/types.ts';
import type { Explanation } from '../analysis/explain-call.ts';
import { onDemand } from '../backend/within-time.ts';

/** What a guarded call came to: the tool's value, or the decision that kept it from running. */
export type GuardOutcome<R> =
  | { ok: true; value: R; decision: DecisionResult }
  | { ok: false; decision: DecisionResult };

/** Options of {@link PersoSession.guard}. */
export interface GuardOptions<A> {
  /**
   * Host-owned facts about the call's target (e.g. the owner of the customer named in the args),
   * or a function computing them from the canonical args. A function that throws or returns
   * something that is not a JSON object makes the call a Deny.
   */
  resourceAttributes?: JsonObject | ((args: Readonly<A>) => JsonObject | Promise<JsonObject>);
  /**
   * Asks a person about an `Ask` decision, showing the exact canonical args. Only `true` runs
   * the tool; `false`, anything else, a throw or a rejection leave it unrun. Without it, an Ask
   * is not run and the outcome carries the Ask decision. For an Ask that needs a WebAuthn approval
   * (`decision.approval.kind === 'webauthn'`), `true` starts the authenticator ceremony; a host that
   * ran its own (`requestWebAuthnApproval`) answers with its evidence instead.
   */
  approve?: (decision: DecisionResult, args: Readonly<A>) => Promise<boolean | ApprovalEvidence>;
  /**
   * The tool's MCP or WebMCP annotations, as seen at registration. They decide only when the policy
   * opts in (`"annotation_defaults": true`) and no rule covers the call: `readOnlyHint` allows,
   * `destructiveHint` and `consequentialHint` ask (see `annotation-defaults.ts`). Their literal
   * boolean hints are in every audit record of the tool's calls (`toolFacts.annotations`).
   */
  annotations?: AnnotationHints;
  /** How the session's own WebAuthn ceremony waits for the authenticator (see `webauthn-ceremony.ts`). */
  webauthn?: Pick<WebAuthnCeremonyOptions, 'timeoutMs'>;
  /** What the integration saw of the tool at registration, for the audit records (descriptor hash, script URL). */
  toolFacts?: Omit<ToolFacts, 'annotations'>;
  /**
   * The tool's results are untrusted content whatever the policy says; the policy's
   * `untrusted_tools` mark them too, and so does `annotations.untrustedContentHint: true`.
   */
  untrustedContent?: boolean;
}

/** The principal a session binds; the role comes from the host's own session or token. */
export interface Principal {
  /** The principal's role. */
  role: string;
  /** Host-owned facts about the principal (user id, env, mfa...). */
  agentAttributes?: JsonObject;
  /**
   * The session's name: sessions with the same name share their untrusted content (name one per
   * conversation, so a principal that changes mid-conversation keeps what the model read; `''` is
   * the default session of calls without one). Default: a new session each time.
   */
  session?: string;
}

/** A call made through a session: the principal is the session's. */
export interface SessionCall {
  /** The tool's name. */
  tool: string;
  /** The tool call's arguments (a JSON object; absent means `{}`). */
  args?: unknown;
  /** Host-owned facts about the target. */
  resourceAttributes?: JsonObject;
  /** Seconds since the epoch, for rate limits; the host's clock when absent. */
  now?: number;
}

/**
 * How a session reaches its `Perso` (internal: `Perso` builds one, hosts never do).
 * @internal
 */
export interface SessionHost {
  /** `Perso.evaluate`. */
  evaluate(call: ToolCall): Promise<DecisionResult>;
  /**
   * Decides a call whose args were already canonicalized, applies the tool's annotations where the
   * policy opts in to annotation defaults, and audits that decision with the canonical copy (and
   * the tool's facts).
   */
  decide(
    call: ToolCall,
    canonical: CanonicalArgs,
    toolFacts?: ToolFacts,
    annotations?: AnnotationHints,
  ): Promise<DecisionResult>;
  /** An audited Deny (`invalid_request` unless `kind` says otherwise) for a call that is not decided by the engine. */
  refuse(
    call: { tool: unknown; role: unknown },
    reason: string,
    kind?: ReasonKind,
    toolFacts?: ToolFacts,
  ): DecisionResult;
  /** `Perso.approve`: redeems an Ask's ticket where the engine runs. */
  approve(nonce: string, call: ToolCall, evidence?: ApprovalEvidence): Promise<DecisionResult>;
  /** The active policy's own `"approval"` (what an Ask no rule made needs). */
  policyApproval(): 'click' | 'webauthn';
  /** The active policy's hash (`status().hash`), part of a WebAuthn approval's challenge. */
  policyHash(): string | null;
  /** The active policy's `tool_pins`, or why they cannot be read; `null` when it pins nothing. */
  toolPins(): ToolPinsResult | null;
  /** `Perso.recordResult`: a tool's result for a session's untrusted content. */
  recordResult(record: ToolResultRecord): Promise<RecordAnswer>;
  /** `Perso.explain`: why a call would be decided as it is (a string: why it cannot be read). */
  explain(call: ToolCall | string): Promise<Explanation>;
}

/** A guarded call's code, loaded with the first guarded call. */
const guardedCallCode = onDemand(() => import('./guarded-call.ts'));

/** A principal bound to a `Perso`; frozen. Create with `perso.session(...)`. */
export class PersoSession {
  /** The principal's role (empty when the principal given was invalid: every call is then a Deny). */
  declare readonly role: string;
  /** A deep-frozen copy of the principal's attributes. */
  declare readonly agentAttributes: Readonly<JsonObject>;
  #host: SessionHost;
  #error: string | null;
  /** This session's key for its untrusted content where the engine runs. */
  #key: string;

  /** @internal Use `perso.session(principal)`. */
  constructor(host: SessionHost, principal: Principal, key = '') {
    this.#host = host;
    this.#key = key;
    let role = '';
    let attributes: Readonly<JsonObject> = Object.freeze({});
    let error: string | null = null;
    try {
      const givenRole: unknown = principal == null ? undefined : own(principal, 'role');
      const name: unknown = principal == null ? undefined : own(principal, 'session');
      const canonical = canonicalizeArgs(
        principal == null ? undefined : own(principal, 'agentAttributes'),
        'agentAttributes',
      );
      if (typeof givenRole !== 'string' || givenRole === '') {
        error =
          'session: role must be a non-empty string; bind the role from your own session or token';
      } else if (!canonical.ok) {
        error = `session: ${canonical.error}`;
      } else {
        role = givenRole;
        attributes = canonical.value;
        // Checked where calls are decided: a session that is no string is an invalid request.
        if (name !== undefined) this.#key = name as string;
      }
    } catch (caught) {
      error = `session: the principal cannot be read (${errorText(caught)})`;
    }
    this.#error = error;
    Object.defineProperty(this, 'role', { value: role, enumerable: true });
    Object.defineProperty(this, 'agentAttributes', { value: attributes, enumerable: true });
    Object.freeze(this);
  }

  /** The full call as this session's principal, or why there is none. */
  #call(call: SessionCall): ToolCall | string {
    if (this.#error !== null) return this.#error;
    try {
      const full: ToolCall = {
        tool: own(call, 'tool') as string,
        args: own(call, 'args'),
        role: this.role,
        agentAttributes: this.agentAttributes,
        resourceAttributes: own(call, 'resourceAttributes'),
        session: this.#key,
      };
      const now = own(call, 'now');
      if (now !== undefined) full.now = now;
      return full;
    } catch {
      return 'invalid request: the call cannot be read; pass {tool, args}';
    }
  }

  /** Decides a call as this session's principal. Always a decision; faults are Deny. */
  evaluate(call: SessionCall): Promise<DecisionResult> {
    const full = this.#call(call);
    if (typeof full !== 'string') return this.#host.evaluate(full);
    let tool: unknown;
    try {
      tool = this.#error === null ? undefined : own(call, 'tool');
    } catch {
      // A call whose tool cannot be read is refused without it.
    }
    return Promise.resolve(this.#host.refuse({ tool, role: this.role }, full));
  }

  /**
   * Why a call made through this session would be decided as it is now, without deciding it:
   * `Perso.explain` with this session's principal, untrusted content and remembered approvals.
   * Nothing is counted or audited. Never rejects.
   */
  explain(call: SessionCall): Promise<Explanation> {
    return this.#host.explain(this.#call(call));
  }

  /**
   * Hands a tool's result to the evaluator as this session's: when the policy's `untrusted_tools`
   * name `tool` (or `options.untrusted` is true, e.g. WebMCP's `untrustedContentHint`), the session
   * keeps it as untrusted content for `SessionUntrusted` and `FromUntrusted`. `guard` calls it for
   * every result of a guarded tool. Never rejects: a result that cannot be recorded answers why
   * (`ok: false`: the session does not hold it, so never show it to the model; a guard withholds it).
   */
  recordResult(
    tool: string,
    result: unknown,
    options: { untrusted?: boolean } = {},
  ): Promise<RecordAnswer> {
    if (this.#error !== null) return Promise.resolve({ ok: false, error: this.#error });
    const record: ToolResultRecord = { tool, role: this.role, result, session: this.#key };
    if (own(options, 'untrusted') === true) record.untrusted = true;
    return this.#host.recordResult(record);
  }

  /**
   * Wraps a tool function: each call is checked first, and `fn` runs only on Allow (or on an Ask
   * that `options.approve` approved, or in shadow mode), on the frozen canonical copy of the args.
   * The returned function resolves to a {@link GuardOutcome}; it rejects only when `fn` itself
   * throws after the call was allowed.
   */
  guard<A, R>(
    tool: string,
    fn: (args: A) => R | Promise<R>,
    options: GuardOptions<A> = {},
  ): (args: A) => Promise<GuardOutcome<R>> {
    const host = this.#host;
    const role = this.role;
    const agentAttributes = this.agentAttributes;
    const error = this.#error;
    const key = this.#key;
    // Own options only: a polluted Object.prototype.approve must not approve every Ask.
    const resourceAttributes = own(options, 'resourceAttributes');
    const approve = own(options, 'approve');
    const annotations = own(options, 'annotations');
    const webauthn = own(options, 'webauthn');
    const toolFacts = recordedToolFacts(annotations, own(options, 'toolFacts'));
    // WebMCP's and MCP's untrustedContentHint marks the tool's results untrusted as the option does.
    const untrustedHint =
      own(options, 'untrustedContent') === true ||
      (annotations as AnnotationHints | undefined)?.untrustedContentHint === true;
    return async (args: A): Promise<GuardOutcome<R>> => {
      if (error !== null) return { ok: false, decision: host.refuse({ tool, role }, error) };
      // The args are read in the caller's turn, before the call's code loads.
      const canonical = canonicalizeArgs(args);
      let guarded: typeof import('./guarded-call.ts');
      try {
        guarded = await guardedCallCode();
      } catch (caught) {
        const reason = `engine fault: ${notLoaded('the guarded-call code', caught)}; the tool was not run, ${FETCH_FILES_FIX} and retry`;
        return {
          ok: false,
          decision: host.refuse({ tool, role }, reason, 'engine_fault', toolFacts),
        };
      }
      return guarded.guardedCall(
        host,
        {
          tool,
          role,
          agentAttributes,
          resourceAttributes,
          approve,
          annotations,
          webauthn,
          toolFacts,
          session: key,
          untrusted: untrustedHint,
        },
        canonical,
        fn,
      );
    };
  }
}

// The tool's facts for its audit records, read once when the tool is guarded: literal boolean
// hints only, so the record stays plain JSON whatever the annotations object holds.
function recordedToolFacts(
  annotations: AnnotationHints | undefined,
  given: GuardOptions<unknown>['toolFacts'],
): ToolFacts | undefined {
  const facts: ToolFacts = {};
  if (annotations !== null && typeof annotations === 'object') {
    const hints: Record<string, boolean> = {};
    for (const key of Object.keys(annotations)) {
      const value: unknown = (annotations as Record<string, unknown>)[key];
      if (key.endsWith('Hint') && typeof value === 'boolean') hints[key] = value;
    }
    if (Object.keys(hints).length > 0) facts.annotations = Object.freeze(hints);
  }
  if (given !== null && typeof given === 'object') {
    const descriptorSha256 = own(given, 'descriptorSha256');
    const scriptUrl = own(given, 'scriptUrl');
    if (typeof descriptorSha256 === 'string') facts.descriptorSha256 = descriptorSha256;
    if (typeof scriptUrl === 'string') facts.scriptUrl = scriptUrl;
  }
  return Object.keys(facts).length === 0 ? undefined : Object.freeze(facts);
}
