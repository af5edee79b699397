/**
 * Policy signatures: the `.sig` file format and its fetch, public-key import, verification, and the
 * signing helpers for release scripts. Loaded lazily by `policy-integrity.ts` (only pages with `publicKeys` and
 * signing scripts pay for it); the formats are described there.
 */
import type {
  Checked,
  PolicyBytes,
  PolicyPublicKey,
  PolicySignature,
  PolicySignatureFile,
  PolicyStatement,
  SignatureAlgorithm,
  VerifiedSignature,
} from './policy-integrity.ts';
import { fromBase64, toBase64 } from './base64.ts';
import { errorText, quote, showJson } from '../encoding/text.ts';
import type { FetchedSignature, PolicyFetchSettings } from './policy-fetch.ts';
import { DEFAULT_TIMEOUT_MS, isTransient } from './policy-fetch.ts';
// Type-only imports above: a value import from `policy-integrity.ts` would make the bundler split it
// into a chunk shared with the page's entry (one more request on every page). The few helpers this
// file needs are its own.

const NO_WEBCRYPTO =
  'this page has no WebCrypto (crypto.subtle exists only on https pages and localhost); serve the page over https';

const NO_ED25519 =
  'this browser has no WebCrypto Ed25519; publish an ES256 signature too and configure its public key';

/** The `format` of a signature file; the first line of the signed message. */
export const SIGNATURE_FORMAT = 'perso-policy-signature/2';

/**
 * The message a signature covers: the format, the policy's identity, its revision and the SHA-256
 * of its exact bytes. Built by the verifier from what it expects, never read from the file, so a
 * signature made for another policy or other bytes cannot verify. `JSON.stringify` quotes the id,
 * so no id can forge a line.
 */
export function signedMessage(statement: PolicyStatement): PolicyBytes {
  const text = `${SIGNATURE_FORMAT}\nid ${JSON.stringify(statement.id)}\nrevision ${statement.revision}\nsha256 ${statement.sha256}\n`;
  return new TextEncoder().encode(text);
}

/** Fetches the policy's detached signature (`signatureUrl`, default `<href>.sig`); never throws. */
export async function fetchSignature(
  href: string,
  options: PolicyFetchSettings,
): Promise<FetchedSignature> {
  const sigUrl = new URL(options.signatureUrl ?? `${href}.sig`, href).href;
  try {
    const response = await (options.fetch ?? fetch)(sigUrl, {
      cache: 'no-store',
      credentials: 'same-origin',
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    if (isTransient(response.status))
      return { kind: 'unavailable', error: `the signature server answered ${response.status}` };
    if (response.status !== 200) {
      return {
        kind: 'refused',
        error: `missing signature: ${quote(sigUrl, 200)} answered ${response.status}; publish the signature file next to the policy`,
      };
    }
    return { kind: 'ok', text: await response.text() };
  } catch (error) {
    return {
      kind: 'unavailable',
      error: `the network failed while fetching the signature (${errorText(error)})`,
    };
  }
}

/** Parses a `.sig` file (see `policy-integrity.ts` for the format). */
export function parseSignatureFile(text: string): Checked<PolicySignatureFile> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return {
      ok: false,
      error: `signature file is not valid JSON; publish {"format": "${SIGNATURE_FORMAT}", "id", "revision", "sha256", "signatures"}`,
    };
  }
  if (!isObject(doc)) return { ok: false, error: 'signature file is not a JSON object' };
  if (!Object.hasOwn(doc, 'format')) {
    // Format 1 signed the bytes alone: it does not say which policy it is for, so any policy the
    // same key signed would pass at this url. Never accepted; say how to re-sign.
    return {
      ok: false,
      error: `signature file is in the old format (a signature over the policy bytes alone, which does not name the policy); re-sign with signPolicy(bytes, {id, signers}) to publish a "${SIGNATURE_FORMAT}" file`,
    };
  }
  if (doc['format'] !== SIGNATURE_FORMAT) {
    return {
      ok: false,
      error: `signature file format ${showJson(doc['format'])} is not supported; expected "${SIGNATURE_FORMAT}"`,
    };
  }
  const { id, revision, sha256 } = {
    id: own(doc, 'id'),
    revision: own(doc, 'revision'),
    sha256: own(doc, 'sha256'),
  };
  if (typeof id !== 'string' || id === '')
    return { ok: false, error: 'signature file "id" must be a non-empty string naming the policy' };
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0) {
    return {
      ok: false,
      error: `signature file "revision" must be a non-negative integer, got ${showJson(revision)}`,
    };
  }
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    return { ok: false, error: 'signature file "sha256" must be 64 lowercase hex digits' };
  }
  const list = own(doc, 'signatures');
  if (!Array.isArray(list) || list.length === 0)
    return { ok: false, error: 'signature file lists no signature' };
  const signatures: PolicySignature[] = [];
  for (const [i, entry] of list.entries()) {
    if (
      !isObject(entry) ||
      (own(entry, 'alg') !== 'Ed25519' && own(entry, 'alg') !== 'ES256') ||
      typeof own(entry, 'key_id') !== 'string' ||
      typeof own(entry, 'signature') !== 'string'
    ) {
      return {
        ok: false,
        error: `signature file "signatures"[${i}] must be {"alg": "Ed25519" | "ES256", "key_id": string, "signature": base64}`,
      };
    }
    signatures.push({
      alg: entry['alg'] as SignatureAlgorithm,
      key_id: entry['key_id'] as string,
      signature: entry['signature'] as string,
    });
  }
  return { ok: true, value: { format: SIGNATURE_FORMAT, id, revision, sha256, signatures } };
}

