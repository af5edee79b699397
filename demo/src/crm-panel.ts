/**
 * `<demo-crm>`: the mock CRM's current state, so you can see that an allowed call changed it and
 * a denied one did not.
 */
import { LitElement, html, css } from 'lit';
import { sharedStyles } from './demo-styles.ts';
import type { CrmStore } from './crm-store.ts';

/** The CRM state panel. */
export class CrmPanel extends LitElement {
  static override properties = { crm: { attribute: false } };
  static override styles = [
    sharedStyles,
    css`
      :host { display: flex; flex-direction: column; min-height: 0; gap: 10px; overflow-y: auto; }
      .bar { display: flex; align-items: center; }
      .bar span { margin-right: auto; font-size: 0.82rem; color: var(--muted); }
      table { width: 100%; border-collapse: collapse; font-size: 0.8rem; }
      caption { text-align: left; font-size: 0.78rem; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); font-weight: 700; padding-bottom: 4px; }
      th, td { text-align: left; padding: 5px 6px; border-bottom: 1px solid var(--line); }
      th { font-weight: 600; color: var(--muted); }
      td code { font-size: 0.78rem; }
      .empty { color: var(--muted); font-size: 0.8rem; }
    `,
  ];

  declare crm: CrmStore;
  #onChange = () => this.requestUpdate();

  override connectedCallback(): void {
    super.connectedCallback();
    this.crm.addEventListener('change', this.#onChange);
  }

  override disconnectedCallback(): void {
    this.crm.removeEventListener('change', this.#onChange);
    super.disconnectedCallback();
  }

  override render() {
    const crm = this.crm.snapshot();
    return html`
      <div class="bar">
        <span data-crm-revision=${crm.revision}>in-page data · change #${crm.revision}</span>
        <button @click=${() => this.crm.reset()}>Reset CRM</button>
      </div>
      <table data-crm="customers">
        <caption>Customers</caption>
        <thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Plan</th><th scope="col">Status</th><th scope="col">Owner</th></tr></thead>
        <tbody>
          ${crm.customers.map((c) => html`<tr><td><code>${c.id}</code></td><td>${c.name}</td><td>${c.plan}</td><td>${c.status}</td><td><code>${c.owner_id}</code></td></tr>`)}
        </tbody>
      </table>
      <table data-crm="orders">
        <caption>Orders</caption>
        <thead><tr><th scope="col">Id</th><th scope="col">Customer</th><th scope="col">Amount</th><th scope="col">Status</th></tr></thead>
        <tbody>
          ${crm.orders.map((o) => html`<tr><td><code>${o.id}</code></td><td><code>${o.customer_id}</code></td><td>$${o.amount.toFixed(2)}</td><td>${o.status}</td></tr>`)}
        </tbody>
      </table>
      <table data-crm="refunds">
        <caption>Refunds issued</caption>
        ${
          crm.refunds.length === 0
            ? html`<tbody><tr><td class="empty">none yet</td></tr></tbody>`
            : html`<thead><tr><th scope="col">Order</th><th scope="col">Amount</th><th scope="col">Reason</th></tr></thead>
              <tbody>${crm.refunds.map((r) => html`<tr><td><code>${r.order_id}</code></td><td>$${r.amount.toFixed(2)}</td><td>${r.reason}</td></tr>`)}</tbody>`
        }
      </table>
      <table data-crm="payments">
        <caption>Payments sent</caption>
        ${
          crm.payments.length === 0
            ? html`<tbody><tr><td class="empty">none yet</td></tr></tbody>`
            : html`<thead><tr><th scope="col">Account</th><th scope="col">Amount</th><th scope="col">Reference</th></tr></thead>
              <tbody>${crm.payments.map((p) => html`<tr><td><code>${p.account}</code></td><td>$${p.amount.toFixed(2)}</td><td>${p.reference}</td></tr>`)}</tbody>`
        }
      </table>
    `;
  }
}
customElements.define('demo-crm', CrmPanel);

declare global {
  interface HTMLElementTagNameMap {
    'demo-crm': CrmPanel;
  }
}
