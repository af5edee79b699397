/**
 * SHA-256 of a text as lowercase hex: the policy hash in `status()`, audit records and WebAuthn
 * challenges. Its own module so that a page loading a policy does not load the audit record builder.
 */

/** SHA-256 of a text's UTF-8 bytes, as lowercase hex (WebCrypto: the same in Node and browsers). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)),
  );
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
