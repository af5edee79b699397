/**
 * `<demo-endpoint>`: a dialog to point the agent at an OpenAI-compatible endpoint instead of the
 * in-page planner. The key is kept in memory only, unless the user ticks "remember on this device"
 * (then it is stored in this origin's localStorage, and unticking erases it).
 */
import { LitElement, html, css } from 'lit';
import { sharedStyles } from './demo-styles.ts';
import type { EndpointSettings } from './openai-agent.ts';

/** Fired with the endpoint to use, or null for the in-page planner. */
export class AgentChangeEvent extends Event {
  static readonly eventName = 'agent-change';
  constructor(readonly endpoint: EndpointSettings | null) {
    super(AgentChangeEvent.eventName, { bubbles: true, composed: true });
  }
}

declare global {
  interface HTMLElementEventMap {
    'agent-change': AgentChangeEvent;
  }
}

const STORAGE_KEY = 'perso-demo.endpoint';

/** Reads remembered settings, if the user asked for them to be remembered. */
export function rememberedEndpoint(): EndpointSettings | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const value = JSON.parse(raw) as Partial<EndpointSettings>;
    if (
      typeof value.baseUrl !== 'string' ||
      typeof value.model !== 'string' ||
      typeof value.apiKey !== 'string'
    )
      return null;
    return { baseUrl: value.baseUrl, model: value.model, apiKey: value.apiKey };
  } catch {
    return null; // storage blocked or corrupt: start with the planner
  }
}

/**
 * The endpoint settings dialog; call `open()` to show it.
 * @fires agent-change
 */
export class EndpointSettingsDialog extends LitElement {
  static override properties = { endpoint: { attribute: false } };
  static override styles = [
    sharedStyles,
    css`
      dialog { border: 1px solid var(--line); border-radius: 14px; padding: 20px 22px; width: min(520px, 92vw); box-shadow: 0 20px 50px rgb(15 23 42 / 0.25); }
      dialog::backdrop { background: rgb(15 23 42 / 0.35); }
      h2 { font-size: 1rem; text-transform: none; letter-spacing: 0; color: var(--ink); margin: 0 0 4px; }
      p { margin: 0 0 14px; color: var(--muted); font-size: 0.85rem; line-height: 1.45; }
      label { display: grid; gap: 4px; font-size: 0.85rem; font-weight: 600; margin-bottom: 10px; }
      label.check { display: flex; align-items: center; gap: 8px; font-weight: 400; }
      input[type='text'], input[type='url'], input[type='password'] { width: 100%; }
      .actions { display: flex; gap: 8px; justify-content: flex-end; margin-top: 14px; }
      .actions .left { margin-right: auto; }
    `,
  ];

  declare endpoint: EndpointSettings | null;

  constructor() {
    super();
    this.endpoint = null;
  }

  /** Shows the dialog. */
  open(): void {
    this.renderRoot.querySelector('dialog')?.showModal();
  }

  override render() {
    const e = this.endpoint;
    const remembered = rememberedEndpoint() !== null;
    return html`<dialog aria-labelledby="endpoint-title">
      <form method="dialog" @submit=${this.#submit}>
        <h2 id="endpoint-title">Agent model</h2>
        <p>By default the agent is an in-page planner: no network, no key, the same prompt always gives the same call.
          You can point it at any OpenAI-compatible chat endpoint instead; every tool call still goes through the same guard.
          The key stays in this page and is sent only to the base URL below.</p>
        <label>Base URL<input name="baseUrl" type="url" required placeholder="https://api.groq.com/openai/v1" .value=${e?.baseUrl ?? ''} /></label>
        <label>Model<input name="model" type="text" required placeholder="llama-3.1-8b-instant" .value=${e?.model ?? ''} /></label>
        <label>API key<input name="apiKey" type="password" autocomplete="off" placeholder="optional for local servers" .value=${e?.apiKey ?? ''} /></label>
        <label class="check"><input name="remember" type="checkbox" .checked=${remembered} />Remember on this device (stores the key in localStorage)</label>
        <div class="actions">
          <button type="button" class="left" @click=${this.#usePlanner}>Use the in-page planner</button>
          <button type="button" @click=${() => this.renderRoot.querySelector('dialog')?.close()}>Cancel</button>
          <button type="submit" class="primary">Use this endpoint</button>
        </div>
      </form>
    </dialog>`;
  }

  #submit(event: SubmitEvent): void {
    const form = new FormData(event.target as HTMLFormElement);
    const endpoint: EndpointSettings = {
      baseUrl: String(form.get('baseUrl') ?? '').trim(),
      model: String(form.get('model') ?? '').trim(),
      apiKey: String(form.get('apiKey') ?? ''),
    };
    try {
      if (form.get('remember') === 'on')
        localStorage.setItem(STORAGE_KEY, JSON.stringify(endpoint));
      else localStorage.removeItem(STORAGE_KEY);
    } catch {
      // storage blocked: the settings still apply for this page
    }
    this.dispatchEvent(new AgentChangeEvent(endpoint));
  }

  #usePlanner(): void {
    this.renderRoot.querySelector('dialog')?.close();
    this.dispatchEvent(new AgentChangeEvent(null));
  }
}
customElements.define('demo-endpoint', EndpointSettingsDialog);

declare global {
  interface HTMLElementTagNameMap {
    'demo-endpoint': EndpointSettingsDialog;
  }
}
