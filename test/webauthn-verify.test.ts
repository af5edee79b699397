// WebAuthn verification (webauthn-verify.ts) against a software authenticator: every check has a
// case that passes and one that fails, for ES256 (DER signatures) and EdDSA.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { verifyAssertion, verifyRegistration } from '../src/backend/webauthn-verify.ts';
import type { RegisteredCredential } from '../src/backend/authenticator-store.ts';
import { SoftwareAuthenticator, UP, UV } from './support/software-authenticator.ts';

const origin = 'https://shop.example';
const challenge = 'Y2hhbGxlbmdlLW9mLXRoZS1leGFjdC1jYWxsLTAxMjM';
const expected = { challenge, origin };

async function registered(
  algorithm: -7 | -8,
): Promise<{ authenticator: SoftwareAuthenticator; credential: RegisteredCredential }> {
  const authenticator = await SoftwareAuthenticator.create(algorithm);
  const result = await verifyRegistration(
    await authenticator.register({ challenge, origin }),
    expected,
    1,
  );
  assert.equal(result.ok, true, result.ok ? '' : result.reason);
  return { authenticator, credential: (result as { ok: true; value: RegisteredCredential }).value };
}

for (const algorithm of [-7, -8] as const) {
  describe(`WebAuthn verification, ${algorithm === -7 ? 'ES256' : 'EdDSA'}`, () => {
    it('a registration binds the credential to the origin and its host', async () => {
      const { credential } = await registered(algorithm);
      assert.deepEqual(
        [credential.origin, credential.rpId, credential.algorithm, credential.signCount],
        [origin, 'shop.example', algorithm, 0],
      );
    });

    it('an assertion over the challenge, user verified, with a rising counter, verifies', async () => {
      const { authenticator, credential } = await registered(algorithm);
      const result = await verifyAssertion(
        await authenticator.assert({ challenge, origin }),
        credential,
        expected,
      );
      assert.deepEqual(result, { ok: true, value: 1 });
    });

    const faults: [string, Partial<Parameters<SoftwareAuthenticator['assert']>[0]>, RegExp][] = [
      ['no user verification', { flags: UP }, /did not verify the person \(no user verification/],
      ['no user presence', { flags: UV }, /did not see the person/],
      [
        'assertion for another call',
        { challenge: 'b3RoZXItY2FsbA' },
        /the authenticator signed a different call/,
      ],
      [
        'another origin',
        { origin: 'https://evil.example' },
        /made for origin "https:\/\/evil.example"/,
      ],
      [
        'another relying party',
        { rpId: 'evil.example' },
        /for another relying party than "shop.example"/,
      ],
      [
        'a registration offered as an assertion',
        { type: 'webauthn.create' },
        /of type "webauthn.create", not "webauthn.get"/,
      ],
      ['made in a cross-origin frame', { crossOrigin: true }, /cross-origin frame/],
      ['counter went backwards', { counter: 0 }, /counter did not go up/],
    ];
    for (const [fault, claims, reason] of faults) {
      it(`fault: ${fault} — refused, saying so`, async () => {
        const { authenticator, credential } = await registered(algorithm);
        const stored =
          fault === 'counter went backwards' ? { ...credential, signCount: 5 } : credential;
        const result = await verifyAssertion(
          await authenticator.assert({ challenge, origin, ...claims }),
          stored,
          expected,
        );
        assert.equal(result.ok, false);
        assert.match((result as { reason: string }).reason, reason);
      });
    }

    it('fault: signature from another key — refused', async () => {
      const { credential } = await registered(algorithm);
      const impostor = await SoftwareAuthenticator.create(algorithm);
      const assertion = {
        ...(await impostor.assert({ challenge, origin })),
        credentialId: credential.id,
      };
      const result = await verifyAssertion(assertion, credential, expected);
      assert.match(
        (result as { reason: string }).reason,
        /its signature does not verify with the registered credential/,
      );
    });

    it('fault: registration without user verification, or for another credential id — refused', async () => {
      const authenticator = await SoftwareAuthenticator.create(algorithm);
      const registration = await authenticator.register({ challenge, origin });
      const other = await SoftwareAuthenticator.create(algorithm);
      const swapped = await verifyRegistration(
        { ...registration, credentialId: other.credentialId },
        expected,
        1,
      );
      assert.match(
        (swapped as { reason: string }).reason,
        /credential id is not the one the authenticator attested/,
      );
      const unverified = await verifyRegistration(
        await authenticator.register({ challenge, origin, flags: UP | 0x40 }),
        expected,
        1,
      );
      assert.match((unverified as { reason: string }).reason, /did not verify the person/);
    });
  });
}

describe('WebAuthn verification, algorithms', () => {
  it('fault: an algorithm other than ES256 or EdDSA — refused at registration', async () => {
    const authenticator = await SoftwareAuthenticator.create(-7);
    const registration = await authenticator.register({ challenge, origin });
    const result = await verifyRegistration({ ...registration, algorithm: -257 }, expected, 1);
    assert.match(
      (result as { reason: string }).reason,
      /algorithm -257 is not ES256 \(-7\) or EdDSA \(-8\)/,
    );
  });

  it('fault: a key that is not the algorithm it names — refused at registration', async () => {
    const authenticator = await SoftwareAuthenticator.create(-7);
    const registration = await authenticator.register({ challenge, origin });
    const result = await verifyRegistration({ ...registration, algorithm: -8 }, expected, 1);
    assert.match(
      (result as { reason: string }).reason,
      /does not import as the algorithm it names/,
    );
  });
});
