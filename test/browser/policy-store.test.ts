// The IndexedDB store in real Chromium IndexedDB: policies, revision marks, the audit queue.
import { expect } from 'chai';
import { openDB } from 'idb';
import { DEFAULT_DB_NAME, PolicyStore, defaultPolicyStore } from '../../src/policy/policy-store.ts';
import type { PolicyEntry } from '../../src/policy/policy-store.ts';
import type { AuditRecord } from '../../src/audit/audit-record.ts';
import { dropStores, freshStore } from './helpers/perso-server.ts';

const encoder = new TextEncoder();

function entry(url: string, revision: number | null, text = '{"version":"v"}'): PolicyEntry {
  return {
    url,
    bytes: encoder.encode(text),
    etag: '"e1"',
    sha256: 'ab'.repeat(32),
    signature: null,
    revision,
    storedAt: 1700000000000,
  };
}

/** Saves like the loader: a mark for the entry's revision, swapped against the mark read now. */
async function save(store: PolicyStore, saved: PolicyEntry): Promise<boolean> {
  const mark = {
    url: saved.url,
    highest: saved.revision ?? 0,
    sha256: saved.sha256,
    signature: saved.signature,
  };
  return store.savePolicy(saved, mark, await store.getRevisionMark(saved.url));
}

function record(n: number): AuditRecord {
  return {
    id: `id-${n}`,
    time: new Date(0).toISOString(),
    tool: 'search',
    role: 'agent',
    decision: 'Deny',
    reason: `r${n}`,
    kind: 'no_rule',
    rule: null,
    policyVersion: 'v1',
    policyHash: null,
    enforced: true,
  };
}

describe('policy-store', () => {
  afterEach(dropStores);

  it('stores a policy entry and reads back the same bytes and fields', async () => {
    const store = freshStore();
    const saved = entry('https://x.test/p.json', 3, '{"version":"é"}');
    expect(await save(store, saved)).to.equal(true);
    const read = await store.getPolicy(saved.url);
    expect(read).to.not.equal(undefined);
    expect(Array.from(read!.bytes)).to.deep.equal(Array.from(saved.bytes));
    expect(read!.bytes).to.be.instanceOf(Uint8Array);
    expect({ ...read!, bytes: null }).to.deep.equal({ ...saved, bytes: null });
    expect(await store.highestRevision(saved.url)).to.equal(3);
    expect(await store.getPolicy('https://x.test/other.json')).to.equal(undefined);
    expect(await store.highestRevision('https://x.test/other.json')).to.equal(null);
  });

  it("writes entry and mark together, and only over the mark the caller read (another page's write wins)", async () => {
    const store = freshStore();
    const url = 'https://x.test/p.json';
    const read = await store.getRevisionMark(url);
    expect(await save(store, entry(url, 5, '{"revision":5}'))).to.equal(true);
    const stale = entry(url, 4, '{"revision":4}');
    expect(
      await store.savePolicy(
        stale,
        { url, highest: 4, sha256: stale.sha256, signature: null },
        read,
      ),
    ).to.equal(false);
    expect(new TextDecoder().decode((await store.getPolicy(url))!.bytes)).to.equal(
      '{"revision":5}',
    );
    expect(await store.highestRevision(url)).to.equal(5);
    expect(await save(store, entry(url, 9))).to.equal(true);
    expect(await store.highestRevision(url)).to.equal(9);
  });

  it('a malformed mark (highest set to a string) reads as no revision, not as a number', async () => {
    const store = freshStore();
    const url = 'https://x.test/p.json';
    await save(store, entry(url, 7));
    const db = await openDB(store.name);
    await db.put('revisions', { url, highest: 'zzz' });
    db.close();
    expect(await store.highestRevision(url)).to.equal(null);
    expect(await store.getRevisionMark(url)).to.deep.equal({ url, highest: 'zzz' });
  });

  it('keeps the revision mark when the cached entry is deleted', async () => {
    const store = freshStore();
    const url = 'https://x.test/p.json';
    await save(store, entry(url, 7));
    await store.deletePolicy(url);
    expect(await store.getPolicy(url)).to.equal(undefined);
    expect(await store.highestRevision(url)).to.equal(7);
  });

  it('queues audit records in order, deletes only the keys given, and survives closing', async () => {
    const store = freshStore();
    await store.appendAudit([record(1), record(2), record(3)]);
    await store.appendAudit([record(4)]);
    const queued = await store.readAudit(2);
    expect(queued.map((q) => q.record.id)).to.deep.equal(['id-1', 'id-2']);
    await store.deleteAudit([queued[0]!.key]);
    await store.close();
    const reopened = new PolicyStore(store.name);
    expect((await reopened.readAudit()).map((q) => q.record.id)).to.deep.equal([
      'id-2',
      'id-3',
      'id-4',
    ]);
    expect(await reopened.countAudit()).to.equal(3);
    await reopened.close();
  });

  it('a newer database version elsewhere: this connection closes itself instead of blocking the upgrade', async () => {
    const store = freshStore();
    await save(store, entry('https://x.test/p.json', 1));
    let blocked = false;
    const newer = await openDB(store.name, 2, {
      blocked() {
        blocked = true;
      },
    });
    expect(blocked).to.equal(false);
    expect(newer.version).to.equal(2);
    newer.close();
    // This store speaks version 1: it must fail (and the loader treats that as no cache), not write.
    let error: unknown = null;
    await store.getPolicy('https://x.test/p.json').catch((e: unknown) => (error = e));
    expect((error as Error | null)?.name).to.equal('VersionError');
  });

  it('defaultPolicyStore: one shared store on the default database', () => {
    expect(defaultPolicyStore()).to.equal(defaultPolicyStore());
    expect(defaultPolicyStore().name).to.equal(DEFAULT_DB_NAME);
  });
});
