/**
 * The async half of `<perso-guard>`: loads the policy, binds the host's principal into a session,
 * runs guarded tool calls, keeps the decision log and the pending approvals. The element renders
 * what this controller holds and nothing else.
 *
 * Checklist:
 * - the principal comes from the host's properties only; a call carries a tool name and args;
 * - a tool runs only through `session.guard`: on Allow, on an Ask a person approved with a trusted
 *   click (and the backend then lifted), or in shadow mode; always on the canonical frozen args;
 * - no policy source, a policy that failed to load, an unknown tool: a denial result, never a throw;
 * - an approval prompt that nobody answers expires and counts as "no";
 * - on a page that also runs the WebMCP embed (`window.perso`), the guard shows the embed's
 *   decisions and is the person the embed asks about Ask decisions (the embed's worker still
 *   redeems the approval: the prompt's answer is a request, not a permission);
 * - the latest load wins: a load that was superseded (by a new `src`, mode, integrity, keys or
 *   timeout, or by the element leaving the page) never sets the status or fires `perso-error`.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { DecisionResult, JsonObject } from '../call/decision.ts';
import { canonicalizeArgs } from '../call/canonical-args.ts';
import { denialResult } from '../call/denial-result.ts';
import { Perso } from '../perso/perso.ts';
import type { PersoMode, PersoOptions, PolicyInput, PolicyStatus } from '../perso/perso.ts';
import type { AuditTransport } from '../audit/audit-record.ts';
import type { PolicyPublicKey } from '../policy/policy-integrity.ts';
import { own } from '../call/own-properties.ts';
import type { PersoSession } from '../perso/session.ts';
import { PersoApprovalPrompt } from './approval-prompt.ts';
import { PersoDecisionEvent, PersoErrorEvent, PersoStatusEvent } from './guard-events.ts';
import type { GuardedTool, ToolFunction, ToolOptions } from './guarded-tool.ts';
import { errorText, formatDiagnostics, quote, quoteName, showJson } from '../encoding/text.ts';

/** One line of the decision log. */
export interface DecisionLogEntry {
  /** Unique within the element. */
  readonly id: number;
  /** The tool called. */
  readonly tool: string;
  /** The checked args as compact JSON (truncated). */
  readonly args: string;
  /** The decision. */
  readonly decision: DecisionResult['decision'];
  /** Its reason. */
  readonly reason: string;
  /** The deciding rule, if any. */
  readonly rule: string | null;
  /** False in shadow mode. */
  readonly enforced: boolean;
}

/** The host element as the controller sees it. */
export interface GuardHost extends ReactiveControllerHost, HTMLElement {
  /** Policy URL. */
  src: string | null;
  /** The principal's role. */
  role: string | null;
  /** Host-owned facts about the principal. */
  agentAttributes: JsonObject | undefined;
  /** How long a WebAuthn approval waits for the authenticator, in ms. */
  authenticatorTimeoutMs?: number;
  /** The host's mode (`policy`: the fetched policy's `mode` decides); `null`: enforced. */
  mode: PersoMode | null;
  /** The policy's pinned hash. */
  integrity: string | null;
  /** Trusted signing keys. */
  publicKeys: readonly PolicyPublicKey[] | null;
  /** The id signatures must name; `null`: the policy's absolute URL. */
  policyId?: string | null;
  /** Worker call timeout, ms. */
  timeout: number | null;
  /** Check the worker script and engine.wasm (default true; `'strict'`: from the checked bytes). */
  codeIntegrity: boolean | 'strict';
  /** Where audit records go (the host's transports; the guard flushes them, never closes them). */
  audit?: AuditTransport | readonly AuditTransport[] | null;
}

/** Most log lines kept; older ones scroll away. */
const LOG_LIMIT = 50;
/** How long an approval prompt waits when the backend gives no expiry. */
const DEFAULT_APPROVAL_MS = 120_000;

/** Loads, decides, runs and logs for one `<perso-guard>`. */
export class GuardController implements ReactiveController {
  /** The decision log, newest last. */
  log: readonly DecisionLogEntry[] = [];
  /** Approval prompts waiting for a person. */
  prompts: readonly PersoApprovalPrompt[] = [];
  /** A short status line (loading, the policy version, or the load error). */
  status = 'no policy';
  /** The policy's full status once the latest load settled; `null` while loading or without a policy. */
  policyStatus: PolicyStatus | null = null;

