// Perso's options read once (src/perso/perso-options.ts): own properties only, each checked or given its
// default; the faults are named after the option they inject.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { optionsProblem, readSettings } from '../src/perso/perso-options.ts';
import type { PersoOptions } from '../src/perso/perso-options.ts';
import type { AuditTransport } from '../src/audit/audit-record.ts';

const transport: AuditTransport = { emit: () => undefined };

describe('perso options', () => {
  test('defaults: enforced by the policy, checked code, no audit, no clock', () => {
    const settings = readSettings({ policy: '{}' });
    assert.equal(settings.mode, undefined);
    assert.equal(settings.codeIntegrity, true);
    assert.equal(settings.jsFallback, false);
    assert.equal(settings.clock, null);
    assert.deepEqual(settings.transports, []);
    assert.ok(Object.isFrozen(settings.transports));
    assert.equal(settings.durableBeforeRun, false);
    assert.equal(settings.pinned, false);
  });
  test('fault: an unknown codeIntegrity is the default (checked), never off', () => {
    const options = { policy: '{}', codeIntegrity: 'no' } as unknown as PersoOptions;
    assert.equal(readSettings(options).codeIntegrity, true);
    assert.equal(readSettings({ policy: '{}', codeIntegrity: false }).codeIntegrity, false);
  });
  test("fault: a hole in the transports list does not pick up Array.prototype's item", () => {
    const proto = Array.prototype as unknown as Record<number, unknown>;
    proto[0] = transport;
    try {
      // biome-ignore lint/suspicious/noSparseArray: the hole is the fault injected
      const holed = [, transport] as unknown as AuditTransport[];
      const settings = readSettings({ policy: '{}', audit: holed });
      assert.equal(settings.transports.length, 1);
    } finally {
      delete proto[0];
    }
  });
  test('durable before-run needs a transport; a pinned hash or keys mark the settings pinned', () => {
    assert.equal(readSettings({ policy: '{}', durable: 'before-run' }).durableBeforeRun, false);
    const audited = readSettings({ policy: '{}', durable: 'before-run', audit: transport });
    assert.equal(audited.durableBeforeRun, true);
    assert.equal(readSettings({ policy: '{}', integrity: 'sha256-x' }).pinned, true);
  });
  test('fault: options that are not an object, a missing policy, an unknown mode or engine', () => {
    assert.equal(optionsProblem(null)?.path, 'options');
    assert.equal(optionsProblem({})?.path, 'options.policy');
    assert.deepEqual(optionsProblem({ policy: '{}', mode: 'off' }), {
      severity: 'error',
      path: 'options.mode',
      message: 'unknown mode "off"; expected "enforce", "shadow" or "policy"',
    });
    assert.equal(optionsProblem({ policy: '{}', engine: 'gpu' })?.path, 'options.engine');
    assert.equal(optionsProblem({ policy: '{}', mode: 'policy', engine: 'inline' }), null);
  });
});
