// ndjson-blocks.ts against ndjson-lines.ts: the same lines, numbers and errors for any input and
// any chunking (random inputs from a fixed seed, so a failure repeats).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { lineEnd, ndjsonBlocks } from '../src/cli/ndjson-blocks.ts';
import type { NdjsonLine } from '../src/cli/ndjson-lines.ts';
import { ndjsonLines } from '../src/cli/ndjson-lines.ts';

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Bytes made of short lines, `\r\n` endings, blank lines, a BOM, bad UTF-8 and long lines. */
function input(next: () => number): Buffer {
  const pieces: Buffer[] = [];
  if (next() < 0.2) pieces.push(Buffer.from([0xef, 0xbb, 0xbf]));
  const lines = Math.floor(next() * 12);
  for (let i = 0; i < lines; i++) {
    const kind = next();
    if (kind < 0.1)
      pieces.push(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])); // not UTF-8
    else if (kind < 0.2)
      pieces.push(Buffer.alloc(40 + Math.floor(next() * 40), 0x61)); // over the limit of 40
    else if (kind < 0.3) pieces.push(Buffer.from('é€😀'.repeat(1 + Math.floor(next() * 3))));
    else pieces.push(Buffer.from(`{"n":${i}}`.slice(0, Math.floor(next() * 9))));
    pieces.push(Buffer.from(next() < 0.2 ? '\r\n' : '\n'));
  }
  if (next() < 0.5) pieces.push(Buffer.from('{"tail":1}'));
  return Buffer.concat(pieces);
}

function chunks(bytes: Buffer, next: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(next() * 30);
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

async function viaBlocks(parts: Buffer[], max: number, decode?: number): Promise<NdjsonLine[]> {
  const lines: NdjsonLine[] = [];
  for await (const block of ndjsonBlocks(Readable.from(parts), max, decode)) {
    if ('error' in block) {
      lines.push(block);
      continue;
    }
    let number = block.first;
    for (let from = 0; ; number++) {
      const at = block.text.indexOf('\n', from);
      const end = at === -1 ? block.text.length : at;
      // ndjsonLines keeps a line's \r only when it is not at the end; both drop the final one.
      lines.push({ number, text: block.text.slice(from, lineEnd(block.text, from, end)) });
      if (at === -1) break;
      from = at + 1;
    }
  }
  return lines;
}

test('ndjsonBlocks yields the lines ndjsonLines yields, for 500 random inputs and chunkings', async () => {
  const next = random(20261203);
  for (let round = 0; round < 500; round++) {
    const bytes = input(next);
    const parts = chunks(bytes, next);
    const expected: NdjsonLine[] = [];
    for await (const line of ndjsonLines(Readable.from(parts), 40)) expected.push(line);
    assert.deepEqual(
      await viaBlocks(parts, 40),
      expected,
      `round ${round}: ${JSON.stringify(bytes.toString('latin1'))}`,
    );
  }
});

test('blocks decoded in pieces of a few bytes give the same lines (a piece ends at a line break)', async () => {
  const next = random(20261204);
  for (let round = 0; round < 500; round++) {
    const bytes = input(next);
    // Whole chunks: each region holds many lines, cut into pieces of 1 to 24 bytes.
    const parts = [bytes.subarray(0, bytes.length >> 1), bytes.subarray(bytes.length >> 1)];
    const expected: NdjsonLine[] = [];
    for await (const line of ndjsonLines(Readable.from(parts), 40)) expected.push(line);
    const decode = 1 + Math.floor(next() * 24);
    assert.deepEqual(
      await viaBlocks(parts, 40, decode),
      expected,
      `round ${round}, pieces of ${decode}: ${JSON.stringify(bytes.toString('latin1'))}`,
    );
  }
});
