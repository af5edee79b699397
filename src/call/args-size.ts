/**
 * The size bound on a call's canonical args: perso refuses what it could not decide in time.
 *
 * A worker call that takes longer than its timeout is a Deny and the worker is replaced; a model
 * that could send arguments big enough for that could make perso restart at will (and a value
 * nested a few thousand deep cannot even be posted to a worker). The canonical copy
 * (canonical-args.ts) is measured before anything is sent, and a copy over a bound is an
 * `invalid_request` Deny that names its measure and the bound.
 *
 * Checklist:
 * - three bounds, all measured from the copy (plain, frozen data) in one walk, without making its
 *   JSON text: its JSON length (an escaped character counted once) at most 1 MiB, the original
 *   ABI's input limit; at most 100,000 values (each string, number, boolean, null, array and
 *   object), since copying a value to the worker costs per value far more than per byte; nesting
 *   at most 64 deep, the engine's own JSON limit;
 * - at the bounds, the worker decides a call of any shape well within the default 500 ms timeout
 *   (measured in Chromium: docs/browser.md);
 * - deep values cost no stack: the walk keeps its own.
 */
import type { JsonValue } from './decision.ts';

/** The most characters of JSON (see the module comment) one call's args may take: 1 MiB. */
export const MAX_ARGS_SIZE = 1 << 20;
/** The most values (strings, numbers, booleans, nulls, arrays, objects) one call's args may hold. */
export const MAX_ARGS_VALUES = 100_000;
/** The deepest one call's args may nest (the args object itself is depth 1), as the engine's JSON. */
export const MAX_ARGS_DEPTH = 64;

/** What {@link measureJson} finds. */
export interface JsonMeasure {
  /** The length of the value's JSON text, an escaped character counted once. */
  size: number;
  /** Strings, numbers, booleans, nulls, arrays and objects, the value itself included. */
  values: number;
  /** How deep arrays and objects nest: 0 for a primitive, 1 for `{}`. */
  depth: number;
}

/** Measures plain JSON data (see {@link JsonMeasure}). */
export function measureJson(value: JsonValue): JsonMeasure {
  let size = 0;
  let values = 0;
  let deepest = 0;
  const pending: JsonValue[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const item = pending.pop()!;
    const depth = depths.pop()!;
    values++;
    switch (typeof item) {
      case 'string':
        size += item.length + 2;
        break;
      case 'number':
        size += String(item).length;
        break;
      case 'boolean':
        size += item ? 4 : 5;
        break;
      default:
        if (item === null) {
          size += 4;
          break;
        }
        if (depth > deepest) deepest = depth;
        if (Array.isArray(item)) {
          size += item.length === 0 ? 2 : item.length + 1;
          for (let i = 0; i < item.length; i++) {
            pending.push(item[i]!);
            depths.push(depth + 1);
          }
        } else {
          const keys = Object.keys(item);
          size += keys.length === 0 ? 2 : keys.length + 1;
          for (let i = 0; i < keys.length; i++) {
            const key = keys[i]!;
            size += key.length + 3;
            pending.push(item[key]!);
            depths.push(depth + 1);
          }
        }
    }
  }
  return { size, values, depth: deepest };
}

/** Why `value` (named `label`) is too large to decide in time, or `null` when it is within the bounds. */
export function oversized(value: JsonValue, label: string): string | null {
  const { size, values, depth } = measureJson(value);
  const fix = `send smaller ${label} (large content by reference, such as an id or a URL)`;
  if (size > MAX_ARGS_SIZE)
    return `${label}: ${size} characters of JSON, more than the ${MAX_ARGS_SIZE} one call may carry; ${fix}`;
  if (values > MAX_ARGS_VALUES)
    return `${label}: ${values} values, more than the ${MAX_ARGS_VALUES} one call may carry; ${fix}`;
  if (depth > MAX_ARGS_DEPTH)
    return `${label}: nested ${depth} deep, more than the ${MAX_ARGS_DEPTH} one call may carry; flatten the ${label}`;
  return null;
}
