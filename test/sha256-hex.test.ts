// sha256Hex and sha256Digest: one answer for text and bytes, with WebCrypto and without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sha256Digest, sha256Hex } from '../src/encoding/sha256-hex.ts';

const CLEF = '\u{1d11e}';

async function withoutWebCrypto(body: () => Promise<void>): Promise<void> {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'crypto')!;
  Object.defineProperty(globalThis, 'crypto', { value: {}, configurable: true });
  try {
    await body();
  } finally {
    Object.defineProperty(globalThis, 'crypto', descriptor);
  }
}

test('a text hashes as its UTF-8 bytes, in lowercase hex', async () => {
  const text = `policy é ${CLEF}`;
  const expected = createHash('sha256').update(text, 'utf8').digest('hex');
  assert.equal(await sha256Hex(text), expected);
  assert.equal(await sha256Hex(new TextEncoder().encode(text)), expected);
  assert.equal((await sha256Digest(text)).length, 32);
});

test('no WebCrypto (a page on plain http): the plain-JavaScript SHA-256 gives the same hex', async () => {
  const text = 'x'.repeat(1000);
  const expected = createHash('sha256').update(text).digest('hex');
  await withoutWebCrypto(async () => {
    assert.equal(globalThis.crypto.subtle, undefined);
    assert.equal(await sha256Hex(text), expected);
  });
});
