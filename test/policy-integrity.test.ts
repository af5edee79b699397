// Signing and verification in Node (WebCrypto), as a release script would use them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkRevision,
  generatePolicyKeyPair,
  importPolicyPrivateKey,
  integrityOf,
  readRevision,
  signPolicy,
  toBase64,
  verifyIntegrity,
  verifySignature,
} from '../src/policy-integrity.ts';

const encode = (text: string) => new TextEncoder().encode(text);
const policy = encode('{"version":"v1","revision":3,"default_action":"Deny","tools":[],"rules":[]}\n');

for (const alg of ['Ed25519', 'ES256'] as const) {
  test(`${alg}: a signature over the exact bytes verifies with the public key`, async () => {
    const pair = await generatePolicyKeyPair(alg);
    const sig = await signPolicy(policy, pair.privateKey, 'k1');
    assert.equal(sig.alg, alg);
    const result = await verifySignature(policy, JSON.stringify(sig), [{ keyId: 'k1', alg, publicKey: pair.publicKeySpki }]);
    assert.deepEqual(result, { ok: true, value: 'k1' });
  });

  test(`${alg}: one changed byte (trailing newline removed) fails as a bad signature`, async () => {
    const pair = await generatePolicyKeyPair(alg);
    const sig = await signPolicy(policy, pair.privateKey, 'k1');
    const changed = policy.slice(0, policy.length - 1);
    const result = await verifySignature(changed, JSON.stringify(sig), [{ keyId: 'k1', alg, publicKey: pair.publicKeySpki }]);
    assert.equal(result.ok, false);
    assert.match((result as { error: string }).error, /^bad .* signature by key "k1"/);
  });
}

test('a private key exported as PKCS#8 base64 imports and signs', async () => {
  const pair = await generatePolicyKeyPair('Ed25519');
  const pkcs8 = toBase64(new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey)));
  const key = await importPolicyPrivateKey('Ed25519', pkcs8);
  const sig = await signPolicy(policy, key, 'release');
  const result = await verifySignature(policy, JSON.stringify(sig), [{ keyId: 'release', alg: 'Ed25519', publicKey: pair.publicKeySpki }]);
  assert.equal(result.ok, true);
});

test('unknown key: a signature by a key the host did not configure is refused', async () => {
  const signer = await generatePolicyKeyPair('Ed25519');
  const trusted = await generatePolicyKeyPair('Ed25519');
  const sig = await signPolicy(policy, signer.privateKey, 'stranger');
  const result = await verifySignature(policy, JSON.stringify(sig), [{ keyId: 'k1', alg: 'Ed25519', publicKey: trusted.publicKeySpki }]);
  assert.equal(result.ok, false);
  assert.match((result as { error: string }).error, /unknown key "stranger"/);
});

test('a signature file with both algorithms verifies with either key', async () => {
  const ed = await generatePolicyKeyPair('Ed25519');
  const ec = await generatePolicyKeyPair('ES256');
  const file = JSON.stringify({
    signatures: [await signPolicy(policy, ed.privateKey, 'ed'), await signPolicy(policy, ec.privateKey, 'ec')],
  });
  assert.deepEqual(await verifySignature(policy, file, [{ keyId: 'ec', alg: 'ES256', publicKey: ec.publicKeySpki }]), { ok: true, value: 'ec' });
  assert.deepEqual(await verifySignature(policy, file, [{ keyId: 'ed', alg: 'Ed25519', publicKey: ed.publicKeySpki }]), { ok: true, value: 'ed' });
});

test('malformed signature file: refused with the expected shape', async () => {
  const pair = await generatePolicyKeyPair('Ed25519');
  const result = await verifySignature(policy, '{"alg":"RS256","key_id":"k1","signature":"AA=="}', [
    { keyId: 'k1', alg: 'Ed25519', publicKey: pair.publicKeySpki },
  ]);
  assert.equal(result.ok, false);
  assert.match((result as { error: string }).error, /signature file entry 0 must be/);
});

test('pinned integrity: the right sha256 passes, another one fails and names both', async () => {
  const pin = await integrityOf(policy);
  assert.match(pin, /^sha256-[A-Za-z0-9+/]+=*$/);
  assert.equal((await verifyIntegrity(policy, pin)).ok, true);
  const other = await integrityOf(encode('{}'));
  const result = await verifyIntegrity(policy, other);
  assert.equal(result.ok, false);
  assert.match((result as { error: string }).error, new RegExp(`pinned integrity "${other.replace(/[+/]/g, '\\$&')}".*hash to "${pin.replace(/[+/]/g, '\\$&')}"`));
  const garbage = await verifyIntegrity(policy, 'md5-abc');
  assert.equal(garbage.ok, false);
});

test('revision: read from the policy, lower than the highest seen is a rollback', () => {
  assert.deepEqual(readRevision('{"revision":7}'), { ok: true, value: 7 });
  assert.deepEqual(readRevision('{"version":"x"}'), { ok: true, value: null });
  assert.equal(readRevision('{"revision":"7"}').ok, false);
  assert.equal(readRevision('[1]').ok, false);
  assert.equal(checkRevision(7, 7).ok, true);
  assert.equal(checkRevision(8, 7).ok, true);
  const rollback = checkRevision(6, 7);
  assert.equal(rollback.ok, false);
  assert.match((rollback as { error: string }).error, /revision 6 is lower than revision 7.*rollback refused/);
  assert.equal(checkRevision(null, 2).ok, false);
});
