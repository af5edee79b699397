// The plain-JavaScript SHA-256 (for pages without WebCrypto) against WebCrypto and FIPS vectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '../src/policy/sha256.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

test('FIPS 180-4 vectors: "", "abc" and the two-block message', () => {
  const encode = (text: string) => new TextEncoder().encode(text);
  assert.equal(
    hex(sha256(encode(''))),
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
  assert.equal(
    hex(sha256(encode('abc'))),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  );
  assert.equal(
    hex(sha256(encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
});

test('matches WebCrypto at every length around the block and padding boundaries', async () => {
  for (const length of [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 70_000]) {
    const bytes = new Uint8Array(length).map((_, i) => (i * 31 + length) & 0xff);
    const expected = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    assert.equal(hex(sha256(bytes)), hex(expected), `length ${length}`);
  }
});
