/**
 * `<demo-audit>`: every decision perso made in this page, newest first, with an NDJSON export.
 */
import { LitElement, html, css } from 'lit';
import { sharedStyles } from './demo-styles.ts';
import type { AuditLog } from './audit-log.ts';

/** The audit log panel. */
export class AuditPanel extends LitElement {
  static override properties = { log: { attribute: false } };
  static override styles = [
    sharedStyles,
    css`
      :host { display: flex; flex-direction: column; min-height: 0; gap: 8px; }
      .bar { display: flex; gap: 8px; align-items: center; }
      .count { margin-right: auto; font-size: 0.85rem; color: var(--muted); }
      ol { list-style: none; margin: 0; padding: 0; overflow-y: auto; display: grid; gap: 6px; align-content: start; }
      li { border: 1px solid var(--line); border-left: 4px solid var(--tint-line); border-radius: 8px; padding: 6px 8px; background: var(--surface); font-size: 0.8rem; }
      .line1 { display: flex; gap: 6px; align-items: center; }
      .time { margin-left: auto; color: var(--muted); font-family: var(--mono); font-size: 0.72rem; }
      .reason { margin-top: 3px; font-family: var(--mono); font-size: 0.74rem; color: var(--muted); overflow-wrap: anywhere; }
      .empty { color: var(--muted); font-size: 0.85rem; }
    `,
  ];

  declare log: AuditLog;
  #onChange = () => this.requestUpdate();

  override connectedCallback(): void {
    super.connectedCallback();
    this.log.addEventListener('change', this.#onChange);
  }

  override disconnectedCallback(): void {
    this.log.removeEventListener('change', this.#onChange);
    super.disconnectedCallback();
  }

  override render() {
    const records = [...this.log.records].reverse();
    return html`
      <div class="bar">
        <span class="count" aria-live="polite">${records.length} record${records.length === 1 ? '' : 's'}</span>
        <button @click=${() => this.log.clear()} ?disabled=${records.length === 0}>Clear</button>
        <button class="primary" @click=${this.#export} ?disabled=${records.length === 0}>Export NDJSON</button>
      </div>
      ${
        records.length === 0
          ? html`<p class="empty">No decisions yet. Each tool call adds a record here.</p>`
          : html`<ol aria-label="audit records, newest first">
            ${records.map(
              (r) => html`<li class=${r.decision.toLowerCase()} data-audit-decision=${r.decision}>
                <div class="line1">
                  <span class="badge ${r.decision.toLowerCase()}">${r.decision}</span>
                  <code>${r.tool}</code><span>as ${r.role}</span>
                  ${r.enforced ? '' : html`<span class="badge ask">shadow</span>`}
                  <span class="time">${r.time.slice(11, 19)}</span>
                </div>
                <div class="reason">${r.reason}${r.rule ? ` · rule ${r.rule}` : ''}</div>
              </li>`,
            )}
          </ol>`
      }
    `;
  }

  #export(): void {
    const blob = new Blob([this.log.toNdjson()], { type: 'application/x-ndjson' });
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = `perso-audit-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson`;
    link.click();
    // The download has started from the link; the object URL is no longer needed after this task.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}
customElements.define('demo-audit', AuditPanel);

declare global {
  interface HTMLElementTagNameMap {
    'demo-audit': AuditPanel;
  }
}
