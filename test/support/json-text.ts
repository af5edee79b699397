/**
 * JSON text of a fixture value as the fixture file spells it. `JSON.parse` reads an out-of-range
 * literal such as `1e400` as `Infinity`, which `JSON.stringify` would write back as `null`: the
 * entry points that take JSON text (the raw ABI, `perso eval`) must get the literal instead.
 */
export function fixtureJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? (v > 0 ? INFINITE : NEGATIVE) : v,
  )
    .replaceAll(`"${INFINITE}"`, '1e400')
    .replaceAll(`"${NEGATIVE}"`, '-1e400');
}

// Markers no fixture string holds (U+FDD0 is a noncharacter).
const INFINITE = '\ufdd0+infinity';
const NEGATIVE = '\ufdd0-infinity';
