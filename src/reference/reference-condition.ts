/**
 * Conditions of the policy language, decided three-valued, written from docs/policy.md alone (never
 * from the engine: a reference that mirrors the engine shares its bugs).
 *
 * A condition's value is a set of possible truths (a bit mask of True, False, Unknown). Over plain
 * JSON it is always one truth. A leaf whose value holds a non-finite number (which the engine must
 * refuse, docs/policy.md "Requests") could be anything: its set is all three, so a caller can tell whether that
 * value decided anything (the set of outcomes has more than one member) or was never needed.
 *
 * Checklist (each line is a sentence of the docs):
 * - a leaf over a missing field or a value of the wrong type is unknown; only FieldPresent is
 *   always true or false (null counts as absent);
 * - Not(unknown) is unknown; All is false if a child is false, else unknown if one is unknown;
 *   Any is true if a child is true, else unknown if one is unknown; All([]) true, Any([]) false;
 * - FieldEquals and Equals need the field(s) present and not null, and compare deep, type-strict;
 *   Equals with the literal null is never true (unknown);
 * - NumericCheck Eq is equality within f64::EPSILON; strings compare exactly, case-sensitively;
 * - SessionUntrusted is true once the session read untrusted content, else false; FromUntrusted is
 *   unknown over a missing or null field, else whether the value came from untrusted content;
 * - a field is one own key, or an array of own keys walked through nested objects (not arrays).
 */

import { cameFromUntrusted, type ReferenceSessionContent } from './reference-untrusted.ts';

/** A set of truths, as bits. */
export type Truths = number;
/** The condition is true. */
export const TRUE = 1;
/** The condition is false. */
export const FALSE = 2;
/** The condition cannot be decided on this data (missing or mistyped). */
export const UNKNOWN = 4;
/** Could be any of the three: a leaf read a value holding a non-finite number. */
export const ANY_TRUTH = TRUE | FALSE | UNKNOWN;

/** The three objects a condition reads, by source name. */
export interface ReferenceSources {
  readonly Arguments: unknown;
  readonly AgentAttributes: unknown;
  readonly ResourceAttributes: unknown;
  /** The call's session's untrusted content, or null when it read none (reference-untrusted.ts). */
  readonly untrusted?: ReferenceSessionContent | null;
}

type Found = { readonly present: false } | { readonly present: true; readonly value: unknown };
const MISSING: Found = { present: false };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads `field` (a key or a path of keys) from `source`, own properties only. */
export function readField(sources: ReferenceSources, source: unknown, field: unknown): Found {
  if (source !== 'Arguments' && source !== 'AgentAttributes' && source !== 'ResourceAttributes')
    return MISSING;
  const keys: readonly unknown[] =
    typeof field === 'string' ? [field] : Array.isArray(field) ? field : [];
  if (keys.length === 0) return MISSING;
  let current: unknown = sources[source];
  for (const key of keys) {
    if (typeof key !== 'string' || !isObject(current) || !Object.hasOwn(current, key))
      return MISSING;
    current = current[key];
  }
  return { present: true, value: current };
}

/** True when a non-finite number sits anywhere inside `value`. */
export function holdsNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (Array.isArray(value)) return value.some(holdsNonFinite);
  if (isObject(value)) return Object.keys(value).some((key) => holdsNonFinite(value[key]));
  return false;
}

