// What loading a policy needs besides a Perso's state (src/perso/perso-loading.ts): the mode, the policy
// text, and the policy's host-layer extensions.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { modeFor, readExtensions, resolvePolicy, toolPinsOf } from '../src/perso/perso-loading.ts';
import type { Diagnostic } from '../src/engine/types.ts';

describe('perso loading', () => {
  test('fault: a fetched policy asks for shadow mode without the host\'s mode: "policy"', (t) => {
    t.mock.method(console, 'warn', () => undefined);
    const warnings: Diagnostic[] = [];
    assert.equal(modeFor(undefined, 'shadow', 'network', warnings), 'enforce');
    assert.equal(warnings[0]?.path, 'mode');
    assert.equal(modeFor('policy', 'shadow', 'cache', []), 'shadow');
    assert.equal(modeFor(undefined, 'shadow', 'inline', []), 'shadow');
    assert.equal(modeFor('enforce', 'shadow', 'inline', []), 'enforce');
  });
  test('fault: a pinned hash on a policy given inline is refused', async () => {
    const resolved = await resolvePolicy('{"version":"v1"}', null, true);
    assert.equal(resolved.ok, false);
    assert.match(
      resolved.ok ? '' : resolved.error,
      /^integrity and publicKeys apply to URL policies/,
    );
    assert.equal((await resolvePolicy('{"version":"v1"}', null, false)).ok, true);
  });
  test('extensions load only for a policy that names them', async () => {
    assert.deepEqual(await readExtensions('{"version":"v1"}'), {
      toolPins: null,
      annotationDefaults: null,
    });
    const opted = await readExtensions('{"annotation_defaults":true}');
    assert.ok(typeof opted !== 'string' && opted.annotationDefaults !== null);
  });
  test('fault: the engine reports tool_pins whose reader was not loaded: they cannot be read, never none', () => {
    assert.equal(toolPinsOf(null, undefined), null);
    const pins = toolPinsOf(null, { send: { script_url: 'https://shop.example/app.js' } });
    assert.equal(pins?.ok, false);
    assert.match(pins?.ok === false ? pins.error : '', /^tool_pins: cannot be read/);
  });
});
