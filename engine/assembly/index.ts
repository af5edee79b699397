// Exports-only entry file of engine.wasm: the original perso ABI (alloc, dealloc, init, evaluate),
// the fast path (plan, region, reserve, decide, explain), counted calls (countedKeep,
// restoreCounted) and untrusted content (recordResult, session, state, forget). The contract is in
// abi.ts and docs/architecture.md.

// First: unpacks the static data before any other module's start code reads or allocates.
import './static-data';
import {
  collectSometimes,
  decideFast,
  evaluateRaw,
  explainFast,
  forgetState,
  initPolicy,
  recordResultJson,
  selectSessionAt,
  stateJson,
  regionPtr,
} from './abi';
import { planJson } from './plan';
import { reserve as reserveRegion } from './slots';
import { madeGarbage } from './writer';
import { countedKeep as keepOf, restoreCounted as restoreCall } from './counted-calls';

/** Version of the engine's host interface; hosts refuse a module whose version they do not know. */
export const ABI_VERSION: i32 = 1;

/** Reserves `len` bytes for the host to write an input into. */
export function alloc(len: i32): i32 {
  if (len < 0 || len > 1 << 28) return 0;
  const n: i32 = len > 0 ? len : 1;
  return <i32>heap.alloc(<usize>n);
}

/** Frees a buffer from `alloc`, or a response (length prefix included). */
export function dealloc(ptr: i32, _len: i32): void {
  if (ptr != 0) heap.free(<usize>ptr);
}

/** Loads a policy (UTF-8 JSON); returns a response `{"ok":true,...}` or `{"error":...,"errors":[...]}`. */
export function init(ptr: i32, len: i32): i32 {
  const r = <i32>initPolicy(<usize>ptr, len);
  __collect();
  return r;
}

/** Decides one call: tool name (UTF-8), arguments JSON, context JSON; returns a response. */
export function evaluate(
  toolPtr: i32,
  toolLen: i32,
  argsPtr: i32,
  argsLen: i32,
  ctxPtr: i32,
  ctxLen: i32,
): i32 {
  const r = <i32>(
    evaluateRaw(<usize>toolPtr, toolLen, <usize>argsPtr, argsLen, <usize>ctxPtr, ctxLen)
  );
  collectSometimes();
  return r;
}

/** The fast path's plan for the active policy: fields, rules and (tool, role) entries, as a response. */
export function plan(): i32 {
  const r = <i32>planJson();
  __collect();
  return r;
}

/** Address of the request region the host writes field slots into. */
export function region(): i32 {
  return <i32>regionPtr();
}

/** Grows the region's data area to at least `bytes`; returns the (possibly moved) region address. */
export function reserve(bytes: i32): i32 {
  return <i32>reserveRegion(bytes);
}

/** Decides entry `entry` over the slots the host wrote; a packed code, or -1 for malformed slots. */
export function decide(entry: i32, now: f64, hasNow: i32): i32 {
  return decideFast(entry, now, hasNow);
}

/** The last decision as response JSON, in an engine-owned buffer valid until the next call. */
export function explain(): i32 {
  const r = <i32>explainFast();
  if (madeGarbage) collectSometimes();
  return r;
}

/** How many counted calls (a rate limit's Allowed calls) entry `entry` keeps: 0 for none, -1 for no such entry. */
export function countedKeep(entry: i32): i32 {
  return keepOf(entry);
}

/** Counts, in a fresh instance, a call an earlier one allowed on `entry` at `at` seconds; 1 when counted. */
export function restoreCounted(entry: i32, at: f64): i32 {
  return restoreCall(entry, at);
}

/** Records a tool result (UTF-8 JSON `{"session", "tool", "role", "result", "untrusted"?}`); returns a response. */
export function recordResult(ptr: i32, len: i32): i32 {
  const r = <i32>recordResultJson(<usize>ptr, len);
  __collect();
  return r;
}

/** Selects the session (UTF-8 name) whose untrusted content the next decisions read; 1 when done. */
export function session(ptr: i32, len: i32): i32 {
  return selectSessionAt(<usize>ptr, len);
}

/** The state that outlives a call (untrusted content per session) as a response. */
export function state(): i32 {
  return <i32>stateJson();
}

/** Forgets every session's untrusted content. */
export function forget(): void {
  forgetState();
}
