/**
 * `hashArgs`: audit records that let a reviewer tell calls apart without holding their values.
 *
 * Checklist:
 * - the args are recorded as an HMAC-SHA-256 (hex) of their canonical JSON, keyed: without the key,
 *   a small value (an amount, a PIN) cannot be recovered by hashing guesses;
 * - the key is per installation: made once, non-extractable, kept in IndexedDB (database
 *   `perso-audit-key`), so one browser's records compare with each other; in Node (no IndexedDB)
 *   the host gives it (`hashKey`), else a key for this process is made and a warning says so;
 * - the record's reason keeps the engine's words, the rule and the path and op that failed, never
 *   a value (the reason given to the caller is unchanged).
 */
import { openDB } from 'idb';
import type { DecisionResult } from '../call/decision.ts';
import { toHex } from '../encoding/hex.ts';

/** A key the host gives for `hashArgs`: raw bytes (at least 32) or an HMAC SHA-256 CryptoKey. */
export type HashKey = CryptoKey | Uint8Array<ArrayBuffer>;

/** The database and record that hold the installation's key. */
const KEY_DB = 'perso-audit-key';
const KEY_STORE = 'keys';
const KEY_ID = 'hashArgs';

/** The key to hash args with, and a warning when it lasts only this process. */
export interface ArgsHashKey {
  key: CryptoKey;
  warning?: string;
}

const HMAC = { name: 'HMAC', hash: 'SHA-256' } as const;

/**
 * The key `hashArgs` uses: the host's, else this installation's (IndexedDB), else one for this
 * process. Rejects when a given key is unusable.
 *
 * @param given the host's `hashKey` option
 */
export async function argsHashKey(given: HashKey | undefined): Promise<ArgsHashKey> {
  if (given !== undefined) {
    if (given instanceof Uint8Array) {
      if (given.length < 32) throw new Error('hashKey: give at least 32 random bytes');
      return { key: await crypto.subtle.importKey('raw', given, HMAC, false, ['sign']) };
    }
    return { key: given };
  }
  if (typeof indexedDB !== 'undefined') return { key: await installationKey() };
  return {
    key: (await crypto.subtle.generateKey(HMAC, false, ['sign'])) as CryptoKey,
    warning:
      'hashArgs: no hashKey given and no IndexedDB here, so args are hashed with a key that lasts this process; pass hashKey (32 random bytes you keep) to compare records across runs',
  };
}

// Made once per origin; two pages racing to make it both end with the one stored first.
async function installationKey(): Promise<CryptoKey> {
  const db = await openDB(KEY_DB, 1, {
    upgrade(database) {
      database.createObjectStore(KEY_STORE);
    },
  });
  try {
    const stored: unknown = await db.get(KEY_STORE, KEY_ID);
    if (stored instanceof CryptoKey) return stored;
    const made = (await crypto.subtle.generateKey(HMAC, false, ['sign'])) as CryptoKey;
    try {
      await db.add(KEY_STORE, made, KEY_ID);
      return made;
    } catch {
      const raced: unknown = await db.get(KEY_STORE, KEY_ID);
      if (raced instanceof CryptoKey) return raced;
      throw new Error('the audit key could not be stored in IndexedDB');
    }
  } finally {
    db.close();
  }
}

/** HMAC-SHA-256 of a text's UTF-8 bytes, lowercase hex. */
export async function hmacHex(key: CryptoKey, text: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(text)));
  return toHex(mac);
}

/**
 * A decision's reason without the values it quotes: the engine's words up to the detail, then the
 * path and op that failed when the engine named them. Faults that quote no call (`no_policy`,
 * `engine_fault`) are kept whole; `invalid_request` keeps its path.
 *
 * @param decision the decision recorded
 */
export function valuelessReason(
  decision: Pick<DecisionResult, 'reason' | 'kind' | 'failure'>,
): string {
  const { reason, kind, failure } = decision;
  if (kind === 'no_policy' || kind === 'engine_fault') return reason;
  if (kind === 'invalid_request') {
    const path = /^invalid request: ([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*|\[\d+\])*)/.exec(
      reason,
    )?.[1];
    return path === undefined
      ? 'invalid request (detail withheld: hashArgs)'
      : `invalid request: ${path} (detail withheld: hashArgs)`;
  }
  // `rule matched tool 't' for role 'r'; condition failed: <detail with values>`: values come only
  // after the first ": " that follows the outcome, so the text before it quotes none.
  const outcome = reason.indexOf("'; ");
  const detail = outcome < 0 ? -1 : reason.indexOf(': ', outcome);
  const head = detail < 0 ? reason : reason.slice(0, detail);
  return failure === undefined ? head : `${head}: ${failure.path} ${failure.op}`;
}
