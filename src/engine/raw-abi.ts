/**
 * The engine's original ABI, byte for byte: the tool name, the args JSON and the context JSON in,
 * the length-prefixed response JSON text out.
 *
 * Checklist:
 * - inputs that are not strings are answered with an error response, never sent;
 * - the three inputs share one buffer (each its own pointer and length to the engine), written with
 *   encodeInto straight into the module's memory and freed before the call returns;
 * - a trap is thrown to the caller, which discards the instance.
 */
import type { EngineCore } from './engine-core.ts';
import type { EngineExports } from './engine-exports.ts';
import type { WasmMemory } from './wasm-memory.ts';

/**
 * The original ABI on `engine`, byte for byte: returns the response JSON text. A trap kills the
 * instance and is answered as an error response.
 */
export function evaluateAbi(
  engine: EngineCore,
  tool: string,
  argsJson: string,
  contextJson: string,
): string {
  if (engine.fault !== null) return JSON.stringify({ error: engine.fault });
  try {
    // The raw ABI selects the context's session (or the default one) for itself.
    engine.unselectSession();
    try {
      return evaluateRawAbi(engine.x, engine.mem, tool, argsJson, contextJson);
    } finally {
      // The engine may have grown (and so moved) the request region for large values.
      if (engine.loaded !== null) engine.writer.sync();
    }
  } catch (e) {
    return JSON.stringify({ error: engine.kill(e) });
  }
}

/**
 * Evaluates one request through the original ABI and returns the response JSON text.
 * @throws what the module throws (a trap), or when it cannot allocate the request buffer
 */
export function evaluateRawAbi(
  x: EngineExports,
  mem: WasmMemory,
  tool: string,
  argsJson: string,
  contextJson: string,
): string {
  if (typeof tool !== 'string' || typeof argsJson !== 'string' || typeof contextJson !== 'string') {
    return JSON.stringify({
      error: 'tool, arguments and context must be strings (the arguments and context as JSON text)',
    });
  }
  const cap = (tool.length + argsJson.length + contextJson.length) * 3 + 3;
  const base = x.alloc(cap);
  if (base === 0) throw new Error(`engine could not allocate ${cap} bytes`);
  try {
    mem.views();
    const t = mem.encode(tool, base);
    const a = mem.encode(argsJson, base + t);
    const c = mem.encode(contextJson, base + t + a);
    return mem.take(x.evaluate(base, t, base + t, a, base + t + a, c));
  } finally {
    x.dealloc(base, cap);
  }
}
