/** Bytes as lowercase hex: the form hashes, nonces and ids take in records and reasons. */

/**
 * The bytes as lowercase hex, two digits a byte.
 *
 * @param bytes the bytes to write
 */
export function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
