/**
 * Values JSON would silently write as `null`: a non-finite number anywhere, or `undefined`, a
 * function or a symbol in an array. The engine would read `null` where the tool receives something
 * else, so the engine host refuses them and says where they are.
 */

/** Thrown by {@link refuseHiddenNull}: a value that JSON would write as `null`. */
export const HIDDEN_NULL: unique symbol = Symbol('hidden null');

/**
 * A `JSON.stringify` replacer that stops at a value JSON would silently write as `null`: a
 * non-finite number anywhere, or `undefined`, a function or a symbol in an array. The engine
 * would read `null` where the tool receives something else (`{"id": Infinity}` "equals"
 * `{"id": -Infinity}`, and passes `Equals {"id": null}`).
 */
export function refuseHiddenNull(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'number') {
    if (value - value !== 0) throw HIDDEN_NULL;
  } else if (
    Array.isArray(this) &&
    (value === undefined || typeof value === 'function' || typeof value === 'symbol')
  ) {
    throw HIDDEN_NULL;
  }
  return value;
}

/**
 * Where {@link refuseHiddenNull} stops in `v`, as a path below it (`.scope.tenant`, `[0]`) and what
 * is there; null when a second reading finds nothing (a getter that changed its answer).
 */
export function hiddenNullAt(v: unknown): { path: string; what: string } | null {
  // Each container's path, by the object JSON.stringify walks (after toJSON); the root has ''.
  const paths = new Map<unknown, string>();
  let found: { path: string; what: string } | null = null;
  try {
    JSON.stringify(v, function (this: unknown, key: string, value: unknown): unknown {
      const base = paths.get(this);
      const path =
        base === undefined ? '' : Array.isArray(this) ? `${base}[${key}]` : `${base}.${key}`;
      if (base !== undefined) {
        try {
          refuseHiddenNull.call(this, key, value);
        } catch (e) {
          found = {
            path,
            what:
              typeof value === 'number'
                ? `is ${String(value)}, not a finite number; pass finite numbers only`
                : `is ${value === undefined ? 'undefined' : `a ${typeof value}`}, which JSON writes as null; pass null or remove it`,
          };
          throw e;
        }
      }
      if (typeof value === 'object' && value !== null) paths.set(value, path);
      return value;
    });
  } catch {
    // `found` says where, when the walk stopped at a hidden null.
  }
  return found;
}
