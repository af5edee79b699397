/**
 * Policy integrity: host-pinned hashes (SRI syntax, `sha256-<base64>`; several tokens mean "any of
 * these"), detached `.sig` files (format 2) that name the policy, its revision and its exact bytes,
 * and the policy's `revision`. The formats are in docs/policy-loading.md.
 *
 * Checklist:
 * - a signature covers the statement `perso-policy-signature/2\nid "<id>"\nrevision N\nsha256 <hex>\n`
 *   (the id JSON-quoted), never the bytes alone: format 1 is refused with how to re-sign;
 * - `alg` is `Ed25519` or `ES256` (the 64-byte r‖s form WebCrypto makes);
 * - `revision` is a top-level non-negative integer inside the policy (absent counts as 0);
 * - without WebCrypto (plain http) SHA-256 falls back to plain JavaScript; signatures and
 *   sha384/sha512 pins are refused, never skipped.
 */

/** Signature algorithms perso verifies. */
export const SignatureAlgorithm = Object.freeze({
  Ed25519: 'Ed25519',
  /** ECDSA over P-256 with SHA-256, for browsers without WebCrypto Ed25519. */
  ES256: 'ES256',
} as const);
/** `Ed25519` or `ES256`; see {@link SignatureAlgorithm}. */
export type SignatureAlgorithm = (typeof SignatureAlgorithm)[keyof typeof SignatureAlgorithm];

/** One signature entry of a `.sig` file. */
export interface PolicySignature {
  /** `Ed25519` or `ES256`. */
  alg: SignatureAlgorithm;
  /** Names the public key the host configured under the same `keyId`. */
  key_id: string;
  /** Base64 signature over the statement's message (see the module comment). */
  signature: string;
}

/** What a signature vouches for: one revision of one policy, as exact bytes. */
export interface PolicyStatement {
  /** The policy's identity: the `policyId` the host configured, or the policy's absolute URL. */
  id: string;
  /** The policy's top-level `revision` (absent counts as 0). */
  revision: number;
  /** SHA-256 of the exact policy bytes, lowercase hex. */
  sha256: string;
}

/** A `.sig` file (format 2): the statement and its signatures. */
export interface PolicySignatureFile extends PolicyStatement {
  /** Always `perso-policy-signature/2`. */
  format: 'perso-policy-signature/2';
  /** One signature per key, each over the statement's message. */
  signatures: PolicySignature[];
}

/** A signature file that verified: the statement it vouches for and the key that signed it. */
export interface VerifiedSignature extends PolicyStatement {
  /** The `key_id` that verified. */
  keyId: string;
}

/** A public key the host trusts to sign its policies. */
export interface PolicyPublicKey {
  /** Matches `key_id` in the `.sig` file. */
  keyId: string;
  /** `Ed25519` or `ES256`. */
  alg: SignatureAlgorithm;
  /** Base64 SPKI (DER), a JWK, or an already imported `CryptoKey`. */
  publicKey: string | JsonWebKey | CryptoKey;
}

/** An answer that cannot throw: `{ok: true, value}` or `{ok: false, error}`. */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** Bytes that WebCrypto accepts (an `ArrayBuffer`-backed view). */
export type PolicyBytes = Uint8Array<ArrayBuffer>;

import { fromBase64, toBase64 } from './base64.ts';
import type { FetchedSignature, PolicyFetchSettings } from './policy-fetch.ts';
import { sha256Hex } from '../encoding/sha256-hex.ts';
import { FETCH_FILES_FIX, errorText, notLoaded, quote, showJson } from '../encoding/text.ts';

export { fromBase64, toBase64 };

/** SHA-256 of the bytes (or text), as lowercase hex: see sha256-hex.ts. */
export { sha256Hex };

// Pinned hashes (SRI syntax) are checked by `policy-sri.ts`, loaded on first use: a page that
// pins no `integrity` never downloads it.
type SriModule = typeof import('./policy-sri.ts');

/** The SRI token (`sha256-<base64>`, or `sha384-`/`sha512-`) for the bytes, to pin as `integrity`. */
export async function integrityOf(
  bytes: PolicyBytes,
  algorithm: 'sha256' | 'sha384' | 'sha512' = 'sha256',
): Promise<string> {
  return (await import('./policy-sri.ts')).integrityOf(bytes, algorithm);
}

/**
 * Checks the bytes against a pinned `integrity` value (SRI syntax; any one token may match).
 * A value with no token perso understands is an error, never a pass; so is a checker that cannot
 * be loaded.
 */
