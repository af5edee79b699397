/**
 * NDJSON input split into lines from raw bytes, for `perso eval`.
 *
 * Input is hostile (a recorded log, a pipe from anywhere), so, unlike `readline`:
 * - a line that is not valid UTF-8 is reported as such, never decoded with U+FFFD in place of
 *   the bad bytes (a decision must be about the bytes that were sent);
 * - a line longer than `maxLineBytes` is reported and skipped without being buffered;
 * - `\n` and `\r\n` both end a line; a UTF-8 byte order mark at the very start is dropped;
 * - every line keeps its number, so answers can name it.
 */
import type { Readable } from 'node:stream';

/** One input line: its text, or why it cannot be read. */
export type NdjsonLine = { number: number; text: string } | { number: number; error: string };

/** The longest line read by default: 16 MiB. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

const NEWLINE = 0x0a;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Yields the lines of `input` in order.
 *
 * @param input the byte stream (stdin)
 * @param maxLineBytes lines longer than this are reported, not read
 */
export async function* ndjsonLines(
  input: Readable,
  maxLineBytes = MAX_LINE_BYTES,
): AsyncGenerator<NdjsonLine> {
  let parts: Buffer[] = [];
  let size = 0;
  let tooLong = false;
  let number = 0;
  let first = true;

  const finish = (): NdjsonLine => {
    number++;
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    const wasTooLong = tooLong;
    parts = [];
    size = 0;
    tooLong = false;
    if (wasTooLong)
      return {
        number,
        error: `longer than ${maxLineBytes} bytes; split the request or send smaller arguments`,
      };
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    let start = 0;
    if (first && end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
    first = false;
    try {
      return { number, text: decoder.decode(bytes.subarray(start, end)) };
    } catch {
      return { number, error: 'not valid UTF-8; write the requests as UTF-8 text' };
    }
  };

  const keep = (chunk: Buffer): void => {
    if (tooLong) return;
    if (size + chunk.length > maxLineBytes) {
      tooLong = true;
      parts = [];
      size = 0;
      return;
    }
    parts.push(chunk);
    size += chunk.length;
  };

  for await (const data of input) {
    const chunk: Buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : (data as Buffer);
    let from = 0;
    for (let at = chunk.indexOf(NEWLINE, from); at !== -1; at = chunk.indexOf(NEWLINE, from)) {
      keep(chunk.subarray(from, at));
      yield finish();
      from = at + 1;
    }
    // Copy the tail: the stream may reuse the chunk's memory.
    if (from < chunk.length) keep(Buffer.from(chunk.subarray(from)));
  }
  if (size > 0 || tooLong) yield finish();
}