  readonly #host: GuardHost;
  readonly #tools = new Map<string, GuardedTool>();
  #perso: Promise<Perso | null> = Promise.resolve(null);
  #loadedSrc: string | null = null;
  /** Counts loads; a load's answer counts only while it is still the latest. */
  #loadGeneration = 0;
  #loadedAudit: GuardHost['audit'] = null;
  #session: { key: string; session: PersoSession } | null = null;
  #nextId = 1;
  #joinedEmbed: EmbedApi | null = null;

  // The embed reports its decisions as CustomEvents on document (the guard's own are
  // PersoDecisionEvents, logged where they are made).
  readonly #onEmbedDecision = (event: Event): void => {
    if (event instanceof PersoDecisionEvent || !(event instanceof CustomEvent)) return;
    const detail: unknown = event.detail;
    if (detail === null || typeof detail !== 'object') return;
    const { tool, args, decision } = detail as {
      tool?: unknown;
      args?: unknown;
      decision?: DecisionResult;
    };
    if (
      typeof tool !== 'string' ||
      decision === undefined ||
      typeof decision?.decision !== 'string'
    )
      return;
    this.#record(tool, args, decision, false);
  };

  readonly #approveForEmbed = (question: EmbedQuestion): Promise<boolean> =>
    this.#askPerson(
      question.tool,
      question.args,
      {
        reason: question.reason,
        rule: question.rule ?? undefined,
        approval:
          typeof question.expiresAt === 'number'
            ? {
                nonce: '',
                expiresAt: question.expiresAt,
                ...(question.approval === 'webauthn' ? { kind: 'webauthn' as const } : {}),
              }
            : undefined,
      },
      question.signal instanceof AbortSignal ? question.signal : undefined,
    );

  /** @param host the element */
  constructor(host: GuardHost) {
    this.#host = host;
    host.addController(this);
  }

  /** Starts loading when the host connects, and joins the page's WebMCP embed if there is one. */
  hostConnected(): void {
    this.#ensureLoaded();
    document.addEventListener('perso-decision', this.#onEmbedDecision);
    const embed = embedApi();
    if (embed !== null) {
      embed.setApprover(this.#approveForEmbed);
      this.#joinedEmbed = embed;
    }
  }

  /** Reloads when `src` changed. */
  hostUpdate(): void {
    this.#ensureLoaded();
  }

  /** Closes the engine when the host leaves the page. */
  hostDisconnected(): void {
    document.removeEventListener('perso-decision', this.#onEmbedDecision);
    this.#joinedEmbed?.setApprover(null);
    this.#joinedEmbed = null;
    const perso = this.#perso;
    this.#perso = Promise.resolve(null);
    this.#loadedSrc = null;
    this.#loadGeneration += 1;
    this.#session = null;
    void perso.then((instance) => instance?.close());
  }

  /** The names of the registered tools. */
  get toolNames(): string[] {
    return [...this.#tools.keys()];
  }

  /** The registered tools, by name (a frozen snapshot). */
  get tools(): Record<string, ToolFunction> {
    return Object.freeze(
      Object.fromEntries([...this.#tools].map(([name, tool]) => [name, tool.fn])),
    );
  }

  /** Replaces all tools. */
  setTools(tools: Record<string, ToolFunction>): void {
    this.#tools.clear();
    for (const [name, fn] of Object.entries(tools)) this.register(name, fn);
  }

  /** Adds or replaces one tool. */
  register(name: string, fn: ToolFunction, options: ToolOptions = {}): void {
    if (typeof name !== 'string' || name === '')
      throw new TypeError('register: the tool name must be a non-empty string');
    if (typeof fn !== 'function')
      throw new TypeError(`register: tool ${quote(name)} needs a function`);
    // Own options only: a polluted Object.prototype.annotations or .resourceAttributes is not the host's.
    const given = own(options, 'annotations');
    const annotations = Object.freeze(
      Object.assign(Object.create(null) as object, given ?? {}) as ToolOptions['annotations'] &
        object,
    );
    const resourceAttributes = own(options, 'resourceAttributes');
    this.#tools.set(
      name,
      Object.freeze(
        resourceAttributes === undefined
          ? { fn, annotations }
          : { fn, annotations, resourceAttributes },
      ),
    );
  }

  /**
   * Calls a tool through the guard. Resolves to the tool's result on Allow (or an approved Ask),
   * or to a denial result; rejects only when the tool itself throws after it was allowed.
   */
  async call(name: string, args: unknown): Promise<unknown> {
    const tool = typeof name === 'string' ? this.#tools.get(name) : undefined;
    const toolName = typeof name === 'string' ? name : String(name);
    const role = this.#host.role ?? '';
    if (tool === undefined) {
      const known = this.toolNames.map((known) => quoteName(known)).join(', ') || 'none';
      return unknownTool(toolName, known);
    }
    const session = await this.#currentSession();
    if (typeof session === 'string') {
      const decision = refusal(session);
      this.#record(toolName, args, decision);
      return denialResult(decision, { tool: toolName, args, role });
    }
    // Read the agent's args once, here: the log, the prompt and the tool all see this copy. Args
    // that cannot be copied go to the guard as they are, which refuses them with the reason.
    const copy = canonicalizeArgs(args);
    const checked: unknown = copy.ok ? copy.value : args;
    let asked: DecisionResult | null = null;
    const guarded = session.guard(
      toolName,
      (canonical: Readonly<JsonObject>) => tool.fn(canonical),
      {
        annotations: tool.annotations,
        ...(tool.resourceAttributes === undefined
          ? {}
          : { resourceAttributes: tool.resourceAttributes }),
        ...(typeof this.#host.authenticatorTimeoutMs === 'number'
          ? { webauthn: { timeoutMs: this.#host.authenticatorTimeoutMs } }
          : {}),
        approve: (decision: DecisionResult, canonical: Readonly<JsonObject>) => {
          asked = decision;
          this.#record(toolName, canonical, decision);
          return this.#askPerson(toolName, canonical, decision);
        },
      },
    );
    let outcome: Awaited<ReturnType<typeof guarded>>;
    try {
      outcome = await guarded(checked as Readonly<JsonObject>);
    } catch (error) {
      const message = `tool ${quoteName(toolName)} threw: ${errorText(error)}`;
      this.#host.dispatchEvent(new PersoErrorEvent(message, toolName));
      throw error;
    }
    // An Ask nobody approved was logged when it was asked.
    if (outcome.decision !== asked)
      this.#record(toolName, copy.ok ? copy.value : '(arguments refused)', outcome.decision);
    if (outcome.ok) return outcome.value;
    return denialResult(outcome.decision, { tool: toolName, args, role });
  }

  #record(tool: string, args: unknown, decision: DecisionResult, announce = true): void {
    const entry: DecisionLogEntry = Object.freeze({
      id: this.#nextId++,
      tool,
      args: showJson(args, 200),
      decision: decision.decision,
      reason: decision.reason,
      rule: decision.rule ?? null,
      enforced: decision.enforced,
    });
    this.log = [...this.log, entry].slice(-LOG_LIMIT);
    this.#host.requestUpdate();
    if (announce) this.#host.dispatchEvent(new PersoDecisionEvent(tool, args, decision));
  }

  #askPerson(
    tool: string,
    args: unknown,
    decision: Pick<DecisionResult, 'reason' | 'rule' | 'approval'>,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const ticket = decision.approval;
    const waitMs =
      ticket?.expiresAt === undefined
        ? DEFAULT_APPROVAL_MS
        : Math.max(0, ticket.expiresAt - Date.now());
    const prompt = new PersoApprovalPrompt();
    this.prompts = [...this.prompts, prompt];
    this.#host.requestUpdate();
    const webauthn = ticket?.kind === 'webauthn';
    const answer = prompt.ask(
      { tool, args, reason: decision.reason, rule: decision.rule ?? null, webauthn },
      waitMs,
    );
    // The agent cancelled the call while the person was asked: the prompt closes as a "no".
    signal?.addEventListener('abort', () => prompt.cancel(), { once: true });
    if (signal?.aborted === true) prompt.cancel();
    return answer.finally(() => {
      this.prompts = this.prompts.filter((open) => open !== prompt);
      this.#host.requestUpdate();
    });
  }

  // Loads again when the source, the audit transports or any input that decides how the policy is
  // verified and enforced changed.
  #ensureLoaded(): void {
    const src = this.#host.src;
    const options = this.#loadOptions();
    const audit = this.#host.audit ?? null;
    const key = JSON.stringify([src, options]);
    if (key === this.#loadedSrc && audit === this.#loadedAudit) return;
    this.#loadedSrc = key;
    this.#loadedAudit = audit;
    this.#session = null;
    this.policyStatus = null;
    const generation = ++this.#loadGeneration;
    const previous = this.#perso;
    if (src === null || src === '') {
      this.status = 'no policy';
      this.#perso = Promise.resolve(null);
    } else if (typeof options === 'string') {
      this.status = `perso-guard is misconfigured: ${options}`;
      this.#host.dispatchEvent(new PersoErrorEvent(this.status));
      this.#perso = Promise.resolve(null);
    } else {
      this.status = `loading ${src}`;
      const url = new URL(src, document.baseURI).href;
      // A superseded load's instance is closed with the rest (`previous` below, on the next load);
      // its answer must not overwrite what the latest load says.
      const latest = () => generation === this.#loadGeneration;
      this.#perso = Perso.load({ ...options, ...hostTransports(audit), policy: url }).then(
        (perso) => {
          if (latest()) this.#show(perso.status(), src);
          return perso;
        },
        (error: unknown) => {
          if (!latest()) return null;
          this.status = `policy ${src} failed to load: ${errorText(error)}`;
          this.#host.dispatchEvent(new PersoErrorEvent(this.status));
          this.#host.requestUpdate();
          return null;
        },
      );
    }
    void previous.then((instance) => instance?.close());
  }

  /**
   * Loads the policy again in place: `src` again, or `policy` (an edited policy object, or another
   * URL) instead. A failed reload keeps the active policy; sessions and the log carry on.
   */
  async reload(policy?: PolicyInput): Promise<PolicyStatus> {
    const generation = this.#loadGeneration;
    const src = this.#host.src ?? '';
    const perso = await this.#perso;
    if (perso === null) {
      const reason = await this.#currentSession();
      return noPolicyStatus(typeof reason === 'string' ? reason : this.status);
    }
    const status = await perso.reload(policy ?? new URL(src, document.baseURI).href);
    if (generation === this.#loadGeneration) this.#show(status, src);
    return status;
  }

  // The status line, `policyStatus`, and the events, for the latest load or reload.
  #show(status: PolicyStatus, src: string): void {
    this.policyStatus = status;
    const active = `policy ${status.version ?? '(unversioned)'}${status.mode === 'shadow' ? ' (shadow mode)' : ''}`;
    const errors = formatDiagnostics(status.errors);
    this.status = status.ok
      ? active
      : status.version === null
        ? `policy ${src} failed to load: ${errors}`
        : `${active}; a reload failed and it stays active: ${errors}`;
    if (!status.ok) this.#host.dispatchEvent(new PersoErrorEvent(this.status));
    this.#host.dispatchEvent(new PersoStatusEvent(status));
    this.#host.requestUpdate();
  }

  /**
   * The library's inputs from the element's attributes and properties (the same as `Perso.load`'s:
   * mode, integrity pin, public keys, policy id, timeout), or why they are unusable. A key list given but
   * empty or unreadable is an error, never a dropped signature check.
   */
  #loadOptions(): Omit<PersoOptions, 'policy'> | string {
    const { mode, integrity, publicKeys, policyId, timeout, codeIntegrity } = this.#host;
    const options: Omit<PersoOptions, 'policy'> = {};
    if (codeIntegrity === false || codeIntegrity === 'strict')
      options.codeIntegrity = codeIntegrity;
    if (mode !== null && mode !== undefined) {
      if (mode !== 'enforce' && mode !== 'shadow' && mode !== 'policy')
        return `mode "${String(mode)}" is unknown; use "enforce", "shadow" or "policy"`;
      options.mode = mode;
    }
    if (integrity !== null && integrity !== undefined && integrity !== '')
      options.integrity = integrity;
    const keysGiven = publicKeys !== null && publicKeys !== undefined;
    if (keysGiven || this.#host.hasAttribute('public-keys')) {
      if (!Array.isArray(publicKeys) || publicKeys.length === 0) {
        return 'public-keys must be JSON: {"keyId": "...", "alg": "Ed25519", "publicKey": "<base64 SPKI>"} or a non-empty array of them';
      }
      options.publicKeys = publicKeys;
    }
    if (typeof policyId === 'string' && policyId !== '') options.policyId = policyId;
    if (timeout !== null && timeout !== undefined) {
      if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0)
        return `timeout "${String(timeout)}" is not a positive number of milliseconds`;
      options.timeoutMs = timeout;
    }
    return options;
  }

  // The session for the host's current principal, or why there is none.
  async #currentSession(): Promise<PersoSession | string> {
    const perso = await this.#perso;
    if (perso === null) {
      return this.#host.src === null || this.#host.src === ''
        ? 'no policy: set the src of <perso-guard> to a policy URL'
        : `no policy: ${this.status}`;
    }
    const role = this.#host.role;
    if (role === null || role === '')
      return 'no principal: set the role of <perso-guard> from your own session';
    const key = JSON.stringify([role, this.#host.agentAttributes ?? {}]);
    if (this.#session?.key !== key) {
      this.#session = {
        key,
        session: perso.session({ role, agentAttributes: this.#host.agentAttributes }),
      };
    }
    return this.#session.session;
  }
}

/** What the embed asks its approver. */
interface EmbedQuestion {
  tool: string;
  args: unknown;
  reason: string;
  rule: string | null;
  expiresAt?: number | null;
  /** `webauthn` when the embed's session will ask the person's authenticator after a yes. */
  approval?: 'click' | 'webauthn';
  /** Aborts when the agent cancels the call. */
  signal?: AbortSignal;
}

/** The part of the embed's `window.perso` the guard uses. */
interface EmbedApi {
  setApprover(approver: ((question: EmbedQuestion) => Promise<boolean>) | null): void;
}

function embedApi(): EmbedApi | null {
  const candidate = (window as { perso?: unknown }).perso;
  if (candidate === null || typeof candidate !== 'object') return null;
  return typeof (candidate as Partial<EmbedApi>).setApprover === 'function'
    ? (candidate as EmbedApi)
    : null;
}

/**
 * The host's transports, each behind a wrapper without `close`: an instance the guard replaces
 * closes its transports, and these are the host's, shared by the next instance (it flushes them).
 */
function hostTransports(
  audit: GuardHost['audit'],
): Pick<PersoOptions, 'audit'> | Record<string, never> {
  if (audit === null || audit === undefined) return {};
  const list: readonly AuditTransport[] = Array.isArray(audit) ? audit : [audit as AuditTransport];
  return {
    audit: list.map(
      (transport): AuditTransport => ({
        emit: (record) => transport.emit(record),
        flush: async () => transport.flush?.(),
        ...(typeof transport.persisted === 'function'
          ? { persisted: () => transport.persisted!() }
          : {}),
      }),
    ),
  };
}

/** What `reload` answers when there is no policy to reload. */
function noPolicyStatus(reason: string): PolicyStatus {
  return {
    ok: false,
    version: null,
    hash: null,
    mode: 'enforce',
    source: null,
    errors: [{ severity: 'error', path: 'src', message: reason }],
    warnings: [],
  };
}

function refusal(reason: string): DecisionResult {
  const kind = reason.startsWith('no principal') ? 'invalid_request' : 'no_policy';
  return { decision: 'Deny', reason, kind, policyVersion: null, enforced: true };
}

function unknownTool(tool: string, known: string) {
  return {
    content: [
      {
        type: 'text' as const,
        text: `unknown tool ${quoteName(tool)}; the tools here are ${known}`,
      },
    ],
    isError: true as const,
  };
}
