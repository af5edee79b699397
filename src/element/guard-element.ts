/**
 * `<perso-guard>`: wraps an agent UI's client-side tool calls. The host gives it the policy URL and
 * the principal; the agent calls tools through it; it shows each decision and asks a person where
 * the policy says Ask.
 *
 * ```html
 * <perso-guard src="/policy.json" role="agent">
 *   <my-agent-chat></my-agent-chat>
 * </perso-guard>
 * ```
 * ```js
 * const guard = document.querySelector('perso-guard');
 * guard.agentAttributes = { user_id: 'u-17', env: 'production' };   // host-owned facts
 * guard.register('process_refund', ({ amount }) => refund(amount), { annotations: { destructiveHint: true } });
 * const result = await guard.call('process_refund', { amount: 800 }); // tool result, or a denial result
 * ```
 *
 * Elements render; the controllers do the async work: {@link PolicyLoadController} loads the policy,
 * {@link GuardController} decides, runs and logs the calls.
 */
import { LitElement, css, html, nothing } from 'lit';
import { visibleText } from '../encoding/visible-text.ts';
import { repeat } from 'lit/directives/repeat.js';
import type { JsonObject } from '../call/decision.ts';
import type { DenialResult } from '../call/denial-result.ts';
import { GuardController } from './guard-controller.ts';
import type { DecisionLogEntry } from './decision-log.ts';
import { PolicyLoadController } from './policy-load-controller.ts';
import { PersoToolCallEvent } from './guard-events.ts';
import type { ToolFunction, ToolOptions } from './guarded-tool.ts';
import type { PersoMode, PolicyInput, PolicyStatus } from '../perso/perso.ts';
import type { AuditTransport } from '../audit/audit-record.ts';
import type { PolicyPublicKey } from '../policy/policy-integrity.ts';

/**
 * Guards the tool calls of the agent UI it wraps.
 *
 * @fires perso-decision - {@link PersoDecisionEvent} after every decision, before the tool runs
 * @fires perso-status - {@link PersoStatusEvent} when the policy has loaded or reloaded (or failed to)
 * @fires perso-error - {@link PersoErrorEvent} when the policy fails to load or a tool throws
 * @slot - the agent UI; it may dispatch `perso-tool-call` ({@link PersoToolCallEvent}) to call a tool
 * @csspart log - the decision log
 * @attr src - URL of the policy JSON
 * @attr role - the principal's role, set by the host (never by the agent)
 * @attr log-hidden - hides the decision log
 * @attr mode - `enforce`, `shadow`, or `policy` (the fetched policy's own `mode` decides); unset, the policy is enforced
 * @attr integrity - the policy's pinned hash, `sha256-<base64>`; other bytes are refused
 * @attr public-keys - JSON: a `{keyId, alg, publicKey}` object or an array of them; a valid `<src>.sig` by one is required
 * @attr policy-id - the id the policy's signature must name (default: the policy's absolute URL)
 * @attr timeout - milliseconds a worker call may take before it is a Deny (default 500)
 * @attr code-integrity - `strict` starts the worker from its checked bytes (needs `blob:` in worker-src); `off` skips the check (development servers that rewrite JavaScript only)
 */
export class PersoGuardElement extends LitElement {
  static override properties = {
    src: { type: String },
    role: { type: String },
    agentAttributes: { attribute: false },
    audit: { attribute: false },
    logHidden: { type: Boolean, attribute: 'log-hidden', reflect: true },
    mode: { type: String },
    integrity: { type: String },
    publicKeys: { attribute: 'public-keys', converter: publicKeysFromAttribute },
    policyId: { type: String, attribute: 'policy-id' },
    timeout: { type: Number },
    codeIntegrity: {
      attribute: 'code-integrity',
      converter: (value: string | null) =>
        value === 'off' ? false : value === 'strict' ? 'strict' : true,
    },
  };

