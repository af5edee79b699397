/**
 * perso's IndexedDB database, in one typed module: cached policies, the highest revision seen per
 * policy URL, and the durable audit queue.
 *
 * The database is untrusted storage (any script of the origin can write it): the policy loader
 * re-verifies every entry it reads, and this module only promises atomic, ordered storage.
 */
import { openDB } from 'idb';
import type { DBSchema, IDBPDatabase } from 'idb';
import type { AuditEntry } from '../audit/audit-record.ts';
import type { PolicyBytes } from './policy-integrity.ts';

/** The database perso uses when none is named. */
export const DEFAULT_DB_NAME = 'perso';
/** Bump with a new `upgrade` step; older connections close themselves (`blocking`). */
export const DB_VERSION = 1;

/** One cached policy, as fetched. */
export interface PolicyEntry {
  /** The absolute policy URL (the key). */
  url: string;
  /** The exact bytes the server sent; what the hash and the signature cover. */
  bytes: PolicyBytes;
  /** The server's `ETag`, sent back as `If-None-Match`; `null` when it sent none. */
  etag: string | null;
  /** SHA-256 of `bytes`, lowercase hex, as computed when stored. */
  sha256: string;
  /** The `.sig` file's text when keys were configured; `null` otherwise. */
  signature: string | null;
  /** The policy's top-level `revision`; `null` when it has none. */
  revision: number | null;
  /** Milliseconds since the epoch. */
  storedAt: number;
}

/**
 * The highest policy revision accepted for a URL: the rollback floor. Written by the loader,
 * read back as untrusted input: with keys configured only `signature` counts (it is re-verified,
 * and names the revision and the SHA-256 of its bytes); a missing or malformed mark means "refuse
 * anything older than what verifies".
 */
export interface RevisionMark {
  url: string;
  /** The revision (absent in the policy counts as 0). */
  highest: number;
  /** SHA-256 of that revision's bytes, lowercase hex: a revision carries one set of bytes. */
  sha256: string;
  /** That revision's `.sig` file text, when keys were configured; `null` otherwise. */
  signature: string | null;
}

/** An audit record in the durable queue, with its queue position. */
export interface QueuedAuditRecord {
  /** Increasing queue key: oldest first. */
  key: number;
  record: AuditEntry;
}

/** The schema, for idb's typed transactions. */
export interface PersoDBSchema extends DBSchema {
  policies: { key: string; value: PolicyEntry };
  revisions: { key: string; value: RevisionMark };
  audit: { key: number; value: AuditEntry };
}

/*
 * Invariants (check each change against this list):
 * - [ ] Every transaction is created, used and finished without awaiting anything but its own
 *       requests: no fetch, no crypto, no worker round trip inside one (IndexedDB auto-commits a
 *       transaction as soon as it has no pending request, and a later request throws).
 * - [ ] A policy entry and its revision mark are written in the same transaction, so a crash never
 *       leaves a stored revision above the mark.
 * - [ ] The revision mark is written only as a compare-and-swap against the record the loader read
 *       and judged (a concurrent tab's write makes the save fail); the loader only raises it.
 * - [ ] Stored values are returned as they are (untrusted): callers verify them.
 * - [ ] Audit records are appended in one transaction per batch and deleted only by key, after the
 *       caller says they were delivered; reading never deletes.
 * - [ ] A connection that blocks a newer version closes itself; the next call opens again (and
 *       fails, rather than writing the old schema, if the database moved on).
 * - [ ] Errors reject the returned promise; callers turn them into Deny reasons or cache misses.
 */

/** perso's IndexedDB database. Opens lazily; safe to share between the loader and audit. */
export class PolicyStore {
  /** The IndexedDB database name. */
  readonly name: string;
  #db: Promise<IDBPDatabase<PersoDBSchema>> | null = null;

  /** @param name the IndexedDB database name; tests use one per test */
  constructor(name: string = DEFAULT_DB_NAME) {
    this.name = name;
  }

