/**
 * Canonical tool-call arguments: a hostile value read once into a frozen plain copy, the value
 * `JSON.parse(JSON.stringify(value))` would give — or refused where JSON would silently change it.
 *
 * Checklist (arguments are hostile: docs/policy.md, "Requests"):
 * - the value is read exactly once, in one pass that follows `JSON.stringify`'s own steps (each
 *   object's own enumerable string keys, then each value once; `toJSON` honoured; Number, String
 *   and Boolean objects unwrapped): a getter or a Proxy trap runs once, and what is checked is the
 *   copy that was built from what was read;
 * - the copy holds only plain objects, arrays, strings, finite numbers, booleans and null (`-0` is
 *   `0`), with the key order JSON would give and no prototype tricks;
 * - the keys `__proto__`, `constructor` and `prototype` are refused anywhere in the value, before
 *   their values are read;
 * - functions, symbols, BigInts, non-finite numbers, `undefined` in arrays (and at the top) and
 *   cycles are refused, never silently dropped or turned into `null` (a refused value is an
 *   `invalid_request` Deny), and the error names the path (`args.items[2].price`);
 * - the copy is frozen as it is built: the engine checks it and the tool receives that same object;
 * - its JSON text is made only when asked for (`json`), from the copy, which has no getters left;
 * - `canonicalizeArgs` refuses a copy over the size bound (`args-size.ts`): too large to decide in time.
 *
 * Why a walk and not a `JSON.stringify` with a checking replacer and a `JSON.parse`: the same
 * result with less work (the replacer is a call from the engine back into JavaScript per value,
 * and the parse builds the copy a second time). `test/canonical-args.test.ts` checks the
 * two agree on every value it tries.
 */
import type { JsonObject, JsonValue } from './decision.ts';
import { oversized } from './args-size.ts';
import { errorText, quote } from '../encoding/text.ts';

/** Keys refused anywhere in canonical values: they reach prototypes in naive consumers. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/** The outcome of {@link canonicalizeArgs}: the frozen copy and its JSON text, or why it was refused. */
export type CanonicalArgs =
  | { readonly ok: true; readonly value: Readonly<JsonObject>; readonly json: string }
  | { readonly ok: false; readonly error: string };

/** The outcome of {@link canonicalizeJson}: any JSON value, frozen, or why it was refused. */
export type CanonicalJson =
  | { readonly ok: true; readonly value: JsonValue; readonly json: string }
  | { readonly ok: false; readonly error: string };

/** A successful result; `json` is the copy's JSON text, made on first read. */
class Canonical<T extends JsonValue> {
  readonly ok = true as const;
  readonly value: T;
  #json: string | undefined;

  constructor(value: T, json?: string) {
    this.value = value;
    this.#json = json;
  }

