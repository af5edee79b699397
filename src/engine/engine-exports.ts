/**
 * Instantiating engine.wasm: the import allow-list, the exports the host needs and the ABI version.
 *
 * Checklist (each refusal is an error that says to rebuild or to use the matching engine.wasm):
 * - the module imports nothing but `env.abort` (no clock, no randomness, no host calls);
 * - it exports every function in {@link REQUIRED_EXPORTS};
 * - its `ABI_VERSION` is {@link ENGINE_ABI_VERSION}.
 */

/** The engine ABI version this host speaks; `create` refuses a module exporting another. */
export const ENGINE_ABI_VERSION = 1;

/** The only imports an engine module may declare. */
const ALLOWED_IMPORTS: ReadonlySet<string> = new Set(['env.abort']);

/** engine.wasm's exports (engine/assembly/index.ts). */
export interface EngineExports {
  memory: WebAssembly.Memory;
  ABI_VERSION: WebAssembly.Global;
  alloc(len: number): number;
  dealloc(ptr: number, len: number): void;
  init(ptr: number, len: number): number;
  evaluate(
    toolPtr: number,
    toolLen: number,
    argsPtr: number,
    argsLen: number,
    ctxPtr: number,
    ctxLen: number,
  ): number;
  plan(): number;
  region(): number;
  reserve(bytes: number): number;
  decide(entry: number, now: number, hasNow: number): number;
  explain(): number;
  countedKeep(entry: number): number;
  restoreCounted(entry: number, at: number): number;
  recordResult(ptr: number, len: number): number;
  session(ptr: number, len: number): number;
  state(): number;
  forget(): void;
}

const REQUIRED_EXPORTS = [
  'memory',
  'ABI_VERSION',
  'alloc',
  'dealloc',
  'init',
  'evaluate',
  'plan',
  'region',
  'reserve',
  'decide',
  'explain',
  'countedKeep',
  'restoreCounted',
  'recordResult',
  'session',
  'state',
  'forget',
] as const;

/**
 * Instantiates `module` after checking its imports, then its exports and ABI version. `readString`
 * reads an AssemblyScript string at a pointer for the abort hook's message (null while there is
 * no instance to read it from).
 * @throws when the module imports anything but `env.abort`, lacks an export, or has another ABI version
 */
export async function instantiateEngine(
  module: WebAssembly.Module,
  readString: (ptr: number) => string | null,
): Promise<EngineExports> {
  for (const imp of WebAssembly.Module.imports(module)) {
    const name = `${imp.module}.${imp.name}`;
    if (!ALLOWED_IMPORTS.has(name)) {
      throw new Error(
        `engine module imports "${name}"; only env.abort is allowed — rebuild engine.wasm with npm run build:engine`,
      );
    }
  }
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort(msgPtr: number, filePtr: number, line: number, column: number): never {
        throw new Error(
          `engine aborted: ${readString(msgPtr) ?? 'unknown'} at ${readString(filePtr) ?? '?'}:${line}:${column}`,
        );
      },
    },
  });
  const exports = instance.exports as Record<string, unknown>;
  for (const name of REQUIRED_EXPORTS) {
    if (!(name in exports))
      throw new Error(
        `engine module lacks the export "${name}"; rebuild engine.wasm with npm run build:engine`,
      );
  }
  const version = (exports.ABI_VERSION as WebAssembly.Global).value;
  if (version !== ENGINE_ABI_VERSION) {
    throw new Error(
      `engine module has ABI version ${String(version)}; this host speaks ${ENGINE_ABI_VERSION} — use the engine.wasm built with this package`,
    );
  }
  return exports as unknown as EngineExports;
}
