/**
 * Progress of a long replay on stderr: on a terminal, one line redrawn a few times a second
 * (records, records/s, and the ETA when the log's size is known), erased at the end; elsewhere (CI
 * logs, a pipe), a plain line every few seconds and a last line, so a short run prints nothing.
 */
import type { Writable } from 'node:stream';
import type { AuditLogProgress } from './audit-log.ts';

const TTY_EVERY_MS = 200;
const PLAIN_EVERY_MS = 5000;

/** Reports a replay's progress; see the module comment. */
export class ReplayProgress implements AuditLogProgress {
  readonly #stream: Writable;
  readonly #size: number | null;
  readonly #tty: boolean;
  readonly #start = performance.now();
  #last = this.#start;
  #shown = false;

  /**
   * @param stream where progress goes (stderr)
   * @param size the log's size in bytes, when known (for the ETA)
   */
  constructor(stream: Writable, size: number | null) {
    this.#stream = stream;
    this.#size = size;
    this.#tty = (stream as Writable & { isTTY?: boolean }).isTTY === true;
  }

  /** Called after each block of lines. */
  tick(records: number, bytesRead: number): void {
    const now = performance.now();
    if (now - this.#last < (this.#tty ? TTY_EVERY_MS : PLAIN_EVERY_MS)) return;
    this.#last = now;
    const seconds = (now - this.#start) / 1000;
    const rate = records / seconds;
    let text = `replay: ${records.toLocaleString('en-US')} lines, ${Math.round(rate).toLocaleString('en-US')} records/s`;
    if (this.#size !== null && this.#size > 0 && bytesRead > 0) {
      const share = Math.min(1, bytesRead / this.#size);
      const eta = share > 0 ? (seconds / share) * (1 - share) : 0;
      text += `, ${Math.floor(share * 100)}%, ETA ${Math.ceil(eta)} s`;
    }
    this.#shown = true;
    this.#stream.write(this.#tty ? `\r\x1b[K${text}` : `${text}\n`);
  }

  /** Ends the progress: erases the terminal line, or (elsewhere, after progress lines) says the total. */
  done(records: number | null): void {
    if (!this.#shown) return;
    if (this.#tty) {
      this.#stream.write('\r\x1b[K');
      return;
    }
    if (records === null) return;
    const seconds = (performance.now() - this.#start) / 1000;
    this.#stream.write(
      `replay: ${records.toLocaleString('en-US')} lines in ${seconds.toFixed(1)} s, ${Math.round(records / seconds).toLocaleString('en-US')} records/s\n`,
    );
  }
}
