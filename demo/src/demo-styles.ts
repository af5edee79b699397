/**
 * Styles shared by the demo's elements. Colours are CSS custom properties set on `:root` in
 * index.html (they inherit into every shadow root); this file holds the controls' look and the
 * decision colours, chosen for at least 4.5:1 contrast on their backgrounds.
 */
import { css } from 'lit';

/** Buttons, inputs, focus rings, badges and decision tints. */
export const sharedStyles = css`
  :host {
    box-sizing: border-box;
    font: inherit;
    color: var(--ink);
  }
  *, *::before, *::after {
    box-sizing: inherit;
  }
  button, input, select, textarea {
    font: inherit;
    color: inherit;
  }
  button {
    cursor: pointer;
    border: 1px solid var(--line-strong);
    background: var(--surface);
    border-radius: 8px;
    padding: 6px 12px;
    line-height: 1.3;
  }
  button:hover:not(:disabled) {
    background: var(--surface-hover);
  }
  button:disabled {
    cursor: not-allowed;
    opacity: 0.55;
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: #fff;
  }
  button.primary:hover:not(:disabled) {
    background: var(--accent-strong);
  }
  input[type='text'], input[type='url'], input[type='password'], select, textarea {
    border: 1px solid var(--line-strong);
    background: var(--surface);
    border-radius: 8px;
    padding: 6px 10px;
  }
  :focus-visible {
    outline: 3px solid var(--focus);
    outline-offset: 2px;
  }
  .badge {
    display: inline-flex;
    align-items: center;
    gap: 4px;
    border-radius: 999px;
    padding: 2px 10px;
    font-size: 0.78rem;
    font-weight: 600;
    border: 1px solid transparent;
    white-space: nowrap;
  }
  .allow {
    --tint: var(--allow-bg);
    --tint-ink: var(--allow-ink);
    --tint-line: var(--allow-line);
  }
  .deny {
    --tint: var(--deny-bg);
    --tint-ink: var(--deny-ink);
    --tint-line: var(--deny-line);
  }
  .ask {
    --tint: var(--ask-bg);
    --tint-ink: var(--ask-ink);
    --tint-line: var(--ask-line);
  }
  .info {
    --tint: var(--info-bg);
    --tint-ink: var(--info-ink);
    --tint-line: var(--info-line);
  }
  .badge.allow, .badge.deny, .badge.ask, .badge.info {
    background: var(--tint);
    color: var(--tint-ink);
    border-color: var(--tint-line);
  }
  code, pre {
    font-family: var(--mono);
    font-size: 0.82rem;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
  h2 {
    font-size: 0.78rem;
    text-transform: uppercase;
    letter-spacing: 0.06em;
    color: var(--muted);
    margin: 0 0 8px;
  }
`;
