// perso.explain(call): the trace `perso explain` prints, from the library, with the windows the
// engine counted, and nothing counted by explaining. Checked against what evaluate then decides.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Perso } from '../src/perso/perso.ts';
import type { ToolCall } from '../src/call/decision.ts';

const fixturesUrl = new URL('./fixtures/conformance.json', import.meta.url);
const fixtures = JSON.parse(readFileSync(fixturesUrl, 'utf8')) as {
  policies: Record<string, string>;
  cases: { id: string; policy: string | object; request: ToolCall }[];
};
const sequences = JSON.parse(
  readFileSync(new URL('./fixtures/conformance-sequences.json', import.meta.url), 'utf8'),
) as {
  policies: Record<string, object>;
  sequences: { id: string; policy: string; steps: { request: ToolCall; kind: string }[] }[];
};

const rateLimited = {
  version: 'rate',
  default_action: 'Deny',
  tools: ['send'],
  rules: [
    {
      id: 'two-a-minute',
      tool_name: 'send',
      roles: ['agent'],
      rate_limit: { max: 2, per_seconds: 60 },
    },
  ],
};

describe('perso.explain agrees with perso.evaluate', () => {
  test('on every conformance case evaluate decides from the policy', async () => {
    let compared = 0;
    for (const c of fixtures.cases) {
      const policy =
        typeof c.policy === 'string'
          ? fileURLToPath(new URL(fixtures.policies[c.policy]!, fixturesUrl))
          : c.policy;
      const perso = await Perso.load({ policy: policy as string });
      try {
        if (!perso.status().ok) continue;
        const explained = await perso.explain(c.request);
        const result = await perso.evaluate(c.request);
        if (result.kind === 'invalid_request') {
          assert.equal(explained.decision, 'Deny', c.id);
          continue;
        }
        assert.deepEqual(
          [explained.decision, explained.kind, explained.rule],
          [result.decision, result.kind, result.rule ?? null],
          c.id,
        );
        assert.ok(explained.trace !== null, c.id);
        compared++;
      } finally {
        await perso.close();
      }
    }
    assert.ok(compared > 30, `only ${compared} cases compared`);
  });

  test('at every step of the budget sequences (state across calls, nothing spent by explaining)', async () => {
    for (const s of sequences.sequences) {
      // explain does not model untrusted content yet (SessionUntrusted / FromUntrusted read the
      // session's recorded results, which explain does not see): those sequences are left out.
      if (/"(SessionUntrusted|FromUntrusted)"/.test(JSON.stringify(sequences.policies[s.policy])))
        continue;
      const perso = await Perso.load({ policy: sequences.policies[s.policy] as never });
      try {
        for (const [i, step] of s.steps.entries()) {
          // Twice: a second explanation sees the same state, so the first spent nothing.
          const first = await perso.explain(step.request);
          const second = await perso.explain(step.request);
          assert.deepEqual(second, first);
          const result = await perso.evaluate(step.request);
          assert.equal(
            `${first.decision}:${first.kind}`,
            `${result.decision}:${result.kind}`,
            `${s.id} step ${i}: ${result.reason}`,
          );
        }
      } finally {
        await perso.close();
      }
    }
  });
});

