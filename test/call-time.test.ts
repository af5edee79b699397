// The time a call is decided at (src/perso/call-time.ts): its own `now` only, and the reason a
// time that is not a finite number is refused with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { badTimeReason, ownNow } from '../src/perso/call-time.ts';
import type { ToolCall } from '../src/call/decision.ts';

const call = (extra: object = {}): ToolCall => ({ tool: 't', args: {}, role: 'r', ...extra });

test('an own now is the time; none is undefined', () => {
  assert.equal(ownNow(call({ now: 1_700_000_000 })), 1_700_000_000);
  assert.equal(ownNow(call()), undefined);
  assert.equal(ownNow(null as unknown as ToolCall), undefined);
});

test('own now null stays null (refused by the caller), never "use the clock"', () => {
  assert.equal(ownNow(call({ now: null })), null);
});

test('polluted Object.prototype.now: an inherited now is no time', () => {
  Object.defineProperty(Object.prototype, 'now', { value: 5, configurable: true, writable: true });
  try {
    assert.equal(ownNow(call()), undefined);
  } finally {
    delete (Object.prototype as { now?: unknown }).now;
  }
});

test('the reason shows what was given: null, a number, a quoted and cut string, a type', () => {
  const prefix = 'invalid request: now: expected seconds since the epoch as a finite number, got ';
  assert.equal(badTimeReason(null), `${prefix}null`);
  assert.equal(badTimeReason(Number.NaN), `${prefix}NaN`);
  assert.equal(badTimeReason(Infinity), `${prefix}Infinity`);
  assert.equal(badTimeReason('soon'), `${prefix}"soon"`);
  assert.equal(badTimeReason({}), `${prefix}a object`);
  const long = badTimeReason('x'.repeat(100));
  assert.ok(long.length < prefix.length + 40, long);
  assert.ok(long.endsWith('…"'), long);
});
