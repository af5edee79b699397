/**
 * The challenge a WebAuthn approval signs: SHA-256 of the canonical JSON of
 * `{args, expiresAt, nonce, origin, policyHash, tool}` — the exact call, where it is approved, under
 * which policy, and which single-use ticket. An assertion over it approves that and nothing else:
 * other arguments, another ticket, another origin or another policy make another challenge.
 *
 * The page makes it from what it shows the person (webauthn-ceremony.ts), and the ledger's side
 * makes it again from what it offered the ticket for (webauthn-approval.ts): any difference is a
 * Deny, never an approval of something else. Both load it on demand.
 */
import { canonicalJson } from '../call/canonical-json.ts';

/** What a WebAuthn approval is bound to. */
export interface ApprovalChallengeInput {
  /** The tool's name. */
  tool: string;
  /** The call's canonical args. */
  args: unknown;
  /** The page's origin, `https://shop.example`. */
  origin: string;
  /** SHA-256 of the policy text, lowercase hex (as `Perso.status().hash`). */
  policyHash: string;
  /** The ticket's nonce. */
  nonce: string;
  /** The ticket's expiry, in ms since the epoch. */
  expiresAt: number;
}

/**
 * The 32-byte challenge for `input`; rejects with a `TypeError` when the args are not plain JSON.
 *
 * @param input the call, the place, the policy and the ticket
 */
export async function approvalChallenge(
  input: ApprovalChallengeInput,
): Promise<Uint8Array<ArrayBuffer>> {
  const { tool, args, origin, policyHash, nonce, expiresAt } = input;
  const text = canonicalJson({ tool, args: args ?? {}, origin, policyHash, nonce, expiresAt });
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}