  static override styles = css`
    :host { display: block; font: inherit; }
    :host([hidden]) { display: none; }
    .bar { display: flex; align-items: center; gap: 0.5em; font-size: 0.8em; color: #374151; margin: 0.3em 0; }
    .bar .status { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
    .bar button { font: inherit; padding: 0.1em 0.6em; border: 1px solid #9ca3af; border-radius: 4px; background: #fff; cursor: pointer; }
    ol { list-style: none; margin: 0; padding: 0; max-height: 16em; overflow: auto; font-size: 0.8em; }
    li { border-left: 4px solid; padding: 0.2em 0.5em; margin: 0.15em 0; background: #f9fafb; overflow-wrap: anywhere; }
    li.allow { border-color: #15803d; }
    li.deny { border-color: #b91c1c; }
    li.ask { border-color: #b45309; }
    .badge { font-weight: 600; }
    li.allow .badge { color: #15803d; }
    li.deny .badge { color: #b91c1c; }
    li.ask .badge { color: #b45309; }
    code { font-size: 0.95em; }
    .reason, .rule { color: #4b5563; }
  `;

  /** URL of the policy JSON (relative URLs resolve against the document). */
  declare src: string | null;
  /** The principal's role; the host owns it. */
  declare role: string | null;
  /** Host-owned facts about the principal (user id, env, mfa...). */
  declare agentAttributes: JsonObject | undefined;
  /**
   * Where audit records go: one transport or several (`consoleTransport`, `httpTransport`, ...).
   * The guard flushes them when it replaces its engine; closing them is the host's.
   */
  declare audit: AuditTransport | readonly AuditTransport[] | null;
  /** Hides the decision log. */
  declare logHidden: boolean;
  /** How long a WebAuthn approval waits for the person's authenticator, in ms (at most until its ticket expires). */
  authenticatorTimeoutMs = 60_000;
  /** `enforce`, `shadow`, or `policy` (the fetched policy's `mode` decides); `null`: enforced. */
  declare mode: PersoMode | null;
  /** The policy's pinned hash, `sha256-<base64>`. */
  declare integrity: string | null;
  /** Trusted signing keys: a policy without a valid `<src>.sig` by one is refused. */
  declare publicKeys: readonly PolicyPublicKey[] | null;
  /** The id the policy's signature must name; `null`: the policy's absolute URL. */
  declare policyId: string | null;
  /** Milliseconds a worker call may take before it is a Deny and the worker is replaced. */
  declare timeout: number | null;
  /** Check the worker script and engine.wasm against the build's record (default true; `'strict'`: start from the checked bytes). */
  declare codeIntegrity: boolean | 'strict';

  // Added to the host in this order: the policy loads before the calls join the page's embed.
  readonly #policy = new PolicyLoadController(this);
  readonly #controller = new GuardController(this, this.#policy);

  constructor() {
    super();
    this.src = null;
    this.role = null;
    this.agentAttributes = undefined;
    this.audit = null;
    this.logHidden = false;
    this.mode = null;
    this.integrity = null;
    this.publicKeys = null;
    this.policyId = null;
    this.timeout = null;
    this.codeIntegrity = true;
    this.addEventListener(PersoToolCallEvent.type, (event) => {
      if (!(event instanceof PersoToolCallEvent) || event.result !== null) return;
      event.result = this.call(event.tool, event.args);
      event.stopPropagation();
    });
  }

  /** The registered tools, by name. Setting replaces them all. */
  get tools(): Record<string, ToolFunction> {
    return this.#controller.tools;
  }
  set tools(tools: Record<string, ToolFunction>) {
    this.#controller.setTools(tools ?? {});
  }

  /** The names of the registered tools. */
  get toolNames(): string[] {
    return this.#controller.toolNames;
  }

  /**
   * The policy's status (version, hash, mode, source, the last attempt's errors and warnings) once
   * the latest load settled; `null` while it loads or when there is no policy.
   */
  get policyStatus(): PolicyStatus | null {
    return this.#policy.policyStatus;
  }

