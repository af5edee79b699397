// The policy loader against a real server (the test runner's /__perso__/ endpoints), real
// IndexedDB and real WebCrypto: cache miss, hit, revalidation, offline, tampering, integrity, rollback.
import { expect } from 'chai';
import { openDB } from 'idb';
import { cachedPolicySource, loadPolicy } from '../../src/policy/policy-loader.ts';
import type { PolicyFetchResult } from '../../src/policy/policy-loader.ts';
import { integrityOf } from '../../src/policy/policy-integrity.ts';
import type { PersoDBSchema } from '../../src/policy/policy-store.ts';
import { Perso } from '../../src/perso/perso.ts';
import { generatePolicyKeyPair, signPolicy } from '../../src/policy/policy-integrity.ts';
import {
  dropStores,
  fileLog,
  fileUrl,
  freshStore,
  scriptFile,
  uniqueName,
} from './helpers/perso-server.ts';

const policyText = (revision: number, version = `v${revision}`) =>
  JSON.stringify({ version, revision, default_action: 'Deny', tools: ['search'], rules: [] });

function expectOk(result: PolicyFetchResult): Extract<PolicyFetchResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected a loaded policy, got the error: ${result.error}`);
  return result;
}

function expectError(result: PolicyFetchResult, pattern: RegExp): string {
  if (result.ok)
    throw new Error(
      `expected a refusal matching ${pattern}, got a policy from the ${result.source}`,
    );
  expect(result.error).to.match(pattern);
  return result.error;
}

describe('policy-loader', () => {
  afterEach(dropStores);

  it('cache miss: fetches without If-None-Match, stores bytes, ETag and SHA-256', async () => {
    const name = uniqueName('miss');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    const loaded = expectOk(await loadPolicy(fileUrl(name), { store }));
    expect(loaded.source).to.equal('network');
    expect(loaded.text).to.equal(policyText(1));
    expect(loaded.revision).to.equal(1);
    expect(loaded.sha256).to.match(/^[0-9a-f]{64}$/);
    expect(await fileLog(name)).to.deep.equal([{ ifNoneMatch: null, status: 200 }]);
    const entry = await store.getPolicy(fileUrl(name));
    expect(entry?.etag).to.equal('"a1"');
    expect(entry?.sha256).to.equal(loaded.sha256);
    expect(new TextDecoder().decode(entry!.bytes)).to.equal(policyText(1));
  });

  it('cache hit (pinned): revalidates with the ETag, the server answers 304, the cached copy is used', async () => {
    const name = uniqueName('hit');
    const store = freshStore();
    const integrity = await integrityOf(new TextEncoder().encode(policyText(1)));
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    const first = expectOk(await loadPolicy(fileUrl(name), { store, integrity }));
    const second = expectOk(await loadPolicy(fileUrl(name), { store, integrity }));
    expect(second.source).to.equal('cache');
    expect(second.text).to.equal(first.text);
    expect(second.sha256).to.equal(first.sha256);
    expect((await fileLog(name))[1]).to.deep.equal({ ifNoneMatch: '"a1"', status: 304 });
  });

  it("no pin and no keys: no If-None-Match is sent (nothing could verify a 304'd copy), the cache is for offline", async () => {
    const name = uniqueName('unanchored');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    const second = expectOk(await loadPolicy(fileUrl(name), { store }));
    expect(second.source).to.equal('network');
    expect((await fileLog(name))[1]).to.deep.equal({ ifNoneMatch: null, status: 200 });
  });

  it('revalidation: a changed policy (new ETag) replaces the cached one', async () => {
    const name = uniqueName('changed');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await scriptFile(name, { body: policyText(2), etag: '"a2"' });
    const loaded = expectOk(await loadPolicy(fileUrl(name), { store }));
    expect(loaded.source).to.equal('network');
    expect(loaded.revision).to.equal(2);
    expect((await store.getPolicy(fileUrl(name)))?.etag).to.equal('"a2"');
    expect(await store.highestRevision(fileUrl(name))).to.equal(2);
  });

  it('server fails with 500: the cached copy keeps the page enforcing, with a notice', async () => {
    const name = uniqueName('offline-500');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await scriptFile(name, { status: 500 });
    const loaded = expectOk(await loadPolicy(fileUrl(name), { store }));
    expect(loaded.source).to.equal('cache');
    expect(loaded.text).to.equal(policyText(1));
    expect(loaded.notice).to.match(/server answered 500; using the cached copy/);
  });

  it('network drops the connection (fetch rejects): the cached copy is used', async () => {
    const name = uniqueName('offline-drop');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await scriptFile(name, { status: 'drop' });
    const loaded = expectOk(await loadPolicy(fileUrl(name), { store }));
    expect(loaded.source).to.equal('cache');
    expect(loaded.notice).to.match(/^the network failed \(failed to fetch\)/);
  });

  it('server hangs past the timeout: the cached copy is used', async () => {
    const name = uniqueName('offline-slow');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await scriptFile(name, { body: policyText(1), etag: '"a2"', delayMs: 2000 });
    const started = performance.now();
    const loaded = expectOk(await loadPolicy(fileUrl(name), { store, timeoutMs: 150 }));
    expect(performance.now() - started).to.be.below(1500);
    expect(loaded.source).to.equal('cache');
    expect(loaded.notice).to.match(/TimeoutError/);
  });

  it('server fails and nothing is cached: refused, the reason says there is no cached copy', async () => {
    const name = uniqueName('offline-cold');
    await scriptFile(name, { status: 503 });
    expectError(
      await loadPolicy(fileUrl(name), { store: freshStore() }),
      /server answered 503, and no cached copy exists/,
    );
  });

  it('policy not found (404): refused, even with a cached copy', async () => {
    const name = uniqueName('gone');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await scriptFile(name, { status: 404 });
    expectError(
      await loadPolicy(fileUrl(name), { store }),
      /server answered 404; publish the policy/,
    );
  });

  it('tampered cache entry (bytes changed in IndexedDB) while offline: refused, the reason says tampered', async () => {
    const name = uniqueName('tampered');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await store.close();
    const db = await openDB<PersoDBSchema>(store.name);
    const entry = (await db.get('policies', fileUrl(name)))!;
    entry.bytes = new TextEncoder().encode(policyText(1).replace('"Deny"', '"Allow"'));
    await db.put('policies', entry);
    db.close();
    await scriptFile(name, { status: 500 });
    const error = expectError(
      await loadPolicy(fileUrl(name), { store }),
      /cached copy was tampered with or corrupted \(sha256 [0-9a-f]{64} does not match/,
    );
    expect(error).to.match(/server answered 500/);
  });

  it('tampered cache entry while online (pinned): the 304 is not trusted, the full policy is fetched without a validator', async () => {
    const name = uniqueName('tampered-online');
    const store = freshStore();
    const integrity = await integrityOf(new TextEncoder().encode(policyText(1)));
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expectOk(await loadPolicy(fileUrl(name), { store, integrity }));
    const db = await openDB<PersoDBSchema>(store.name);
    const entry = (await db.get('policies', fileUrl(name)))!;
    entry.bytes[0] = 0x20;
    await db.put('policies', entry);
    db.close();
    const loaded = expectOk(await loadPolicy(fileUrl(name), { store, integrity }));
    expect(loaded.source).to.equal('network');
    expect(loaded.text).to.equal(policyText(1));
    expect((await fileLog(name)).slice(1)).to.deep.equal([
      { ifNoneMatch: '"a1"', status: 304 },
      { ifNoneMatch: null, status: 200 },
    ]);
  });

  it('pinned integrity mismatch: refused, and nothing is cached', async () => {
    const name = uniqueName('pin');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    const pin = await integrityOf(new TextEncoder().encode(policyText(2)));
    expectError(
      await loadPolicy(fileUrl(name), { store, integrity: pin }),
      /do not match the pinned integrity/,
    );
    expect(await store.getPolicy(fileUrl(name))).to.equal(undefined);
    const right = await integrityOf(new TextEncoder().encode(policyText(1)));
    expect(expectOk(await loadPolicy(fileUrl(name), { store, integrity: right })).source).to.equal(
      'network',
    );
  });

  it('pinned integrity mismatch on the cached copy (pin changed while offline): refused', async () => {
    const name = uniqueName('pin-cache');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await scriptFile(name, { status: 500 });
    const pin = await integrityOf(new TextEncoder().encode(policyText(2)));
    expectError(
      await loadPolicy(fileUrl(name), { store, integrity: pin }),
      /cached copy refused: policy bytes do not match the pinned integrity/,
    );
  });

  it('rollback to a lower revision: refused, and the cached higher revision stays', async () => {
    const name = uniqueName('rollback');
    const store = freshStore();
    await scriptFile(name, { body: policyText(5), etag: '"r5"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await scriptFile(name, { body: policyText(4), etag: '"r4"' });
    expectError(
      await loadPolicy(fileUrl(name), { store }),
      /revision 4 is lower than revision 5 .*rollback refused/,
    );
    expect((await store.getPolicy(fileUrl(name)))?.revision).to.equal(5);
  });

  it('rollback after the cache entry was deleted: the revision mark still refuses it', async () => {
    const name = uniqueName('rollback-deleted');
    const store = freshStore();
    await scriptFile(name, { body: policyText(5), etag: '"r5"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await store.deletePolicy(fileUrl(name));
    await scriptFile(name, {
      body: JSON.stringify({ version: 'old', default_action: 'Allow', tools: [], rules: [] }),
      etag: '"old"',
    });
    expectError(await loadPolicy(fileUrl(name), { store }), /revision 0 is lower than revision 5/);
  });

  it('host validation rejects the policy: refused and not cached', async () => {
    const name = uniqueName('invalid');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    const validate = (text: string) =>
      text.includes('"rules":[]') ? 'rules: empty; add a rule' : null;
    expectError(
      await loadPolicy(fileUrl(name), { store, validate }),
      /: rules: empty; add a rule$/,
    );
    expect(await store.getPolicy(fileUrl(name))).to.equal(undefined);
  });

  it('malformed JSON from the server: refused with the parse error', async () => {
    const name = uniqueName('malformed');
    await scriptFile(name, { body: '{"version": ', etag: '"m"' });
    expectError(
      await loadPolicy(fileUrl(name), { store: freshStore() }),
      /policy is not valid JSON/,
    );
  });

  it('works without a cache: network only, and offline is refused', async () => {
    const name = uniqueName('nocache');
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expect(expectOk(await loadPolicy(fileUrl(name))).source).to.equal('network');
    expect((await fileLog(name))[0]!.ifNoneMatch).to.equal(null);
    await scriptFile(name, { status: 500 });
    expectError(await loadPolicy(fileUrl(name)), /no cached copy exists/);
  });

  it("IndexedDB open stuck behind another tab's pending upgrade: no hang, network only, with a notice", async () => {
    const name = uniqueName('stuck-db');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    // A connection that ignores versionchange, and an upgrade waiting on it: later opens queue forever.
    const holder = await openDB(store.name, 1);
    const upgrade = openDB(store.name, 2);
    try {
      const started = performance.now();
      const loaded = expectOk(await loadPolicy(fileUrl(name), { store, storeTimeoutMs: 200 }));
      expect(performance.now() - started).to.be.below(2000);
      expect(loaded.source).to.equal('network');
      expect(loaded.notice).to.match(
        /^not cached: the IndexedDB cache is unavailable \(no answer within 200 ms/,
      );
    } finally {
      holder.close();
      (await upgrade).close();
    }
  });

  it('cachedPolicySource: the resolvePolicySource seam answers network (cached only on commit), then cache, then the refusal', async () => {
    const name = uniqueName('seam');
    const source = cachedPolicySource({ store: freshStore() });
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    const url = new URL(fileUrl(name));
    const first = await source(url);
    expect({ ...first, commit: undefined }).to.deep.equal({
      ok: true,
      text: policyText(1),
      source: 'network',
      location: url.href,
      commit: undefined,
    });
    await scriptFile(name, { status: 502 });
    expect(await source(url)).to.deep.include({ ok: false });
    if (first.ok) await first.commit?.();
    expect(await source(url)).to.deep.include({ ok: true, source: 'cache' });
    await scriptFile(name, { status: 404 });
    const refused = await source(url);
    expect(refused.ok).to.equal(false);
    expect(!refused.ok && refused.error).to.match(/answered 404/);
  });
});

describe('Perso.load with a URL policy (through the worker engine)', () => {
  let demo: string;
  const opened: Perso[] = [];
  const open = async (options: Parameters<typeof Perso.load>[0]) => {
    const perso = await Perso.load(options);
    opened.push(perso);
    return perso;
  };
  const refund = { tool: 'process_refund', args: { amount: 100 }, role: 'support_agent' };

  before(async () => {
    demo = await (await fetch('/test/fixtures/perso-demo-policy.json')).text();
  });
  afterEach(async () => {
    for (const perso of opened.splice(0)) await perso.close();
    await dropStores();
  });

  it('online once, then offline: keeps enforcing the same policy from the cache', async () => {
    const name = uniqueName('perso-offline');
    const cache = freshStore();
    await scriptFile(name, { body: demo, etag: '"d1"' });
    const path = new URL(fileUrl(name)).pathname;
    const online = await open({ policy: path, cache });
    expect(online.status()).to.include({ ok: true, source: 'network' });
    const allowed = await online.evaluate(refund);
    await scriptFile(name, { status: 'drop' });
    const offline = await open({ policy: path, cache });
    expect(offline.status()).to.include({ ok: true, source: 'cache', hash: online.status().hash });
    const again = await offline.evaluate(refund);
    expect(again.decision).to.equal(allowed.decision);
    expect(again.reason).to.equal(allowed.reason);
  });

  it('tampered cache entry while offline: denies everything, the reason says tampered', async () => {
    const name = uniqueName('perso-tampered');
    const cache = freshStore();
    await scriptFile(name, { body: demo, etag: '"d1"' });
    await (await open({ policy: fileUrl(name), cache })).close();
    const db = await openDB<PersoDBSchema>(cache.name);
    await db.put('policies', {
      ...(await db.get('policies', fileUrl(name)))!,
      bytes: new TextEncoder().encode(demo.replace('"Deny"', '"Allow"')),
    });
    db.close();
    await scriptFile(name, { status: 500 });
    const perso = await open({ policy: fileUrl(name), cache });
    expect(perso.status().ok).to.equal(false);
    const decision = await perso.evaluate(refund);
    expect(decision.decision).to.equal('Deny');
    expect(decision.kind).to.equal('no_policy');
    expect(decision.reason).to.match(/tampered with or corrupted/);
  });

  it('policy missing (404): denies everything, the reason names the status', async () => {
    const perso = await open({ policy: fileUrl(uniqueName('perso-missing')), cache: freshStore() });
    const decision = await perso.evaluate(refund);
    expect(decision).to.include({ decision: 'Deny', kind: 'no_policy' });
    expect(decision.reason).to.match(/server answered 404/);
  });

  it('signed policy: loads with the right key, denies everything with an unknown one', async () => {
    const name = uniqueName('perso-signed');
    const signer = await generatePolicyKeyPair('Ed25519');
    const other = await generatePolicyKeyPair('Ed25519');
    await scriptFile(name, { body: demo, etag: '"d1"' });
    await scriptFile(`${name}.sig`, {
      body: JSON.stringify(
        await signPolicy(new TextEncoder().encode(demo), {
          id: fileUrl(name),
          signers: [{ privateKey: signer.privateKey, keyId: 'k' }],
        }),
      ),
    });
    const good = await open({
      policy: fileUrl(name),
      cache: freshStore(),
      publicKeys: [{ keyId: 'k', alg: 'Ed25519', publicKey: signer.publicKeySpki }],
    });
    expect(good.status().ok).to.equal(true);
    const bad = await open({
      policy: fileUrl(name),
      cache: freshStore(),
      publicKeys: [{ keyId: 'other', alg: 'Ed25519', publicKey: other.publicKeySpki }],
    });
    const decision = await bad.evaluate(refund);
    expect(decision).to.include({ decision: 'Deny', kind: 'no_policy' });
    expect(decision.reason).to.match(/signed by unknown key "k"/);
  });

  it('integrity pinned but the policy given inline: refused, not silently unverified', async () => {
    const perso = await open({ policy: demo, integrity: 'sha256-AAAA' });
    const decision = await perso.evaluate(refund);
    expect(decision).to.include({ decision: 'Deny', kind: 'no_policy' });
    expect(decision.reason).to.match(
      /integrity and publicKeys apply to URL policies, but the policy was given inline; pass its URL or drop them/,
    );
  });
});

// Issue 15's policy-loading attacks, re-run in Chromium against a real server and real IndexedDB.
// Each ends in a Deny, a refusal with a clear reason, or the right policy.
describe('policy-loader attacks (issue 15)', () => {
  const deleteCall = { tool: 'delete_customer', args: { id: 'c-1' }, role: 'agent' };
  const pagePolicy = (revision: number) =>
    JSON.stringify({
      version: `page-${revision}`,
      revision,
      default_action: 'Deny',
      tools: ['delete_customer'],
      rules: [],
    });
  const allowAll = (revision: number) =>
    JSON.stringify({
      version: `admin-${revision}`,
      revision,
      default_action: 'Allow',
      tools: ['delete_customer'],
      rules: [],
    });
  const opened: Perso[] = [];
  const open = async (options: Parameters<typeof Perso.load>[0]) => {
    const perso = await Perso.load(options);
    opened.push(perso);
    return perso;
  };
  afterEach(async () => {
    for (const perso of opened.splice(0)) await perso.close();
    await dropStores();
  });

  /** The release key, and how a release signs a policy for an id. */
  async function releaseKey() {
    const pair = await generatePolicyKeyPair('Ed25519');
    return {
      publicKeys: [{ keyId: 'release', alg: 'Ed25519' as const, publicKey: pair.publicKeySpki }],
      sign: async (text: string, id: string) =>
        JSON.stringify(
          await signPolicy(new TextEncoder().encode(text), {
            id,
            signers: [{ privateKey: pair.privateKey, keyId: 'release' }],
          }),
        ),
    };
  }

  /** Serves a policy and its signature, made for `id` (default: the URL it is served at). */
  async function release(
    name: string,
    text: string,
    key: Awaited<ReturnType<typeof releaseKey>>,
    etag: string,
    id = fileUrl(name),
  ) {
    await scriptFile(name, { body: text, etag });
    await scriptFile(`${name}.sig`, { body: await key.sign(text, id) });
  }

  async function editStore(
    name: string,
    edit: (db: Awaited<ReturnType<typeof openDB<PersoDBSchema>>>) => Promise<void>,
  ) {
    const db = await openDB<PersoDBSchema>(name);
    await edit(db);
    db.close();
  }

  it("other page's signed policy: an allow-all policy signed for another page is refused at this page's url, every call denied", async () => {
    const key = await releaseKey();
    const name = uniqueName('page');
    const adminUrl = fileUrl(uniqueName('admin'));
    await release(name, allowAll(9), key, '"x1"', adminUrl);
    const perso = await open({
      policy: fileUrl(name),
      cache: freshStore(),
      publicKeys: key.publicKeys,
    });
    expect(perso.status().ok).to.equal(false);
    const decision = await perso.evaluate(deleteCall);
    expect(decision).to.include({ decision: 'Deny', kind: 'no_policy' });
    expect(decision.reason).to.include(
      `the signature is for policy "${adminUrl}", not "${fileUrl(name)}"`,
    );
  });

  it("other page's signed policy under a configured policyId: refused; signed for that id: loads from any url", async () => {
    const key = await releaseKey();
    const name = uniqueName('mirror');
    await release(name, pagePolicy(1), key, '"m1"', 'shop-admin');
    const refused = await open({
      policy: fileUrl(name),
      cache: freshStore(),
      publicKeys: key.publicKeys,
      policyId: 'shop-checkout',
    });
    expect((await refused.evaluate(deleteCall)).reason).to.match(
      /signature is for policy "shop-admin", not "shop-checkout"/,
    );
    await release(name, pagePolicy(1), key, '"m2"', 'shop-checkout');
    const loaded = await open({
      policy: fileUrl(name),
      cache: freshStore(),
      publicKeys: key.publicKeys,
      policyId: 'shop-checkout',
    });
    expect(loaded.status()).to.include({ ok: true, version: 'page-1' });
  });

  it('same revision other bytes: a second validly signed policy with the cached revision is refused and reported', async () => {
    const key = await releaseKey();
    const name = uniqueName('same-rev');
    const store = freshStore();
    await release(name, pagePolicy(3), key, '"s1"');
    expectOk(await loadPolicy(fileUrl(name), { store, publicKeys: key.publicKeys }));
    await release(name, allowAll(3), key, '"s2"');
    const perso = await open({ policy: fileUrl(name), cache: store, publicKeys: key.publicKeys });
    expect(perso.status().ok).to.equal(false);
    expect(perso.status().errors[0]?.message).to.match(
      /policy revision 3 was already accepted with other bytes \(sha256 [0-9a-f]{64}, now [0-9a-f]{64}\).*publish the change as revision 4/,
    );
    expect(await perso.evaluate(deleteCall)).to.include({ decision: 'Deny', kind: 'no_policy' });
    expect(new TextDecoder().decode((await store.getPolicy(fileUrl(name)))!.bytes)).to.equal(
      pagePolicy(3),
    );
  });

  it('ETag with a newline: the validator the browser cannot send is dropped, the server is asked, tampered bytes are not used', async () => {
    const name = uniqueName('etag-newline');
    const store = freshStore();
    const integrity = await integrityOf(new TextEncoder().encode(pagePolicy(1)));
    await scriptFile(name, { body: pagePolicy(1), etag: '"e1"' });
    expectOk(await loadPolicy(fileUrl(name), { store, integrity }));
    // The pinned bytes stay (they must verify to be revalidated); only the ETag gets a newline.
    await editStore(store.name, async (db) => {
      await db.put('policies', { ...(await db.get('policies', fileUrl(name)))!, etag: '"e1"\n' });
    });
    expect(expectOk(await loadPolicy(fileUrl(name), { store, integrity }))).to.include({
      source: 'network',
      text: pagePolicy(1),
    });
    // Without a pin: the attacker also writes other bytes, consistently re-hashed.
    const forged = new TextEncoder().encode(allowAll(1));
    const sha256 = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', forged)), (b) =>
      b.toString(16).padStart(2, '0'),
    ).join('');
    await editStore(store.name, async (db) => {
      await db.put('policies', {
        ...(await db.get('policies', fileUrl(name)))!,
        bytes: forged,
        sha256,
        etag: '"e1"\n',
      });
    });
    expect(expectOk(await loadPolicy(fileUrl(name), { store }))).to.include({
      source: 'network',
      text: pagePolicy(1),
    });
    expect((await fileLog(name)).slice(1)).to.deep.equal([
      { ifNoneMatch: null, status: 200 },
      { ifNoneMatch: null, status: 200 },
    ]);
    const perso = await open({ policy: fileUrl(name), cache: store });
    expect(await perso.evaluate(deleteCall)).to.include({
      decision: 'Deny',
      policyVersion: 'page-1',
    });
  });

  it('older signed release swapped into the store with a 304: the bytes are checked against the fresh signature, the current policy is used', async () => {
    const key = await releaseKey();
    const name = uniqueName('swap-304');
    const store = freshStore();
    await release(name, allowAll(1), key, '"r1"');
    expectOk(await loadPolicy(fileUrl(name), { store, publicKeys: key.publicKeys }));
    const [old, oldMark] = [
      (await store.getPolicy(fileUrl(name)))!,
      await store.getRevisionMark(fileUrl(name)),
    ];
    await release(name, pagePolicy(2), key, '"r2"');
    expectOk(await loadPolicy(fileUrl(name), { store, publicKeys: key.publicKeys }));
    // The attacker writes release 1 back, entry and floor, under release 2's ETag.
    await editStore(store.name, async (db) => {
      await db.put('policies', { ...old, etag: '"r2"' });
      await db.put('revisions', oldMark as never);
    });
    const perso = await open({ policy: fileUrl(name), cache: store, publicKeys: key.publicKeys });
    expect(perso.status()).to.include({ ok: true, source: 'network', version: 'page-2' });
    expect(await perso.evaluate(deleteCall)).to.include({
      decision: 'Deny',
      policyVersion: 'page-2',
    });
    expect((await fileLog(name)).slice(2)).to.deep.equal([
      { ifNoneMatch: '"r2"', status: 304 },
      { ifNoneMatch: null, status: 200 },
    ]);
  });

  it('older signed release swapped into the cached entry only: online, the current policy is used and written back over it', async () => {
    const key = await releaseKey();
    const name = uniqueName('swap-entry');
    const store = freshStore();
    await release(name, allowAll(1), key, '"r1"');
    expectOk(await loadPolicy(fileUrl(name), { store, publicKeys: key.publicKeys }));
    const old = (await store.getPolicy(fileUrl(name)))!;
    await release(name, pagePolicy(2), key, '"r2"');
    expectOk(await loadPolicy(fileUrl(name), { store, publicKeys: key.publicKeys }));
    await editStore(store.name, (db) =>
      db.put('policies', { ...old, etag: '"r2"' }).then(() => undefined),
    );
    expect(
      expectOk(await loadPolicy(fileUrl(name), { store, publicKeys: key.publicKeys })),
    ).to.include({ source: 'network', revision: 2 });
    expect(new TextDecoder().decode((await store.getPolicy(fileUrl(name)))!.bytes)).to.equal(
      pagePolicy(2),
    );
  });

  it('older signed release swapped into the store, then offline: the signed floor refuses it as a rollback', async () => {
    const key = await releaseKey();
    const name = uniqueName('swap-offline');
    const store = freshStore();
    await release(name, allowAll(1), key, '"r1"');
    expectOk(await loadPolicy(fileUrl(name), { store, publicKeys: key.publicKeys }));
    const old = (await store.getPolicy(fileUrl(name)))!;
    await release(name, pagePolicy(2), key, '"r2"');
    expectOk(await loadPolicy(fileUrl(name), { store, publicKeys: key.publicKeys }));
    await editStore(store.name, (db) => db.put('policies', old).then(() => undefined));
    await scriptFile(name, { status: 'drop' });
    const perso = await open({ policy: fileUrl(name), cache: store, publicKeys: key.publicKeys });
    const decision = await perso.evaluate(deleteCall);
    expect(decision).to.include({ decision: 'Deny', kind: 'no_policy' });
    expect(decision.reason).to.match(
      /cached copy refused: policy revision 1 is lower than revision 2 already seen for this url \(rollback refused\)/,
    );
  });

  for (const [attack, edit] of [
    [
      'floor deleted',
      (db: Awaited<ReturnType<typeof openDB<PersoDBSchema>>>, url: string) =>
        db.delete('revisions', url),
    ],
    [
      'floor set to a string',
      (db: Awaited<ReturnType<typeof openDB<PersoDBSchema>>>, url: string) =>
        db.put('revisions', { url, highest: 'x' } as never).then(() => undefined),
    ],
  ] as const) {
    it(`${attack}: an older signed release from the server is still refused as a rollback (the floor is what verifies)`, async () => {
      const key = await releaseKey();
      const name = uniqueName('floor');
      const store = freshStore();
      const old = await key.sign(allowAll(1), fileUrl(name));
      await release(name, pagePolicy(2), key, '"f2"');
      expectOk(await loadPolicy(fileUrl(name), { store, publicKeys: key.publicKeys }));
      await editStore(store.name, (db) => edit(db, fileUrl(name)));
      // A compromised CDN serves release 1, validly signed.
      await scriptFile(name, { body: allowAll(1), etag: '"f1"' });
      await scriptFile(`${name}.sig`, { body: old });
      const perso = await open({ policy: fileUrl(name), cache: store, publicKeys: key.publicKeys });
      const decision = await perso.evaluate(deleteCall);
      expect(decision).to.include({ decision: 'Deny', kind: 'no_policy' });
      expect(decision.reason).to.match(
        /policy revision 1 is lower than revision 2 already seen for this url \(rollback refused\)/,
      );
    });

    it(`${attack}, without keys: the cached copy's revision is the floor`, async () => {
      const name = uniqueName('floor-unsigned');
      const store = freshStore();
      await scriptFile(name, { body: pagePolicy(2), etag: '"u2"' });
      expectOk(await loadPolicy(fileUrl(name), { store }));
      await editStore(store.name, (db) => edit(db, fileUrl(name)));
      await scriptFile(name, { body: allowAll(1), etag: '"u1"' });
      expectError(
        await loadPolicy(fileUrl(name), { store }),
        /revision 1 is lower than revision 2/,
      );
    });
  }

  it('an invalid policy then the fixed one: the invalid one is neither cached nor the floor, the fix loads', async () => {
    const key = await releaseKey();
    const name = uniqueName('invalid-then-fixed');
    const store = freshStore();
    await release(name, pagePolicy(5), key, '"i5"');
    expect(
      (await open({ policy: fileUrl(name), cache: store, publicKeys: key.publicKeys })).status().ok,
    ).to.equal(true);
    const invalid = JSON.stringify({
      version: 'bad-6',
      revision: 6,
      default_action: 'Maybe',
      tools: [],
      rules: [],
    });
    await release(name, invalid, key, '"i6"');
    const refused = await open({ policy: fileUrl(name), cache: store, publicKeys: key.publicKeys });
    expect(refused.status().ok).to.equal(false);
    expect(await refused.evaluate(deleteCall)).to.include({ decision: 'Deny', kind: 'no_policy' });
    expect((await store.getPolicy(fileUrl(name)))?.revision).to.equal(5);
    expect(await store.highestRevision(fileUrl(name))).to.equal(5);
    await release(name, pagePolicy(6), key, '"i6b"');
    const fixed = await open({ policy: fileUrl(name), cache: store, publicKeys: key.publicKeys });
    expect(fixed.status()).to.include({ ok: true, version: 'page-6' });
    expect(await fixed.evaluate(deleteCall)).to.include({
      decision: 'Deny',
      policyVersion: 'page-6',
      kind: 'no_rule',
    });
    expect(await store.highestRevision(fileUrl(name))).to.equal(6);
  });

  it('old-format signature (over the bytes alone): refused with how to re-sign', async () => {
    const pair = await generatePolicyKeyPair('Ed25519');
    const name = uniqueName('old-format');
    const bytes = new TextEncoder().encode(pagePolicy(1));
    const raw = new Uint8Array(
      await crypto.subtle.sign({ name: 'Ed25519' }, pair.privateKey, bytes),
    );
    await scriptFile(name, { body: pagePolicy(1), etag: '"o1"' });
    await scriptFile(`${name}.sig`, {
      body: JSON.stringify({
        alg: 'Ed25519',
        key_id: 'k',
        signature: btoa(String.fromCharCode(...raw)),
      }),
    });
    const result = await loadPolicy(fileUrl(name), {
      store: freshStore(),
      publicKeys: [{ keyId: 'k', alg: 'Ed25519', publicKey: pair.publicKeySpki }],
    });
    expectError(result, /old format .*re-sign with signPolicy\(bytes, \{id, signers\}\)/);
  });
});