describe('perso.explain', () => {
  test('reports the rate-limit window the engine counted, and counts nothing itself', async () => {
    const perso = await Perso.load({ policy: rateLimited as never });
    const call = { tool: 'send', role: 'agent', args: {} };
    try {
      const fresh = await perso.explain({ ...call, now: 100 });
      assert.deepEqual(fresh.trace?.rateLimit, {
        max: 2,
        perSeconds: 60,
        used: 0,
        full: false,
        retryAfter: null,
      });
      for (let i = 0; i < 5; i++) await perso.explain({ ...call, now: 100 });
      assert.equal((await perso.evaluate({ ...call, now: 100 })).decision, 'Allow');
      assert.equal((await perso.evaluate({ ...call, now: 110 })).decision, 'Allow');
      const full = await perso.explain({ ...call, now: 120 });
      assert.deepEqual(
        [full.decision, full.kind, full.rule, full.trace?.rateLimit],
        [
          'Deny',
          'rate_limited',
          'two-a-minute',
          { max: 2, perSeconds: 60, used: 2, full: true, retryAfter: 40 },
        ],
      );
      const denied = await perso.evaluate({ ...call, now: 120 });
      assert.deepEqual(
        [denied.decision, denied.kind, denied.retryAfter],
        ['Deny', 'rate_limited', 40],
      );
      // The first call leaves the window at 160: one fits again.
      const later = await perso.explain({ ...call, now: 161 });
      assert.deepEqual([later.decision, later.trace?.rateLimit?.used], ['Allow', 1]);
    } finally {
      await perso.close();
    }
  });

  test('uses the instance clock for a call without its own now', async () => {
    let now = 1000;
    const perso = await Perso.load({ policy: rateLimited as never, clock: () => now });
    try {
      await perso.evaluate({ tool: 'send', role: 'agent', args: {} });
      await perso.evaluate({ tool: 'send', role: 'agent', args: {} });
      now = 1030;
      const explained = await perso.explain({ tool: 'send', role: 'agent', args: {} });
      assert.deepEqual(
        [explained.now, explained.kind, explained.trace?.rateLimit?.retryAfter],
        [1030, 'rate_limited', 30],
      );
    } finally {
      await perso.close();
    }
  });

  test('traces each condition node with the values it read', async () => {
    const perso = await Perso.load({
      policy: fileURLToPath(new URL('./fixtures/perso-demo-policy.json', import.meta.url)),
    });
    try {
      const explained = await perso.explain({
        tool: 'process_refund',
        role: 'agent',
        args: { amount: 800 },
      });
      assert.equal(explained.decision, 'Deny');
      assert.equal(explained.kind, 'condition_failed');
      const condition = explained.trace?.allow?.condition;
      assert.equal(condition?.result, 'false');
      assert.deepEqual(condition?.reads, [{ field: 'Arguments.amount', value: 800 }]);
      assert.equal(condition?.check, 'Lte 500');
      const missing = await perso.explain({ tool: 'process_refund', role: 'agent', args: {} });
      assert.equal(missing.trace?.allow?.condition?.result, 'unknown');
      assert.deepEqual(missing.trace?.allow?.condition?.reads, [{ field: 'Arguments.amount' }]);
      const none = await perso.explain({ tool: 'no_such_tool', role: 'agent', args: {} });
      assert.deepEqual(
        [none.decision, none.kind, none.rule, none.trace?.entry],
        ['Deny', 'no_rule', null, false],
      );
    } finally {
      await perso.close();
    }
  });

  test('a call with hostile args is explained as the invalid_request Deny evaluate gives', async () => {
    const perso = await Perso.load({ policy: rateLimited as never });
    try {
      const args = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
      const explained = await perso.explain({ tool: 'send', role: 'agent', args });
      assert.deepEqual(
        [explained.decision, explained.kind, explained.trace],
        ['Deny', 'invalid_request', null],
      );
      assert.match(explained.error ?? '', /__proto__/);
      const notObject = await perso.explain(null as unknown as ToolCall);
      assert.equal(notObject.kind, 'invalid_request');
      const badNow = await perso.explain({
        tool: 'send',
        role: 'agent',
        args: {},
        now: Number.NaN,
      });
      assert.equal(badNow.kind, 'invalid_request');
    } finally {
      await perso.close();
    }
  });

  test('no policy: explained as the no_policy Deny, with why', async () => {
    const perso = await Perso.load({ policy: '{"version": 1}', onError: () => {} });
    try {
      const explained = await perso.explain({ tool: 'send', role: 'agent', args: {} });
      assert.deepEqual(
        [explained.decision, explained.kind, explained.trace],
        ['Deny', 'no_policy', null],
      );
    } finally {
      await perso.close();
    }
  });

  test('a closed instance explains nothing: no_policy', async () => {
    const perso = await Perso.load({ policy: rateLimited as never });
    await perso.close();
    const explained = await perso.explain({ tool: 'send', role: 'agent', args: {} });
    assert.equal(explained.kind, 'no_policy');
  });
});
