/**
 * The streams a `perso` command reads and writes, and writing with backpressure, so a command
 * streams large inputs without buffering all of its output.
 */
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';

/** The streams of one command run (the process's own in `main.ts`). */
export interface CliIo {
  /** Requests in (`perso eval`). */
  stdin: Readable;
  /** Results out. */
  stdout: Writable;
  /** Diagnostics and usage out. */
  stderr: Writable;
}

/** Writes text and waits for the stream to drain when its buffer is full. */
export async function write(stream: Writable, text: string): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return;
  if (!stream.write(text)) await once(stream, 'drain');
}

/**
 * Writes many small lines as few large writes: lines queued in the same turn (a chunk of input
 * answered at once) go out together, on the next turn or at 64 KiB, so a pipe is not one syscall
 * per line, while an interactive reader still gets each answer as soon as its line is processed.
 */
export class LineWriter {
  #stream: Writable;
  #parts: string[] = [];
  #size = 0;
  #scheduled = false;

  /** @param stream where lines go */
  constructor(stream: Writable) {
    this.#stream = stream;
  }

  /** Queues text; resolves at once unless the stream asks the writer to wait (backpressure). */
  async push(text: string): Promise<void> {
    this.#parts.push(text);
    this.#size += text.length;
    if (this.#size >= 65536) this.#flushNow();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#flushNow();
      });
    }
    if (this.#stream.writableNeedDrain && !this.#stream.destroyed)
      await once(this.#stream, 'drain');
  }

  /** Writes what is queued and waits until the stream has taken it. */
  async flush(): Promise<void> {
    this.#flushNow();
    if (this.#stream.writableNeedDrain && !this.#stream.destroyed)
      await once(this.#stream, 'drain');
  }

  #flushNow(): void {
    if (this.#parts.length === 0 || this.#stream.destroyed || this.#stream.writableEnded) return;
    const text = this.#parts.join('');
    this.#parts = [];
    this.#size = 0;
    this.#stream.write(text);
  }
}

/** Exit codes of `perso`. */
export const ExitCode = Object.freeze({
  /** Everything succeeded. */
  Ok: 0,
  /** An invalid policy, an unreadable input, or a failed test case. */
  Failure: 1,
  /** The command line itself is wrong; usage was printed. */
  Usage: 2,
} as const);
/** An exit code of `perso`; see {@link ExitCode}. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
