/**
 * What `<perso-guard>`'s attributes and properties make of `Perso.load`'s options.
 *
 * Checklist:
 * - an unknown mode, a timeout that is not a positive number, a key list given but empty or
 *   unreadable: the reason the element is misconfigured, never a dropped check;
 * - the host's audit transports are shared with the next instance: the guard flushes them, never
 *   closes them.
 */
import type { PersoOptions, PolicyStatus } from '../perso/perso.ts';
import type { AuditTransport } from '../audit/audit-record.ts';
import type { GuardHost } from './guard-host.ts';

/**
 * The library's inputs from the element's attributes and properties (the same as `Perso.load`'s:
 * mode, integrity pin, public keys, policy id, timeout), or why they are unusable. A key list given but
 * empty or unreadable is an error, never a dropped signature check.
 */
export function loadOptions(host: GuardHost): Omit<PersoOptions, 'policy'> | string {
  const { mode, integrity, publicKeys, policyId, timeout, codeIntegrity } = host;
  const options: Omit<PersoOptions, 'policy'> = {};
  if (codeIntegrity === false || codeIntegrity === 'strict') options.codeIntegrity = codeIntegrity;
  if (mode !== null && mode !== undefined) {
    if (mode !== 'enforce' && mode !== 'shadow' && mode !== 'policy')
      return `mode "${String(mode)}" is unknown; use "enforce", "shadow" or "policy"`;
    options.mode = mode;
  }
  if (integrity !== null && integrity !== undefined && integrity !== '')
    options.integrity = integrity;
  const keysGiven = publicKeys !== null && publicKeys !== undefined;
  if (keysGiven || host.hasAttribute('public-keys')) {
    if (!Array.isArray(publicKeys) || publicKeys.length === 0) {
      return 'public-keys must be JSON: {"keyId": "...", "alg": "Ed25519", "publicKey": "<base64 SPKI>"} or a non-empty array of them';
    }
    options.publicKeys = publicKeys;
  }
  if (typeof policyId === 'string' && policyId !== '') options.policyId = policyId;
  if (timeout !== null && timeout !== undefined) {
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0)
      return `timeout "${String(timeout)}" is not a positive number of milliseconds`;
    options.timeoutMs = timeout;
  }
  return options;
}

/**
 * The host's transports, each behind a wrapper without `close`: an instance the guard replaces
 * closes its transports, and these are the host's, shared by the next instance (it flushes them).
 */
export function hostTransports(
  audit: GuardHost['audit'],
): Pick<PersoOptions, 'audit'> | Record<string, never> {
  if (audit === null || audit === undefined) return {};
  const list: readonly AuditTransport[] = Array.isArray(audit) ? audit : [audit as AuditTransport];
  return {
    audit: list.map(
      (transport): AuditTransport => ({
        emit: (record) => transport.emit(record),
        flush: async () => transport.flush?.(),
        ...(typeof transport.persisted === 'function'
          ? { persisted: () => transport.persisted!() }
          : {}),
      }),
    ),
  };
}

/** What `reload` answers when there is no policy to reload. */
export function noPolicyStatus(reason: string): PolicyStatus {
  return {
    ok: false,
    version: null,
    hash: null,
    mode: 'enforce',
    source: null,
    errors: [{ severity: 'error', path: 'src', message: reason }],
    warnings: [],
  };
}
