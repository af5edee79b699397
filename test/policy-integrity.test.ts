// Signing and verification in Node (WebCrypto), as a release script would use them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  generatePolicyKeyPair,
  importPolicyPrivateKey,
  integrityOf,
  readRevision,
  sha256Hex,
  signPolicy,
  toBase64,
  verifyIntegrity,
  verifySignatureFile,
} from '../src/policy/policy-integrity.ts';
import { signedMessage } from '../src/policy/policy-signature.ts';

const encode = (text: string) => new TextEncoder().encode(text);
const policy = encode(
  '{"version":"v1","revision":3,"default_action":"Deny","tools":[],"rules":[]}\n',
);
const ID = 'https://shop.example/policy.json';

for (const alg of ['Ed25519', 'ES256'] as const) {
  test(`${alg}: a signature names the id, the revision and the bytes' sha256, and verifies with the public key`, async () => {
    const pair = await generatePolicyKeyPair(alg);
    const file = await signPolicy(policy, {
      id: ID,
      signers: [{ privateKey: pair.privateKey, keyId: 'k1' }],
    });
    assert.equal(file.format, 'perso-policy-signature/2');
    assert.equal(file.id, ID);
    assert.equal(file.revision, 3);
    assert.equal(file.sha256, await sha256Hex(policy));
    assert.equal(file.signatures[0]!.alg, alg);
    const result = await verifySignatureFile(
      JSON.stringify(file),
      { id: ID, revision: 3, sha256: file.sha256 },
      [{ keyId: 'k1', alg, publicKey: pair.publicKeySpki }],
    );
    assert.deepEqual(result, {
      ok: true,
      value: { keyId: 'k1', id: ID, revision: 3, sha256: file.sha256 },
    });
  });

  test(`${alg}: other bytes (trailing newline removed) are refused as signed for other bytes`, async () => {
    const pair = await generatePolicyKeyPair(alg);
    const file = await signPolicy(policy, {
      id: ID,
      signers: [{ privateKey: pair.privateKey, keyId: 'k1' }],
    });
    const changed = await sha256Hex(policy.slice(0, policy.length - 1));
    const result = await verifySignatureFile(
      JSON.stringify(file),
      { id: ID, revision: 3, sha256: changed },
      [{ keyId: 'k1', alg, publicKey: pair.publicKeySpki }],
    );
    assert.equal(result.ok, false);
    assert.match(
      (result as { error: string }).error,
      /^the signature is for other bytes .*re-sign the exact file/,
    );
  });

  test(`${alg}: a statement edited in the file (revision raised) fails as a bad signature`, async () => {
    const pair = await generatePolicyKeyPair(alg);
    const file = await signPolicy(policy, {
      id: ID,
      signers: [{ privateKey: pair.privateKey, keyId: 'k1' }],
    });
    const edited = JSON.stringify({ ...file, revision: 4 });
    const result = await verifySignatureFile(edited, { id: ID, revision: 4, sha256: file.sha256 }, [
      { keyId: 'k1', alg, publicKey: pair.publicKeySpki },
    ]);
    assert.equal(result.ok, false);
    assert.match((result as { error: string }).error, /^bad .* signature by key "k1"/);
  });
}

test("other page's signed policy: a signature made for another id is refused and names both", async () => {
  const pair = await generatePolicyKeyPair('Ed25519');
  const file = await signPolicy(policy, {
    id: 'https://shop.example/admin.json',
    signers: [{ privateKey: pair.privateKey, keyId: 'k1' }],
  });
  const result = await verifySignatureFile(
    JSON.stringify(file),
    { id: ID, revision: 3, sha256: file.sha256 },
    [{ keyId: 'k1', alg: 'Ed25519', publicKey: pair.publicKeySpki }],
  );
  assert.equal(result.ok, false);
  assert.match(
    (result as { error: string }).error,
    /signature is for policy "https:\/\/shop.example\/admin.json", not "https:\/\/shop.example\/policy.json"/,
  );
});

test('the signed message quotes the id, so an id cannot forge the revision line', () => {
  const text = new TextDecoder().decode(
    signedMessage({ id: 'a"\nrevision 9', revision: 1, sha256: '0'.repeat(64) }),
  );
  assert.equal(
    text,
    `perso-policy-signature/2\nid "a\\"\\nrevision 9"\nrevision 1\nsha256 ${'0'.repeat(64)}\n`,
  );
});

