/**
 * One guarded tool call (`PersoSession.guard`): checked, then run only when the decision lets it.
 * Loaded with a page's first guarded call: a page that only calls `evaluate` never downloads it.
 *
 * Checklist:
 * - the policy's tool pins are checked first (a reloaded policy may pin differently), then the
 *   canonical args the session read in the caller's turn; the tool gets that same frozen copy;
 * - the tool runs only on Allow, on an Ask a person approved and the engine's side lifted, or in
 *   shadow mode (where the decision says `enforced: false`); never on a fault;
 * - the tool's result reaches the evaluator (untrusted content) before the caller sees it, read once
 *   as JSON; an untrusted result's caller gets that copy; a result it could not record is withheld
 *   (a Deny `engine_fault`);
 * - an Ask that needs a WebAuthn approval is released only by an authenticator's assertion: after
 *   `approve` says yes, the ceremony runs (loaded on demand) unless `approve` answered with evidence.
 */
import type { DecisionResult, JsonObject, ReasonKind, ToolCall } from '../call/decision.ts';
import type { CanonicalArgs } from '../call/canonical-args.ts';
import { canonicalizeArgs } from '../call/canonical-args.ts';
import type { AnnotationHints } from '../policy/annotation-defaults.ts';
import type { ApprovalEvidence } from '../backend/approval-evidence.ts';
import type { ToolFacts } from '../audit/audit-record.ts';
import type { GuardOptions, GuardOutcome, SessionHost } from './session.ts';
import { checkToolPin } from '../policy/tool-pins.ts';
import type { ToolPinsResult } from '../policy/tool-pins.ts';
import { own } from '../call/own-properties.ts';
import { errorText, quoteName } from '../encoding/text.ts';
import { refuseHiddenNull } from '../engine/hidden-null.ts';

/** What `guard` fixed when it wrapped the tool: the principal and the own options it read. */
export interface GuardedTool<A> {
  tool: string;
  role: string;
  agentAttributes: Readonly<JsonObject>;
  resourceAttributes: GuardOptions<A>['resourceAttributes'];
  approve: GuardOptions<A>['approve'];
  annotations: AnnotationHints | undefined;
  webauthn: GuardOptions<A>['webauthn'];
  toolFacts: ToolFacts | undefined;
  /** The session's key for its untrusted content. */
  session: string;
  /** The tool's results are untrusted content whatever the policy says (its own hint). */
  untrusted: boolean;
}

/**
 * Decides one call of a guarded tool and runs `fn` when the decision lets it. Rejects only when
 * `fn` itself throws after the call was allowed.
 *
 * @param host the session's `Perso`
 * @param guarded what `guard` fixed
 * @param canonical the call's canonical args, read in the caller's turn
 * @param fn the tool
 */
export async function guardedCall<A, R>(
  host: SessionHost,
  guarded: GuardedTool<A>,
  canonical: CanonicalArgs,
  fn: (args: A) => R | Promise<R>,
): Promise<GuardOutcome<R>> {
  const { tool, role, agentAttributes, resourceAttributes, approve, annotations, webauthn } =
    guarded;
  const toolFacts = guarded.toolFacts;
  const pinned = pinRefusal(tool, host.toolPins(), toolFacts);
  if (pinned !== null)
    return {
      ok: false,
      decision: host.refuse({ tool, role }, pinned.reason, pinned.kind, toolFacts),
    };
  if (!canonical.ok)
    return {
      ok: false,
      decision: host.refuse({ tool, role }, `invalid request: ${canonical.error}`),
    };
  const checkedArgs = canonical.value as unknown as Readonly<A>;
  let resource: JsonObject | undefined;
  if (resourceAttributes !== undefined) {
    const attributes = await resolveResourceAttributes(resourceAttributes, checkedArgs);
    if (!attributes.ok)
      return {
        ok: false,
        decision: host.refuse({ tool, role }, `invalid request: ${attributes.error}`),
      };
    resource = attributes.value;
  }
  const call: ToolCall = {
    tool,
    args: checkedArgs,
    role,
    agentAttributes,
    resourceAttributes: resource,
    session: guarded.session,
  };
  // The host applies annotation defaults before it audits, so the record holds what was decided.
  const decision = await host.decide(call, canonical, toolFacts, annotations);
  const settled = await mayRun(decision, call, checkedArgs, approve, host, webauthn);
  if (!settled.run) return { ok: false, decision: settled.decision };
  // The tool's result, or what it threw, handed to the evaluator as this session's.
  const record = (result: unknown) =>
    host.recordResult({
      tool,
      role,
      result,
      session: guarded.session,
      ...(guarded.untrusted ? { untrusted: true } : {}),
    });
  let value: R;
  try {
    value = await fn(checkedArgs as A);
  } catch (thrown) {
    // What a tool throws reaches the model too (as the tool's error): for an untrusted tool it is
    // untrusted content like a result, kept before the caller sees it, or withheld.
    const kept = await record(thrownContent(thrown));
    if (!kept.ok)
      throw new Error(
        `perso: '${tool}' failed, and its error could not be recorded as untrusted content (${kept.error}); it is withheld`,
      );
    throw thrown;
  }
  // The result may be untrusted content: the evaluator keeps it before the caller sees it, and a
  // result it could not keep is withheld (the session's state would be unknown). It is read once,
  // as JSON: an untrusted result's caller gets that copy, so a getter or a later write cannot show
  // the model something other than what was kept.
  const kept = readOnce(value === undefined ? null : value);
  const recorded = await record(kept);
  if (!recorded.ok)
    return {
      ok: false,
      decision: host.refuse(
        { tool, role },
        `engine fault: the result of '${tool}' could not be recorded as untrusted content (${recorded.error}); it is withheld`,
        'engine_fault',
        toolFacts,
      ),
    };
  return {
    ok: true,
    value: recorded.untrusted && kept !== value ? (kept as R) : value,
    decision: settled.decision,
  };
}