/** Deep equality, type-strict; object key order does not matter. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === null || typeof a !== 'object' || b === null || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const rb = b as Record<string, unknown>;
  const ra = a as Record<string, unknown>;
  return (
    ka.length === kb.length &&
    ka.every((key) => Object.hasOwn(rb, key) && deepEqual(ra[key], rb[key]))
  );
}

const present = (found: Found): found is { present: true; value: unknown } =>
  found.present && found.value !== null;

function numeric(op: unknown, actual: number, bound: number): boolean {
  switch (op) {
    case 'Lte':
      return actual <= bound;
    case 'Gte':
      return actual >= bound;
    case 'Lt':
      return actual < bound;
    case 'Gt':
      return actual > bound;
    case 'Eq':
      return Math.abs(actual - bound) < Number.EPSILON;
    default:
      return false;
  }
}

function text(op: unknown, actual: string, list: readonly string[]): boolean {
  switch (op) {
    case 'In':
      return list.includes(actual);
    case 'NotIn':
      return !list.includes(actual);
    case 'Prefix':
      return list.some((item) => actual.startsWith(item));
    case 'Suffix':
      return list.some((item) => actual.endsWith(item));
    default:
      return false;
  }
}

const truth = (holds: boolean): Truths => (holds ? TRUE : FALSE);

/** Leaves: a read value holding a non-finite number makes the leaf ANY_TRUTH (FieldPresent aside). */
function leaf(variant: string, body: Record<string, unknown>, sources: ReferenceSources): Truths {
  switch (variant) {
    case 'FieldPresent':
      return truth(present(readField(sources, body.source, body.field)));
    case 'NumericCheck': {
      const found = readField(sources, body.source, body.field);
      if (!present(found)) return UNKNOWN;
      if (holdsNonFinite(found.value)) return ANY_TRUTH;
      return typeof found.value === 'number'
        ? truth(numeric(body.op, found.value, body.value as number))
        : UNKNOWN;
    }
    case 'StringCheck': {
      const found = readField(sources, body.source, body.field);
      if (!present(found)) return UNKNOWN;
      if (holdsNonFinite(found.value)) return ANY_TRUTH;
      return typeof found.value === 'string'
        ? truth(text(body.op, found.value, body.value as string[]))
        : UNKNOWN;
    }
    case 'FieldEquals': {
      const a = readField(sources, body.source_a, body.field_a);
      const b = readField(sources, body.source_b, body.field_b);
      if (!present(a) || !present(b)) return UNKNOWN;
      if (holdsNonFinite(a.value) || holdsNonFinite(b.value)) return ANY_TRUTH;
      return truth(deepEqual(a.value, b.value));
    }
    case 'FromUntrusted': {
      const found = readField(sources, body.source, body.field);
      if (!present(found)) return UNKNOWN;
      if (holdsNonFinite(found.value)) return ANY_TRUTH;
      return truth(cameFromUntrusted(sources.untrusted ?? null, found.value));
    }
    case 'Equals': {
      if (body.value === null) return UNKNOWN;
      const found = readField(sources, body.source, body.field);
      if (!present(found)) return UNKNOWN;
      if (holdsNonFinite(found.value)) return ANY_TRUTH;
      return truth(deepEqual(found.value, body.value));
    }
    default:
      return UNKNOWN;
  }
}

/** All over sets of truths: each child independently takes any truth of its set. */
function all(children: readonly Truths[]): Truths {
  let out = 0;
  if (children.some((c) => c & FALSE)) out |= FALSE;
  if (children.every((c) => c & TRUE)) out |= TRUE;
  if (children.every((c) => c & (TRUE | UNKNOWN)) && children.some((c) => c & UNKNOWN))
    out |= UNKNOWN;
  return out;
}

/** Any over sets of truths. */
function any(children: readonly Truths[]): Truths {
  let out = 0;
  if (children.some((c) => c & TRUE)) out |= TRUE;
  if (children.every((c) => c & FALSE)) out |= FALSE;
  if (children.every((c) => c & (FALSE | UNKNOWN)) && children.some((c) => c & UNKNOWN))
    out |= UNKNOWN;
  return out;
}

/** Not over a set of truths. */
function not(child: Truths): Truths {
  return (child & TRUE ? FALSE : 0) | (child & FALSE ? TRUE : 0) | (child & UNKNOWN);
}

/** Decides a condition (already validated) over the request's three sources. */
export function evaluateCondition(condition: unknown, sources: ReferenceSources): Truths {
  const [variant] = Object.keys(condition as object) as [string];
  const body = (condition as Record<string, unknown>)[variant];
  if (variant === 'All') return all((body as unknown[]).map((c) => evaluateCondition(c, sources)));
  if (variant === 'Any') return any((body as unknown[]).map((c) => evaluateCondition(c, sources)));
  if (variant === 'Not') return not(evaluateCondition(body, sources));
  if (variant === 'SessionUntrusted') return truth((sources.untrusted ?? null) !== null);
  return leaf(variant, body as Record<string, unknown>, sources);
}

/** The single truths of a set. */
export function each(truths: Truths): Truths[] {
  return [TRUE, FALSE, UNKNOWN].filter((t) => truths & t);
}

/** Every combination of single truths, one per set. */
export function* choices(sets: readonly Truths[]): Generator<Truths[]> {
  if (sets.length === 0) {
    yield [];
    return;
  }
  const [first, ...rest] = sets as [Truths, ...Truths[]];
  for (const t of each(first)) for (const tail of choices(rest)) yield [t, ...tail];
}
