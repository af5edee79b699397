/**
 * Canonical tool-call arguments: one JSON round trip of a hostile value into a frozen plain copy.
 *
 * Checklist (DESIGN §4, "arguments are hostile"):
 * - the value is read exactly once, by one `JSON.stringify` pass: a getter or a Proxy trap runs
 *   once, and what is checked is what was read;
 * - the copy is built by `JSON.parse` from that text, so it holds only plain objects, arrays,
 *   strings, finite numbers, booleans and null, with no prototype tricks;
 * - the keys `__proto__`, `constructor` and `prototype` are refused anywhere in the value;
 * - functions, symbols, BigInts, non-finite numbers, `undefined` in arrays and cycles are refused,
 *   never silently dropped or turned into `null` (a refused value is an `invalid_request` Deny);
 * - the copy is deep-frozen: the engine checks it and the tool receives that same object.
 */
import type { JsonObject, JsonValue } from './decision.ts';

/** Keys refused anywhere in canonical values: they reach prototypes in naive consumers. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The outcome of {@link canonicalizeArgs}: the frozen copy and its JSON text, or why it was refused. */
export type CanonicalArgs =
  | { ok: true; value: Readonly<JsonObject>; json: string }
  | { ok: false; error: string };

/** The outcome of {@link canonicalizeJson}: any JSON value, frozen, or why it was refused. */
export type CanonicalJson =
  | { ok: true; value: JsonValue; json: string }
  | { ok: false; error: string };

/** Thrown inside the replacer to stop the single pass at the first refused value. */
class RefusedValue extends Error {}

/**
 * Canonicalizes tool-call arguments: a JSON object (absent means `{}`).
 * `label` names the value in errors (`args`, `agentAttributes`...).
 * Never throws.
 */
export function canonicalizeArgs(args: unknown, label = 'args'): CanonicalArgs {
  if (args === undefined) return { ok: true, value: EMPTY_OBJECT, json: '{}' };
  const result = canonicalizeJson(args, label);
  if (!result.ok) return result;
  const value = result.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: `${label}: expected a JSON object, got ${describe(value)}; pass the arguments as an object` };
  }
  return { ok: true, value, json: result.json };
}

/**
 * Canonicalizes any JSON value with the rules of this module's checklist. Never throws.
 */
export function canonicalizeJson(input: unknown, label = 'value'): CanonicalJson {
  // The fast path builds no path text: each container met remembers only its holder and key, and
  // a refusal spells its path (`args.items[2].price`) from them, once, when something fails.
  const parents = new Map<object, { holder: object; key: string }>();
  const pathOf = (holder: unknown, key: string): string => {
    const keys: string[] = [];
    let at = holder as object;
    let current = key;
    for (let parent = parents.get(at); parent !== undefined; parent = parents.get(at)) {
      keys.push(Array.isArray(at) ? `[${current}]` : `.${current}`);
      current = parent.key;
      at = parent.holder;
    }
    return label + keys.reverse().join('');
  };
  let root = true;
  const replacer = function (this: unknown, key: string, value: unknown): unknown {
    const atRoot = root;
    root = false;
    if (!atRoot && FORBIDDEN_KEYS.has(key) && !Array.isArray(this)) {
      throw new RefusedValue(`${pathOf(this, key)}: the key "${key}" is not allowed; rename it`);
    }
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (!Number.isFinite(value)) throw new RefusedValue(`${where(this, key, atRoot)}: ${String(value)} is not a JSON number; pass a finite number`);
        return value;
      case 'object':
        if (value !== null) parents.set(value, { holder: this as object, key });
        return value;
      case 'undefined':
        // JSON drops an undefined property (it is absent), but would turn one in an array into null.
        if (Array.isArray(this)) throw new RefusedValue(`${pathOf(this, key)}: undefined is not a JSON value; use null or remove it`);
        if (atRoot) throw new RefusedValue(`${label}: undefined is not a JSON value`);
        return value;
      default:
        throw new RefusedValue(`${where(this, key, atRoot)}: a ${typeof value} is not a JSON value; pass plain JSON data only`);
    }
  };
  const where = (holder: unknown, key: string, atRoot: boolean): string => (atRoot ? label : pathOf(holder, key));
  let json: string;
  try {
    json = JSON.stringify(input, replacer);
  } catch (error) {
    if (error instanceof RefusedValue) return { ok: false, error: error.message };
    return { ok: false, error: `${label}: cannot be read as JSON (${errorText(error)}); pass plain JSON data without cycles` };
  }
  if (json === undefined) return { ok: false, error: `${label}: not a JSON value; pass plain JSON data only` };
  let value: JsonValue;
  try {
    value = JSON.parse(json) as JsonValue;
  } catch (error) {
    return { ok: false, error: `${label}: cannot be read as JSON (${errorText(error)})` };
  }
  return { ok: true, value: deepFreeze(value), json };
}

/** Freezes a value parsed by `JSON.parse` (plain objects and arrays only) all the way down. */
export function deepFreeze<T extends JsonValue>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

const EMPTY_OBJECT: Readonly<JsonObject> = Object.freeze({});

function describe(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function errorText(error: unknown): string {
  // V8's cycle message spans several lines; the first says what happened.
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n', 1)[0] ?? '').toLowerCase();
}