  /** The cached entry for the URL, if any (unverified: verify before use). */
  async getPolicy(url: string): Promise<PolicyEntry | undefined> {
    return (await this.#open()).get('policies', url);
  }

  /** The URL's stored revision mark, as stored: untrusted, any shape (verify before use). */
  async getRevisionMark(url: string): Promise<unknown> {
    return (await this.#open()).get('revisions', url);
  }

  /** The highest revision in the URL's mark, or `null` when there is none or it is malformed. */
  async highestRevision(url: string): Promise<number | null> {
    const mark: unknown = await this.getRevisionMark(url);
    const highest =
      mark !== null && typeof mark === 'object' && Object.hasOwn(mark, 'highest')
        ? (mark as { highest: unknown }).highest
        : null;
    return typeof highest === 'number' && Number.isSafeInteger(highest) && highest >= 0
      ? highest
      : null;
  }

  /**
   * Stores a verified entry and its revision mark, atomically, if the mark is still the one the
   * caller read (`expected`, as {@link getRevisionMark} returned it).
   * @returns false (and writes nothing) when another page changed the mark meanwhile
   */
  async savePolicy(entry: PolicyEntry, mark: RevisionMark, expected: unknown): Promise<boolean> {
    const db = await this.#open();
    const tx = db.transaction(['policies', 'revisions'], 'readwrite');
    const revisions = tx.objectStore('revisions');
    const current: unknown = await revisions.get(entry.url);
    if (!sameRecord(current, expected)) {
      tx.abort();
      await tx.done.catch(() => undefined);
      return false;
    }
    await Promise.all([tx.objectStore('policies').put(entry), revisions.put(mark), tx.done]);
    return true;
  }

  /** Forgets the cached entry for the URL (the revision mark stays: rollback protection outlives it). */
  async deletePolicy(url: string): Promise<void> {
    await (await this.#open()).delete('policies', url);
  }

  /** Appends records to the audit queue in one transaction, in order. */
  async appendAudit(records: readonly AuditEntry[]): Promise<void> {
    if (records.length === 0) return;
    const tx = (await this.#open()).transaction('audit', 'readwrite');
    await Promise.all([...records.map((record) => tx.store.add(record)), tx.done]);
  }

  /** The oldest queued audit records, up to `limit`, with their keys. */
  async readAudit(limit: number = Infinity): Promise<QueuedAuditRecord[]> {
    const tx = (await this.#open()).transaction('audit', 'readonly');
    const queued: QueuedAuditRecord[] = [];
    for (
      let cursor = await tx.store.openCursor();
      cursor !== null && queued.length < limit;
      cursor = await cursor.continue()
    ) {
      queued.push({ key: cursor.key, record: cursor.value });
    }
    await tx.done;
    return queued;
  }

  /** Deletes delivered audit records by key. */
  async deleteAudit(keys: readonly number[]): Promise<void> {
    if (keys.length === 0) return;
    const tx = (await this.#open()).transaction('audit', 'readwrite');
    await Promise.all([...keys.map((key) => tx.store.delete(key)), tx.done]);
  }

  /** How many audit records are queued. */
  async countAudit(): Promise<number> {
    return (await this.#open()).count('audit');
  }

  /** Closes the connection; a later call opens it again. */
  async close(): Promise<void> {
    const db = this.#db;
    this.#db = null;
    if (db !== null) (await db.catch(() => null))?.close();
  }

  #open(): Promise<IDBPDatabase<PersoDBSchema>> {
    if (this.#db === null) {
      const opening = openDB<PersoDBSchema>(this.name, DB_VERSION, {
        upgrade(db, oldVersion) {
          // One step per version; never edit a step that shipped.
          if (oldVersion < 1) {
            db.createObjectStore('policies', { keyPath: 'url' });
            db.createObjectStore('revisions', { keyPath: 'url' });
            db.createObjectStore('audit', { autoIncrement: true });
          }
        },
        blocking: () => {
          // Another page wants a newer version: let it upgrade instead of stalling it.
          void this.close();
        },
        terminated: () => {
          // The browser closed the database (storage cleared, disk error): open again next time.
          if (this.#db === opening) this.#db = null;
        },
      });
      this.#db = opening;
      opening.catch(() => {
        if (this.#db === opening) this.#db = null;
      });
    }
    return this.#db;
  }
}

// Both come from IndexedDB (structured clones of plain data), so their JSON texts compare them.
function sameRecord(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

let shared: PolicyStore | null = null;

/** The page's shared store on the default database: one connection for every `Perso` instance. */
export function defaultPolicyStore(): PolicyStore {
  shared ??= new PolicyStore();
  return shared;
}