  /**
   * Loads the policy again in place: `src` again, or `policy` instead (an edited policy object, or
   * another URL), into the same engine. A failed reload keeps the active policy and says why in
   * the status; it never rejects. A later change of `src` loads `src` afresh.
   *
   * @param policy what to load instead of `src`
   */
  reload(policy?: PolicyInput): Promise<PolicyStatus> {
    return this.#policy.reload(policy);
  }

  /** The decision log, oldest first. */
  get decisions(): readonly DecisionLogEntry[] {
    return this.#controller.log;
  }

  /**
   * Adds (or replaces) a tool.
   *
   * @param name the tool's name, as the policy names it
   * @param fn the tool body; it receives the frozen canonical arguments
   * @param options its MCP annotations
   */
  register<A extends JsonObject = JsonObject, R = unknown>(
    name: string,
    fn: (args: Readonly<A>) => R,
    options: ToolOptions<A> = {},
  ): void {
    // The guard hands `fn` the canonical copy of whatever the agent sent: `A` is the host's word
    // for the shape, which the policy's conditions (not this type) check.
    this.#controller.register(name, fn as unknown as ToolFunction, options as ToolOptions);
  }

  /**
   * Calls a tool through the guard.
   *
   * @param name the tool
   * @param args its arguments, as the model sent them
   * @returns the tool's result (`R`, as the caller knows its tool) on Allow or an approved Ask,
   *   else a denial result `{ content, isError: true, structuredContent: { decision, reason, rule } }`:
   *   tell them apart with `isDenialResult`
   */
  call<R = unknown>(name: string, args: unknown = {}): Promise<Awaited<R> | DenialResult> {
    return this.#controller.call(name, args) as Promise<Awaited<R> | DenialResult>;
  }

  protected override render() {
    const controller = this.#controller;
    return html`
      <slot></slot>
      ${controller.prompts.length === 0 ? nothing : html`<div class="prompts">${controller.prompts}</div>`}
      <div class="bar">
        <span class="status" role="status">${this.#policy.status}</span>
        <button type="button" aria-expanded=${String(!this.logHidden)} aria-controls="log" @click=${this.#toggleLog}>
          ${this.logHidden ? 'Show decisions' : 'Hide decisions'}
        </button>
      </div>
      <ol id="log" part="log" role="log" aria-live="polite" aria-label="perso decisions" ?hidden=${this.logHidden}>
        ${repeat(controller.log, (entry) => entry.id, renderEntry)}
      </ol>
    `;
  }

  #toggleLog(): void {
    this.logHidden = !this.logHidden;
  }
}

/**
 * `public-keys="..."`: JSON, one key object or an array of them. Anything else is kept as an
 * (empty) key list that no signature matches, so a typo refuses the policy instead of dropping
 * the check.
 */
function publicKeysFromAttribute(value: string | null): readonly PolicyPublicKey[] | null {
  if (value === null) return null;
  try {
    const parsed: unknown = JSON.parse(value);
    const keys = Array.isArray(parsed) ? parsed : [parsed];
    return Object.freeze(
      keys.filter((key): key is PolicyPublicKey => key !== null && typeof key === 'object'),
    );
  } catch {
    return Object.freeze([]);
  }
}

function renderEntry(entry: DecisionLogEntry) {
  return html`<li class=${entry.decision.toLowerCase()} data-decision=${entry.decision}>
    <span class="badge">${entry.decision}${entry.enforced ? '' : ' (shadow mode: not enforced)'}</span>
    <code class="tool">${visibleText(entry.tool)}</code>
    <code class="args">${visibleText(entry.args)}</code>
    <span class="reason">${visibleText(entry.reason)}</span>
    ${entry.rule === null ? nothing : html`<span class="rule">(rule ${entry.rule})</span>`}
  </li>`;
}

if (!customElements.get('perso-guard')) customElements.define('perso-guard', PersoGuardElement);

declare global {
  interface HTMLElementTagNameMap {
    'perso-guard': PersoGuardElement;
  }
}
