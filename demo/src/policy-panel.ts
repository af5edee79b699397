/**
 * `<demo-policy>`: the active policy as raw JSON. Edits are validated as you type and applied with
 * a hot reload when valid; errors are listed at their JSON path and the last good policy stays
 * active until they are fixed.
 */
import { LitElement, html, css, nothing } from 'lit';
import { live } from 'lit/directives/live.js';
import { sharedStyles } from './demo-styles.ts';

/** One problem found in the edited policy (the library's `Diagnostic`). */
export interface PolicyDiagnostic {
  severity: 'error' | 'warning';
  path: string;
  message: string;
}

/** The outcome of the last edit, as the app reports it back to the panel. */
export interface PolicyEditState {
  /** True when the text in the editor is the active policy. */
  applied: boolean;
  /** The active policy's version label, or null when none is valid. */
  activeVersion: string | null;
  diagnostics: PolicyDiagnostic[];
  /** When the active policy was last loaded (for "hot reloaded at"). */
  loadedAt: Date | null;
}

/** Fired (debounced) with the editor's text after the user stops typing. */
export class PolicyEditEvent extends Event {
  static readonly eventName = 'policy-edit';
  constructor(readonly text: string) {
    super(PolicyEditEvent.eventName, { bubbles: true, composed: true });
  }
}

/** Fired when the user asks for the server's policy.json again. */
export class PolicyResetEvent extends Event {
  static readonly eventName = 'policy-reset';
  constructor() {
    super(PolicyResetEvent.eventName, { bubbles: true, composed: true });
  }
}

declare global {
  interface HTMLElementEventMap {
    'policy-edit': PolicyEditEvent;
    'policy-reset': PolicyResetEvent;
  }
}

/** How long typing must pause before the text is validated and applied. */
const EDIT_DEBOUNCE_MS = 350;

/**
 * The policy editor.
 * @fires policy-edit
 * @fires policy-reset
 */
export class PolicyPanel extends LitElement {
  static override properties = { text: { attribute: false }, state: { attribute: false } };
  static override styles = [
    sharedStyles,
    css`
      :host { display: flex; flex-direction: column; min-height: 0; gap: 8px; }
      .bar { display: flex; align-items: center; gap: 8px; }
      .status { margin-right: auto; font-size: 0.8rem; font-weight: 600; line-height: 1.35; }
      .bar button { white-space: nowrap; }
      .status.ok { color: var(--allow-ink); }
      .status.bad { color: var(--deny-ink); }
      textarea { flex: 1; min-height: 120px; width: 100%; resize: none; font-family: var(--mono); font-size: 0.78rem; line-height: 1.45; padding: 10px; background: var(--surface-sunk); tab-size: 2; white-space: pre-wrap; overflow-wrap: anywhere; }
      textarea[aria-invalid='true'] { border-color: var(--deny-line); }
      ul { margin: 0; padding: 0; list-style: none; display: grid; gap: 4px; max-height: 140px; overflow-y: auto; }
      li { font-size: 0.78rem; border-radius: 6px; padding: 4px 8px; font-family: var(--mono); overflow-wrap: anywhere; }
      li.error { background: var(--deny-bg); color: var(--deny-ink); border: 1px solid var(--deny-line); }
      li.warning { background: var(--ask-bg); color: var(--ask-ink); border: 1px solid var(--ask-line); }
      li b { font-weight: 700; }
    `,
  ];

  declare text: string;
  declare state: PolicyEditState;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /**
   * What the user typed since `text` was last set. It survives re-renders (a rejected edit must stay
   * in the editor to be fixed) and is dropped when the app sets new text or the file is reloaded.
   */
  #draft: string | null = null;

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('text')) this.#draft = null;
  }

  override render() {
    const { state } = this;
    const errors = state.diagnostics.filter((d) => d.severity === 'error');
    const status = state.applied
      ? html`<span class="status ok" data-policy-status="applied" data-loaded-at=${state.loadedAt?.getTime() ?? ''}>✓ active: ${state.activeVersion ?? '(no version)'}${state.loadedAt ? html` · loaded ${state.loadedAt.toLocaleTimeString()}` : nothing}</span>`
      : html`<span class="status bad" data-policy-status="rejected">✕ not applied: ${errors.length} error${errors.length === 1 ? '' : 's'}; ${state.activeVersion ? `"${state.activeVersion}" stays active` : 'no valid policy: every call is denied'}</span>`;
    return html`
      <div class="bar" aria-live="polite">
        ${status}
        <button @click=${this.#reset}>Reload policy.json</button>
      </div>
      <label for="policy-text" class="visually-hidden">Policy JSON</label>
      <textarea id="policy-text" spellcheck="false" placeholder="policy.json could not be fetched (offline?); perso runs on its verified cached copy. Reload policy.json when the server is back." autocapitalize="off" autocomplete="off"
        aria-invalid=${errors.length > 0 ? 'true' : 'false'} aria-describedby="policy-diagnostics"
        .value=${live(this.#draft ?? this.text)} @input=${this.#input}></textarea>
      <ul id="policy-diagnostics" aria-label="policy problems">
        ${state.diagnostics.map(
          (d) =>
            html`<li class=${d.severity} data-diagnostic=${d.severity}><b>${d.severity}</b> ${d.path}: ${d.message}</li>`,
        )}
      </ul>
    `;
  }

  #input(event: InputEvent): void {
    const text = (event.target as HTMLTextAreaElement).value;
    this.#draft = text;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.dispatchEvent(new PolicyEditEvent(text)), EDIT_DEBOUNCE_MS);
  }

  #reset(): void {
    clearTimeout(this.#timer);
    this.#draft = null;
    this.requestUpdate();
    this.dispatchEvent(new PolicyResetEvent());
  }
}
customElements.define('demo-policy', PolicyPanel);

declare global {
  interface HTMLElementTagNameMap {
    'demo-policy': PolicyPanel;
  }
}
