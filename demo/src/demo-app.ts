/**
 * `<demo-app>`: the whole demo. It puts the chat inside `<perso-guard>` (the engine runs in a
 * worker), owns the CRM, the principal, the audit log and the policy editor, and lays out the
 * panels.
 *
 * This is the file to read to see how a page wires perso in, as any app that depends on the
 * package would (`perso` and `perso/element`, nothing else):
 *   <perso-guard src="policy.json" role=${role} .agentAttributes=${facts} .audit=${auditLog}>
 *     <demo-chat></demo-chat>
 *   </perso-guard>
 *   guard.register('process_refund', body, { resourceAttributes });   // guarded-crm.ts
 *   const result = await guard.call(tool, args);   // the tool's result, or the denial text
 */
import { LitElement, html, css, nothing } from 'lit';
import type { Policy, PolicyStatus } from 'perso';
import 'perso/element';
import type { PersoErrorEvent, PersoGuardElement, PersoStatusEvent } from 'perso/element';
import { AuditLog } from './audit-log.ts';
import { ChatController } from './chat-controller.ts';
import { CrmStore } from './crm-store.ts';
import { sharedStyles } from './demo-styles.ts';
import { rememberedEndpoint } from './endpoint-settings.ts';
import type { AgentChangeEvent, EndpointSettingsDialog } from './endpoint-settings.ts';
import { GuardedCrm } from './guarded-crm.ts';
import { OpenAiCompatibleAgent } from './openai-agent.ts';
import type { EndpointSettings } from './openai-agent.ts';
import { PlannerAgent } from './planner-agent.ts';
import type { PolicyEditEvent, PolicyEditState } from './policy-panel.ts';
import { agentAttributesOf, defaultPrincipal } from './principal.ts';
import type { Principal } from './principal.ts';
import type { PrincipalChangeEvent } from './principal-controls.ts';
import type { ScenarioRunEvent } from './scenario-list.ts';
import './audit-panel.ts';
import './chat-view.ts';
import './crm-panel.ts';
import './endpoint-settings.ts';
import './inspector-panel.ts';
import './policy-panel.ts';
import './principal-controls.ts';
import './scenario-list.ts';

/** Where the demo's policy is served from (demo/public/policy.json). */
const POLICY_SRC = 'policy.json';
const POLICY_URL = new URL(POLICY_SRC, document.baseURI);
/**
 * Vite's dev server rewrites the JavaScript it serves, the built worker included, so the worker's
 * recorded SHA-256 cannot match there: `npm start` turns the check off, a production build keeps it.
 */
const CODE_INTEGRITY = import.meta.env.DEV ? 'off' : nothing;

const TABS = [
  { id: 'policy', label: 'Policy' },
  { id: 'inspector', label: 'Request & decision' },
  { id: 'audit', label: 'Audit log' },
  { id: 'crm', label: 'CRM data' },
] as const;
type TabId = (typeof TABS)[number]['id'];

/** The demo application. */
export class DemoApp extends LitElement {
  static override properties = {
    loadError: { state: true },
    principal: { state: true },
    status: { state: true },
    policyText: { state: true },
    policyEdit: { state: true },
    tab: { state: true },
    endpoint: { state: true },
  };
  static override styles = [
    sharedStyles,
    css`
      :host { display: grid; grid-template-rows: auto 1fr; height: 100vh; min-height: 560px; }
      header { display: flex; align-items: center; gap: 12px; padding: 10px 20px; background: var(--surface); border-bottom: 1px solid var(--line); }
      .brand { display: flex; align-items: baseline; gap: 10px; margin-right: auto; min-width: 0; }
      h1 { font-size: 1.15rem; margin: 0; letter-spacing: -0.01em; }
      h1 span { color: var(--accent); }
      .tagline { color: var(--muted); font-size: 0.85rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
      .badges { display: flex; gap: 6px; flex-wrap: wrap; justify-content: flex-end; }
      perso-guard { display: flex; flex-direction: column; gap: 6px; min-height: 0; }
      perso-guard > demo-chat { flex: 1; }
      main { display: grid; grid-template-columns: 292px minmax(360px, 1fr) minmax(340px, 0.85fr); gap: 14px; padding: 14px; min-height: 0; }
      aside { display: flex; flex-direction: column; gap: 12px; min-height: 0; overflow-y: auto; }
      .card { background: var(--surface); border: 1px solid var(--line); border-radius: 14px; padding: 12px 14px; }
      .side { display: flex; flex-direction: column; min-height: 0; background: var(--surface); border: 1px solid var(--line); border-radius: 14px; overflow: hidden; }
      [role='tablist'] { display: flex; gap: 2px; padding: 6px 8px 0; border-bottom: 1px solid var(--line); background: var(--surface-sunk); }
      [role='tab'] { border: 0; border-bottom: 3px solid transparent; border-radius: 6px 6px 0 0; background: none; padding: 8px 10px; font-weight: 600; font-size: 0.85rem; color: var(--muted); }
      [role='tab'][aria-selected='true'] { color: var(--accent-strong); border-bottom-color: var(--accent); background: var(--surface); }
      [role='tabpanel'] { flex: 1; min-height: 0; padding: 12px 14px; display: flex; flex-direction: column; }
      [role='tabpanel'][hidden] { display: none; }
      [role='tabpanel'] > * { flex: 1; min-height: 0; }
      .loading { display: grid; place-items: center; height: 100%; color: var(--muted); }
      .fatal { margin: 40px auto; max-width: 560px; }
      /* Narrow screens: one column that scrolls, each panel a comfortable height. */
      @media (max-width: 1080px) {
        :host { height: auto; }
        main { grid-template-columns: 1fr; }
        aside { overflow: visible; }
        perso-guard, .side { height: 75vh; }
        .tagline { display: none; }
      }
    `,
  ];

