// The policy loader against a real server (the test runner's /__perso__/ endpoints), real
// IndexedDB and real WebCrypto: cache miss, hit, revalidation, offline, tampering, integrity, rollback.
import { expect } from 'chai';
import { openDB } from 'idb';
import { cachedPolicySource, loadPolicy } from '../../src/policy-loader.ts';
import type { PolicyFetchResult } from '../../src/policy-loader.ts';
import { integrityOf } from '../../src/policy-integrity.ts';
import type { PersoDBSchema } from '../../src/policy-store.ts';
import { Perso } from '../../src/perso.ts';
import { generatePolicyKeyPair, signPolicy } from '../../src/policy-integrity.ts';
import { dropStores, fileLog, fileUrl, freshStore, scriptFile, uniqueName } from './helpers/perso-server.ts';

const policyText = (revision: number, version = `v${revision}`) =>
  JSON.stringify({ version, revision, default_action: 'Deny', tools: ['search'], rules: [] });

function expectOk(result: PolicyFetchResult): Extract<PolicyFetchResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected a loaded policy, got the error: ${result.error}`);
  return result;
}

function expectError(result: PolicyFetchResult, pattern: RegExp): string {
  if (result.ok) throw new Error(`expected a refusal matching ${pattern}, got a policy from the ${result.source}`);
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

  it('cache hit: revalidates with the ETag, the server answers 304, the cached copy is used', async () => {
    const name = uniqueName('hit');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    const first = expectOk(await loadPolicy(fileUrl(name), { store }));
    const second = expectOk(await loadPolicy(fileUrl(name), { store }));
    expect(second.source).to.equal('cache');
    expect(second.text).to.equal(first.text);
    expect(second.sha256).to.equal(first.sha256);
    expect((await fileLog(name))[1]).to.deep.equal({ ifNoneMatch: '"a1"', status: 304 });
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
    expect(loaded.notice).to.match(/^the network failed \(TypeError/);
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
    expectError(await loadPolicy(fileUrl(name), { store: freshStore() }), /server answered 503, and no cached copy exists/);
  });

  it('policy not found (404): refused, even with a cached copy', async () => {
    const name = uniqueName('gone');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await scriptFile(name, { status: 404 });
    expectError(await loadPolicy(fileUrl(name), { store }), /server answered 404; publish the policy/);
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
    const error = expectError(await loadPolicy(fileUrl(name), { store }), /cached copy was tampered with or corrupted \(sha256 [0-9a-f]{64} does not match/);
    expect(error).to.match(/server answered 500/);
  });

  it('tampered cache entry while online: the 304 is not trusted, the full policy is fetched again', async () => {
    const name = uniqueName('tampered-online');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    const db = await openDB<PersoDBSchema>(store.name);
    const entry = (await db.get('policies', fileUrl(name)))!;
    entry.bytes[0] = 0x20;
    await db.put('policies', entry);
    db.close();
    const loaded = expectOk(await loadPolicy(fileUrl(name), { store }));
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
    expectError(await loadPolicy(fileUrl(name), { store, integrity: pin }), /do not match the pinned integrity/);
    expect(await store.getPolicy(fileUrl(name))).to.equal(undefined);
    const right = await integrityOf(new TextEncoder().encode(policyText(1)));
    expect(expectOk(await loadPolicy(fileUrl(name), { store, integrity: right })).source).to.equal('network');
  });

  it('pinned integrity mismatch on the cached copy (pin changed while offline): refused', async () => {
    const name = uniqueName('pin-cache');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await scriptFile(name, { status: 500 });
    const pin = await integrityOf(new TextEncoder().encode(policyText(2)));
    expectError(await loadPolicy(fileUrl(name), { store, integrity: pin }), /cached copy refused: policy bytes do not match the pinned integrity/);
  });

  it('rollback to a lower revision: refused, and the cached higher revision stays', async () => {
    const name = uniqueName('rollback');
    const store = freshStore();
    await scriptFile(name, { body: policyText(5), etag: '"r5"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await scriptFile(name, { body: policyText(4), etag: '"r4"' });
    expectError(await loadPolicy(fileUrl(name), { store }), /revision 4 is lower than revision 5 .*rollback refused/);
    expect((await store.getPolicy(fileUrl(name)))?.revision).to.equal(5);
  });

  it('rollback after the cache entry was deleted: the revision mark still refuses it', async () => {
    const name = uniqueName('rollback-deleted');
    const store = freshStore();
    await scriptFile(name, { body: policyText(5), etag: '"r5"' });
    expectOk(await loadPolicy(fileUrl(name), { store }));
    await store.deletePolicy(fileUrl(name));
    await scriptFile(name, { body: JSON.stringify({ version: 'old', default_action: 'Allow', tools: [], rules: [] }), etag: '"old"' });
    expectError(await loadPolicy(fileUrl(name), { store }), /revision 0 is lower than revision 5/);
  });

  it('host validation rejects the policy: refused and not cached', async () => {
    const name = uniqueName('invalid');
    const store = freshStore();
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    const validate = (text: string) => (text.includes('"rules":[]') ? 'rules: empty; add a rule' : null);
    expectError(await loadPolicy(fileUrl(name), { store, validate }), /: rules: empty; add a rule$/);
    expect(await store.getPolicy(fileUrl(name))).to.equal(undefined);
  });

  it('malformed JSON from the server: refused with the parse error', async () => {
    const name = uniqueName('malformed');
    await scriptFile(name, { body: '{"version": ', etag: '"m"' });
    expectError(await loadPolicy(fileUrl(name), { store: freshStore() }), /policy is not valid JSON/);
  });

  it('works without a cache: network only, and offline is refused', async () => {
    const name = uniqueName('nocache');
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    expect(expectOk(await loadPolicy(fileUrl(name))).source).to.equal('network');
    expect((await fileLog(name))[0]!.ifNoneMatch).to.equal(null);
    await scriptFile(name, { status: 500 });
    expectError(await loadPolicy(fileUrl(name)), /no cached copy exists/);
  });

  it('IndexedDB open stuck behind another tab\'s pending upgrade: no hang, network only, with a notice', async () => {
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
      expect(loaded.notice).to.match(/^not cached: the IndexedDB cache is unavailable \(Error: no answer within 200 ms/);
    } finally {
      holder.close();
      (await upgrade).close();
    }
  });

  it('cachedPolicySource: the resolvePolicySource seam answers network, then cache, then the refusal', async () => {
    const name = uniqueName('seam');
    const source = cachedPolicySource({ store: freshStore() });
    await scriptFile(name, { body: policyText(1), etag: '"a1"' });
    const url = new URL(fileUrl(name));
    expect(await source(url)).to.deep.equal({ ok: true, text: policyText(1), source: 'network', location: url.href });
    await scriptFile(name, { status: 502 });
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
    await cache.savePolicy({ ...(await cache.getPolicy(fileUrl(name)))!, bytes: new TextEncoder().encode(demo.replace('"Deny"', '"Allow"')) });
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
    await scriptFile(`${name}.sig`, { body: JSON.stringify(await signPolicy(new TextEncoder().encode(demo), signer.privateKey, 'k')) });
    const good = await open({ policy: fileUrl(name), cache: freshStore(), publicKeys: [{ keyId: 'k', alg: 'Ed25519', publicKey: signer.publicKeySpki }] });
    expect(good.status().ok).to.equal(true);
    const bad = await open({ policy: fileUrl(name), cache: freshStore(), publicKeys: [{ keyId: 'other', alg: 'Ed25519', publicKey: other.publicKeySpki }] });
    const decision = await bad.evaluate(refund);
    expect(decision).to.include({ decision: 'Deny', kind: 'no_policy' });
    expect(decision.reason).to.match(/signed by unknown key "k"/);
  });

  it('integrity pinned but the policy given inline: refused, not silently unverified', async () => {
    const perso = await open({ policy: demo, integrity: 'sha256-AAAA' });
    const decision = await perso.evaluate(refund);
    expect(decision).to.include({ decision: 'Deny', kind: 'no_policy' });
    expect(decision.reason).to.match(/integrity and publicKeys apply to URL policies, but the policy was given inline; pass its URL or drop them/);
  });
});
