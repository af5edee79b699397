/**
 * NDJSON input as blocks of whole lines, for reading large logs fast (`perso replay`, `perso diff
 * --log`): a chunk's complete lines are decoded in one step, and the reader splits the block at
 * `\n`. The lines are the ones {@link ndjsonLines} yields, numbered the same way:
 * - a line that is not valid UTF-8 is an error line (checked per chunk, then per line when a chunk
 *   fails), never decoded with U+FFFD;
 * - a line longer than `maxLineBytes` is an error line and is not buffered;
 * - a UTF-8 byte order mark at the very start is dropped; a line's trailing `\r` is the reader's to
 *   drop (see {@link lineEnd}).
 */
import { isAscii } from 'node:buffer';
import type { Readable } from 'node:stream';
import { MAX_LINE_BYTES } from './ndjson-lines.ts';

/** Whole lines (`\n`-separated, no final `\n`) starting at line `first`, or one line's error. */
export type NdjsonBlock = { first: number; text: string } | { number: number; error: string };

const NEWLINE = 0x0a;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Where the line starting at `from` and ending before `end` (a `\n` or the block's end) ends, without a `\r`. */
export function lineEnd(text: string, from: number, end: number): number {
  return end > from && text.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
}

/**
 * Bytes decoded into one block at most (but for a longer line): a string this size is one of
 * V8's small objects; a larger one costs a fresh mapping and page faults per block, and past
 * 0xFBEE9 bytes Node makes it external, slower to read and compare.
 */
export const DECODE_BYTES = 1 << 16;

/**
 * Yields the lines of `input` in blocks.
 *
 * @param input the byte stream (a file or stdin)
 * @param maxLineBytes lines longer than this are reported, not read
 * @param decodeBytes the most bytes of whole lines decoded into one block (unless one line is longer)
 */
export async function* ndjsonBlocks(
  input: Readable,
  maxLineBytes = MAX_LINE_BYTES,
  decodeBytes = DECODE_BYTES,
): AsyncGenerator<NdjsonBlock> {
  let carry: Buffer[] = [];
  let carrySize = 0;
  let tooLong = false;
  let number = 0;
  let first = true;
  const tooLongError = `longer than ${maxLineBytes} bytes; split the request or send smaller arguments`;

  /** Decodes complete lines (`bytes` holds no final `\n`) in pieces of about `decodeBytes`. */
  function* region(bytes: Buffer): Generator<NdjsonBlock> {
    let start = 0;
    if (first && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
      start = 3;
    first = false;
    while (bytes.length - start > decodeBytes) {
      let cut = bytes.lastIndexOf(NEWLINE, start + decodeBytes);
      if (cut < start) cut = bytes.indexOf(NEWLINE, start + decodeBytes);
      if (cut === -1) break;
      yield* piece(bytes.subarray(start, cut));
      start = cut + 1;
    }
    yield* piece(bytes.subarray(start));
  }

  /** Decodes complete lines: one block, or line by line when it fails. */
  function* piece(body: Buffer): Generator<NdjsonBlock> {
    let long = body.length > maxLineBytes;
    if (!long) {
      try {
        // ASCII (most logs) is its own UTF-8 and latin1: a copy, with no decoding to check.
        const text = isAscii(body) ? body.toString('latin1') : decoder.decode(body);
        const firstLine = number + 1;
        number += count(body) + 1;
        yield { first: firstLine, text };
        return;
      } catch {
        // Some line is not UTF-8: find it below.
      }
    }
    let from = 0;
    for (;;) {
      const at = body.indexOf(NEWLINE, from);
      const end = at === -1 ? body.length : at;
      number++;
      long = end - from > maxLineBytes;
      if (long) yield { number, error: tooLongError };
      else {
        try {
          yield { first: number, text: decoder.decode(body.subarray(from, end)) };
        } catch {
          yield { number, error: 'not valid UTF-8; write the requests as UTF-8 text' };
        }
      }
      if (at === -1) return;
      from = at + 1;
    }
  }

  for await (const data of input) {
    const chunk: Buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : (data as Buffer);
    const last = chunk.lastIndexOf(NEWLINE);
    if (last === -1) {
      if (!tooLong && carrySize + chunk.length > maxLineBytes) {
        tooLong = true;
        carry = [];
        carrySize = 0;
      }
      if (!tooLong) {
        // Copy: the stream may reuse the chunk's memory.
        carry.push(Buffer.from(chunk));
        carrySize += chunk.length;
      }
      continue;
    }
    let from = 0;
    if (tooLong || carrySize > 0) {
      // The carried line ends at this chunk's first newline: it is a line of its own.
      const at = chunk.indexOf(NEWLINE);
      if (tooLong || carrySize + at > maxLineBytes) {
        number++;
        first = false;
        yield { number, error: tooLongError };
      } else {
        yield* region(Buffer.concat([...carry, chunk.subarray(0, at)]));
      }
      carry = [];
      carrySize = 0;
      tooLong = false;
      from = at + 1;
    }
    if (from <= last) yield* region(chunk.subarray(from, last));
    if (last + 1 < chunk.length) {
      const tail = chunk.subarray(last + 1);
      if (tail.length > maxLineBytes) tooLong = true;
      else {
        carry.push(Buffer.from(tail));
        carrySize = tail.length;
      }
    }
  }
  if (tooLong) {
    number++;
    yield { number, error: tooLongError };
  } else if (carrySize > 0) yield* region(Buffer.concat(carry));
}

function count(bytes: Buffer): number {
  let n = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) n++;
  return n;
}
