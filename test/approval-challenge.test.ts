// The challenge a WebAuthn approval signs: one per exact call, place, policy and ticket.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { approvalChallenge, sha256HexSync } from '../src/approval-challenge.ts';

const input = {
  tool: 'process_refund',
  args: { order_id: 'ORD-8821', amount: 800 },
  origin: 'https://shop.example',
  policyHash: 'ab'.repeat(32),
  nonce: 'cd'.repeat(16),
  expiresAt: 1_800_000_000_000,
};

describe('approvalChallenge', () => {
  it('is SHA-256 of the canonical JSON of {args, expiresAt, nonce, origin, policyHash, tool}', () => {
    const text = `{"args":{"amount":800,"order_id":"ORD-8821"},"expiresAt":1800000000000,"nonce":"${input.nonce}","origin":"https://shop.example","policyHash":"${input.policyHash}","tool":"process_refund"}`;
    assert.deepEqual(Buffer.from(approvalChallenge(input)), createHash('sha256').update(text).digest());
  });

  it('does not depend on the order of the args\' keys', () => {
    assert.deepEqual(approvalChallenge(input), approvalChallenge({ ...input, args: { amount: 800, order_id: 'ORD-8821' } }));
  });

  it('changes with every field it binds', () => {
    const base = Buffer.from(approvalChallenge(input)).toString('hex');
    const changed = [
      { tool: 'delete_customer' },
      { args: { order_id: 'ORD-8821', amount: 801 } },
      { origin: 'https://evil.example' },
      { policyHash: 'ef'.repeat(32) },
      { nonce: '00'.repeat(16) },
      { expiresAt: input.expiresAt + 1 },
    ].map((change) => Buffer.from(approvalChallenge({ ...input, ...change })).toString('hex'));
    assert.equal(new Set([base, ...changed]).size, 7);
  });

  it('fault: args that are not plain JSON — throws instead of signing something else', () => {
    assert.throws(() => approvalChallenge({ ...input, args: { amount: Number.NaN } }), TypeError);
  });

  it('sha256HexSync matches node:crypto', () => {
    assert.equal(sha256HexSync('{"version":"x"}é'), createHash('sha256').update('{"version":"x"}é').digest('hex'));
  });
});