// What a thrown value can show the model: its whole message (or its text), its own fields, and
// what an error wraps: its `cause` and an AggregateError's `errors` (own, not enumerable, so JSON
// leaves them out, but an inspector or a logger shows them), each read the same way, 8 deep.
function thrownContent(thrown: unknown, depth = 0): unknown {
  const read = thrown as { message?: unknown; cause?: unknown; errors?: unknown } | null;
  const isObject = typeof read === 'object' && read !== null;
  let message = '';
  try {
    message = isObject && typeof read.message === 'string' ? read.message : String(thrown);
  } catch {}
  const content: Record<string, unknown> = { error: message, detail: readOnce(thrown) };
  if (isObject && depth < 8) {
    try {
      if ('cause' in read) content.cause = thrownContent(read.cause, depth + 1);
      const errors = read.errors;
      if (Array.isArray(errors))
        content.errors = errors.map((inner: unknown) => thrownContent(inner, depth + 1));
    } catch {}
  }
  return content;
}

// A result as JSON reads it, once; the value itself when JSON cannot (the evaluator then refuses it).
function readOnce(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value, refuseHiddenNull)) as unknown;
  } catch {
    return value;
  }
}

// Whether the tool runs, and on which decision. An Ask a person approved runs only once the engine's
// side (the worker, or the inline backend) redeemed the ticket and lifted it to Allow: a `true`
// from `approve` is a request to that side, never a permission by itself.
async function mayRun<A>(
  decision: DecisionResult,
  call: ToolCall,
  args: Readonly<A>,
  approve: GuardOptions<A>['approve'],
  host: SessionHost,
  webauthn: GuardOptions<A>['webauthn'],
): Promise<{ run: boolean; decision: DecisionResult }> {
  // Faults are always enforced (Perso sets enforced: true for them), so shadow mode never runs them.
  if (decision.enforced === false) return { run: true, decision };
  if (decision.decision === 'Allow') return { run: true, decision };
  if (decision.decision !== 'Ask' || approve === undefined) return { run: false, decision };
  let answer: unknown = false;
  try {
    answer = await approve(decision, args);
  } catch {
    answer = false;
  }
  const given = isEvidence(answer) ? answer : undefined;
  if (answer !== true && given === undefined) return { run: false, decision };
  const ticket = own(decision, 'approval');
  if (ticket !== undefined) {
    // The ceremony runs only once a person said yes; the engine's side checks what it made.
    const evidence =
      given ??
      (ticket.kind === 'webauthn'
        ? await (await import('../backend/webauthn-ceremony.ts')).requestWebAuthnApproval(
            { ticket, tool: call.tool, args, policyHash: host.policyHash() },
            { timeoutMs: webauthn?.timeoutMs },
          )
        : undefined);
    const lifted = await host.approve(ticket.nonce, call, evidence);
    return { run: lifted.decision === 'Allow', decision: lifted };
  }
  // An Ask without a ticket comes from annotation defaults (the engine said Allow, no rule): it
  // runs only if the engine still says so now.
  if (decision.kind !== 'no_rule') return { run: false, decision };
  if (host.policyApproval() === 'webauthn') {
    const reason = `${decision.reason}; the policy says "approval": "webauthn", and an Ask no rule made has no ticket an authenticator could sign, so it was not run; add an Ask rule for ${quoteName(call.tool)}`;
    return { run: false, decision: host.refuse(call, reason) };
  }
  const again = await host.evaluate(call);
  if (again.decision !== 'Allow' || again.kind !== 'no_rule')
    return { run: false, decision: again };
  return { run: true, decision: { ...again, reason: `${decision.reason}; approved by a person` } };
}

async function resolveResourceAttributes<A>(
  given: NonNullable<GuardOptions<A>['resourceAttributes']>,
  args: Readonly<A>,
): Promise<CanonicalArgs> {
  try {
    const value = typeof given === 'function' ? await given(args) : given;
    if (value === undefined || value === null) {
      return {
        ok: false,
        error: 'resourceAttributes: expected a JSON object; return {} when there are none',
      };
    }
    return canonicalizeArgs(value, 'resourceAttributes');
  } catch (caught) {
    return {
      ok: false,
      error: `resourceAttributes: could not be computed (${errorText(caught)})`,
    };
  }
}

function isEvidence(value: unknown): value is ApprovalEvidence {
  if (value === null || typeof value !== 'object') return false;
  const kind = own(value as { kind?: unknown }, 'kind');
  return kind === 'webauthn' || kind === 'webauthn-failed';
}

// Why a call is refused by the policy's tool pins, or null (see tool-pins.ts). Checked at each call:
// a reloaded policy may pin differently.
function pinRefusal(
  tool: string,
  pins: ToolPinsResult | null,
  facts: ToolFacts | undefined,
): { reason: string; kind: ReasonKind } | null {
  if (pins === null) return null;
  if (!pins.ok)
    return {
      reason: `policy ${pins.error}; every call is refused until the policy is fixed`,
      kind: 'no_policy',
    };
  const pin = Object.hasOwn(pins.pins, tool) ? pins.pins[tool] : undefined;
  const reason = checkToolPin(tool, pin, facts);
  return reason === null ? null : { reason, kind: 'denied_by_rule' };
}
