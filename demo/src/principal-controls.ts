/**
 * `<demo-principal>`: the host page's own controls for who is signed in. In a real app these facts
 * come from the session; here a person sets them. The agent cannot reach them.
 */
import { LitElement, html, css } from 'lit';
import { sharedStyles } from './demo-styles.ts';
import { DemoRole, Environment } from './principal.ts';
import type { Principal } from './principal.ts';

/** Fired with the new principal whenever a control changes. */
export class PrincipalChangeEvent extends Event {
  static readonly eventName = 'principal-change';
  constructor(readonly principal: Principal) {
    super(PrincipalChangeEvent.eventName, { bubbles: true, composed: true });
  }
}

declare global {
  interface HTMLElementEventMap {
    'principal-change': PrincipalChangeEvent;
  }
}

/**
 * Role picker, user id for the role, environment and an explicit MFA switch.
 * @fires principal-change
 */
export class PrincipalControls extends LitElement {
  static override properties = { principal: { attribute: false } };
  static override styles = [
    sharedStyles,
    css`
      :host { display: block; }
      fieldset { border: 0; margin: 0; padding: 0; }
      legend { padding: 0; }
      .roles { display: grid; grid-template-columns: repeat(3, 1fr); gap: 4px; background: var(--surface-sunk); border: 1px solid var(--line); border-radius: 10px; padding: 3px; }
      .roles label { position: relative; text-align: center; border-radius: 8px; padding: 6px 0; cursor: pointer; font-weight: 600; font-size: 0.9rem; color: var(--muted); }
      .roles input { position: absolute; opacity: 0; inset: 0; cursor: pointer; margin: 0; }
      .roles label:has(input:checked) { background: var(--surface); color: var(--accent-strong); box-shadow: 0 1px 3px rgb(15 23 42 / 0.15); }
      .roles label:has(input:focus-visible) { outline: 3px solid var(--focus); outline-offset: 1px; }
      .row { display: grid; grid-template-columns: 92px 1fr; align-items: center; gap: 8px; margin-top: 8px; font-size: 0.9rem; }
      .row input, .row select { width: 100%; min-width: 0; }
      .switch { display: flex; align-items: center; justify-content: space-between; margin-top: 10px; font-size: 0.9rem; }
      .switch input { appearance: none; width: 40px; height: 22px; border-radius: 999px; background: var(--line-strong); position: relative; cursor: pointer; margin: 0; transition: background 0.15s; }
      .switch input::after { content: ''; position: absolute; top: 3px; left: 3px; width: 16px; height: 16px; border-radius: 50%; background: #fff; transition: transform 0.15s; }
      .switch input:checked { background: var(--allow-ink); }
      .switch input:checked::after { transform: translateX(18px); }
      .note { font-size: 0.76rem; color: var(--muted); margin: 8px 0 0; line-height: 1.35; }
    `,
  ];

  declare principal: Principal;

  override render() {
    const p = this.principal;
    return html`
      <h2 id="principal-title">Signed-in user (host-owned)</h2>
      <fieldset aria-labelledby="principal-title">
        <legend class="visually-hidden">Role</legend>
        <div class="roles">
          ${Object.values(DemoRole).map(
            (role) => html`<label>
              <input type="radio" name="role" .value=${role} .checked=${p.role === role}
                @change=${() => this.#update({ role })} />${role}
            </label>`,
          )}
        </div>
      </fieldset>
      <div class="row">
        <label for="user-id">User id</label>
        <input id="user-id" type="text" spellcheck="false" .value=${p.userIds[p.role]}
          @change=${(e: Event) => this.#update({ userIds: { ...p.userIds, [p.role]: (e.target as HTMLInputElement).value.trim() } })} />
      </div>
      <div class="row">
        <label for="env">Environment</label>
        <select id="env" @change=${(e: Event) => this.#update({ env: (e.target as HTMLSelectElement).value as Environment })}>
          ${Object.values(Environment).map((env) => html`<option .value=${env} ?selected=${p.env === env}>${env}</option>`)}
        </select>
      </div>
      <label class="switch">
        <span>MFA verified</span>
        <input type="checkbox" role="switch" .checked=${p.mfaVerified}
          @change=${(e: Event) => this.#update({ mfaVerified: (e.target as HTMLInputElement).checked })} />
      </label>
      <p class="note">The page sets these from its session. The agent never does, whatever the chat says.</p>
    `;
  }

  #update(change: Partial<Principal>): void {
    this.principal = { ...this.principal, ...change };
    this.dispatchEvent(new PrincipalChangeEvent(this.principal));
  }
}
customElements.define('demo-principal', PrincipalControls);

declare global {
  interface HTMLElementTagNameMap {
    'demo-principal': PrincipalControls;
  }
}