export async function verifyIntegrity(
  bytes: PolicyBytes,
  integrity: string,
): Promise<Checked<string>> {
  let sri: SriModule;
  try {
    sri = await import('./policy-sri.ts');
  } catch (error) {
    return {
      ok: false,
      error: `integrity ${quote(integrity, 200)} cannot be checked: ${notLoaded('the checker', error)}; ${FETCH_FILES_FIX}`,
    };
  }
  return sri.verifyIntegrity(bytes, integrity);
}

/**
 * Reads the policy's top-level `"revision"`: `null` when absent, an error when it is not a
 * non-negative integer or the text is not a JSON object.
 */
export function readRevision(text: string): Checked<number | null> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      error: `policy is not valid JSON (${errorText(error)}); fix the file`,
    };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    return { ok: false, error: 'policy is not a JSON object; fix the file' };
  }
  if (!Object.hasOwn(doc, 'revision')) return { ok: true, value: null };
  const revision = (doc as { revision: unknown }).revision;
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) {
    return {
      ok: false,
      error: `policy "revision" must be a non-negative integer, got ${showJson(revision)}`,
    };
  }
  return { ok: true, value: revision };
}

// Signature code (parsing, key import, verification, signing) lives in `policy-signature.ts` and is
// loaded on first use: a page that configures no `publicKeys` never downloads it.
const signatureModule = (): Promise<typeof import('./policy-signature.ts')> =>
  import('./policy-signature.ts');

/**
 * Fetches the policy's `.sig` file (see `policy-signature.ts`, which loads with it: the signature is
 * verified next). Fails closed: when that code cannot be loaded the signature is refused, naming it.
 */
export async function fetchSignature(
  href: string,
  options: PolicyFetchSettings,
): Promise<FetchedSignature> {
  let verifier: typeof import('./policy-signature.ts');
  try {
    verifier = await signatureModule();
  } catch (error) {
    return {
      kind: 'refused',
      error: `signatures cannot be checked: ${notLoaded('the verifier', error)}; ${FETCH_FILES_FIX}`,
    };
  }
  return verifier.fetchSignature(href, options);
}

/**
 * Verifies a `.sig` file against the host's keys and the expected id (and revision and SHA-256,
 * when given); see `policy-signature.ts` for the checklist. Fails closed: when the verifier cannot
 * be loaded the answer is an error, never a pass.
 */
export async function verifySignatureFile(
  signatureFile: string,
  expected: { id: string; revision?: number; sha256?: string },
  keys: readonly PolicyPublicKey[],
): Promise<Checked<VerifiedSignature>> {
  let verifier: typeof import('./policy-signature.ts');
  try {
    verifier = await signatureModule();
  } catch (error) {
    return {
      ok: false,
      error: `signatures cannot be checked: ${notLoaded('the verifier', error)}; ${FETCH_FILES_FIX}`,
    };
  }
  return verifier.verifySignatureFile(signatureFile, expected, keys);
}

/** Imports a private signing key from base64 PKCS#8 or a JWK (for release scripts and tests). */
export async function importPolicyPrivateKey(
  alg: SignatureAlgorithm,
  privateKey: string | JsonWebKey,
): Promise<CryptoKey> {
  return (await signatureModule()).importPolicyPrivateKey(alg, privateKey);
}

/** A fresh signing key pair; the public half as base64 SPKI, ready for `publicKeys`. */
export async function generatePolicyKeyPair(
  alg: SignatureAlgorithm,
): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; publicKeySpki: string }> {
  return (await signatureModule()).generatePolicyKeyPair(alg);
}

/**
 * Signs a policy for one identity: reads its `revision`, hashes its exact bytes, and signs that
 * statement with each signer. Publish `JSON.stringify(result)` at `<policy-url>.sig`.
 * @param options.id the policy's identity: the absolute URL pages load it from, or the `policyId`
 *   they configure
 * @throws when the bytes are not a JSON object with a valid revision
 */
export async function signPolicy(
  bytes: PolicyBytes,
  options: { id: string; signers: readonly { privateKey: CryptoKey; keyId: string }[] },
): Promise<PolicySignatureFile> {
  const revision = readRevision(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  if (!revision.ok) throw new Error(revision.error);
  const statement = {
    id: options.id,
    revision: revision.value ?? 0,
    sha256: await sha256Hex(bytes),
  };
  return (await signatureModule()).signStatement(statement, options.signers);
}