test('old-format signature (over the bytes alone): refused with how to re-sign', async () => {
  const pair = await generatePolicyKeyPair('Ed25519');
  const result = await verifySignatureFile(
    '{"alg":"Ed25519","key_id":"k1","signature":"AA=="}',
    { id: ID },
    [{ keyId: 'k1', alg: 'Ed25519', publicKey: pair.publicKeySpki }],
  );
  assert.equal(result.ok, false);
  assert.match(
    (result as { error: string }).error,
    /old format .*does not name the policy.*re-sign with signPolicy/,
  );
});

test('a private key exported as PKCS#8 base64 imports and signs', async () => {
  const pair = await generatePolicyKeyPair('Ed25519');
  const pkcs8 = toBase64(new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey)));
  const key = await importPolicyPrivateKey('Ed25519', pkcs8);
  const file = await signPolicy(policy, {
    id: ID,
    signers: [{ privateKey: key, keyId: 'release' }],
  });
  const result = await verifySignatureFile(JSON.stringify(file), { id: ID }, [
    { keyId: 'release', alg: 'Ed25519', publicKey: pair.publicKeySpki },
  ]);
  assert.equal(result.ok, true);
});

test('unknown key: a signature by a key the host did not configure is refused', async () => {
  const signer = await generatePolicyKeyPair('Ed25519');
  const trusted = await generatePolicyKeyPair('Ed25519');
  const file = await signPolicy(policy, {
    id: ID,
    signers: [{ privateKey: signer.privateKey, keyId: 'stranger' }],
  });
  const result = await verifySignatureFile(JSON.stringify(file), { id: ID }, [
    { keyId: 'k1', alg: 'Ed25519', publicKey: trusted.publicKeySpki },
  ]);
  assert.equal(result.ok, false);
  assert.match((result as { error: string }).error, /unknown key "stranger"/);
});

test('a signature file with both algorithms verifies with either key', async () => {
  const ed = await generatePolicyKeyPair('Ed25519');
  const ec = await generatePolicyKeyPair('ES256');
  const file = JSON.stringify(
    await signPolicy(policy, {
      id: ID,
      signers: [
        { privateKey: ed.privateKey, keyId: 'ed' },
        { privateKey: ec.privateKey, keyId: 'ec' },
      ],
    }),
  );
  assert.equal(
    await verifySignatureFile(file, { id: ID }, [
      { keyId: 'ec', alg: 'ES256', publicKey: ec.publicKeySpki },
    ]).then((r) => r.ok && r.value.keyId),
    'ec',
  );
  assert.equal(
    await verifySignatureFile(file, { id: ID }, [
      { keyId: 'ed', alg: 'Ed25519', publicKey: ed.publicKeySpki },
    ]).then((r) => r.ok && r.value.keyId),
    'ed',
  );
});

test('malformed signature file: refused with the expected shape', async () => {
  const pair = await generatePolicyKeyPair('Ed25519');
  const sha256 = await sha256Hex(policy);
  const text = JSON.stringify({
    format: 'perso-policy-signature/2',
    id: ID,
    revision: 3,
    sha256,
    signatures: [{ alg: 'RS256', key_id: 'k1', signature: 'AA==' }],
  });
  const result = await verifySignatureFile(text, { id: ID }, [
    { keyId: 'k1', alg: 'Ed25519', publicKey: pair.publicKeySpki },
  ]);
  assert.equal(result.ok, false);
  assert.match((result as { error: string }).error, /signature file "signatures"\[0\] must be/);
});

test('pinned integrity: the right sha256 passes, another one fails and names both', async () => {
  const pin = await integrityOf(policy);
  assert.match(pin, /^sha256-[A-Za-z0-9+/]+=*$/);
  assert.equal((await verifyIntegrity(policy, pin)).ok, true);
  const other = await integrityOf(encode('{}'));
  const result = await verifyIntegrity(policy, other);
  assert.equal(result.ok, false);
  assert.match(
    (result as { error: string }).error,
    new RegExp(
      `pinned integrity "${other.replace(/[+/]/g, '\\$&')}".*hash to "${pin.replace(/[+/]/g, '\\$&')}"`,
    ),
  );
  const garbage = await verifyIntegrity(policy, 'md5-abc');
  assert.equal(garbage.ok, false);
});

test('revision: read from the policy; absent is null, anything but a non-negative integer is an error', () => {
  assert.deepEqual(readRevision('{"revision":7}'), { ok: true, value: 7 });
  assert.deepEqual(readRevision('{"version":"x"}'), { ok: true, value: null });
  assert.equal(readRevision('{"revision":"7"}').ok, false);
  assert.equal(readRevision('{"revision":-1}').ok, false);
  assert.equal(readRevision('[1]').ok, false);
});
