/**
 * The time a call is decided at: its own `now` when it has one, else the host's clock.
 *
 * Checklist:
 * - only an own `now` counts: a polluted `Object.prototype.now` must not drive rate limits;
 * - a `now` of `null` is refused, never read as "use the clock";
 * - a time that is not a finite number is refused with a reason that shows what was given;
 * - so is a clock's time past 1e11 s (the year 5138): milliseconds given as seconds (`Date.now()`
 *   where `Date.now() / 1000` was meant) would make every window 1,000 times shorter.
 */
import type { ToolCall } from '../call/decision.ts';
import { quote } from '../encoding/text.ts';

/** The call's own `now`, or `undefined` when it has none (an inherited one included). */
export function ownNow(call: ToolCall): ToolCall['now'] {
  return call !== null && typeof call === 'object' && Object.hasOwn(call, 'now')
    ? call.now
    : undefined;
}

/** The most seconds since the epoch a clock may give: more is milliseconds (see the checklist). */
export const MAX_SECONDS = 1e11;

/**
 * The reason of the `invalid_request` Deny for a time that is not a number of seconds since the
 * epoch.
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
