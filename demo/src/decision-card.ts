/**
 * `<demo-decision>`: one guarded tool call in the chat. Green for Allow, red for Deny, amber for
 * Ask (waiting for the person's answer in the guard's own prompt, below the chat), each with
 * perso's exact reason and the deciding rule.
 */
import { LitElement, html, css, nothing } from 'lit';
import { sharedStyles } from './demo-styles.ts';
import type { ChatEntry } from './chat-controller.ts';

type CallEntry = Extract<ChatEntry, { kind: 'pending' | 'approval' | 'decision' }>;

const ICON = { Allow: '✓', Deny: '✕', Ask: '?' } as const;

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'undefined';
}

/** Renders a pending call, an approval prompt, or a decided call. */
export class DecisionCard extends LitElement {
  static override properties = { entry: { attribute: false } };
  static override styles = [
    sharedStyles,
    css`
      :host { display: block; }
      article { border: 1px solid var(--tint-line, var(--line-strong)); border-left-width: 5px; background: var(--tint, var(--surface)); color: var(--tint-ink, var(--ink)); border-radius: 10px; padding: 10px 12px; }
      header { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
      .verdict { font-weight: 700; letter-spacing: 0.02em; }
      .icon { display: inline-grid; place-items: center; width: 20px; height: 20px; border-radius: 50%; background: var(--tint-ink); color: var(--tint); font-size: 0.75rem; font-weight: 800; }
      .tool { font-family: var(--mono); font-weight: 600; }
      .rule { margin-left: auto; font-size: 0.78rem; }
      .rule code { background: rgb(255 255 255 / 0.6); border-radius: 4px; padding: 1px 5px; }
      .reason { margin: 6px 0 0; font-family: var(--mono); font-size: 0.8rem; line-height: 1.45; overflow-wrap: anywhere; }
      details { margin-top: 6px; font-size: 0.8rem; }
      summary { cursor: pointer; }
      pre { margin: 6px 0 0; background: rgb(255 255 255 / 0.7); border: 1px solid var(--tint-line, var(--line)); border-radius: 6px; padding: 6px 8px; overflow: auto; max-height: 160px; color: var(--ink); }
      .outcome { margin: 8px 0 0; font-size: 0.84rem; }
      .outcome strong { font-weight: 700; }
      .shadow { margin: 6px 0 0; font-size: 0.8rem; font-weight: 600; }
      .pending { color: var(--muted); font-size: 0.85rem; }
    `,
  ];

  declare entry: CallEntry;

  override render() {
    const entry = this.entry;
    if (entry.kind === 'pending') {
      return html`<article class="pending" aria-busy="true">
        <span>perso is checking <span class="tool">${entry.tool}</span>…</span>
      </article>`;
    }
    if (entry.kind === 'approval') {
      const { request } = entry;
      return html`<article class="ask" data-decision="Ask" role="group" aria-label=${`approval needed for ${request.tool}`}>
        ${this.#header('Ask', request.tool, request.decision.rule)}
        <p class="reason">${request.decision.reason}</p>
        <p class="outcome"><strong>Waiting for you:</strong> approve or deny this exact call in perso's prompt below the chat. It runs once, with these arguments:</p>
        <pre>${json(request.args)}</pre>
      </article>`;
    }
    const { result } = entry;
    const { decision } = result;
    const tint = decision.decision.toLowerCase();
    return html`<article class=${tint} data-decision=${decision.decision} data-ran=${String(result.ran)}
      aria-label=${`${decision.decision}: ${result.request.tool}`}>
      ${this.#header(decision.decision, result.request.tool, decision.rule)}
      <p class="reason" data-reason>${decision.reason}</p>
      ${decision.enforced ? nothing : html`<p class="shadow">shadow mode: logged, not enforced, so the call ran anyway</p>`}
      <p class="outcome">${this.#outcome(result)}</p>
      <details>
        <summary>arguments and host facts</summary>
        <pre>${json({ args: result.request.args, role: result.request.role, agentAttributes: result.request.agentAttributes, resourceAttributes: result.request.resourceAttributes })}</pre>
      </details>
    </article>`;
  }

  #header(verdict: 'Allow' | 'Deny' | 'Ask', tool: string, rule: string | undefined) {
    return html`<header>
      <span class="icon" aria-hidden="true">${ICON[verdict]}</span>
      <span class="verdict">${verdict}</span>
      <span class="tool">${tool}</span>
      <span class="rule">${rule ? html`rule <code>${rule}</code>` : 'no rule matched'}</span>
    </header>`;
  }

  #outcome(result: Extract<CallEntry, { kind: 'decision' }>['result']) {
    const unchanged = 'the tool did not run; the CRM is unchanged';
    if (result.ran) {
      return result.approval === 'approved'
        ? html`<strong>Approved by you</strong> · ran: ${result.output}`
        : html`<strong>Ran</strong> · ${result.output}`;
    }
    if (result.approval === 'refused') return html`<strong>Refused</strong> · ${unchanged}`;
    if (result.approval === 'approved')
      return html`<strong>Approved, but not honoured</strong> (expired, or the call changed) · ${unchanged}`;
    if (result.output !== '') return html`<strong>Did not complete</strong> · ${result.output}`;
    return html`<strong>Blocked</strong> · ${unchanged}`;
  }
}
customElements.define('demo-decision', DecisionCard);

declare global {
  interface HTMLElementTagNameMap {
    'demo-decision': DecisionCard;
  }
}
