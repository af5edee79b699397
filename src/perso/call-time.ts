/**
 * The time a call is decided at: its own `now` when it has one, else the host's clock.
 *
 * Checklist:
 * - only an own `now` counts: a polluted `Object.prototype.now` must not drive rate limits;
 * - a `now` of `null` is refused, never read as "use the clock";
 * - a time that is not a finite number is refused with a reason that shows what was given.
 */
import type { ToolCall } from '../call/decision.ts';
import { quote } from '../encoding/text.ts';

/** The call's own `now`, or `undefined` when it has none (an inherited one included). */
export function ownNow(call: ToolCall): ToolCall['now'] {
  return call !== null && typeof call === 'object' && Object.hasOwn(call, 'now')
    ? call.now
    : undefined;
}

/**
 * The reason of the `invalid_request` Deny for a time that is not a finite number of seconds
 * since the epoch.
 *
 * @param now the time that was given (or read from the clock)
 */
export function badTimeReason(now: unknown): string {
  return `invalid request: now: expected seconds since the epoch as a finite number, got ${describe(now)}`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return quote(value, 32);
  if (typeof value === 'number') return String(value);
  return `a ${typeof value}`;
}
