/**
 * A call's values as the raw ABI would see them in `JSON.stringify`: the engine host reads each
 * field the policy needs straight from the caller's objects, and must read what JSON would write.
 *
 * Checklist:
 * - a class instance, a boxed primitive or an object with `toJSON` is read as its JSON;
 * - an array has no keys; inherited properties are absent (a polluted prototype adds nothing);
 * - a missing source is an empty object; a source that is not a plain object is {@link NOT_PLAIN}.
 */
import type { JsonObject } from '../call/decision.ts';

/** The empty source: a call without attributes reads every field as missing. */
export const EMPTY: JsonObject = Object.freeze({}) as JsonObject;

/** Marks a source that is not a plain JSON object. */
export const NOT_PLAIN: unique symbol = Symbol('not a plain object');

/**
 * A source object as `JSON.stringify` would write it (see {@link readPath}): `EMPTY` when absent,
 * {@link NOT_PLAIN} when it is not a plain object (an array, a class instance, a primitive). A plain
 * object's JSON differs from itself only through a `toJSON`. One prototype read per source.
 */
export function jsonRoot(v: unknown): unknown {
  if (v === undefined || v === null) return EMPTY;
  if (typeof v !== 'object' || Array.isArray(v)) return NOT_PLAIN;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return NOT_PLAIN;
  return typeof (v as { toJSON?: unknown }).toJSON === 'function' ? asJson(v) : v;
}

/** True when JSON.stringify writes `v` as its own properties: a plain object or array without toJSON. */
function jsonShaped(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null && proto !== Array.prototype) return false;
  return typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

/** An object as JSON.stringify writes it (a Date as its string, a boxed number as the number...). */
export function asJson(v: object): unknown {
  const text = JSON.stringify(v) as string | undefined;
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}

/**
 * The value at `path` under `root` (already read as its JSON, see {@link jsonRoot}) as the raw ABI
 * would see it in `JSON.stringify`: a class instance, a boxed primitive or an object with `toJSON`
 * on the way is read as its JSON; an array has no keys; inherited properties are absent.
 * Undefined when missing.
 */
export function readPath(root: unknown, path: readonly string[]): unknown {
  let v: unknown = root;
  for (let k = 0; k < path.length; k++) {
    if (k > 0 && typeof v === 'object' && v !== null && !jsonShaped(v)) v = asJson(v);
    const key = path[k]!;
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, key))
      return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  if (typeof v === 'object' && v !== null && !jsonShaped(v)) v = asJson(v);
  return v;
}
