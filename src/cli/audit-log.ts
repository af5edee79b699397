/**
 * Reading an audit log for a replay: open it (a file, or stdin for `-`), then stream its lines
 * through one {@link AuditRecordReader}, handing each outcome to the command. A handler returns a
 * promise only when it must wait (output backpressure, an engine restart): the loop awaits nothing
 * per record otherwise, which is what lets a replay keep pace with reading.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { CliIo } from './cli-io.ts';
import type { NotReplayable } from './audit-record-reader.ts';
import { AuditRecordReader, ReadOutcome } from './audit-record-reader.ts';
import { lineEnd, ndjsonBlocks } from './ndjson-blocks.ts';
import { quote } from '../encoding/text.ts';

/** How much of a log file is read at a time (decoded in smaller blocks: ndjson-blocks.ts). */
export const READ_BYTES = 1 << 20;

/** An opened log: its stream, and its size in bytes when known (a file). */
export interface AuditLogInput {
  stream: Readable;
  size: number | null;
}

/** What a replay does with each line. */
export interface AuditLogHandlers {
  /** A line that is not an audit record. */
  malformed(line: number, error: string): void | Promise<void>;
  /** A record that cannot be replayed. */
  skipped(why: NotReplayable): void;
  /** A tool result's record (`reader.result`). */
  result(line: number, reader: AuditRecordReader): void | Promise<void>;
  /** A replayable record: `reader` holds it until this returns; `nowSeconds` is the clock for records without a time. */
  record(line: number, reader: AuditRecordReader, nowSeconds: number): void | Promise<void>;
}

/** Something told how far the reading got (records so far, bytes read so far). */
export interface AuditLogProgress {
  tick(records: number, bytesRead: number): void;
}

/** Opens the log at `path` (`-`: stdin); a string says why it cannot be read. */
export async function openLog(path: string, io: CliIo): Promise<AuditLogInput | string> {
  if (path === '-') return { stream: io.stdin, size: null };
  const stream = createReadStream(path, { highWaterMark: READ_BYTES });
  return new Promise((resolve) => {
    stream.once('open', (fd: number) => {
      import('node:fs').then(
        ({ fstatSync }) => {
          let size: number | null = null;
          try {
            const stat = fstatSync(fd);
            if (stat.isFile()) size = stat.size;
          } catch {
            // No size: progress without an ETA.
          }
          resolve({ stream, size });
        },
        () => resolve({ stream, size: null }),
      );
    });
    stream.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'ENOENT'
          ? 'no such file'
          : error.code === 'EISDIR'
            ? 'a directory'
            : error.message;
      resolve(
        `cannot read audit log ${quote(path, 200)} (${why}); pass an NDJSON audit log, or - for stdin`,
      );
    });
  });
}

/** Reads every line of `input` in order; rejects when the stream fails. */
export async function readAuditLog(
  input: Readable,
  progress: AuditLogProgress,
  handlers: AuditLogHandlers,
): Promise<void> {
  const reader = new AuditRecordReader();
  const bytesRead = () => (input as Readable & { bytesRead?: number }).bytesRead ?? 0;
  let lines = 0;
  for await (const block of ndjsonBlocks(input)) {
    if ('error' in block) {
      lines++;
      await handlers.malformed(block.number, block.error);
      continue;
    }
    const nowSeconds = Date.now() / 1000;
    const text = block.text;
    let number = block.first;
    for (let from = 0; ; number++) {
      const at = text.indexOf('\n', from);
      const end = at === -1 ? text.length : at;
      const start = from;
      const stop = lineEnd(text, from, end);
      from = end + 1;
      lines++;
      // Records start with "{"; anything else may be a blank line (skipped) or not a record.
      if (text.charCodeAt(start) !== 0x7b && text.slice(start, stop).trim() === '') {
        if (at === -1) break;
        continue;
      }
      const outcome = reader.readAt(text, start, stop);
      let wait: void | Promise<void> | undefined;
      if (outcome === ReadOutcome.Record) wait = handlers.record(number, reader, nowSeconds);
      else if (outcome === ReadOutcome.Skip) handlers.skipped(reader.skip);
      else if (outcome === ReadOutcome.Result) wait = handlers.result(number, reader);
      else wait = handlers.malformed(number, reader.error);
      if (wait !== undefined) await wait;
      if (at === -1) break;
    }
    progress.tick(lines, bytesRead());
  }
}