/**
 * Verifies a `.sig` file against the host's keys and what the page expects: the policy's `id`
 * always, its `revision` and `sha256` when given (a fresh or cached copy); without them (a stored
 * rollback floor) the file's own are verified and returned.
 *
 * Checklist (each a hard failure):
 * - the file parses, is format 2 and lists at least one signature;
 * - its `id` is the expected one (a policy signed for another page is refused at this one);
 * - its `revision` and `sha256` are those of the bytes in hand;
 * - a signature made by a configured key that does not verify fails everything (a bad signature is
 *   never outvoted by a good one);
 * - at least one signature by a configured, usable key verifies; otherwise "unknown key";
 * - a configured Ed25519 key this runtime cannot import is skipped (ES256 can stand in for it).
 */
export async function verifySignatureFile(
  signatureFile: string,
  expected: { id: string; revision?: number; sha256?: string },
  keys: readonly PolicyPublicKey[],
): Promise<Checked<VerifiedSignature>> {
  if (globalThis.crypto?.subtle === undefined)
    return { ok: false, error: `signatures cannot be checked: ${NO_WEBCRYPTO}` };
  const parsed = parseSignatureFile(signatureFile);
  if (!parsed.ok) return parsed;
  const file = parsed.value;
  if (file.id !== expected.id) {
    return {
      ok: false,
      error: `the signature is for policy ${quote(file.id, 200)}, not ${quote(expected.id, 200)} that this page loads (a policy signed for another page); publish the policy signed for ${quote(expected.id, 200)}`,
    };
  }
  if (expected.revision !== undefined && file.revision !== expected.revision) {
    return {
      ok: false,
      error: `the signature is for revision ${file.revision} but the policy says revision ${expected.revision}; re-sign the exact file`,
    };
  }
  if (expected.sha256 !== undefined && file.sha256 !== expected.sha256) {
    return {
      ok: false,
      error: `the signature is for other bytes (sha256 ${file.sha256}, the policy's is ${expected.sha256}); re-sign the exact file`,
    };
  }
  const message = signedMessage(file);
  let verifiedBy: string | null = null;
  let unsupported = false;
  for (const signature of file.signatures) {
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
    const valid =
      raw !== null &&
      (await crypto.subtle.verify(algorithmParams(signature.alg), imported.value, raw, message));
    if (!valid) {
      return {
        ok: false,
        error: `bad ${signature.alg} signature by key "${signature.key_id}": the policy, its id or its revision were changed or signed with another key; re-sign the exact file`,
      };
    }
    verifiedBy = signature.key_id;
  }
  if (verifiedBy !== null)
    return {
      ok: true,
      value: { keyId: verifiedBy, id: file.id, revision: file.revision, sha256: file.sha256 },
    };
  if (unsupported) return { ok: false, error: NO_ED25519 };
  const seen = file.signatures.map((s) => `"${s.key_id}" (${s.alg})`).join(', ');
  const known = keys.map((k) => `"${k.keyId}" (${k.alg})`).join(', ') || 'none';
  return {
    ok: false,
    error: `policy is signed by unknown key ${seen}; configured keys: ${known}; configure the signer's public key`,
  };
}

/** Imports a configured public key for verification; an error when it is malformed. */
export async function importPolicyPublicKey(key: PolicyPublicKey): Promise<Checked<CryptoKey>> {
  if (typeof CryptoKey !== 'undefined' && key.publicKey instanceof CryptoKey)
    return { ok: true, value: key.publicKey };
  const params = importParams(key.alg);
  try {
    if (typeof key.publicKey === 'string') {
      const spki = fromBase64(key.publicKey);
      if (spki === null) throw new TypeError('not base64');
      return {
        ok: true,
        value: await crypto.subtle.importKey('spki', spki, params, false, ['verify']),
      };
    }
    return {
      ok: true,
      value: await crypto.subtle.importKey('jwk', key.publicKey as JsonWebKey, params, false, [
        'verify',
      ]),
    };
  } catch (error) {
    if (key.alg === 'Ed25519' && (error as Error).name === 'NotSupportedError')
      return { ok: false, error: NO_ED25519 };
    return {
      ok: false,
      error: `public key ${quote(key.keyId)} is not a valid ${key.alg} key (${errorText(error)}); configure base64 SPKI or a JWK`,
    };
  }
}

/** Imports a private signing key from base64 PKCS#8 or a JWK (for release scripts and tests). */
export async function importPolicyPrivateKey(
  alg: SignatureAlgorithm,
  privateKey: string | JsonWebKey,
): Promise<CryptoKey> {
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
  const pair = (await crypto.subtle.generateKey(importParams(alg), true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, publicKeySpki: toBase64(spki) };
}

/**
 * Signs a statement (policy id, revision, SHA-256 of the exact bytes) with each signer: the
 * signature file to publish at `<policy-url>.sig` as `JSON.stringify(result)`.
 */
export async function signStatement(
  statement: PolicyStatement,
  signers: readonly { privateKey: CryptoKey; keyId: string }[],
): Promise<PolicySignatureFile> {
  const message = signedMessage(statement);
  const signatures: PolicySignature[] = [];
  for (const { privateKey, keyId } of signers) {
    const alg: SignatureAlgorithm = privateKey.algorithm.name === 'ECDSA' ? 'ES256' : 'Ed25519';
    const signature = new Uint8Array(
      await crypto.subtle.sign(algorithmParams(alg), privateKey, message),
    );
    signatures.push({ alg, key_id: keyId, signature: toBase64(signature) });
  }
  return {
    format: SIGNATURE_FORMAT,
    id: statement.id,
    revision: statement.revision,
    sha256: statement.sha256,
    signatures,
  };
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

// Own properties only: a polluted Object.prototype must not supply a field.
function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}