  declare loadError: string | null;
  declare principal: Principal;
  declare status: PolicyStatus | null;
  declare policyText: string;
  declare policyEdit: PolicyEditState;
  declare tab: TabId;
  declare endpoint: EndpointSettings | null;

  readonly crm = new CrmStore();
  readonly audit = new AuditLog();
  readonly guarded = new GuardedCrm(this.crm);
  readonly chat: ChatController;

  constructor() {
    super();
    this.loadError = null;
    this.principal = defaultPrincipal();
    this.status = null;
    this.policyText = '';
    this.policyEdit = { applied: false, activeVersion: null, diagnostics: [], loadedAt: null };
    this.tab = 'policy';
    this.endpoint = rememberedEndpoint();
    this.chat = new ChatController(
      this.endpoint ? new OpenAiCompatibleAgent(this.endpoint) : new PlannerAgent(),
      this.guarded,
    );
    this.guarded.addEventListener('change', () => this.requestUpdate());
    this.chat.addEventListener('change', () => this.requestUpdate());
  }

  #listening = false;

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.#listening) return;
    this.#listening = true;
    // The cached-policy badge says "offline" while the browser is.
    for (const type of ['online', 'offline'])
      window.addEventListener(type, () => this.requestUpdate());
  }

  /** The guard the chat sits in; its tools are registered once it exists. */
  get guard(): PersoGuardElement | null {
    return this.renderRoot.querySelector('perso-guard');
  }

  override firstUpdated(): void {
    const guard = this.guard;
    if (guard !== null) this.guarded.attach(guard);
  }

  /** The guard's policy loaded or reloaded (or failed to): the badges and the editor follow. */
  async #onStatus(event: PersoStatusEvent): Promise<void> {
    const text = this.policyText === '' ? await this.#fetchPolicyText() : null;
    this.loadError = null;
    this.#policyLoaded(event.status, text);
  }

  /** A load that failed before any status (the guard says why): the header says the guard did not start. */
  #onGuardError(event: PersoErrorEvent): void {
    if (event.tool === null && this.guard?.policyStatus === null) this.loadError = event.message;
  }

  /**
   * The policy file's text for the editor, or null when the server cannot be reached (perso then
   * runs on its verified cached copy; the editor keeps what it shows).
   */
  async #fetchPolicyText(): Promise<string | null> {
    try {
      const response = await fetch(POLICY_URL, { cache: 'no-cache' });
      if (response.ok) return await response.text();
    } catch {
      // offline: fall through
    }
    return null;
  }

  #policyLoaded(status: PolicyStatus, text: string | null): void {
    this.status = status;
    if (text !== null) this.policyText = text;
    this.policyEdit = {
      applied: status.ok,
      activeVersion: status.version,
      diagnostics: [...status.errors, ...status.warnings],
      loadedAt: status.ok ? new Date() : this.policyEdit.loadedAt,
    };
  }

  override render() {
    return html`
      <header>
        <div class="brand">
          <h1><span>perso</span> demo</h1>
          <span class="tagline">an agent over a mock CRM · every tool call guarded in this page · works offline</span>
        </div>
        <div class="badges" aria-live="polite">${this.#badges()}</div>
        <button @click=${() => this.renderRoot.querySelector<EndpointSettingsDialog>('demo-endpoint')?.open()}>Agent model…</button>
      </header>
      ${this.#body()}
      <demo-endpoint .endpoint=${this.endpoint} @agent-change=${this.#changeAgent}></demo-endpoint>
    `;
  }

  #badges() {
    const status = this.status;
    if (this.loadError)
      return html`<span class="badge deny" title=${this.loadError}>guard failed to start</span>`;
    if (!status) return html`<span class="badge info">loading the guard…</span>`;
    return html`
      ${
        status.version !== null
          ? html`<span class="badge allow" data-badge="policy" title=${`sha-256 ${status.hash ?? ''}`}>policy ${status.version}</span>`
          : html`<span class="badge deny" data-badge="no-policy">no valid policy: every call is denied</span>`
      }
      ${status.mode === 'shadow' ? html`<span class="badge ask" data-badge="shadow" title="decisions are logged but not enforced">shadow mode</span>` : nothing}
      ${
        status.source === 'cache'
          ? html`<span class="badge info" data-badge="offline-cache" title="the verified copy in IndexedDB is in use: the server said it had not changed, or could not be reached">${navigator.onLine ? 'cached policy' : 'offline · cached policy'}</span>`
          : nothing
      }
      ${!status.ok && status.version !== null ? html`<span class="badge ask" data-badge="reload-failed" title=${status.errors.map((e) => `${e.path}: ${e.message}`).join('\n')}>last reload failed · previous policy active</span>` : nothing}
    `;
  }

  #body() {
    const principal = this.principal;
    return html`<main>
      <aside aria-label="host controls">
        <demo-principal class="card" .principal=${principal} @principal-change=${(e: PrincipalChangeEvent) => this.#setPrincipal(e.principal)}></demo-principal>
        <demo-scenarios class="card" ?disabled=${this.chat.busy} @scenario-run=${this.#runScenario}></demo-scenarios>
      </aside>
      <perso-guard src=${POLICY_SRC} role=${principal.role} .agentAttributes=${agentAttributesOf(principal)}
        .audit=${this.audit} mode="policy" code-integrity=${CODE_INTEGRITY} log-hidden
        @perso-status=${this.#onStatus} @perso-error=${this.#onGuardError}>
        <demo-chat .controller=${this.chat} .agentLabel=${this.chat.agent.label}></demo-chat>
      </perso-guard>
      <section class="side" aria-label="inspector">
        <div role="tablist" aria-label="panels" @keydown=${this.#tabKeys}>
          ${TABS.map(
            (t) => html`<button role="tab" id=${`tab-${t.id}`} aria-controls=${`panel-${t.id}`}
              aria-selected=${this.tab === t.id ? 'true' : 'false'} tabindex=${this.tab === t.id ? 0 : -1}
              @click=${() => (this.tab = t.id)}>${t.label}</button>`,
          )}
        </div>
        ${this.#panel(
          'policy',
          html`<demo-policy .text=${this.policyText} .state=${this.policyEdit}
          @policy-edit=${this.#editPolicy} @policy-reset=${this.#reloadPolicyFile}></demo-policy>`,
        )}
        ${this.#panel('inspector', html`<demo-inspector .last=${this.guarded.last}></demo-inspector>`)}
        ${this.#panel('audit', html`<demo-audit .log=${this.audit}></demo-audit>`)}
        ${this.#panel('crm', html`<demo-crm .crm=${this.crm}></demo-crm>`)}
      </section>
    </main>`;
  }

  #panel(id: TabId, content: unknown) {
    return html`<div role="tabpanel" id=${`panel-${id}`} aria-labelledby=${`tab-${id}`} ?hidden=${this.tab !== id}>${content}</div>`;
  }

  /** Arrow keys move between tabs, as the ARIA tabs pattern expects. */
  #tabKeys(event: KeyboardEvent): void {
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    const index = TABS.findIndex((t) => t.id === this.tab);
    this.tab = TABS[(index + step + TABS.length) % TABS.length]!.id;
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<HTMLElement>(`#tab-${this.tab}`)?.focus(),
    );
  }

  /** The guard binds the new principal for the next call; a call already deciding keeps its own. */
  #setPrincipal(principal: Principal): void {
    this.principal = principal;
  }

  async #runScenario(event: ScenarioRunEvent): Promise<void> {
    const { scenario } = event;
    this.#setPrincipal({
      ...this.principal,
      role: scenario.role,
      env: scenario.env,
      mfaVerified: scenario.mfaVerified,
    });
    // The guard takes the new principal when it renders, before the agent's first call.
    await this.updateComplete;
    await this.chat.send(scenario.prompt);
  }

  /** Validates the edited policy and, when it is valid, swaps it in (the worker keeps running). */
  async #editPolicy(event: PolicyEditEvent): Promise<void> {
    const guard = this.guard;
    if (!guard) return;
    let policy: Policy;
    try {
      policy = JSON.parse(event.text) as Policy;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.policyEdit = {
        ...this.policyEdit,
        applied: false,
        diagnostics: [
          {
            severity: 'error',
            path: 'policy',
            message: `not valid JSON (${message}); fix the syntax to apply it`,
          },
        ],
      };
      return;
    }
    // The guard fires perso-status with the outcome, which updates the editor's state.
    await guard.reload(policy);
  }

  /** Loads policy.json from the server again (or from the offline cache when it cannot). */
  async #reloadPolicyFile(): Promise<void> {
    const guard = this.guard;
    if (!guard) return;
    const status = await guard.reload();
    this.#policyLoaded(status, await this.#fetchPolicyText());
  }

  #changeAgent(event: AgentChangeEvent): void {
    this.endpoint = event.endpoint;
    const chat = this.chat;
    chat.agent = event.endpoint ? new OpenAiCompatibleAgent(event.endpoint) : new PlannerAgent();
    chat.clear();
  }
}
customElements.define('demo-app', DemoApp);

declare global {
  interface HTMLElementTagNameMap {
    'demo-app': DemoApp;
  }
}
