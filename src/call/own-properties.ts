/**
 * Reading a caller's objects by their own properties only.
 *
 * A page can be loaded after a script (or a library) that added keys to `Object.prototype` or
 * `Array.prototype`; a plain `obj.key` then finds the inherited value where the caller gave none.
 * Every read of a caller's object that can change a decision goes through here.
 *
 * Checklist:
 * - an inherited value reads as absent (`undefined`), never as the caller's;
 * - each own property is read once (`Object.hasOwn` does not run getters);
 * - a copy has no prototype, so nothing reached through it is inherited either.
 */

/**
 * `value[key]` when `value` is an object that has `key` as its own property, else `undefined`.
 *
 * @param value any value a caller passed
 * @param key the property to read
 */
export function own<T extends object, K extends keyof T>(
  value: T | null | undefined,
  key: K,
): T[K] | undefined {
  return value !== null && typeof value === 'object' && Object.hasOwn(value, key)
    ? value[key]
    : undefined;
}

/**
 * A null-prototype copy of `value`'s own enumerable string-keyed properties (`{}` for anything
 * that is not an object): an options bag read once, with nothing inherited.
 *
 * @param value the options a caller passed
 */
export function ownCopy<T extends object>(value: T | null | undefined): Partial<T> {
  const copy = Object.create(null) as Partial<T>;
  if (value === null || typeof value !== 'object') return copy;
  return Object.assign(copy, value);
}

/**
 * The items of an array that are its own (a hole stays a hole's `undefined`, never
 * `Array.prototype`'s value at that index), or `undefined` when `value` is not an array.
 *
 * @param value a list a caller passed
 */
export function ownItems<T>(value: readonly T[] | unknown): T[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const items = new Array<T>(value.length);
  for (let i = 0; i < value.length; i++)
    items[i] = Object.hasOwn(value, i) ? (value[i] as T) : (undefined as T);
  return items;
}
