/**
 * Policy signing keys as JWK files, for `perso keygen`, `sign` and `verify`: `NAME.private.jwk`
 * (the signing half, written owner-only) and `NAME.public.jwk` (the half pages configure), each a
 * JSON Web Key whose `kid` is the key id a `.sig` file names.
 *
 * Checklist:
 * - the algorithm is read from the key itself (`OKP`/`Ed25519` or `EC`/`P-256`), never guessed;
 * - a private key where a public one is expected (or the reverse) is an error that names the file
 *   to pass instead, so a signing key is never configured in a page by mistake;
 * - a file is never overwritten: keygen refuses a name already in use;
 * - never throws: every failure is `{ok: false, error}` naming the file.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Checked, PolicyPublicKey, SignatureAlgorithm } from '../policy/policy-integrity.ts';
import { errorText, fileErrorText, quote, showJson } from '../encoding/text.ts';

/** A key read from a JWK file: its id, its algorithm and the JWK itself. */
export interface KeyFile {
  /** The file it was read from, as given. */
  path: string;
  /** The JWK's `kid`: the `key_id` in `.sig` files and `keyId` in `publicKeys`. */
  keyId: string;
  /** `Ed25519` or `ES256`, from the key's `kty` and `crv`. */
  alg: SignatureAlgorithm;
  /** The JWK as stored. */
  jwk: JsonWebKey & { kid?: string };
}

/** The two file names `perso keygen NAME` writes. */
export function keyFileNames(name: string): { privateFile: string; publicFile: string } {
  return { privateFile: `${name}.private.jwk`, publicFile: `${name}.public.jwk` };
}

/** The `publicKeys` entry of `Perso.load` for a public key file. */
export function publicKeyEntry(key: KeyFile): PolicyPublicKey {
  return { keyId: key.keyId, alg: key.alg, publicKey: key.jwk };
}

/** Reads a JWK file and checks that it is the half asked for. */
export async function readKeyFile(
  path: string,
  half: 'private' | 'public',
): Promise<Checked<KeyFile>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return {
      ok: false,
      error: `key file ${quote(path, 200)} could not be read (${fileErrorText(error)}); pass a file "perso keygen" wrote`,
    };
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    return {
      ok: false,
      error: `key file ${quote(path, 200)} is not JSON; pass a file "perso keygen" wrote`,
    };
  }
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk))
    return { ok: false, error: `key file ${quote(path, 200)} is not a JSON Web Key object` };
  const key = jwk as JsonWebKey & { kid?: unknown };
  const alg = algorithmOf(key);
  if (alg === null) {
    return {
      ok: false,
      error: `key file ${quote(path, 200)} is not an Ed25519 or P-256 key (kty ${showJson(key.kty)}, crv ${showJson(key.crv)}); make one with "perso keygen"`,
    };
  }
  if (typeof key.kid !== 'string' || key.kid === '')
    return {
      ok: false,
      error: `key file ${quote(path, 200)} has no "kid" (the key id signatures name); add one or make the key with "perso keygen"`,
    };
  const isPrivate = typeof key.d === 'string';
  if (half === 'private' && !isPrivate)
    return {
      ok: false,
      error: `key file ${quote(path, 200)} is a public key; sign with the .private.jwk file "perso keygen" wrote beside it`,
    };
  if (half === 'public' && isPrivate)
    return {
      ok: false,
      error: `key file ${quote(path, 200)} is a private signing key; pass the .public.jwk file "perso keygen" wrote beside it (never configure the private half)`,
    };
  return { ok: true, value: { path, keyId: key.kid, alg, jwk: key as KeyFile['jwk'] } };
}

/**
 * Writes a new key file: never over an existing one, and owner-only for a private key.
 * @returns an error naming the file when it exists or cannot be written
 */
export async function writeKeyFile(
  path: string,
  jwk: JsonWebKey,
  half: 'private' | 'public',
): Promise<Checked<void>> {
  try {
    await writeFile(path, `${JSON.stringify(jwk, null, 2)}\n`, {
      flag: 'wx',
      mode: half === 'private' ? 0o600 : 0o644,
    });
    return { ok: true, value: undefined };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      error:
        code === 'EEXIST'
          ? `${quote(path, 200)} exists; choose another name, or remove it first if the key it holds is no longer used`
          : `${quote(path, 200)} could not be written (${code ?? errorText(error)})`,
    };
  }
}

function algorithmOf(jwk: JsonWebKey): SignatureAlgorithm | null {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'Ed25519';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  return null;
}