  get json(): string {
    return (this.#json ??= JSON.stringify(this.value));
  }
}

/**
 * Thrown to stop the walk at the first refused value. `keys` is the path from the refused value up
 * to the root, one entry per level (`.key` or `[index]`), added as the walk unwinds: no path text is
 * built unless a value is refused.
 */
class Refused extends Error {
  readonly keys: string[] = [];
}

/** Thrown when a container is met inside itself: JSON has no cycles. */
class Cycle extends Refused {}

/** One step of JSON's SerializeJSONProperty: `toJSON`, then unwrapping of boxed primitives. */
function jsonView(value: object, key: string): unknown {
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  let view: unknown =
    typeof toJSON === 'function' && !polluted(value, toJSON)
      ? (toJSON as (key: string) => unknown).call(value, key)
      : value;
  if (view instanceof Number) view = Number(view);
  else if (view instanceof String) view = String(view);
  else if (view instanceof Boolean) view = view.valueOf();
  return view;
}

/**
 * A `toJSON` a plain object or array only inherits from `Object.prototype` or `Array.prototype`,
 * which have none of their own: a script polluted them, and the caller's data is read as it is.
 */
function polluted(value: object, toJSON: unknown): boolean {
  return (
    !Object.hasOwn(value, 'toJSON') &&
    (toJSON === (Object.prototype as { toJSON?: unknown }).toJSON ||
      toJSON === (Array.prototype as { toJSON?: unknown }).toJSON)
  );
}

/**
 * The frozen copy of `value` (the value of `key` in its holder). `undefined` means "absent"
 * (a property JSON drops); the caller refuses it where JSON would turn it into `null`.
 * `ancestors` holds the containers being copied, for JSON's cycle check.
 */
function copyOf(value: unknown, key: string, ancestors: object[]): JsonValue | undefined {
  if (typeof value === 'object' && value !== null) value = jsonView(value, key);
  else if (typeof value === 'bigint') {
    // JSON.stringify asks a BigInt for toJSON too (BigInt.prototype.toJSON, when a page adds one).
    const toJSON = (value as unknown as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') value = (toJSON as (key: string) => unknown).call(value, key);
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (value - value !== 0)
        throw new Refused(`${String(value)} is not a JSON number; pass a finite number`);
      return value === 0 ? 0 : value;
    case 'undefined':
      return undefined;
    case 'object':
      return value === null ? null : copyContainer(value, ancestors);
    default:
      throw new Refused(`a ${typeof value} is not a JSON value; pass plain JSON data only`);
  }
}

function copyContainer(container: object, ancestors: object[]): JsonValue {
  if (ancestors.includes(container))
    throw new Cycle('a circular reference; pass plain JSON data without cycles');
  if (container instanceof BigInt)
    throw new Refused('a bigint is not a JSON value; pass plain JSON data only');
  ancestors.push(container);
  const isArray = Array.isArray(container);
  // Where the walk is, for the path of a refusal; the step text is made only then. `null`: reading
  // the container itself (its keys, its length), before any child.
  let at: string | number | null = null;
  try {
    let copy: JsonValue[] | JsonObject;
    if (isArray) {
      const length = container.length;
      copy = new Array<JsonValue>(length);
      for (let i = 0; i < length; i++) {
        at = i;
        // A hole is a hole: never the value a polluted Array.prototype holds at that index.
        const item = copyOf(
          Object.hasOwn(container, i) ? container[i] : undefined,
          String(i),
          ancestors,
        );
        if (item === undefined)
          throw new Refused('undefined is not a JSON value; use null or remove it');
        copy[i] = item;
      }
    } else {
      copy = {};
      const keys = Object.keys(container);
      for (let i = 0; i < keys.length; i++) {
        const key = (at = keys[i]!);
        if (FORBIDDEN_KEYS.has(key))
          throw new Refused(`the key ${quote(key)} is not allowed; rename it`);
        const item = copyOf((container as Record<string, unknown>)[key], key, ancestors);
        if (item !== undefined) copy[key] = item;
      }
    }
    ancestors.pop();
    return Object.freeze(copy) as JsonValue;
  } catch (error) {
    const step = at === null ? '' : isArray ? `[${at}]` : `.${at}`;
    if (error instanceof Refused) {
      error.keys.push(step);
      throw error;
    }
    // A getter or a Proxy trap threw while this value was read: say where. (Not a stack overflow:
    // its path would be as deep as the value; the caller reports it without one.)
    if (error instanceof RangeError) throw error;
    const unreadable = new Refused(`cannot be read (${errorText(error)}); pass plain JSON data`);
    unreadable.keys.push(step);
    throw unreadable;
  }
}

/**
 * Canonicalizes tool-call arguments: a JSON object (absent means `{}`) within the size bound
 * (`MAX_ARGS_SIZE`). `label` names the value in errors (`args`, `agentAttributes`...).
 * Never throws.
 */
export function canonicalizeArgs(args: unknown, label = 'args'): CanonicalArgs {
  if (args === undefined) return EMPTY_ARGS;
  const result = canonicalizeJson(args, label);
  if (!result.ok) return result;
  const value = result.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      error: `${label}: expected a JSON object, got ${describe(value)}; pass the arguments as an object`,
    };
  }
  const tooLarge = oversized(value, label);
  if (tooLarge !== null) return { ok: false, error: tooLarge };
  return result as CanonicalArgs;
}

/**
 * Canonicalizes any JSON value with the rules of this module's checklist. Never throws.
 */
export function canonicalizeJson(input: unknown, label = 'value'): CanonicalJson {
  let value: JsonValue | undefined;
  try {
    value = copyOf(input, '', []);
  } catch (error) {
    if (error instanceof Refused) {
      const path = label + error.keys.reverse().join('');
      return {
        ok: false,
        error:
          error instanceof Cycle
            ? `${label}: cannot be read as JSON (${path} is ${error.message})`
            : `${path}: ${error.message}`,
      };
    }
    return {
      ok: false,
      error: `${label}: cannot be read as JSON (${errorText(error)}); pass plain JSON data without cycles`,
    };
  }
  if (value === undefined)
    return {
      ok: false,
      error: `${label}: undefined is not a JSON value; pass plain JSON data only`,
    };
  return new Canonical(value);
}

const EMPTY_ARGS: CanonicalArgs = new Canonical<Readonly<JsonObject>>(Object.freeze({}), '{}');

function describe(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
