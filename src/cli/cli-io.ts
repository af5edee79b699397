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
