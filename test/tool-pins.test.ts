// Tool pins (tool-pins.ts): the policy's "tool_pins", validated by the host, checked at each call
// of a guarded tool against what the integration saw at registration, and audited.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Perso } from '../src/perso/perso.ts';
import { checkToolPin, readToolPins } from '../src/policy/tool-pins.ts';
import type { AuditRecord } from '../src/audit/audit-record.ts';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';

const demo = JSON.parse(
  await readFile(new URL('./fixtures/perso-demo-policy.json', import.meta.url), 'utf8'),
);
const HASH = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);
const SCRIPT = 'https://shop.example/app.js';
const engine = await Engine.create(await loadEngineModule());

/** The policy's pins as a host reads them: reported by the engine's load, then checked. */
function pinsOf(policyText: string) {
  const load = engine.load(policyText);
  assert.ok(load.ok, JSON.stringify(load));
  return readToolPins(load.policy.toolPins);
}

describe('readToolPins', () => {
  it('reads pins by tool; a policy without the key has none', () => {
    const read = pinsOf(
      JSON.stringify({
        ...demo,
        tool_pins: { process_refund: { descriptor_sha256: HASH, script_url: SCRIPT } },
      }),
    );
    assert.deepEqual(read, {
      ok: true,
      pins: Object.assign(Object.create(null), {
        process_refund: { descriptorSha256: HASH, scriptUrl: SCRIPT },
      }),
    });
    assert.equal(pinsOf(JSON.stringify(demo)), null);
  });

  it('names the path, the value and the fix of a malformed pin', () => {
    const cases: [unknown, RegExp][] = [
      [[], /^tool_pins: expected an object of tool name to pins, got \[\]/],
      [{ t: 'x' }, /^tool_pins\.t: expected \{"descriptor_sha256"/],
      [
        { t: { descriptor_sha256: 'AB' } },
        /^tool_pins\.t\.descriptor_sha256: expected 64 lowercase hex digits .*got "AB"/,
      ],
      [
        { t: { script_url: '/app.js' } },
        /^tool_pins\.t\.script_url: expected the absolute URL .*got "\/app\.js"/,
      ],
      [
        { t: { descriptor: HASH } },
        /^tool_pins\.t: unknown key "descriptor"; expected "descriptor_sha256" or "script_url"/,
      ],
      [{ t: {} }, /^tool_pins\.t: pins nothing/],
    ];
    for (const [pins, error] of cases) {
      const read = pinsOf(JSON.stringify({ ...demo, tool_pins: pins }));
      assert.equal(read?.ok, false, JSON.stringify(pins));
      assert.match((read as { error: string }).error, error);
    }
  });
});

describe('checkToolPin', () => {
  it('passes a match and a tool without a pin; refuses a mismatch or unknown facts, saying which', () => {
    assert.equal(checkToolPin('t', undefined, undefined), null);
    assert.equal(
      checkToolPin(
        't',
        { descriptorSha256: HASH, scriptUrl: SCRIPT },
        { descriptorSha256: HASH, scriptUrl: SCRIPT },
      ),
      null,
    );
    assert.match(
      String(checkToolPin('t', { descriptorSha256: HASH }, { descriptorSha256: OTHER })),
      /does not match its pin: its descriptor's SHA-256 is cdcd.*the policy pins abab/,
    );
    assert.match(
      String(checkToolPin('t', { scriptUrl: SCRIPT }, { scriptUrl: 'https://ads.example/tag.js' })),
      /registered by "https:\/\/ads\.example\/tag\.js", the policy pins "https:\/\/shop\.example\/app\.js"/,
    );
    assert.match(
      String(checkToolPin('t', { descriptorSha256: HASH }, {})),
      /descriptor is unknown here/,
    );
    assert.match(
      String(checkToolPin('t', { scriptUrl: SCRIPT }, undefined)),
      /script that registered it is unknown here/,
    );
  });
});

describe('tool pins through session.guard', () => {
  it('fault: descriptor swapped — the call is refused with the reason, the tool does not run, and the refusal is audited', async () => {
    const records: AuditRecord[] = [];
    const policy = {
      ...demo,
      tool_pins: { process_refund: { descriptor_sha256: HASH, script_url: SCRIPT } },
    };
    const perso = await Perso.load({ policy, audit: { emit: (r) => void records.push(r) } });
    const session = perso.session({ role: 'agent' });
    let ran = 0;
    const pinned = session.guard('process_refund', () => ++ran, {
      toolFacts: { descriptorSha256: HASH, scriptUrl: SCRIPT },
    });
    assert.equal((await pinned({ order_id: 'O-1', amount: 100 })).ok, true);
    const swapped = session.guard('process_refund', () => ++ran, {
      toolFacts: { descriptorSha256: OTHER, scriptUrl: SCRIPT },
    });
    const refused = await swapped({ order_id: 'O-1', amount: 100 });
    assert.equal(refused.ok, false);
    assert.equal(refused.decision.kind, 'denied_by_rule');
    assert.match(refused.decision.reason, /does not match its pin/);
    const unknown = await session.guard(
      'process_refund',
      () => ++ran,
    )({ order_id: 'O-1', amount: 100 });
    assert.match(unknown.decision.reason, /descriptor is unknown here/);
    assert.equal(ran, 1);
    assert.deepEqual(
      records.map((r) => [r.decision, r.toolFacts?.descriptorSha256]),
      [
        ['Allow', HASH],
        ['Deny', OTHER],
        ['Deny', undefined],
      ],
    );
    assert.deepEqual(
      records.slice(1).map((r) => [r.kind, r.tool, r.role]),
      [
        ['denied_by_rule', 'process_refund', 'agent'],
        ['denied_by_rule', 'process_refund', 'agent'],
      ],
    );
    assert.match(String(records[1]?.reason), /does not match its pin/);
    // other tools are not pinned
    assert.equal(
      (await session.guard('view_customer', () => 'ok')({ customer_id: 'C-1' })).ok,
      true,
    );
    await perso.close();
  });

  it('fault: the tool_pins key spelled with \\u escapes — it is the same key, and a pinned tool whose descriptor differs is refused', async () => {
    const text = JSON.stringify({
      ...demo,
      tool_pins: { process_refund: { descriptor_sha256: HASH } },
    }).replace('"tool_pins"', '"tool\\u005fpins"');
    assert.ok(!text.includes('tool_pins'));
    const perso = await Perso.load({ policy: text });
    assert.equal(perso.status().toolPins?.ok, true);
    let ran = 0;
    const swapped = perso.session({ role: 'agent' }).guard('process_refund', () => ++ran, {
      toolFacts: { descriptorSha256: OTHER },
    });
    const refused = await swapped({ order_id: 'O-1', amount: 100 });
    assert.equal(refused.ok, false);
    assert.match(refused.decision.reason, /does not match its pin/);
    assert.equal(ran, 0);
    await perso.close();
  });

  it('fault: malformed tool_pins — every guarded call is refused, naming the error', async () => {
    const perso = await Perso.load({
      policy: { ...demo, tool_pins: { process_refund: { descriptor_sha256: 'nope' } } },
    });
    assert.equal(perso.status().toolPins?.ok, false);
    const outcome = await perso.session({ role: 'agent' }).guard('view_customer', () => 'ok')({
      customer_id: 'C-1',
    });
    assert.equal(outcome.ok, false);
    assert.match(
      outcome.decision.reason,
      /^policy tool_pins\.process_refund\.descriptor_sha256: expected 64 lowercase hex digits/,
    );
    await perso.close();
  });
});
