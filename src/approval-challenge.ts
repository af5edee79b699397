/**
 * The challenge a WebAuthn approval signs: SHA-256 of the canonical JSON of
 * `{args, expiresAt, nonce, origin, policyHash, tool}` — the exact call, where it is approved, under
 * which policy, and which single-use ticket. An assertion over it approves that and nothing else:
 * other arguments, another ticket, another origin or another policy make another challenge.
 *
 * Synchronous (plain-JS SHA-256), so a ticket can carry its challenge from the moment it is offered.
 */
import { canonicalJson } from './canonical-json.ts';
import { sha256 } from './sha256.ts';

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

const encoder = new TextEncoder();

/**
 * The 32-byte challenge for `input`; throws a `TypeError` when the args are not plain JSON.
 *
 * @param input the call, the place, the policy and the ticket
 */
export function approvalChallenge(input: ApprovalChallengeInput): Uint8Array<ArrayBuffer> {
  const { tool, args, origin, policyHash, nonce, expiresAt } = input;
  return sha256(encoder.encode(canonicalJson({ tool, args: args ?? {}, origin, policyHash, nonce, expiresAt })));
}

/**
 * SHA-256 of a text's UTF-8 bytes, lowercase hex.
 *
 * @param text e.g. a policy's JSON text
 */
export function sha256HexSync(text: string): string {
  let hex = '';
  for (const byte of sha256(encoder.encode(text))) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
