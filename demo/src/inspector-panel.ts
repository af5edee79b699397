/**
 * `<demo-inspector>`: the last request perso was asked about and the decision it gave, as JSON,
 * live. This is exactly what crossed into the worker and what came back.
 */
import { LitElement, html, css } from 'lit';
import { sharedStyles } from './demo-styles.ts';
import type { GuardedCall } from './guarded-crm.ts';

/** The live request/decision panel. */
export class InspectorPanel extends LitElement {
  static override properties = { last: { attribute: false } };
  static override styles = [
    sharedStyles,
    css`
      :host { display: flex; flex-direction: column; min-height: 0; gap: 8px; overflow-y: auto; }
      section { display: flex; flex-direction: column; }
      pre { margin: 0; padding: 10px; background: var(--surface-sunk); border: 1px solid var(--line); border-radius: 8px; overflow: auto; line-height: 1.45; white-space: pre-wrap; overflow-wrap: anywhere; }
      .empty { color: var(--muted); font-size: 0.85rem; }
    `,
  ];

  declare last: GuardedCall | null;

  constructor() {
    super();
    this.last = null;
  }

  override render() {
    if (!this.last)
      return html`<p class="empty">The next tool call's request and decision appear here.</p>`;
    const { request, decision } = this.last;
    return html`
      <section>
        <h2 id="request-title">Request</h2>
        <pre aria-labelledby="request-title" data-json="request">${JSON.stringify(request, null, 2)}</pre>
      </section>
      <section>
        <h2 id="decision-title">Decision</h2>
        <pre aria-labelledby="decision-title" data-json="decision">${JSON.stringify(decision, null, 2)}</pre>
      </section>
    `;
  }
}
customElements.define('demo-inspector', InspectorPanel);

declare global {
  interface HTMLElementTagNameMap {
    'demo-inspector': InspectorPanel;
  }
}
