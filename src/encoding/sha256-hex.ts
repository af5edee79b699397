/**
 * SHA-256 of bytes or text, as bytes or lowercase hex: the policy hash in `status()`, cache entries,
 * signatures, tool pins, audit records and WebAuthn challenges. WebCrypto where the page has it,
 * else the plain-JavaScript digest in policy/sha256.ts, loaded only then (`crypto.subtle` exists
 * only in secure contexts, and a page on plain http must still hash its policy and its tools).
 * Its own module so that a page loading a policy does not load the audit record builder.
 */
import { toHex } from './hex.ts';

/**
 * The SHA-256 digest (32 bytes) of the bytes, or of the text's UTF-8 bytes.
 *
 * @param data the bytes or text to hash
 */
export async function sha256Digest(data: string | Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const subtle = globalThis.crypto?.subtle;
  if (subtle !== undefined) return new Uint8Array(await subtle.digest('SHA-256', bytes));
  return (await import('../policy/sha256.ts')).sha256(bytes);
}

/**
 * SHA-256 of the bytes, or of the text's UTF-8 bytes, as lowercase hex.
 *
 * @param data the bytes or text to hash
 */
export async function sha256Hex(data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(await sha256Digest(data));
}
