// The challenge a WebAuthn approval signs: one per exact call, place, policy and ticket.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { approvalChallenge } from '../src/backend/approval-challenge.ts';

const input = {
  tool: 'process_refund',
  args: { order_id: 'ORD-8821', amount: 800 },
  origin: 'https://shop.example',
  policyHash: 'ab'.repeat(32),
  nonce: 'cd'.repeat(16),
  expiresAt: 1_800_000_000_000,
};

describe('approvalChallenge', () => {
  it('is SHA-256 of the canonical JSON of {args, expiresAt, nonce, origin, policyHash, tool}', async () => {
    const text = `{"args":{"amount":800,"order_id":"ORD-8821"},"expiresAt":1800000000000,"nonce":"${input.nonce}","origin":"https://shop.example","policyHash":"${input.policyHash}","tool":"process_refund"}`;
    assert.deepEqual(
      Buffer.from(await approvalChallenge(input)),
      createHash('sha256').update(text).digest(),
    );
  });

  it("does not depend on the order of the args' keys", async () => {
    assert.deepEqual(
      await approvalChallenge(input),
      await approvalChallenge({ ...input, args: { amount: 800, order_id: 'ORD-8821' } }),
    );
  });

  it('changes with every field it binds', async () => {
    const base = Buffer.from(await approvalChallenge(input)).toString('hex');
    const changes = [
      { tool: 'delete_customer' },
      { args: { order_id: 'ORD-8821', amount: 801 } },
      { origin: 'https://evil.example' },
      { policyHash: 'ef'.repeat(32) },
      { nonce: '00'.repeat(16) },
      { expiresAt: input.expiresAt + 1 },
    ];
    const changed = await Promise.all(
      changes.map(async (change) =>
        Buffer.from(await approvalChallenge({ ...input, ...change })).toString('hex'),
      ),
    );
    assert.equal(new Set([base, ...changed]).size, 7);
  });

  it('fault: args that are not plain JSON — rejects instead of signing something else', async () => {
    await assert.rejects(approvalChallenge({ ...input, args: { amount: Number.NaN } }), TypeError);
  });
});
