/**
 * The worker's engine: engine.wasm, started on the first call, or the reference evaluator where the
 * host chose `fallback: 'js'` and engine.wasm cannot compile.
 *
 * Checklist:
 * - the engine starts from the `WebAssembly.Module` the first `status` call brings (the page
 *   compiled engine.wasm while this worker booted), or else is compiled here, from a standard
 *   `new URL(..., import.meta.url)` (no `data:` URL) or the same-origin URL the bridge named the
 *   worker with, so the worker's own CSP decides (`'wasm-unsafe-eval'`); once started, a module
 *   given later is ignored;
 * - engine.wasm fetched here is checked against the digest the build recorded, and the reference
 *   evaluator's module against the digest the page named (`named-module.ts`); a failure is an
 *   answer, not a crash;
 * - every call the engine counts goes to `countCall` (`worker-answers.ts`).
 */
import { EngineCore } from '../engine/engine-core.ts';
import type { ReferenceEngine } from '../reference/reference-engine.ts';
import { ENGINE_WASM_SHA256, fetchVerified, recordedDigest } from '../backend/code-integrity.ts';
import { jsFallback, namedReference, namedWasmUrl } from './worker-name.ts';
import { importNamed } from './named-module.ts';
import { countCall } from './worker-answers.ts';
import { errorText } from '../encoding/text.ts';

declare const self: DedicatedWorkerGlobalScope;

/** engine.wasm, or the reference evaluator behind the same interface (`fallback: 'js'`). */
export type DecidingEngine = EngineCore | ReferenceEngine;
/** The engine, or why it could not start. */
export type EngineState = { ok: true; engine: DecidingEngine } | { ok: false; error: string };

/**
 * engine.wasm: the URL the bridge put in the worker's name (see `EVALUATOR_WORKER_NAME`), when it
 * is on this worker's origin; else the file next to this worker.
 */
function engineWasmUrl(): URL {
  let own: URL | null = null;
  try {
    own = new URL('../../engine/build/engine.wasm', import.meta.url);
  } catch {
    // Started from a blob: URL (the page checked this script's bytes first): nothing is relative to it.
  }
  return namedWasmUrl ?? own ?? new URL('/engine.wasm', self.location.origin);
}

const wasmUrl = engineWasmUrl();

// Started by the first call, not at start-up: the bridge's first call (`status`) may bring a module
// the page already compiled while this worker was booting (see `EvaluatorApi.status`); any other
// first call, or none given, compiles the file here, so this worker's own CSP decides.
/** The engine once started; the hot path takes it without awaiting. */
export let engine: DecidingEngine | null = null;
let engineState: Promise<EngineState> | null = null;

/**
 * Starts the engine once: on `compiled` when it is a module the page compiled, else compiled here;
 * later calls answer the same start.
 */
export function startEngine(compiled: unknown): Promise<EngineState> {
  if (engineState !== null) return engineState;
  // A module the page compiled was compiled from bytes the page checked; a file fetched here is
  // checked here, against the digest the build wrote into this script.
  const module =
    compiled instanceof WebAssembly.Module ? Promise.resolve(compiled) : compileChecked(wasmUrl);
  engineState = module
    .then((ready) => EngineCore.create(ready))
    .then(
      (created): EngineState => {
        created.countCalls(countCall);
        engine = created;
        return { ok: true, engine: created };
      },
      async (error: unknown): Promise<EngineState> => {
        if (!jsFallback) return { ok: false, error: errorText(error) };
        // Loaded only here: a page whose engine.wasm compiles never downloads the reference.
        try {
          const { ReferenceEngine } = await importNamed<typeof import('./worker-reference.ts')>(
            namedReference,
            'JS fallback',
            './worker-reference.ts',
          );
          const reference = new ReferenceEngine();
          reference.countCalls(countCall);
          engine = reference;
          return { ok: true, engine };
        } catch (fallbackError) {
          return {
            ok: false,
            error: `${errorText(error)}; the JS fallback failed to load too (${errorText(fallbackError)})`,
          };
        }
      },
    );
  return engineState;
}

/** engine.wasm compiled from bytes that match the build's record (unchecked in an unbundled build). */
async function compileChecked(url: URL): Promise<WebAssembly.Module> {
  const expected = recordedDigest(ENGINE_WASM_SHA256);
  if (expected === null) return WebAssembly.compileStreaming(fetch(url));
  const checked = await fetchVerified(url, expected, 'engine.wasm');
  if (!checked.ok) throw new Error(checked.error);
  return WebAssembly.compile(checked.bytes);
}

/** The engine, once compiled (started here if no call started it yet). */
export async function readyEngine(): Promise<EngineState> {
  return engine !== null ? { ok: true, engine } : startEngine(undefined);
}
