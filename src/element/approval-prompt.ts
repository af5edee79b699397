/**
 * `<perso-approval-prompt>`: asks a person to approve one exact call, inside a CLOSED shadow root.
 *
 * Checklist:
 * - the root is closed and kept in a private field: no script reaches the buttons through the
 *   element (a plain HTMLElement, not a LitElement, whose `renderRoot` would hand the root out);
 * - only trusted clicks count (`event.isTrusted`): `click()` and `dispatchEvent` from a script,
 *   an agent included, are ignored;
 * - clicks in the first moments after the prompt appears are ignored, so a click aimed at what was
 *   there before cannot approve;
 * - the prompt shows the exact canonical arguments that will run, pretty-printed, all of them: no
 *   inner scroll box (padding keys or a long value cannot push the amount out of view) and long
 *   lines wrap;
 * - it answers once: approve, deny, or "no" when it expires, is cancelled, or leaves the page;
 * - styled by an adopted stylesheet, never an inline `<style>` or `style=` (strict CSPs refuse them).
 */
import { adoptStyles, css, html, render } from 'lit';
import { visibleText } from '../encoding/visible-text.ts';

/** What the prompt shows. */
export interface ApprovalRequest {
  /** The tool to run. */
  tool: string;
  /** The canonical arguments it will run on. */
  args: unknown;
  /** Why the policy asks. */
  reason: string;
  /** The rule that asks, if named. */
  rule: string | null;
  /** The policy wants an authenticator's verified assertion: Approve then opens the authenticator. */
  webauthn?: boolean;
}

/** Clicks sooner than this after the prompt appears are ignored. */
export const APPROVAL_ARM_DELAY_MS = 400;

// A constructable stylesheet adopted by the shadow root, as Lit does for its elements: no inline
// <style>, so a page with `style-src 'self'` (no 'unsafe-inline') styles the prompt too.
const styles = css`
  :host { display: block; font: inherit; }
  .prompt { border: 2px solid #b45309; border-radius: 6px; background: #fffbeb; color: #1f2937; padding: 0.6em 0.8em; margin: 0.4em 0; }
  h2 { font-size: 1em; margin: 0 0 0.3em; }
  pre { background: #fff; border: 1px solid #e5e7eb; padding: 0.4em; margin: 0.3em 0; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.85em; }
  p { margin: 0.2em 0; font-size: 0.9em; }
  .actions { display: flex; gap: 0.5em; margin-top: 0.4em; }
  button { font: inherit; padding: 0.3em 1em; border-radius: 4px; border: 1px solid #6b7280; cursor: pointer; }
  button.approve { background: #15803d; color: #fff; border-color: #15803d; }
  button.deny { background: #fff; color: #b91c1c; border-color: #b91c1c; }
  button:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
`;

/** One approval question; see the module comment. */
export class PersoApprovalPrompt extends HTMLElement {
  readonly #root: ShadowRoot;
  #answer: ((approved: boolean) => void) | null = null;
  #armedAt = Number.POSITIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: 'closed' });
    adoptStyles(this.#root, [styles]);
  }

  /**
   * Shows `request` and resolves to `true` only when a person clicks Approve. Resolves `false` on
   * Deny, after `timeoutMs`, or when the prompt leaves the page. Call once.
   *
   * @param request what to show
   * @param timeoutMs how long to wait for the person
   */
  ask(request: ApprovalRequest, timeoutMs: number): Promise<boolean> {
    if (this.#answer !== null) return Promise.resolve(false);
    const answered = new Promise<boolean>((resolve) => {
      this.#answer = resolve;
    });
    this.#armedAt = performance.now() + APPROVAL_ARM_DELAY_MS;
    this.#timer = setTimeout(() => this.#settle(false), timeoutMs);
    // Shown with nothing hidden: a bidi override or a zero-width character in what the model
    // wrote cannot make the prompt show another call than the one approved.
    const args = visibleText(prettyJson(request.args));
    const tool = visibleText(request.tool);
    const reason = visibleText(request.reason);
    render(
      html`<section class="prompt" role="alertdialog" aria-labelledby="title" aria-describedby="why">
          <h2 id="title">Approve ${tool}?</h2>
          <p id="why">${reason}${request.rule === null ? '' : ` (rule ${request.rule})`}</p>
          <p>It will run with exactly these arguments:</p>
          <pre aria-label="arguments">${args}</pre>
          ${request.webauthn === true ? html`<p class="webauthn">Approve opens your authenticator: confirm there with its PIN, fingerprint or face.</p>` : ''}
          <div class="actions">
            <button class="deny" type="button" @click=${(event: MouseEvent) => this.#onClick(event, false)}>Deny</button>
            <button class="approve" type="button" @click=${(event: MouseEvent) => this.#onClick(event, true)}>${request.webauthn === true ? 'Approve with authenticator' : 'Approve'}</button>
          </div>
        </section>`,
      this.#root,
    );
    return answered;
  }

  /** Closes the question as a "no" (the call was cancelled). */
  cancel(): void {
    this.#settle(false);
  }

  /** Leaving the page is a "no" (checked a moment later: a re-render may just move the prompt). */
  disconnectedCallback(): void {
    queueMicrotask(() => {
      if (!this.isConnected) this.#settle(false);
    });
  }

  #onClick(event: MouseEvent, approve: boolean): void {
    // Scripts (and agents driving the DOM) produce untrusted events; only a person's click counts.
    if (!event.isTrusted) return;
    if (performance.now() < this.#armedAt) return;
    this.#settle(approve);
  }

  #settle(approved: boolean): void {
    const answer = this.#answer;
    if (answer === null) return;
    this.#answer = () => {};
    clearTimeout(this.#timer);
    answer(approved);
  }
}

if (!customElements.get('perso-approval-prompt'))
  customElements.define('perso-approval-prompt', PersoApprovalPrompt);

declare global {
  interface HTMLElementTagNameMap {
    'perso-approval-prompt': PersoApprovalPrompt;
  }
}

function prettyJson(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return '(arguments are not JSON)';
  }
}
