/**
 * The worker's lazily loaded chunk (the WebAuthn verifier), checked like the
 * worker script and engine.wasm: the build writes each chunk's SHA-256 and file name over a
 * placeholder at its one import (`vite.code-digests.ts`), and the chunk's bytes are fetched and
 * checked before it is imported.
 *
 * Checklist:
 * - a recorded chunk is imported only once the bytes its URL serves hash to the recorded digest;
 *   a mismatch, a failed fetch or a digest that cannot be made throws (the caller answers Deny);
 * - a chunk the build folded into this worker's own file (`inline`) was checked with it;
 * - an unbuilt worker (sources served as they are, by a dev server) has placeholders left, and
 *   imports unchecked, as `recordedDigest` does for the worker and the wasm. What ships is built.
 */
import { fetchVerified } from '../backend/code-integrity.ts';

/** What the build writes over a placeholder for a chunk it folded into the worker's own file. */
const INLINE = 'inline';

/**
 * Imports a lazy chunk once its bytes match the build's record.
 *
 * @param recorded `'<base64 SHA-256> <file>'`, `'inline'`, or the unbuilt placeholder
 *   `'PERSO-CHUNK:<module name>'`
 * @param load the chunk's `import()`
 */
export async function importChecked<T>(recorded: string, load: () => Promise<T>): Promise<T> {
  // Read apart at run time (the build writes the value after minification): a digest is 44
  // characters, then one space, then the file's path relative to this worker.
  const space = recorded.indexOf(' ');
  if (space === 44) {
    const file = recorded.slice(space + 1);
    let url: URL;
    try {
      url = new URL(file, import.meta.url);
    } catch {
      throw new Error(
        `the worker's chunk "${file}" has no URL here (a worker started from its checked bytes, codeIntegrity: "strict", cannot load chunks); pass codeIntegrity: true`,
      );
    }
    const checked = await fetchVerified(url, recorded.slice(0, space), `the worker's chunk`);
    if (!checked.ok) throw new Error(checked.error);
  } else if (recorded !== INLINE && recorded.indexOf('PERSO-CHUNK:') !== 0) {
    throw new Error(
      `the worker's chunk record "${recorded.slice(0, 80)}" is malformed; rebuild perso`,
    );
  }
  return load();
}
