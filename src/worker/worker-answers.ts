/**
 * What the worker's functions answer: a {@link WorkerReply}, carrying the calls the engine counted
 * while making it (rate limits, budgets), so the page keeps the windows, not this worker.
 */
import type { CountedCall } from '../engine/counted-calls.ts';
import type { WorkerReply } from './evaluator-api.ts';

// The calls the engine counted since the last answer: each answer takes them (see `answer`).
let counted: CountedCall[] = [];

/** Keeps a call the engine counted, for the next answer. */
export function countCall(call: CountedCall): void {
  counted.push(call);
}

/** A value, with the calls the engine counted while making it. */
export function answer<T>(value: T): WorkerReply<T> {
  if (counted.length === 0) return { ok: true, value };
  const reply: WorkerReply<T> = { ok: true, value, counted };
  counted = [];
  return reply;
}

/** The answer of every call when engine.wasm failed to load. */
export function compileFault(error: string): WorkerReply<never> {
  return { ok: false, fault: 'wasm_compile', error: `engine.wasm failed to load: ${error}` };
}

/** The answer to a call whose arguments are not what the interface takes. */
export function badRequest(error: string): WorkerReply<never> {
  return { ok: false, fault: 'bad_request', error };
}
