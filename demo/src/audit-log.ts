/**
 * The demo's audit transport: perso hands it one record per decision; it keeps them in memory for
 * the audit panel and exports them as NDJSON (one JSON record per line).
 */
import type { AuditRecord, AuditTransport } from 'perso';

/** Keeps the newest {@link AuditLog.limit} records and tells the panel when one arrives. */
export class AuditLog extends EventTarget implements AuditTransport {
  /** Older records are dropped past this many, so a long session cannot grow without bound. */
  static readonly limit = 1000;
  #records: AuditRecord[] = [];

  /** Records, oldest first. */
  get records(): readonly AuditRecord[] {
    return this.#records;
  }

  /** Called by perso for every decision; never throws and never waits. */
  emit(record: AuditRecord): void {
    this.#records = [...this.#records.slice(-(AuditLog.limit - 1)), record];
    this.dispatchEvent(new Event('change'));
  }

  /** The records as NDJSON text. */
  toNdjson(): string {
    return (
      this.#records.map((record) => JSON.stringify(record)).join('\n') +
      (this.#records.length ? '\n' : '')
    );
  }

  /** Forgets every record. */
  clear(): void {
    this.#records = [];
    this.dispatchEvent(new Event('change'));
  }
}
