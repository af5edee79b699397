/**
 * The checks every copy of a policy passes, fresh or cached, before the rollback floor: size,
 * pinned hash, UTF-8, a well-formed revision, and a signature by a trusted key naming this
 * policy's id, revision and bytes.
 *
 * Checklist:
 * - a cached entry is untrusted storage: checked like a fresh download (with its stored
 *   signature), and against its own stored hash and revision;
 * - with keys, a copy without a signature is refused; without keys, no signature is kept.
 */
import type { PolicyEntry } from './policy-store.ts';
import {
  readRevision,
  sha256Hex,
  verifyIntegrity,
  verifySignatureFile,
} from './policy-integrity.ts';
import type { Checked, PolicyBytes, PolicyPublicKey } from './policy-integrity.ts';

/** A copy that passed every check but the floor. */
export interface Verified {
  text: string;
  sha256: string;
  revision: number | null;
  signature: string | null;
  keyId?: string;
}

/** What every check of one load needs. */
export interface VerificationContext {
  /** The identity signatures must name. */
  readonly id: string;
  /** Trusted signing keys; none: signatures are not checked (nor kept). */
  readonly keys: readonly PolicyPublicKey[];
  /** A pinned hash in SRI syntax, when the host pinned one. */
  readonly integrity: string | undefined;
  /** Bigger copies are refused. */
  readonly maxBytes: number;
}

/**
 * Verifies a cached entry: untrusted storage, checked like a fresh download (with its stored
 * signature) and against its own hash and revision.
 */
export async function verifyCached(
  entry: unknown,
  context: VerificationContext,
): Promise<Checked<Verified>> {
  const tampered = 'the cached copy was tampered with or corrupted';
  const e = entry as Partial<Record<keyof PolicyEntry, unknown>> | null;
  if (
    e === null ||
    typeof e !== 'object' ||
    !(e.bytes instanceof Uint8Array) ||
    typeof e.sha256 !== 'string' ||
    (e.signature !== null && typeof e.signature !== 'string')
  ) {
    return {
      ok: false,
      error: `${tampered} (malformed cache entry); reload while online to fetch it again`,
    };
  }
  const bytes = new Uint8Array(e.bytes);
  const actual = await sha256Hex(bytes);
  if (actual !== e.sha256) {
    return {
      ok: false,
      error: `${tampered} (sha256 ${actual} does not match the stored ${e.sha256}); reload while online to fetch it again`,
    };
  }
  const verified = await verify(bytes, e.signature as string | null, context, actual);
  if (!verified.ok) return { ok: false, error: `cached copy refused: ${verified.error}` };
  if (verified.value.revision !== e.revision) {
    return {
      ok: false,
      error: `${tampered} (its revision does not match the one stored with it); reload while online`,
    };
  }
  return verified;
}

/** The checks every copy passes, fresh or cached, before the floor; `known`: the bytes' SHA-256 when already made. */
export async function verify(
  bytes: PolicyBytes,
  signature: string | null,
  context: VerificationContext,
  known?: string,
): Promise<Checked<Verified>> {
  const { keys, maxBytes } = context;
  if (bytes.length > maxBytes) {
    return {
      ok: false,
      error: `policy is ${bytes.length} bytes, more than the ${maxBytes} allowed; shrink it or raise maxBytes`,
    };
  }
  if (context.integrity !== undefined) {
    const pinned = await verifyIntegrity(bytes, context.integrity);
    if (!pinned.ok) return pinned;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, error: 'policy is not valid UTF-8; save it as UTF-8' };
  }
  const revision = readRevision(text);
  if (!revision.ok) return revision;
  const sha256 = known ?? (await sha256Hex(bytes));
  const verified: Verified = {
    text,
    sha256,
    revision: revision.value,
    signature: keys.length > 0 ? signature : null,
  };
  if (keys.length > 0) {
    if (signature === null) {
      return {
        ok: false,
        error:
          'missing signature: public keys are configured but no signature was stored; reload while online',
      };
    }
    const signed = await verifySignatureFile(
      signature,
      { id: context.id, revision: revision.value ?? 0, sha256 },
      keys,
    );
    if (!signed.ok) return signed;
    verified.keyId = signed.value.keyId;
  }
  return { ok: true, value: verified };
}
