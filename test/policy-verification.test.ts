// The checks every copy of a policy passes (src/policy/policy-verification.ts), in Node's WebCrypto:
// each refusal is named after the fault it injects. The loader's Chromium tests
// (test/browser/policy-loader.test.ts) run the same checks through fetch and IndexedDB.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  generatePolicyKeyPair,
  integrityOf,
  sha256Hex,
  signPolicy,
} from '../src/policy/policy-integrity.ts';
import type { PolicyBytes } from '../src/policy/policy-integrity.ts';
import { verify, verifyCached } from '../src/policy/policy-verification.ts';
import type { VerificationContext } from '../src/policy/policy-verification.ts';

const encode = (text: string): PolicyBytes => new TextEncoder().encode(text);
const ID = 'https://shop.example/policy.json';
const bytes = encode('{"version":"v1","revision":3,"default_action":"Deny","tools":[],"rules":[]}');
const open: VerificationContext = { id: ID, keys: [], integrity: undefined, maxBytes: 1 << 20 };

describe('policy verification', () => {
  test('a copy with no pin and no keys passes with its text, hash and revision', async () => {
    const checked = await verify(bytes, 'ignored', open);
    assert.ok(checked.ok);
    assert.equal(checked.value.sha256, await sha256Hex(bytes));
    assert.equal(checked.value.revision, 3);
    assert.equal(checked.value.signature, null);
  });
  test('fault: a copy over maxBytes', async () => {
    const checked = await verify(bytes, null, { ...open, maxBytes: 10 });
    assert.deepEqual(checked, {
      ok: false,
      error: `policy is ${bytes.length} bytes, more than the 10 allowed; shrink it or raise maxBytes`,
    });
  });
  test('fault: bytes that are not the pinned ones', async () => {
    const integrity = await integrityOf(encode('{}'));
    const checked = await verify(bytes, null, { ...open, integrity });
    assert.equal(checked.ok, false);
  });
  test('fault: bytes that are not UTF-8', async () => {
    const checked = await verify(new Uint8Array([0x7b, 0xff, 0x7d]), null, open);
    assert.deepEqual(checked, { ok: false, error: 'policy is not valid UTF-8; save it as UTF-8' });
  });
  test('fault: keys configured and no signature', async () => {
    const pair = await generatePolicyKeyPair('Ed25519');
    const keys = [{ keyId: 'k1', alg: 'Ed25519' as const, publicKey: pair.publicKeySpki }];
    const checked = await verify(bytes, null, { ...open, keys });
    assert.equal(checked.ok, false);
    assert.match(checked.ok ? '' : checked.error, /^missing signature: /);
  });
  test('a signature naming this id, revision and bytes passes, and names its key', async () => {
    const pair = await generatePolicyKeyPair('Ed25519');
    const keys = [{ keyId: 'k1', alg: 'Ed25519' as const, publicKey: pair.publicKeySpki }];
    const file = await signPolicy(bytes, {
      id: ID,
      signers: [{ privateKey: pair.privateKey, keyId: 'k1' }],
    });
    const signature = JSON.stringify(file);
    const checked = await verify(bytes, signature, { ...open, keys });
    assert.ok(checked.ok);
    assert.equal(checked.value.keyId, 'k1');
    const elsewhere = await verify(bytes, signature, { ...open, keys, id: 'https://other/' });
    assert.equal(elsewhere.ok, false);
  });
  test('fault: a cached entry whose bytes do not match its stored hash (tampered)', async () => {
    const entry = { bytes, sha256: '0'.repeat(64), signature: null, revision: 3 };
    const checked = await verifyCached(entry, open);
    assert.equal(checked.ok, false);
    assert.match(checked.ok ? '' : checked.error, /^the cached copy was tampered with/);
  });
  test('fault: a cached entry whose stored revision is not its own', async () => {
    const entry = { bytes, sha256: await sha256Hex(bytes), signature: null, revision: 2 };
    const checked = await verifyCached(entry, open);
    assert.equal(checked.ok, false);
    assert.match(checked.ok ? '' : checked.error, /revision does not match/);
  });
  test('fault: a malformed cache entry', async () => {
    const checked = await verifyCached({ bytes: 'not bytes' }, open);
    assert.equal(checked.ok, false);
    assert.match(checked.ok ? '' : checked.error, /\(malformed cache entry\)/);
  });
});
