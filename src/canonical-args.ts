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
 * One pass's state. The replacer is one module-level function reading the current pass, so a call
 * allocates no closures; a pass started from inside another (a getter that canonicalizes) gets its
 * own state, and the outer one is restored after it.
 */
interface Pass {
  label: string;
  root: boolean;
  /** Each container met: its holder and key, so a refusal can spell its path. No text until then. */
  readonly parents: Map<object, { holder: object; key: string }>;
}

let pass: Pass | null = null;
/** Reused by passes that do not nest; cleared after each. */
const spare: Pass = { label: '', root: true, parents: new Map() };
let spareInUse = false;

/** The path of `holder[key]` (`args.items[2].price`), from the containers met so far. */
function pathOf(state: Pass, holder: unknown, key: string): string {
  // The root container is not in `parents`: the walk stops at it.
  let at = holder as object;
  const keys: string[] = [Array.isArray(at) ? `[${key}]` : `.${key}`];
  for (let parent = state.parents.get(at); parent !== undefined; parent = state.parents.get(at)) {
    at = parent.holder;
    keys.push(Array.isArray(at) ? `[${parent.key}]` : `.${parent.key}`);
  }
  return state.label + keys.reverse().join('');
}

function refuse(state: Pass, holder: unknown, key: string, atRoot: boolean, what: string): never {
  throw new RefusedValue(`${atRoot ? state.label : pathOf(state, holder, key)}: ${what}`);
}

function replacer(this: unknown, key: string, value: unknown): unknown {
  const state = pass!;
  const atRoot = state.root;
  state.root = false;
  if (!atRoot && FORBIDDEN_KEYS.has(key) && !Array.isArray(this)) {
    refuse(state, this, key, false, `the key "${key}" is not allowed; rename it`);
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) refuse(state, this, key, atRoot, `${String(value)} is not a JSON number; pass a finite number`);
      return value;
    case 'object':
      if (value !== null && !atRoot) state.parents.set(value, { holder: this as object, key });
      return value;
    case 'undefined':
      // JSON drops an undefined property (it is absent), but would turn one in an array into null.
      if (Array.isArray(this)) refuse(state, this, key, false, 'undefined is not a JSON value; use null or remove it');
      if (atRoot) refuse(state, this, key, true, 'undefined is not a JSON value');
      return value;
    default:
      return refuse(state, this, key, atRoot, `a ${typeof value} is not a JSON value; pass plain JSON data only`);
  }
}

/** `JSON.stringify(input)` with the checks of this module's checklist; throws RefusedValue. */
function checkedStringify(input: unknown, label: string): string {
  const outer = pass;
  const own = !spareInUse;
  const state: Pass = own ? spare : { label, root: true, parents: new Map() };
  state.label = label;
  state.root = true;
  if (own) spareInUse = true;
  pass = state;
  try {
    return JSON.stringify(input, replacer);
  } finally {
    pass = outer;
    if (own) {
      spare.parents.clear();
      spareInUse = false;
    }
  }
}

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
  let json: string;
  try {
    json = checkedStringify(input, label);
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
