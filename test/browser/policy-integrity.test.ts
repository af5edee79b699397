// Signed policies in real Chromium WebCrypto, loaded through the policy loader from a real server:
// good, bad, missing and unknown-key signatures, both algorithms, and re-verification of the cache.
import { expect } from 'chai';
import { openDB } from 'idb';
import { loadPolicy } from '../../src/policy/policy-loader.ts';
import type { PolicyFetchResult } from '../../src/policy/policy-loader.ts';
import {
  generatePolicyKeyPair,
  signPolicy,
  verifySignatureFile,
} from '../../src/policy/policy-integrity.ts';
import type { PolicyPublicKey, SignatureAlgorithm } from '../../src/policy/policy-integrity.ts';
import type { PersoDBSchema } from '../../src/policy/policy-store.ts';
import { dropStores, fileUrl, freshStore, scriptFile, uniqueName } from './helpers/perso-server.ts';

const encode = (text: string) => new TextEncoder().encode(text);
const policyText = (revision: number) =>
  `{\n  "version": "signed-${revision}",\n  "revision": ${revision},\n  "default_action": "Deny",\n  "tools": [],\n  "rules": []\n}\n`;

function expectError(result: PolicyFetchResult, pattern: RegExp): void {
  if (result.ok)
    throw new Error(
      `expected a refusal matching ${pattern}, got a policy from the ${result.source}`,
    );
  expect(result.error).to.match(pattern);
}

async function signer(alg: SignatureAlgorithm, keyId: string) {
  const pair = await generatePolicyKeyPair(alg);
  const key: PolicyPublicKey = { keyId, alg, publicKey: pair.publicKeySpki };
  // Signed for the policy's identity: its URL on the test server.
  const sign = (text: string, name: string) =>
    signPolicy(encode(text), {
      id: fileUrl(name),
      signers: [{ privateKey: pair.privateKey, keyId }],
    });
  return { ...pair, key, sign };
}

/** Publishes a policy and its `.sig` (a JSON value, or raw text) on the test server. */
async function publish(
  name: string,
  text: string,
  sig: unknown,
  etag = `"${uniqueName('e')}"`,
): Promise<string> {
  await scriptFile(name, { body: text, etag });
  if (sig !== undefined)
    await scriptFile(`${name}.sig`, { body: typeof sig === 'string' ? sig : JSON.stringify(sig) });
  return fileUrl(name);
}

