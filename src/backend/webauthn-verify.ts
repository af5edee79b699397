/**
 * Verifies WebAuthn registrations and assertions with WebCrypto (ES256 and EdDSA), where the
 * engine runs: the page only relays what the authenticator made.
 *
 * Checklist (WebAuthn Level 3, §7.1 and §7.2, for attestation "none"):
 * - client data: the ceremony's type (`webauthn.create` / `webauthn.get`), this ticket's challenge,
 *   this origin exactly, and not made in a cross-origin frame;
 * - authenticator data: the relying party id hash of this origin's host, the user-present AND the
 *   user-verified flags (a PIN or biometric on the authenticator, not a click in the page);
 * - registration: the attested credential id is the one registered, the key is ES256 or EdDSA and
 *   imports; assertion: the signature over `authenticatorData ‖ SHA-256(clientDataJSON)` verifies
 *   with the registered key, and the signature counter, when the authenticator keeps one, went up;
 * - every failure is a reason that says which check failed.
 */
import type { WebAuthnAssertion, WebAuthnRegistration } from './approval-evidence.ts';
import { COSE_EDDSA, COSE_ES256 } from './approval-evidence.ts';
import type { RegisteredCredential } from './authenticator-store.ts';
import { fromBase64 } from '../policy/base64.ts';
import { sha256 } from '../policy/sha256.ts';
import { quote } from '../encoding/text.ts';

/** A verified value, or the reason it is not. */
export type Verified<T> = { ok: true; value: T } | { ok: false; reason: string };

