// The rollback floor (src/policy/rollback-floor.ts): built only from what verifies, the highest
// wins, and a copy below it or a second set of bytes for its revision is refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { VerificationContext, Verified } from '../src/policy/policy-verification.ts';
import { checkFloor, trustedFloor } from '../src/policy/rollback-floor.ts';

const open: VerificationContext = { id: 'p', keys: [], integrity: undefined, maxBytes: 1 << 20 };
const copy = (revision: number | null, sha256 = 'a'): Verified => ({
  text: '{}',
  sha256,
  revision,
  signature: null,
});

describe('rollback floor', () => {
  test('the highest of the mark and the cached copy wins', async () => {
    const mark = { highest: 7, sha256: 'm' };
    const floor = await trustedFloor(mark, { ok: true, value: copy(5) }, open);
    assert.deepEqual(floor, { revision: 7, sha256: 'm' });
    const higher = await trustedFloor(mark, { ok: true, value: copy(9, 'c') }, open);
    assert.deepEqual(higher, { revision: 9, sha256: 'c' });
  });
  test('fault: a malformed mark is ignored, not a floor of its own', async () => {
    assert.equal(await trustedFloor({ highest: -1 }, null, open), null);
    assert.equal(await trustedFloor({ highest: 1.5 }, null, open), null);
    assert.equal(await trustedFloor('7', null, open), null);
  });
  test('fault: with keys, an unsigned mark does not count', async () => {
    const keyed = { ...open, keys: [{ keyId: 'k', alg: 'Ed25519' as const, publicKey: 'AA==' }] };
    assert.equal(await trustedFloor({ highest: 7, sha256: 'm' }, null, keyed), null);
  });
  test('fault: a rollback (a revision below the floor)', () => {
    const checked = checkFloor(copy(2), { revision: 3, sha256: 'a' });
    assert.equal(checked.ok, false);
    assert.match(
      checked.ok ? '' : checked.error,
      /\(rollback refused\); publish revision 3 or higher$/,
    );
  });
  test('fault: other bytes for the floor revision', () => {
    const checked = checkFloor(copy(3, 'b'), { revision: 3, sha256: 'a' });
    assert.equal(checked.ok, false);
    assert.match(checked.ok ? '' : checked.error, /publish the change as revision 4$/);
  });
  test('an undeclared revision at a floor of 0 may change its bytes; no floor accepts anything', () => {
    assert.deepEqual(checkFloor(copy(null, 'b'), { revision: 0, sha256: 'a' }), {
      ok: true,
      value: null,
    });
    assert.deepEqual(checkFloor(copy(1), null), { ok: true, value: null });
  });
});
