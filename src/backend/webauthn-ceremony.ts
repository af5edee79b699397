/**
 * The page's half of a WebAuthn approval: asks the person's authenticator to sign a ticket's
 * challenge, registering a credential on first use, and relays what it made. Loaded on demand
 * (`import()`), only when a policy asks for a WebAuthn approval.
 *
 * Checklist:
 * - `userVerification: "required"` on both ceremonies: the authenticator's own PIN or biometric,
 *   which neither a page script nor input automation can produce;
 * - the origin is the document's (`self.origin`), which is what the browser puts in the client data:
 *   `location.origin` is "null" in an `about:srcdoc` frame that has its parent's origin;
 * - the challenge is made from the call the person was shown and the ticket (approval-challenge.ts);
 *   the engine's side makes it again from what it offered the ticket for and checks every byte;
 * - the first approval on an origin registers a credential (ES256 or EdDSA, attestation "none")
 *   and then asserts with it: two gestures, once;
 * - never throws: no WebAuthn, a cancelled or timed-out ceremony, or any error is evidence of that
 *   failure, which the engine's side turns into a Deny saying which.
 */
import type { ApprovalEvidence, WebAuthnRegistration } from './approval-evidence.ts';
import { COSE_EDDSA, COSE_ES256 } from './approval-evidence.ts';
import { AuthenticatorStore } from './authenticator-store.ts';
import type { CredentialStore } from './authenticator-store.ts';
import { fromBase64, toBase64Url } from '../policy/base64.ts';
import type { ApprovalTicket } from '../call/decision.ts';
import { approvalChallenge } from './approval-challenge.ts';
import { errorText } from '../encoding/text.ts';

/** What a WebAuthn approval is asked for. */
export interface WebAuthnApprovalRequest {
  /** The Ask's `approval` (kind `webauthn`). */
  ticket: ApprovalTicket;
  /** The tool. */
  tool: string;
  /** The canonical args it will run on, as the person was shown them (the decision's `args`). */
  args: unknown;
  /** The active policy's hash, `perso.status().hash`. */
  policyHash: string | null;
}

/** Options of {@link requestWebAuthnApproval}. */
export interface WebAuthnCeremonyOptions {
  /** The registered credentials to assert with; the page's IndexedDB store by default. */
  credentials?: Pick<CredentialStore, 'list'>;
  /** Longest wait for the authenticator, in ms; default 60 000, never past the ticket's expiry. */
  timeoutMs?: number;
}

let defaultStore: AuthenticatorStore | null = null;

/**
 * Asks the person's authenticator to approve one exact call; resolves to the evidence to pass to
 * `perso.approve(nonce, call, evidence)` (`session.guard` does all of this itself).
 *
 * @param request the ticket, the call and the policy hash the challenge is made of
 * @param options where the registered credentials are, and how long to wait
 */
export async function requestWebAuthnApproval(
  request: WebAuthnApprovalRequest,
  options: WebAuthnCeremonyOptions = {},
): Promise<ApprovalEvidence> {
  const failed = (
    failure: 'unavailable' | 'cancelled' | 'failed',
    detail: string,
  ): ApprovalEvidence => ({ kind: 'webauthn-failed', failure, detail });
  const { ticket, tool, args, policyHash } = request;
  const container = typeof navigator === 'undefined' ? undefined : navigator.credentials;
  if (
    typeof PublicKeyCredential === 'undefined' ||
    container === undefined ||
    typeof self === 'undefined' ||
    typeof crypto?.subtle === 'undefined'
  ) {
    return failed(
      'unavailable',
      'this browser offers no WebAuthn (it needs a secure context: https or localhost)',
    );
  }
  if (ticket.kind !== 'webauthn' || policyHash === null)
    return failed('failed', 'the ticket is not a WebAuthn ticket of the active policy');
  let challenge: Uint8Array<ArrayBuffer>;
  try {
    challenge = await approvalChallenge({
      tool,
      args,
      origin: self.origin,
      policyHash,
      nonce: ticket.nonce,
      expiresAt: ticket.expiresAt,
    });
  } catch {
    return failed('failed', 'the arguments are not plain JSON');
  }
  const timeout = Math.max(
    1000,
    Math.min(options.timeoutMs ?? 60_000, ticket.expiresAt - Date.now()),
  );
  try {
    defaultStore ??= new AuthenticatorStore();
    const registered = await (options.credentials ?? defaultStore).list(self.origin);
    let registration: WebAuthnRegistration | undefined;
    let allow = registered.map((credential) => ({
      type: 'public-key' as const,
      id: fromBase64(credential.id)!,
    }));
    if (allow.length === 0) {
      registration = await register(challenge, timeout);
      allow = [{ type: 'public-key', id: fromBase64(registration.credentialId)! }];
    }
    const credential = await container.get({
      publicKey: { challenge, allowCredentials: allow, userVerification: 'required', timeout },
    });
    if (
      !(credential instanceof PublicKeyCredential) ||
      !(credential.response instanceof AuthenticatorAssertionResponse)
    ) {
      return failed('failed', 'the authenticator answered with no assertion');
    }
    const response = credential.response;
    const assertion = {
      credentialId: toBase64Url(new Uint8Array(credential.rawId)),
      clientDataJSON: toBase64Url(new Uint8Array(response.clientDataJSON)),
      authenticatorData: toBase64Url(new Uint8Array(response.authenticatorData)),
      signature: toBase64Url(new Uint8Array(response.signature)),
    };
    return registration === undefined
      ? { kind: 'webauthn', assertion }
      : { kind: 'webauthn', assertion, registration };
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    // NotAllowedError is what a cancel, a timeout and "no authenticator answered" all look like.
    // (The browser's message for it is a generic text with a link: the name says it all.)
    if (name === 'NotAllowedError' || name === 'AbortError') return failed('cancelled', name);
    return failed('failed', errorText(error));
  }
}

/** First use: registers the person's authenticator for this origin. */
async function register(
  challenge: Uint8Array<ArrayBuffer>,
  timeout: number,
): Promise<WebAuthnRegistration> {
  const credential = await navigator.credentials.create({
    publicKey: {
      challenge,
      rp: { name: 'perso approvals' },
      user: {
        id: crypto.getRandomValues(new Uint8Array(16)),
        name: 'perso approvals',
        displayName: 'perso approvals',
      },
      pubKeyCredParams: [
        { type: 'public-key', alg: COSE_EDDSA },
        { type: 'public-key', alg: COSE_ES256 },
      ],
      authenticatorSelection: { userVerification: 'required', residentKey: 'discouraged' },
      attestation: 'none',
      timeout,
    },
  });
  if (
    !(credential instanceof PublicKeyCredential) ||
    !(credential.response instanceof AuthenticatorAttestationResponse)
  ) {
    throw new DOMException('the authenticator answered with no credential', 'InvalidStateError');
  }
  const response = credential.response;
  const publicKey = response.getPublicKey();
  if (publicKey === null)
    throw new DOMException(
      'the authenticator made a key of an algorithm this browser cannot export',
      'NotSupportedError',
    );
  return {
    credentialId: toBase64Url(new Uint8Array(credential.rawId)),
    publicKey: toBase64Url(new Uint8Array(publicKey)),
    algorithm: response.getPublicKeyAlgorithm(),
    clientDataJSON: toBase64Url(new Uint8Array(response.clientDataJSON)),
    authenticatorData: toBase64Url(new Uint8Array(response.getAuthenticatorData())),
  };
}
