/**
 * Policy signatures: the `.sig` file format, public-key import, verification, and the signing helpers
 * for release scripts. Loaded lazily by `policy-integrity.ts` (only pages with `publicKeys` and
 * signing scripts pay for it); the formats are described there.
 */
import type { Checked, PolicyBytes, PolicyPublicKey, PolicySignature, SignatureAlgorithm } from './policy-integrity.ts';
import { fromBase64, toBase64 } from './base64.ts';
// Type-only imports above: a value import from `policy-integrity.ts` would make the bundler split it
// into a chunk shared with the page's entry (one more request on every page). The few helpers this
// file needs are its own.

const NO_WEBCRYPTO =
  'this page has no WebCrypto (crypto.subtle exists only on https pages and localhost); serve the page over https';

const NO_ED25519 =
  'this browser has no WebCrypto Ed25519; publish an ES256 signature too and configure its public key';

/** Parses a `.sig` file: one signature object or `{"signatures": [...]}`. */
export function parseSignatureFile(text: string): Checked<PolicySignature[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, error: 'signature file is not valid JSON; publish {"alg","key_id","signature"}' };
  }
  const list = isObject(doc) && Array.isArray(doc['signatures']) ? (doc['signatures'] as unknown[]) : [doc];
  const signatures: PolicySignature[] = [];
  for (const [i, entry] of list.entries()) {
    if (
      !isObject(entry) ||
      (entry['alg'] !== 'Ed25519' && entry['alg'] !== 'ES256') ||
      typeof entry['key_id'] !== 'string' ||
      typeof entry['signature'] !== 'string'
    ) {
      return {
        ok: false,
        error: `signature file entry ${i} must be {"alg": "Ed25519" | "ES256", "key_id": string, "signature": base64}`,
      };
    }
    signatures.push({ alg: entry['alg'], key_id: entry['key_id'], signature: entry['signature'] });
  }
  if (signatures.length === 0) return { ok: false, error: 'signature file lists no signature' };
  return { ok: true, value: signatures };
}

/**
 * Verifies a `.sig` file over the exact policy bytes against the host's keys.
 *
 * Checklist (each a hard failure):
 * - the file parses and lists at least one signature;
 * - a signature made by a configured key that does not verify fails everything (a bad signature is
 *   never outvoted by a good one);
 * - at least one signature by a configured, usable key verifies; otherwise "unknown key";
 * - a configured Ed25519 key this runtime cannot import is skipped (ES256 can stand in for it).
 *
 * @returns the `key_id` that verified
 */
export async function verifySignature(
  bytes: PolicyBytes,
  signatureFile: string,
  keys: readonly PolicyPublicKey[],
): Promise<Checked<string>> {
  if (globalThis.crypto?.subtle === undefined) return { ok: false, error: `signatures cannot be checked: ${NO_WEBCRYPTO}` };
  const parsed = parseSignatureFile(signatureFile);
  if (!parsed.ok) return parsed;
  let verifiedBy: string | null = null;
  let unsupported = false;
  for (const signature of parsed.value) {
    const key = keys.find((k) => k.keyId === signature.key_id && k.alg === signature.alg);
    if (key === undefined) continue;
    const imported = await importPolicyPublicKey(key);
    if (!imported.ok) {
      if (imported.error === NO_ED25519) {
        unsupported = true;
        continue;
      }
      return imported;
    }
    const raw = fromBase64(signature.signature);
    const valid = raw !== null && (await crypto.subtle.verify(algorithmParams(signature.alg), imported.value, raw, bytes));
    if (!valid) {
      return {
        ok: false,
        error: `bad ${signature.alg} signature by key "${signature.key_id}": the policy bytes were changed or signed with another key; re-sign the exact file`,
      };
    }
    verifiedBy = signature.key_id;
  }
  if (verifiedBy !== null) return { ok: true, value: verifiedBy };
  if (unsupported) return { ok: false, error: NO_ED25519 };
  const seen = parsed.value.map((s) => `"${s.key_id}" (${s.alg})`).join(', ');
  const known = keys.map((k) => `"${k.keyId}" (${k.alg})`).join(', ') || 'none';
  return {
    ok: false,
    error: `policy is signed by unknown key ${seen}; configured keys: ${known}; configure the signer's public key`,
  };
}

/** Imports a configured public key for verification; an error when it is malformed. */
export async function importPolicyPublicKey(key: PolicyPublicKey): Promise<Checked<CryptoKey>> {
  if (typeof CryptoKey !== 'undefined' && key.publicKey instanceof CryptoKey) return { ok: true, value: key.publicKey };
  const params = importParams(key.alg);
  try {
    if (typeof key.publicKey === 'string') {
      const spki = fromBase64(key.publicKey);
      if (spki === null) throw new TypeError('not base64');
      return { ok: true, value: await crypto.subtle.importKey('spki', spki, params, false, ['verify']) };
    }
    return { ok: true, value: await crypto.subtle.importKey('jwk', key.publicKey as JsonWebKey, params, false, ['verify']) };
  } catch (error) {
    if (key.alg === 'Ed25519' && (error as Error).name === 'NotSupportedError') return { ok: false, error: NO_ED25519 };
    return {
      ok: false,
      error: `public key "${key.keyId}" is not a valid ${key.alg} key (${(error as Error).message}); configure base64 SPKI or a JWK`,
    };
  }
}

/** Imports a private signing key from base64 PKCS#8 or a JWK (for release scripts and tests). */
export async function importPolicyPrivateKey(alg: SignatureAlgorithm, privateKey: string | JsonWebKey): Promise<CryptoKey> {
  const params = importParams(alg);
  if (typeof privateKey === 'string') {
    const pkcs8 = fromBase64(privateKey);
    if (pkcs8 === null) throw new TypeError(`private key for ${alg} is not base64 PKCS#8`);
    return crypto.subtle.importKey('pkcs8', pkcs8, params, false, ['sign']);
  }
  return crypto.subtle.importKey('jwk', privateKey, params, false, ['sign']);
}

/** A fresh signing key pair; the public half as base64 SPKI, ready for `publicKeys`. */
export async function generatePolicyKeyPair(
  alg: SignatureAlgorithm,
): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; publicKeySpki: string }> {
  const pair = (await crypto.subtle.generateKey(importParams(alg), true, ['sign', 'verify'])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, publicKeySpki: toBase64(spki) };
}

/**
 * Signs the exact policy bytes. Publish `JSON.stringify(result)` (or several results as
 * `{"signatures": [...]}`) at `<policy-url>.sig`.
 */
export async function signPolicy(bytes: PolicyBytes, privateKey: CryptoKey, keyId: string): Promise<PolicySignature> {
  const alg: SignatureAlgorithm = privateKey.algorithm.name === 'ECDSA' ? 'ES256' : 'Ed25519';
  const signature = new Uint8Array(await crypto.subtle.sign(algorithmParams(alg), privateKey, bytes));
  return { alg, key_id: keyId, signature: toBase64(signature) };
}

function importParams(alg: SignatureAlgorithm): AlgorithmIdentifier | EcKeyImportParams {
  return alg === 'ES256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'Ed25519' };
}

function algorithmParams(alg: SignatureAlgorithm): AlgorithmIdentifier | EcdsaParams {
  return alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
