/**
 * `<demo-chat>`: the conversation with the agent and the message box. It renders the
 * {@link ChatController}'s entries and hands it what the user types.
 */
import { LitElement, html, css } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { sharedStyles } from './demo-styles.ts';
import type { ChatController, ChatEntry } from './chat-controller.ts';
import './decision-card.ts';

const EXAMPLES = [
  'Process a $200 refund for order ORD-8821',
  'Show customer C-1042',
  'Set C-2038 plan to Pro',
  'Export inactive accounts as CSV',
];

/** The chat transcript and input. */
export class ChatView extends LitElement {
  static override properties = {
    controller: { attribute: false },
    agentLabel: { attribute: false },
  };
  static override styles = [
    sharedStyles,
    css`
      :host { display: flex; flex-direction: column; min-height: 0; background: var(--surface); border: 1px solid var(--line); border-radius: 14px; overflow: hidden; }
      .top { display: flex; align-items: center; gap: 8px; padding: 10px 16px; border-bottom: 1px solid var(--line); }
      .top h2 { margin: 0; }
      .agent { font-size: 0.8rem; color: var(--muted); margin-right: auto; }
      .log { flex: 1; overflow-y: auto; padding: 16px; display: flex; flex-direction: column; gap: 10px; }
      .msg { max-width: 82%; padding: 8px 12px; border-radius: 12px; line-height: 1.45; white-space: pre-wrap; overflow-wrap: anywhere; }
      .user { align-self: flex-end; background: var(--accent); color: #fff; border-bottom-right-radius: 4px; }
      .agent-msg { align-self: flex-start; background: var(--surface-sunk); border: 1px solid var(--line); border-bottom-left-radius: 4px; }
      .error { align-self: stretch; background: var(--deny-bg); color: var(--deny-ink); border: 1px solid var(--deny-line); }
      demo-decision { align-self: stretch; margin: 0 0 0 24px; }
      .empty { margin: auto; text-align: center; color: var(--muted); max-width: 440px; }
      .empty p { margin: 0 0 12px; }
      .examples { display: flex; flex-wrap: wrap; gap: 6px; justify-content: center; }
      .examples button { font-size: 0.82rem; border-radius: 999px; }
      form { display: flex; gap: 8px; padding: 12px 16px; border-top: 1px solid var(--line); background: var(--surface-sunk); }
      form input { flex: 1; min-width: 0; padding: 9px 12px; }
    `,
  ];

  declare controller: ChatController;
  declare agentLabel: string;
  #onChange = () => this.requestUpdate();
  #log?: HTMLElement | null;

  override connectedCallback(): void {
    super.connectedCallback();
    this.controller.addEventListener('change', this.#onChange);
  }

  override disconnectedCallback(): void {
    this.controller.removeEventListener('change', this.#onChange);
    super.disconnectedCallback();
  }

  override render() {
    const { entries, busy } = this.controller;
    return html`
      <div class="top">
        <h2 id="chat-title">Chat</h2>
        <span class="agent">agent: ${this.agentLabel}</span>
        <button @click=${() => this.controller.clear()} ?disabled=${busy || entries.length === 0}>Clear chat</button>
      </div>
      <div class="log" role="log" aria-labelledby="chat-title" aria-live="polite">
        ${
          entries.length === 0
            ? this.#empty()
            : repeat(
                entries,
                (e) => e.id,
                (e) => this.#entry(e),
              )
        }
      </div>
      <form @submit=${this.#submit}>
        <label for="message" class="visually-hidden">Message to the agent</label>
        <input id="message" name="message" type="text" autocomplete="off" placeholder="Ask the agent to do something in the CRM…" />
        <button class="primary" type="submit" ?disabled=${busy}>Send</button>
      </form>
    `;
  }

  override updated(): void {
    this.#log ??= this.renderRoot.querySelector('.log');
    // The decision cards render in their own update, after this one: scroll once they have.
    requestAnimationFrame(() => this.#log?.scrollTo({ top: this.#log.scrollHeight }));
  }

  /** Types a message into the box and sends it, exactly as the user would. */
  send(message: string): Promise<void> {
    return this.controller.send(message);
  }

  #empty() {
    return html`<div class="empty">
      <p>Pick a scenario on the left, or ask the agent yourself. Every tool call it proposes is checked by perso in this page before it runs.</p>
      <div class="examples">
        ${EXAMPLES.map((text) => html`<button @click=${() => this.send(text)}>${text}</button>`)}
      </div>
    </div>`;
  }

  #entry(entry: ChatEntry) {
    switch (entry.kind) {
      case 'user':
        return html`<div class="msg user" data-entry="user">${entry.text}</div>`;
      case 'agent':
        return html`<div class="msg agent-msg" data-entry="agent">${entry.text}</div>`;
      case 'error':
        return html`<div class="msg error" role="alert" data-entry="error">${entry.text}</div>`;
      case 'pending':
      case 'approval':
      case 'decision':
        return html`<demo-decision .entry=${entry} data-entry=${entry.kind}></demo-decision>`;
    }
  }

  #submit(event: SubmitEvent): void {
    event.preventDefault();
    const input = this.renderRoot.querySelector<HTMLInputElement>('#message');
    if (!input || this.controller.busy) return;
    const message = input.value;
    input.value = '';
    void this.send(message);
  }
}
customElements.define('demo-chat', ChatView);

declare global {
  interface HTMLElementTagNameMap {
    'demo-chat': ChatView;
  }
}