/** What a ceremony must be bound to. */
export interface Expected {
  /** The ticket's challenge, URL-safe base64. */
  challenge: string;
  /** The page origin, `https://shop.example`. */
  origin: string;
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

function bytesOf(text: string): Uint8Array<ArrayBuffer> {
  return fromBase64(text) ?? new Uint8Array(0);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function checkClientData(clientDataJSON: string, type: string, expected: Expected): string | null {
  let data: { type?: unknown; challenge?: unknown; origin?: unknown; crossOrigin?: unknown };
  try {
    data = JSON.parse(decoder.decode(bytesOf(clientDataJSON))) as typeof data;
  } catch {
    return 'its client data is not JSON';
  }
  if (data.type !== type)
    return `its client data is of type ${quote(String(data.type), 40)}, not "${type}"`;
  if (data.challenge !== expected.challenge) {
    return 'the authenticator signed a different call: its challenge is not the one for this tool, these arguments, this policy and this ticket';
  }
  if (data.origin !== expected.origin)
    return `it was made for origin ${quote(String(data.origin), 80)}, not "${expected.origin}"`;
  if (data.crossOrigin === true) return 'it was made in a cross-origin frame';
  return null;
}

function checkAuthenticatorData(data: Uint8Array, rpId: string): string | null {
  if (data.length < 37) return 'its authenticator data is too short';
  if (!equalBytes(data.subarray(0, 32), sha256(encoder.encode(rpId))))
    return `its authenticator data is for another relying party than "${rpId}"`;
  const flags = data[32]!;
  if ((flags & FLAG_UP) === 0) return 'the authenticator did not see the person (no user presence)';
  if ((flags & FLAG_UV) === 0)
    return 'the authenticator did not verify the person (no user verification: its PIN or biometric is required)';
  return null;
}

function signCountOf(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset + 33, 4).getUint32(0);
}

function keyParams(algorithm: number): EcKeyImportParams | Algorithm | null {
  if (algorithm === COSE_ES256) return { name: 'ECDSA', namedCurve: 'P-256' };
  if (algorithm === COSE_EDDSA) return { name: 'Ed25519' };
  return null;
}

/**
 * Checks a first-use registration and returns the credential to store.
 *
 * @param registration what `navigator.credentials.create()` made, as the page relayed it
 * @param expected this ticket's challenge and the origin
 * @param now milliseconds since the epoch, stored as the registration time
 */
export async function verifyRegistration(
  registration: WebAuthnRegistration,
  expected: Expected,
  now: number,
): Promise<Verified<RegisteredCredential>> {
  const fail = (why: string): Verified<RegisteredCredential> => ({
    ok: false,
    reason: `the authenticator's registration was refused: ${why}`,
  });
  const clientProblem = checkClientData(registration.clientDataJSON, 'webauthn.create', expected);
  if (clientProblem !== null) return fail(clientProblem);
  const rpId = new URL(expected.origin).hostname;
  const data = bytesOf(registration.authenticatorData);
  const dataProblem = checkAuthenticatorData(data, rpId);
  if (dataProblem !== null) return fail(dataProblem);
  if ((data[32]! & FLAG_AT) === 0 || data.length < 55)
    return fail('its authenticator data carries no credential');
  const idLength = (data[53]! << 8) | data[54]!;
  if (
    data.length < 55 + idLength ||
    !equalBytes(data.subarray(55, 55 + idLength), bytesOf(registration.credentialId))
  ) {
    return fail('the credential id is not the one the authenticator attested');
  }
  const params = keyParams(registration.algorithm);
  if (params === null)
    return fail(`algorithm ${registration.algorithm} is not ES256 (-7) or EdDSA (-8)`);
  try {
    await crypto.subtle.importKey('spki', bytesOf(registration.publicKey), params, false, [
      'verify',
    ]);
  } catch {
    return fail('its public key does not import as the algorithm it names');
  }
  return {
    ok: true,
    value: {
      id: registration.credentialId,
      origin: expected.origin,
      rpId,
      publicKey: registration.publicKey,
      algorithm: registration.algorithm,
      signCount: signCountOf(data),
      registeredAt: now,
    },
  };
}

/**
 * Checks an assertion against the registered credential; the value is the new signature counter.
 *
 * @param assertion what `navigator.credentials.get()` made, as the page relayed it
 * @param credential the registered credential whose id the assertion names
 * @param expected this ticket's challenge and the origin
 */
export async function verifyAssertion(
  assertion: WebAuthnAssertion,
  credential: RegisteredCredential,
  expected: Expected,
): Promise<Verified<number>> {
  const fail = (why: string): Verified<number> => ({
    ok: false,
    reason: `the authenticator's assertion was refused: ${why}`,
  });
  if (credential.origin !== expected.origin)
    return fail('its credential was registered on another origin');
  const clientProblem = checkClientData(assertion.clientDataJSON, 'webauthn.get', expected);
  if (clientProblem !== null) return fail(clientProblem);
  const data = bytesOf(assertion.authenticatorData);
  const dataProblem = checkAuthenticatorData(data, credential.rpId);
  if (dataProblem !== null) return fail(dataProblem);
  const params = keyParams(credential.algorithm);
  if (params === null)
    return fail(`the registered algorithm ${credential.algorithm} is not supported`);
  let signature = bytesOf(assertion.signature);
  if (credential.algorithm === COSE_ES256) {
    const raw = derToRaw(signature);
    if (raw === null) return fail('its ES256 signature is not DER');
    signature = raw;
  }
  const signed = new Uint8Array(data.length + 32);
  signed.set(data);
  signed.set(sha256(bytesOf(assertion.clientDataJSON)), data.length);
  let valid = false;
  try {
    const key = await crypto.subtle.importKey(
      'spki',
      bytesOf(credential.publicKey),
      params,
      false,
      ['verify'],
    );
    const verify =
      credential.algorithm === COSE_ES256
        ? { name: 'ECDSA', hash: 'SHA-256' }
        : { name: 'Ed25519' };
    valid = await crypto.subtle.verify(verify, key, signature, signed);
  } catch {
    valid = false;
  }
  if (!valid) return fail('its signature does not verify with the registered credential');
  const signCount = signCountOf(data);
  if ((signCount !== 0 || credential.signCount !== 0) && signCount <= credential.signCount) {
    return fail(
      `its signature counter did not go up (${signCount} after ${credential.signCount}): the credential may have been cloned`,
    );
  }
  return { ok: true, value: signCount };
}

/** An ES256 DER signature (SEQUENCE of two INTEGERs) as the 64-byte r ‖ s WebCrypto verifies; `null` when malformed. */
function derToRaw(der: Uint8Array): Uint8Array<ArrayBuffer> | null {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return null;
  const raw = new Uint8Array(64);
  let at = 2;
  for (let part = 0; part < 2; part++) {
    if (der[at] !== 0x02) return null;
    const length = der[at + 1]!;
    let start = at + 2;
    let size = length;
    if (start + size > der.length) return null;
    while (size > 32 && der[start] === 0) {
      start++;
      size--;
    }
    if (size > 32) return null;
    raw.set(der.subarray(start, start + size), part * 32 + (32 - size));
    at += 2 + length;
  }
  return at === der.length ? raw : null;
}
