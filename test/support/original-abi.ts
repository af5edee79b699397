/**
 * The original perso ABI as a host written for the original `perso.wasm` sees it: four exports and
 * linear memory, nothing of perso's own host code in between.
 */

/** The exports such a host calls. */
export interface OriginalAbiExports {
  memory: WebAssembly.Memory;
  alloc(n: number): number;
  dealloc(p: number, n: number): void;
  init(p: number, n: number): number;
  evaluate(
    toolPtr: number,
    toolLen: number,
    argsPtr: number,
    argsLen: number,
    ctxPtr: number,
    ctxLen: number,
  ): number;
}

/** Instantiates engine.wasm with only the import it declares (`env.abort`, which throws). */
export async function instantiateOriginalAbi(
  module: WebAssembly.Module,
): Promise<OriginalAbiExports> {
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort: () => {
        throw new Error('abort');
      },
    },
  });
  return instance.exports as unknown as OriginalAbiExports;
}
