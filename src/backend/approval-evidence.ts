/**
 * What a page sends back with a WebAuthn approval: the authenticator's assertion (and, the first
 * time, the registration of its credential), or why the ceremony gave none. Plain strings, so it
 * crosses the worker boundary as a structured clone and can be checked field by field there.
 *
 * Evidence is a claim, never a permission: the ledger (where the engine runs) verifies the
 * signature against the registered credential and the challenge of this exact ticket.
 */
import { truncate } from '../encoding/text.ts';

/** COSE algorithm id of ES256 (ECDSA P-256 with SHA-256), one of the two perso verifies. */
export const COSE_ES256 = -7;
/** COSE algorithm id of EdDSA (Ed25519), the other. */
export const COSE_EDDSA = -8;

/** How a WebAuthn approval is released: `"click"` (perso's prompt) or `"webauthn"` (an authenticator). */
export type ApprovalKind = 'click' | 'webauthn';

/** An assertion from `navigator.credentials.get()`, each byte field as URL-safe base64. */
export interface WebAuthnAssertion {
  /** The credential's raw id. */
  readonly credentialId: string;
  /** `response.clientDataJSON`. */
  readonly clientDataJSON: string;
  /** `response.authenticatorData`. */
  readonly authenticatorData: string;
  /** `response.signature` (DER for ES256, raw for EdDSA). */
  readonly signature: string;
}

/** A credential made by `navigator.credentials.create()` on first use. */
export interface WebAuthnRegistration {
  /** The credential's raw id. */
  readonly credentialId: string;
  /** `response.getPublicKey()`: SubjectPublicKeyInfo, DER. */
  readonly publicKey: string;
  /** `response.getPublicKeyAlgorithm()`: -7 (ES256) or -8 (EdDSA). */
  readonly algorithm: number;
  /** `response.clientDataJSON` (type `webauthn.create`). */
  readonly clientDataJSON: string;
  /** `response.getAuthenticatorData()`. */
  readonly authenticatorData: string;
}

/** Why a ceremony produced no assertion. */
export type CeremonyFailure = 'unavailable' | 'cancelled' | 'failed';

/** A page's answer to a WebAuthn Ask: an assertion (with a first-use registration), or a failure. */
export type ApprovalEvidence =
  | {
      readonly kind: 'webauthn';
      readonly assertion: WebAuthnAssertion;
      readonly registration?: WebAuthnRegistration;
    }
  | {
      readonly kind: 'webauthn-failed';
      readonly failure: CeremonyFailure;
      readonly detail: string;
    };

const BASE64URL = /^[A-Za-z0-9_-]{1,65536}$/;

function isBytes(value: unknown): value is string {
  return typeof value === 'string' && BASE64URL.test(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads evidence from another realm field by field; `null` when it does not have the shape.
 *
 * @param value what the page sent
 */
export function readEvidence(value: unknown): ApprovalEvidence | null {
  if (!isRecord(value)) return null;
  if (value.kind === 'webauthn-failed') {
    const { failure, detail } = value;
    if (
      (failure !== 'unavailable' && failure !== 'cancelled' && failure !== 'failed') ||
      typeof detail !== 'string'
    )
      return null;
    return { kind: 'webauthn-failed', failure, detail: truncate(detail, 200) };
  }
  if (value.kind !== 'webauthn' || !isRecord(value.assertion)) return null;
  const { credentialId, clientDataJSON, authenticatorData, signature } = value.assertion;
  if (
    !isBytes(credentialId) ||
    !isBytes(clientDataJSON) ||
    !isBytes(authenticatorData) ||
    !isBytes(signature)
  )
    return null;
  const assertion: WebAuthnAssertion = {
    credentialId,
    clientDataJSON,
    authenticatorData,
    signature,
  };
  if (value.registration === undefined) return { kind: 'webauthn', assertion };
  if (!isRecord(value.registration)) return null;
  const r = value.registration;
  if (
    !isBytes(r.credentialId) ||
    !isBytes(r.publicKey) ||
    typeof r.algorithm !== 'number' ||
    !isBytes(r.clientDataJSON) ||
    !isBytes(r.authenticatorData)
  )
    return null;
  const registration: WebAuthnRegistration = {
    credentialId: r.credentialId,
    publicKey: r.publicKey,
    algorithm: r.algorithm,
    clientDataJSON: r.clientDataJSON,
    authenticatorData: r.authenticatorData,
  };
  return { kind: 'webauthn', assertion, registration };
}
