/**
 * engine.wasm compiled on the page while the evaluator worker boots (its script is fetched and
 * parsed meanwhile), once per page: the worker's first call (`status`) carries the module and the
 * worker instantiates it instead of fetching and compiling the file after its own start.
 *
 * Checklist:
 * - a built page compiles only bytes whose SHA-256 matches the build's record;
 * - every failure is `null` (no `compileStreaming`, a fetch refused by `connect-src`, a CSP without
 *   `'wasm-unsafe-eval'`, a mismatch): the worker then compiles the file itself, checks it too, and
 *   answers the reason;
 * - a page-side compile never holds up a start for longer than the start timeout.
 */
import { ENGINE_WASM_SHA256, checkCode, recordedDigest } from './code-integrity.ts';
import { sha256Digest } from '../encoding/sha256-hex.ts';

/**
 * engine.wasm next to the library; a literal `new URL(...)` so bundlers copy (and rename) the file
 * and rewrite this reference.
 */
export function engineWasmUrl(): URL {
  return new URL('../../engine/build/engine.wasm', import.meta.url);
}

/**
 * The page's compiled engine.wasm (checked against the build's record when `verify`), or `null`
 * when it has none within `timeoutMs`: the worker then compiles the file itself.
 */
export function pageEngineModule(
  verify: boolean,
  timeoutMs: number,
): Promise<WebAssembly.Module | null> {
  return within(compileOnPage(verify), timeoutMs);
}

/** One compile per page (and one unchecked, for a development server that rewrites its files). */
let pageModule: Promise<WebAssembly.Module | null> | null = null;
let uncheckedPageModule: Promise<WebAssembly.Module | null> | null = null;

function compileOnPage(verify: boolean): Promise<WebAssembly.Module | null> {
  if (!verify) {
    uncheckedPageModule ??= WebAssembly.compileStreaming(fetch(engineWasmUrl())).catch(() => null);
    return uncheckedPageModule;
  }
  if (pageModule === null) {
    try {
      const expected = recordedDigest(ENGINE_WASM_SHA256);
      // A built page compiles only bytes it checked; on a mismatch the worker fetches the file
      // itself, checks it too, and answers the reason (every call is then a Deny that says why).
      pageModule = (
        expected === null
          ? WebAssembly.compileStreaming(fetch(engineWasmUrl()))
          : compileChecked(expected)
      ).catch(() => null);
    } catch {
      pageModule = Promise.resolve(null);
    }
  }
  return pageModule;
}

/**
 * engine.wasm compiled on the page from bytes that match the build's record. The compile starts as
 * soon as the bytes are in, beside the check; its module is used only if the check passed.
 */
async function compileChecked(expected: string): Promise<WebAssembly.Module | null> {
  const url = engineWasmUrl();
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) return null;
  const bytes = new Uint8Array(await response.arrayBuffer());
  const compiling = WebAssembly.compile(bytes);
  const problem = await checkCode(bytes, expected, `engine.wasm ("${url.href}")`, sha256Digest);
  if (problem !== null) {
    compiling.catch(() => undefined);
    return null;
  }
  return compiling;
}

/** `promise`'s value, or `null` after `ms`: a page-side compile never holds up a start for long. */
function within<T>(promise: Promise<T | null>, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}
