/**
 * `<demo-scenarios>`: one button per scripted scenario, each marked with the decision it shows.
 */
import { LitElement, html, css } from 'lit';
import { sharedStyles } from './demo-styles.ts';
import { SCENARIOS } from './scenarios.ts';
import type { Scenario } from './scenarios.ts';

/** Fired when a scenario's button is pressed. */
export class ScenarioRunEvent extends Event {
  static readonly eventName = 'scenario-run';
  constructor(readonly scenario: Scenario) {
    super(ScenarioRunEvent.eventName, { bubbles: true, composed: true });
  }
}

declare global {
  interface HTMLElementEventMap {
    'scenario-run': ScenarioRunEvent;
  }
}

/**
 * The scenarios of the original demo, plus one Ask.
 * @fires scenario-run
 */
export class ScenarioList extends LitElement {
  static override properties = { disabled: { type: Boolean } };
  static override styles = [
    sharedStyles,
    css`
      :host { display: block; }
      ul { list-style: none; margin: 0; padding: 0; display: grid; gap: 5px; }
      button { width: 100%; display: grid; grid-template-columns: 1fr auto; gap: 2px 8px; text-align: left; padding: 5px 10px; align-items: center; }
      .title { font-weight: 600; font-size: 0.88rem; }
      .point { grid-column: 1 / -1; font-size: 0.76rem; color: var(--muted); }
      .badge { font-size: 0.7rem; padding: 0 8px; }
    `,
  ];

  declare disabled: boolean;

  constructor() {
    super();
    this.disabled = false;
  }

  override render() {
    return html`
      <h2 id="scenarios-title">Scenarios</h2>
      <ul aria-labelledby="scenarios-title">
        ${SCENARIOS.map(
          (s) => html`<li>
            <button data-scenario=${s.id} ?disabled=${this.disabled}
              title=${`as ${s.role}${s.mfaVerified ? ' with MFA' : ''}: “${s.prompt}”`}
              @click=${() => this.dispatchEvent(new ScenarioRunEvent(s))}>
              <span class="title">${s.title}</span>
              <span class="badge ${s.expect.toLowerCase()}">${s.expect}</span>
              <span class="point">${s.role} · ${s.point}</span>
            </button>
          </li>`,
        )}
      </ul>
    `;
  }
}
customElements.define('demo-scenarios', ScenarioList);

declare global {
  interface HTMLElementTagNameMap {
    'demo-scenarios': ScenarioList;
  }
}
