/**
 * The IndexedDB audit transport: a durable queue of audit records that survives reloads and
 * crashes, exportable as NDJSON, and optionally forwarded to another transport (typically
 * {@link httpTransport}) — deleting only what that transport confirmed.
 *
 * Checklist:
 * - `emit` returns at once and never throws: records are buffered and written together, one
 *   transaction at a time: what is emitted while a write is in flight goes in the next one, so a
 *   burst of a thousand decisions costs a few transactions, not a thousand chained ones;
 * - `persisted()` resolves once every record emitted before it is in IndexedDB, and rejects when
 *   they could not be written (`Perso`'s `durable: 'before-run'` runs a tool only after it);
 * - in a page, `pagehide` and `visibilitychange` to hidden write what is buffered at once;
 * - a record leaves IndexedDB only after the forward target confirmed it (`deliver` resolved true,
 *   or `emit` + `flush` resolved for a plain transport). A reload mid-flush loses nothing: what was
 *   not confirmed is still queued and the next page forwards it. Delivery is at least once (a
 *   reload between the confirmation and the delete sends a batch again): deduplicate by `id`;
 * - one forwarder at a time per database, across tabs too (Web Locks where available), so two
 *   pages do not send the same batch;
 * - no transaction is open while forwarding (read, deliver, then delete in a new transaction);
 * - a failed write keeps the records in memory and retries them on the next write or flush.
 *
 * @example
 * const audit = indexedDbTransport({ forward: httpTransport({ url: '/audit' }) });
 * // later, for a support ticket:
 * const ndjson = await audit.exportNdjson();
 */
import type { AuditEntry, AuditTransport, ToolResultAuditRecord } from './audit-record.ts';
import { isToolResultRecord } from './audit-record.ts';
import { PolicyStore } from '../policy/policy-store.ts';
import { unrefTimer } from './unref-timer.ts';
import { errorText } from '../encoding/text.ts';

/** A forward target that confirms delivery of a batch (the HTTP transport is one). */
export interface AuditDelivery {
  /** Delivers the records; true only when they arrived. */
  deliver(records: readonly AuditEntry[]): Promise<boolean>;
}

/** Options of {@link indexedDbTransport}. */
export interface IndexedDbTransportOptions {
  /** The perso database to queue in; default the `perso` database. */
  store?: PolicyStore;
  /** Where to forward queued records; without it records stay until drained (`drainNdjson`). */
  forward?: AuditDelivery | AuditTransport;
  /** Records per forwarded batch; default 100. */
  batchSize?: number;
  /** Delay before forwarding newly written records, in ms; default 1000. */
  forwardIntervalMs?: number;
  /** Write what is buffered on `pagehide` and `visibilitychange: hidden`; default true in a page. */
  flushOnHide?: boolean;
  /** First retry delay after a failed forward, in ms; doubles per failure; default 1000. */
  retryBaseMs?: number;
  /** Longest retry delay, in ms; default 60 000. */
  retryMaxMs?: number;
}

/** The IndexedDB transport: a durable audit queue. */
export interface IndexedDbTransport extends AuditTransport {
  emit(record: AuditEntry): void;
  emitResult(record: ToolResultAuditRecord): void;
  /** Writes what was emitted, then forwards everything queued (when a target is set). */
  flush(): Promise<void>;
  /** Flushes, stops timers, and closes the database if this transport opened it. */
  close(): Promise<void>;
  /** Resolves when every record emitted so far is in IndexedDB; rejects when they could not be written. */
  persisted(): Promise<void>;
  /** The queued records, oldest first, one JSON object per line. */
  exportNdjson(): Promise<string>;
  /** How many records are queued in IndexedDB. */
  count(): Promise<number>;
  /**
   * Exports the queued records as NDJSON, like {@link exportNdjson}, and deletes exactly those:
   * records emitted while it runs stay queued for the next export.
   */
  drainNdjson(): Promise<string>;
}

