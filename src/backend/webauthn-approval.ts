/**
 * The check a WebAuthn ticket needs before the ledger lifts its Ask: the page's evidence read field
 * by field, a first-use registration verified and stored, the assertion verified against the
 * credential registered for the origin. Loaded on demand by `approval-ledger.ts`, so a page whose
 * policy never asks for WebAuthn does not carry it (nor idb) in its worker.
 */
import type { ApprovalEvidence } from './approval-evidence.ts';
import { readEvidence } from './approval-evidence.ts';
import type { WebAuthnBinding } from './approval-ledger.ts';
import { AuthenticatorStore } from './authenticator-store.ts';
import type { CredentialStore } from './authenticator-store.ts';
import { verifyAssertion, verifyRegistration } from './webauthn-verify.ts';
import { approvalChallenge } from './approval-challenge.ts';
import { toBase64Url } from '../policy/base64.ts';
import { toHex } from '../encoding/hex.ts';
import { sha256 } from '../policy/sha256.ts';
import { errorText, quote } from '../encoding/text.ts';

let shared: AuthenticatorStore | null = null;

/** The IndexedDB store, one per realm; `null` where there is no IndexedDB (Node). */
function defaultStore(): CredentialStore | null {
  if (typeof indexedDB === 'undefined') return null;
  shared ??= new AuthenticatorStore();
  return shared;
}

/**
 * Why `given` does not release the WebAuthn ticket `nonce`, or `null` when it does: the ceremony's
 * failure, malformed evidence, or a registration or assertion that does not verify, each said.
 * On success the credential's counter is raised; a first-use registration is stored first.
 *
 * @param nonce the ticket's nonce (its first 8 digits name it in reasons)
 * @param binding the challenge and origin the ticket was offered with
 * @param given what the page sent: {@link ApprovalEvidence}, or nothing for a plain click
 * @param store the registered authenticators, or `indexeddb` for the default store
 * @param now milliseconds since the epoch
 */
export async function checkWebAuthnEvidence(
  nonce: string,
  binding: WebAuthnBinding,
  given: unknown,
  store: CredentialStore | null | 'indexeddb',
  now: number,
): Promise<string | null> {
  const shown = `approval ${quote(nonce, 8)}`;
  const again = 'ask the person again';
  if (given === undefined) {
    return `${shown} needs a verified authenticator (the policy says "approval": "webauthn"); a click is not enough, so the call was not run`;
  }
  const evidence: ApprovalEvidence | null = readEvidence(given);
  if (evidence === null) return `${shown}: the WebAuthn evidence is malformed; ${again}`;
  if (evidence.kind === 'webauthn-failed') {
    const detail = evidence.detail === '' ? '' : ` (${evidence.detail})`;
    if (evidence.failure === 'unavailable')
      return `${shown} needs a verified authenticator, and none is available here${detail}; approve from a browser with a passkey or security key`;
    if (evidence.failure === 'cancelled')
      return `${shown} needs a verified authenticator, and the ceremony was cancelled or timed out${detail}; ${again}`;
    return `${shown} needs a verified authenticator, and the ceremony failed${detail}; ${again}`;
  }
  if (binding.origin === null || binding.origin === 'null') {
    return `${shown} needs a page origin to check an authenticator against, and this ${binding.origin === null ? 'host has none' : 'page has an opaque one (a sandboxed frame)'}; approve in a page with an origin`;
  }
  const credentials = store === 'indexeddb' ? defaultStore() : store;
  if (credentials === null)
    return `${shown}: no authenticator registry here (IndexedDB is unavailable), so no assertion can be checked`;
  try {
    const origin = binding.origin;
    // The plain-JavaScript SHA-256 that webauthn-verify.ts needs anyway, so the worker holds one.
    const policyHash = toHex(sha256(new TextEncoder().encode(binding.policyText)));
    const challenge = await approvalChallenge({
      tool: binding.tool,
      args: binding.args,
      origin,
      policyHash,
      nonce: binding.nonce,
      expiresAt: binding.expiresAt,
    });
    const expected = { challenge: toBase64Url(challenge), origin };
    let registered = await credentials.list(binding.origin);
    if (evidence.registration !== undefined) {
      if (registered.length > 0)
        return `${shown}: an authenticator is already registered for ${binding.origin}; approve with it (a new one is not registered on top)`;
      const registration = await verifyRegistration(evidence.registration, expected, now);
      if (!registration.ok) return `${shown}: ${registration.reason}; ${again}`;
      if (!(await credentials.addFirst(registration.value)))
        return `${shown}: an authenticator was registered for ${binding.origin} meanwhile; ${again}`;
      registered = [registration.value];
    }
    if (registered.length === 0)
      return `${shown} needs a verified authenticator, and none is registered for ${binding.origin} yet; ${again} (the first approval registers one)`;
    const credential = registered.find((known) => known.id === evidence.assertion.credentialId);
    if (credential === undefined)
      return `${shown}: the assertion comes from an authenticator not registered for ${binding.origin}; approve with the registered one`;
    const assertion = await verifyAssertion(evidence.assertion, credential, expected);
    if (!assertion.ok) return `${shown}: ${assertion.reason}; ${again}`;
    await credentials.raiseSignCount(credential.id, assertion.value);
    return null;
  } catch (error) {
    return `${shown}: the authenticator registry failed (${errorText(error)}); ${again}`;
  }
}
