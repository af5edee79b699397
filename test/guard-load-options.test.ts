import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuditRecord, AuditTransport } from '../src/audit/audit-record.ts';
import type { GuardHost } from '../src/element/guard-host.ts';
import { hostTransports, loadOptions, noPolicyStatus } from '../src/element/guard-load-options.ts';

/** The element's properties as a plain object (the Node realm has no custom elements). */
function host(properties: Partial<GuardHost>, attributes: readonly string[] = []): GuardHost {
  return {
    mode: null,
    integrity: null,
    publicKeys: null,
    policyId: null,
    timeout: null,
    codeIntegrity: true,
    hasAttribute: (name: string) => attributes.includes(name),
    ...properties,
  } as unknown as GuardHost;
}

test('defaults give no options: the library decides', () => {
  assert.deepEqual(loadOptions(host({})), {});
});

test('each property the element was given becomes its load option', () => {
  const key = { keyId: 'k1', alg: 'Ed25519' as const, publicKey: 'AAAA' };
  assert.deepEqual(
    loadOptions(
      host({
        mode: 'shadow',
        integrity: 'sha256-abc',
        publicKeys: [key],
        policyId: 'https://example.test/policy.json',
        timeout: 750,
        codeIntegrity: 'strict',
      }),
    ),
    {
      codeIntegrity: 'strict',
      mode: 'shadow',
      integrity: 'sha256-abc',
      publicKeys: [key],
      policyId: 'https://example.test/policy.json',
      timeoutMs: 750,
    },
  );
});

test('misconfigured: an unknown mode, a timeout that is not a positive number, keys given but empty or unreadable', () => {
  assert.equal(
    loadOptions(host({ mode: 'strict' as never })),
    'mode "strict" is unknown; use "enforce", "shadow" or "policy"',
  );
  for (const timeout of [0, -1, Number.NaN, '500' as never])
    assert.equal(
      loadOptions(host({ timeout })),
      `timeout "${String(timeout)}" is not a positive number of milliseconds`,
    );
  assert.match(String(loadOptions(host({ publicKeys: [] }))), /^public-keys must be JSON/);
  // The attribute was set but did not parse: the property stayed null. A signature check the host
  // asked for is never dropped.
  assert.match(String(loadOptions(host({}, ['public-keys']))), /^public-keys must be JSON/);
});

test("the host's transports are wrapped without close: the guard flushes them, never closes them", async () => {
  const seen: string[] = [];
  const transport: AuditTransport = {
    emit: (record: AuditRecord) => {
      seen.push(`emit ${record.tool}`);
    },
    flush: async () => {
      seen.push('flush');
    },
    close: async () => {
      seen.push('close');
    },
  };
  assert.deepEqual(hostTransports(null), {});
  const { audit } = hostTransports(transport) as { audit: AuditTransport[] };
  assert.equal(audit.length, 1);
  assert.equal(audit[0]!.close, undefined);
  assert.equal(audit[0]!.persisted, undefined);
  audit[0]!.emit({ tool: 'view_customer' } as AuditRecord);
  await audit[0]!.flush?.();
  assert.deepEqual(seen, ['emit view_customer', 'flush']);
});

test('with no policy, reload answers a failed status naming src and the reason', () => {
  const status = noPolicyStatus('no policy: set the src of <perso-guard> to a policy URL');
  assert.equal(status.ok, false);
  assert.equal(status.version, null);
  assert.deepEqual(status.errors, [
    {
      severity: 'error',
      path: 'src',
      message: 'no policy: set the src of <perso-guard> to a policy URL',
    },
  ]);
});
