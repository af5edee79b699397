/**
 * Finds and compiles engine.wasm in Node. The relative URL is valid both from `src/engine/` and
 * from the compiled `dist/engine/`. Browsers use `WebAssembly.compileStreaming(fetch(url))` instead.
 */
import { readFile } from 'node:fs/promises';

/** Where engine.wasm lives, relative to this module. */
export const ENGINE_WASM_URL: URL = new URL('../../engine/build/engine.wasm', import.meta.url);

let compiled: Promise<WebAssembly.Module> | null = null;

/** Reads and compiles engine.wasm once per process; later calls share the compiled module. */
export function loadEngineModule(): Promise<WebAssembly.Module> {
  compiled ??= readFile(ENGINE_WASM_URL).then((bytes) => WebAssembly.compile(bytes));
  // A failed read must not be cached forever: the next call retries.
  compiled.catch(() => {
    compiled = null;
  });
  return compiled;
}
