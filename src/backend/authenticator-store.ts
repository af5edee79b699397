/**
 * The authenticators a person registered for WebAuthn approvals, in IndexedDB (database
 * `perso-authenticators`, apart from the policy cache so neither schema waits on the other).
 *
 * Registration is on first use: the first WebAuthn approval on an origin registers the person's
 * credential, and later ones must be made with it. Like every IndexedDB database this one is
 * readable and writable by any script of the origin, which is outside perso's threat model (such a
 * script can call the tools directly); what it keeps out is an agent that drives the page's input.
 *
 * Invariants (check each change against this list):
 * - [ ] Every record names its origin, and reads return only the records of the origin asked for.
 * - [ ] A credential is added only when its origin has none, checked and written in one
 *       transaction: a second registration (a race, or a script's attempt) is refused, not merged.
 * - [ ] The signature counter only goes up.
 * - [ ] Every transaction awaits only its own requests (no crypto, no fetch inside one).
 * - [ ] Errors reject; the ledger turns them into Deny reasons.
 */
import { openDB } from 'idb';
import type { DBSchema, IDBPDatabase } from 'idb';

/** The database perso keeps authenticators in. */
export const AUTHENTICATOR_DB_NAME = 'perso-authenticators';
const DB_VERSION = 1;

/** One registered credential. */
export interface RegisteredCredential {
  /** The credential's raw id, URL-safe base64 (the key). */
  id: string;
  /** The origin it was registered on and is bound to. */
  origin: string;
  /** The relying party id its assertions are scoped to (the origin's host). */
  rpId: string;
  /** SubjectPublicKeyInfo, DER, URL-safe base64. */
  publicKey: string;
  /** -7 (ES256) or -8 (EdDSA). */
  algorithm: number;
  /** The highest signature counter seen. */
  signCount: number;
  /** Milliseconds since the epoch. */
  registeredAt: number;
}

interface AuthenticatorDBSchema extends DBSchema {
  credentials: { key: string; value: RegisteredCredential; indexes: { origin: string } };
}

/** What the ledger needs from a credential store. */
export interface CredentialStore {
  /** The credentials registered for `origin`. */
  list(origin: string): Promise<RegisteredCredential[]>;
  /** Adds the first credential of its origin; `false` (and writes nothing) when the origin has one. */
  addFirst(credential: RegisteredCredential): Promise<boolean>;
  /** Raises a credential's signature counter. */
  raiseSignCount(id: string, signCount: number): Promise<void>;
}

/** The IndexedDB credential store. Opens lazily. */
export class AuthenticatorStore implements CredentialStore {
  /** The IndexedDB database name. */
  readonly name: string;
  #db: Promise<IDBPDatabase<AuthenticatorDBSchema>> | null = null;

  /** @param name the database name; tests use one per test */
  constructor(name: string = AUTHENTICATOR_DB_NAME) {
    this.name = name;
  }

  /** {@inheritDoc CredentialStore.list} */
  async list(origin: string): Promise<RegisteredCredential[]> {
    const found = await (await this.#open()).getAllFromIndex('credentials', 'origin', origin);
    return found.filter((credential) => credential.origin === origin);
  }

  /** {@inheritDoc CredentialStore.addFirst} */
  async addFirst(credential: RegisteredCredential): Promise<boolean> {
    const tx = (await this.#open()).transaction('credentials', 'readwrite');
    const existing = await tx.store.index('origin').count(credential.origin);
    if (existing > 0) {
      tx.abort();
      await tx.done.catch(() => undefined);
      return false;
    }
    await Promise.all([tx.store.add(credential), tx.done]);
    return true;
  }

  /** {@inheritDoc CredentialStore.raiseSignCount} */
  async raiseSignCount(id: string, signCount: number): Promise<void> {
    const tx = (await this.#open()).transaction('credentials', 'readwrite');
    const credential = await tx.store.get(id);
    if (credential !== undefined && signCount > credential.signCount)
      await tx.store.put({ ...credential, signCount });
    await tx.done;
  }

  /** Closes the connection; a later call opens it again. */
  async close(): Promise<void> {
    const db = this.#db;
    this.#db = null;
    if (db !== null) (await db.catch(() => null))?.close();
  }

  #open(): Promise<IDBPDatabase<AuthenticatorDBSchema>> {
    if (this.#db === null) {
      const opening = openDB<AuthenticatorDBSchema>(this.name, DB_VERSION, {
        upgrade(db, oldVersion) {
          // One step per version; never edit a step that shipped.
          if (oldVersion < 1)
            db.createObjectStore('credentials', { keyPath: 'id' }).createIndex('origin', 'origin');
        },
        blocking: () => void this.close(),
        terminated: () => {
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
