// The time a call is decided at (src/perso/call-time.ts): its own `now` only, and the reason a
// time that is not a finite number is refused with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SECONDS, badTimeReason, ownNow } from '../src/perso/call-time.ts';
import { Perso } from '../src/perso/perso.ts';
import type { Policy } from '../src/policy/policy.ts';
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

test('fault: a clock in milliseconds — every call is an invalid_request Deny that says so (it made every window 1,000 times shorter)', async () => {
  assert.equal(MAX_SECONDS, 1e11);
  const policy = {
    version: 'ms-1',
    default_action: 'Deny',
    tools: ['pay'],
    roles: ['agent'],
    rules: [{ tool_name: 'pay', roles: ['agent'], rate_limit: { max: 2, per_seconds: 60 } }],
  } as unknown as Policy;
  const clocked = await Perso.load({ policy, clock: () => Date.now() });
  const given = await Perso.load({ policy });
  try {
    const call = { tool: 'pay', role: 'agent', args: {} };
    const answers = [
      await clocked.evaluate(call),
      ...(await clocked.evaluateBatch([call, call])),
      await clocked.session({ role: 'agent' }).evaluate({ tool: 'pay' }),
      await clocked.approve('no-such-ticket', call),
    ];
    for (const answer of answers) {
      assert.equal(answer.decision, 'Deny');
      assert.equal(answer.kind, 'invalid_request');
      assert.match(
        answer.reason,
        /^invalid request: the time cannot be read \(the clock gave 17\d{11}: milliseconds, not seconds\?\); check the call's "now" and the clock option$/,
      );
    }
    // explain does not reject: the call without a time is the invalid request it is.
    const explained = await clocked.explain(call);
    assert.equal(explained.decision, 'Deny');
    assert.equal(explained.kind, 'invalid_request');
    // A call's own now is the host's to give (a replay, a test): decided at that time, as the
    // engine's bound (2^43 s) allows, so a rate limit counts it.
    const own = [1, 2, 3].map((i) => given.evaluate({ ...call, now: 1_764_000_000_000 + i }));
    assert.deepEqual(
      (await Promise.all(own)).map((answer) => answer.decision),
      ['Allow', 'Allow', 'Deny'],
    );
  } finally {
    await clocked.close();
    await given.close();
  }
});