/** A durable audit queue in IndexedDB. */
export function indexedDbTransport(options: IndexedDbTransportOptions = {}): IndexedDbTransport {
  const ownsStore = options.store === undefined;
  const store = options.store ?? new PolicyStore();
  const forward = options.forward ?? null;
  const batchSize = Math.max(1, options.batchSize ?? 100);
  const forwardIntervalMs = options.forwardIntervalMs ?? 1000;
  const retryBaseMs = options.retryBaseMs ?? 1000;
  const retryMaxMs = options.retryMaxMs ?? 60_000;

  let buffer: AuditEntry[] = [];
  /** The write in flight, and the one that takes what was emitted meanwhile. */
  let inFlight: Promise<void> | null = null;
  let following: Promise<void> | null = null;
  let writeScheduled = false;
  /** Records emitted, and records written, in emission order (a failed batch is retried first). */
  let emitted = 0;
  let written = 0;
  let forwarding: Promise<void> | null = null;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  let warned = false;

  /** Writes everything buffered: now if no write is in flight, else right after it, together. */
  function write(): Promise<void> {
    writeScheduled = false;
    if (inFlight === null) {
      inFlight = writeBuffered().finally(() => {
        inFlight = null;
      });
      return inFlight;
    }
    following ??= inFlight.then(() => {
      following = null;
      return write();
    });
    return following;
  }

  async function writeBuffered(): Promise<void> {
    const batch = buffer;
    buffer = [];
    if (batch.length === 0) return;
    try {
      await store.appendAudit(batch);
      written += batch.length;
      if (forward !== null && failures === 0) scheduleForward(forwardIntervalMs);
    } catch (error) {
      buffer = batch.concat(buffer);
      if (!warned) {
        warned = true;
        console.warn(
          `perso: could not write audit records to IndexedDB "${store.name}" (${errorText(error)}); they stay in memory and are retried`,
        );
      }
    }
  }

  // A page being hidden or unloaded may never run another task: write what is buffered now.
  const onHide = (): void => void write();
  const onVisibilityChange = (): void => {
    if (document.visibilityState === 'hidden') void write();
  };
  const listen =
    (options.flushOnHide ?? true) &&
    typeof addEventListener === 'function' &&
    typeof document !== 'undefined';
  if (listen) {
    addEventListener('pagehide', onHide);
    document.addEventListener('visibilitychange', onVisibilityChange);
  }

  function scheduleForward(delayMs: number): void {
    if (closed || timer !== null) return;
    timer = unrefTimer(
      setTimeout(() => {
        timer = null;
        void forwardQueued();
      }, delayMs),
    );
  }

  function forwardQueued(): Promise<void> {
    if (forward === null) return Promise.resolve();
    forwarding ??= withForwardLock(store.name, () => forwardAll(forward)).finally(() => {
      forwarding = null;
    });
    return forwarding;
  }

  async function forwardAll(target: AuditDelivery | AuditTransport): Promise<void> {
    for (;;) {
      let queued: Awaited<ReturnType<typeof store.readAudit>>;
      try {
        queued = await store.readAudit(batchSize);
      } catch {
        return backOff();
      }
      if (queued.length === 0) {
        failures = 0;
        return;
      }
      const delivered = await deliverTo(
        target,
        queued.map((q) => q.record),
      );
      if (!delivered) return backOff();
      try {
        await store.deleteAudit(queued.map((q) => q.key));
      } catch {
        return backOff();
      }
      failures = 0;
    }
  }

  function backOff(): void {
    failures++;
    const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** (failures - 1));
    scheduleForward(delay / 2 + (Math.random() * delay) / 2);
  }

  const emit = (record: AuditEntry): void => {
    try {
      if (closed) return;
      buffer.push(record);
      emitted++;
      if (!writeScheduled) {
        writeScheduled = true;
        queueMicrotask(() => void write());
      }
    } catch {
      // Never throw into the decision path.
    }
  };

  return Object.freeze({
    emit,
    emitResult: emit,
    async persisted(): Promise<void> {
      const target = emitted;
      await write();
      if (written < target) {
        throw new Error(
          `${target - written} audit records could not be written to IndexedDB "${store.name}"; they stay in memory and are retried`,
        );
      }
    },
    async flush(): Promise<void> {
      await write();
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
      if (forwarding !== null) await forwarding;
      await forwardQueued();
    },
    async close(): Promise<void> {
      await this.flush();
      closed = true;
      if (timer !== null) clearTimeout(timer);
      if (listen) {
        removeEventListener('pagehide', onHide);
        document.removeEventListener('visibilitychange', onVisibilityChange);
      }
      if (ownsStore) await store.close();
    },
    async exportNdjson(): Promise<string> {
      await write();
      const queued = await store.readAudit();
      return queued.map((q) => `${JSON.stringify(q.record)}\n`).join('');
    },
    async count(): Promise<number> {
      await write();
      return store.countAudit();
    },
    async drainNdjson(): Promise<string> {
      await write();
      const queued = await store.readAudit();
      const ndjson = queued.map((q) => `${JSON.stringify(q.record)}\n`).join('');
      await store.deleteAudit(queued.map((q) => q.key));
      return ndjson;
    },
  });
}

async function deliverTo(
  target: AuditDelivery | AuditTransport,
  records: AuditEntry[],
): Promise<boolean> {
  try {
    if ('deliver' in target && typeof target.deliver === 'function')
      return (await target.deliver(records)) === true;
    const transport = target as AuditTransport;
    // A forward target without emitResult takes decisions only, as it would from perso.
    for (const record of records)
      if (!isToolResultRecord(record)) transport.emit(record);
      else transport.emitResult?.(record);
    await transport.flush?.();
    return true;
  } catch {
    return false;
  }
}

/** Runs `task` holding the database's forward lock; skips it when another page holds the lock. */
async function withForwardLock(name: string, task: () => Promise<void>): Promise<void> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (locks === undefined) return task();
  await locks.request(`perso-audit-forward:${name}`, { ifAvailable: true }, async (lock) => {
    if (lock !== null) await task();
  });
}