describe('policy-integrity (browser WebCrypto, through the loader)', () => {
  afterEach(dropStores);

  for (const alg of ['Ed25519', 'ES256'] as const) {
    it(`${alg}: a policy signed over its exact bytes loads and names the key`, async () => {
      const k = await signer(alg, `key-${alg}`);
      const name = uniqueName('signed');
      const url = await publish(name, policyText(1), await k.sign(policyText(1), name));
      const loaded = await loadPolicy(url, { store: freshStore(), publicKeys: [k.key] });
      if (!loaded.ok) throw new Error(loaded.error);
      expect(loaded.keyId).to.equal(`key-${alg}`);
      expect(loaded.text).to.equal(policyText(1));
    });
  }

  it('signed for other bytes (the signed file differs by one newline): refused and not cached', async () => {
    const k = await signer('Ed25519', 'k1');
    const name = uniqueName('other-bytes');
    const store = freshStore();
    const url = await publish(name, policyText(1), await k.sign(policyText(1).trimEnd(), name));
    expectError(
      await loadPolicy(url, { store, publicKeys: [k.key] }),
      /the signature is for other bytes .*re-sign the exact file/,
    );
    expect(await store.getPolicy(url)).to.equal(undefined);
  });

  it("bad signature (the statement's sha256 edited to match other bytes): refused and not cached", async () => {
    const k = await signer('Ed25519', 'k1');
    const name = uniqueName('bad-sig');
    const store = freshStore();
    const signed = await k.sign(policyText(1).trimEnd(), name);
    const forged = { ...signed, sha256: (await k.sign(policyText(1), name)).sha256 };
    const url = await publish(name, policyText(1), forged);
    expectError(
      await loadPolicy(url, { store, publicKeys: [k.key] }),
      /bad Ed25519 signature by key "k1"/,
    );
    expect(await store.getPolicy(url)).to.equal(undefined);
  });

  it('missing signature (.sig answers 404): refused', async () => {
    const k = await signer('Ed25519', 'k1');
    const name = uniqueName('no-sig');
    const url = await publish(name, policyText(1), undefined);
    expectError(
      await loadPolicy(url, { store: freshStore(), publicKeys: [k.key] }),
      /missing signature: ".*\.sig" answered 404/,
    );
  });

  it('unknown key (signed by a key the host did not configure): refused', async () => {
    const trusted = await signer('Ed25519', 'trusted');
    const stranger = await signer('Ed25519', 'stranger');
    const name = uniqueName('unknown-key');
    const url = await publish(name, policyText(1), await stranger.sign(policyText(1), name));
    expectError(
      await loadPolicy(url, { store: freshStore(), publicKeys: [trusted.key] }),
      /signed by unknown key "stranger" \(Ed25519\); configured keys: "trusted"/,
    );
  });

  it('garbage signature file: refused', async () => {
    const k = await signer('ES256', 'k1');
    const name = uniqueName('garbage-sig');
    const url = await publish(name, policyText(1), 'not json');
    expectError(
      await loadPolicy(url, { store: freshStore(), publicKeys: [k.key] }),
      /signature file is not valid JSON/,
    );
  });

  it('a .sig with Ed25519 and ES256 signatures verifies with only the ES256 key (browsers without Ed25519)', async () => {
    const ed = await signer('Ed25519', 'ed');
    const ec = await signer('ES256', 'ec');
    const text = policyText(1);
    const name = uniqueName('both');
    const [a, b] = [await ed.sign(text, name), await ec.sign(text, name)];
    const url = await publish(name, text, { ...a, signatures: [...a.signatures, ...b.signatures] });
    const loaded = await loadPolicy(url, { store: freshStore(), publicKeys: [ec.key] });
    expect(loaded.ok && loaded.keyId).to.equal('ec');
  });

  it('a JWK public key works like base64 SPKI', async () => {
    const k = await signer('ES256', 'jwk');
    const jwk = await crypto.subtle.exportKey('jwk', k.publicKey);
    const sig = await k.sign(policyText(1), 'jwk-policy');
    const verified = await verifySignatureFile(JSON.stringify(sig), { id: fileUrl('jwk-policy') }, [
      { keyId: 'jwk', alg: 'ES256', publicKey: jwk },
    ]);
    expect(verified.ok && verified.value.keyId).to.equal('jwk');
  });

  it('signed rollback (an older, validly signed revision): refused', async () => {
    const k = await signer('Ed25519', 'k1');
    const name = uniqueName('signed-rollback');
    const store = freshStore();
    const url = await publish(name, policyText(3), await k.sign(policyText(3), name));
    expect((await loadPolicy(url, { store, publicKeys: [k.key] })).ok).to.equal(true);
    await publish(name, policyText(2), await k.sign(policyText(2), name));
    expectError(
      await loadPolicy(url, { store, publicKeys: [k.key] }),
      /revision 2 is lower than revision 3/,
    );
  });

  it('tampered cached signature (changed in IndexedDB) while offline: refused on re-verification', async () => {
    const k = await signer('Ed25519', 'k1');
    const name = uniqueName('tampered-sig');
    const store = freshStore();
    const url = await publish(name, policyText(1), await k.sign(policyText(1), name));
    expect((await loadPolicy(url, { store, publicKeys: [k.key] })).ok).to.equal(true);
    const db = await openDB<PersoDBSchema>(store.name);
    const entry = (await db.get('policies', url))!;
    expect(entry.signature).to.be.a('string');
    const other = await k.sign(policyText(9), name);
    entry.signature = JSON.stringify({ ...other, sha256: entry.sha256, revision: 1 });
    await db.put('policies', entry);
    db.close();
    await scriptFile(name, { status: 500 });
    expectError(
      await loadPolicy(url, { store, publicKeys: [k.key] }),
      /server answered 500; cached copy refused: bad Ed25519 signature/,
    );
  });

  it('cached unsigned copy when keys are configured later (offline): refused as missing signature', async () => {
    const k = await signer('Ed25519', 'k1');
    const name = uniqueName('unsigned-cache');
    const store = freshStore();
    const url = await publish(name, policyText(1), undefined);
    expect((await loadPolicy(url, { store })).ok).to.equal(true);
    await scriptFile(name, { status: 'drop' });
    expectError(
      await loadPolicy(url, { store, publicKeys: [k.key] }),
      /missing signature: public keys are configured but no signature was stored/,
    );
  });

  it('signature server fails (503) after a changed policy: the verified cached copy is used, not the unsigned new one', async () => {
    const k = await signer('Ed25519', 'k1');
    const name = uniqueName('sig-503');
    const store = freshStore();
    const url = await publish(name, policyText(1), await k.sign(policyText(1), name));
    expect((await loadPolicy(url, { store, publicKeys: [k.key] })).ok).to.equal(true);
    await publish(name, policyText(2), undefined);
    await scriptFile(`${name}.sig`, { status: 503 });
    const loaded = await loadPolicy(url, { store, publicKeys: [k.key] });
    if (!loaded.ok) throw new Error(loaded.error);
    expect(loaded.source).to.equal('cache');
    expect(loaded.revision).to.equal(1);
    expect(loaded.notice).to.match(/signature server answered 503; using the cached copy/);
  });

  describe('page without WebCrypto (plain http: no crypto.subtle)', () => {
    // Hide crypto.subtle the way an insecure context does, for the duration of one test.
    beforeEach(() =>
      Object.defineProperty(crypto, 'subtle', { configurable: true, value: undefined }),
    );
    afterEach(() => delete (crypto as { subtle?: unknown }).subtle);

    it('unsigned policy: cached and re-verified with the JavaScript SHA-256', async () => {
      expect(crypto.subtle).to.equal(undefined);
      const name = uniqueName('no-webcrypto');
      const store = freshStore();
      const url = await publish(name, policyText(1), undefined);
      const first = await loadPolicy(url, { store });
      await scriptFile(name, { status: 500 });
      const offline = await loadPolicy(url, { store });
      delete (crypto as { subtle?: unknown }).subtle;
      const expected = Array.from(
        new Uint8Array(await crypto.subtle.digest('SHA-256', encode(policyText(1)))),
        (b) => b.toString(16).padStart(2, '0'),
      ).join('');
      expect(first.ok && first.sha256).to.equal(expected);
      expect(offline.ok && offline.source).to.equal('cache');
    });

    it('no WebCrypto with keys configured: refused, the reason says to serve the page over https', async () => {
      const name = uniqueName('no-webcrypto-signed');
      const url = await publish(
        name,
        policyText(1),
        '{"format":"perso-policy-signature/2","id":"x","revision":1,"sha256":"00","signatures":[]}',
      );
      const result = await loadPolicy(url, {
        store: freshStore(),
        publicKeys: [{ keyId: 'k', alg: 'Ed25519', publicKey: 'AA==' }],
      });
      expectError(
        result,
        /signatures cannot be checked: this page has no WebCrypto .* serve the page over https/,
      );
    });
  });
});
