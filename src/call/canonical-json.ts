/**
 * JSON with sorted object keys: one text per value, whatever order its keys were written in. What
 * approvals are bound to (`approval-ledger.ts`) and what a WebAuthn approval signs
 * (`approval-challenge.ts`).
 *
 * Checklist:
 * - object keys are sorted (UTF-16 order), so key order neither splits nor merges two values;
 * - only plain JSON passes: a non-finite number, a class instance, a function or a symbol throws;
 * - nesting deeper than 64 throws (a cycle ends there too).
 */

/**
 * The canonical JSON text of `value`; throws a `TypeError` on anything that is not plain JSON.
 *
 * @param value plain JSON data
 */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > 64) throw new TypeError('too deep');
  if (value === null || typeof value === 'boolean' || typeof value === 'string')
    return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('not a finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value))
    return `[${value.map((item) => canonicalJson(item, depth + 1)).join(',')}]`;
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new TypeError('not a plain object');
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key], depth + 1)}`).join(',')}}`;
  }
  throw new TypeError(`not JSON: ${typeof value}`);
}
