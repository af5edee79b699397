// Exports-only entry file of engine.wasm (skeleton; the evaluator lands in the next commit).

/** Version of the engine's host interface; hosts refuse a module whose version they do not know. */
export const ABI_VERSION: i32 = 1;

/** Reserves `len` bytes for the host to write an input into. */
export function alloc(len: i32): i32 {
  return <i32>heap.alloc(<usize>len);
}

/** Frees a buffer from `alloc`, or a response (length prefix included). */
export function dealloc(ptr: i32, len: i32): void {
  heap.free(<usize>ptr);
}
