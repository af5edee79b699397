// A WebAuthn authenticator in software (WebCrypto), for tests that need exact control of what an
// authenticator signs: flags, counters, challenges, origins. It makes the same bytes a real one
// does for attestation "none"; what perso checks is the same either way.
import { toBase64Url } from '../../src/policy/base64.ts';
import { sha256 } from '../../src/policy/sha256.ts';
import type {
  WebAuthnAssertion,
  WebAuthnRegistration,
} from '../../src/backend/approval-evidence.ts';

const encoder = new TextEncoder();

/** What an authenticator claims in one response. */
export interface Claims {
  challenge: string;
  origin: string;
  type?: string;
  rpId?: string;
  /** Default: user present and user verified. */
  flags?: number;
  counter?: number;
  crossOrigin?: boolean;
}

export const UP = 0x01;
export const UV = 0x04;
const AT = 0x40;

/** One credential in software: `-7` (ES256) or `-8` (EdDSA). */
export class SoftwareAuthenticator {
  readonly id = crypto.getRandomValues(new Uint8Array(16));
  counter = 0;
  private constructor(
    readonly algorithm: -7 | -8,
    private readonly keys: CryptoKeyPair,
  ) {}

  static async create(algorithm: -7 | -8): Promise<SoftwareAuthenticator> {
    const params = algorithm === -7 ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'Ed25519' };
    return new SoftwareAuthenticator(
      algorithm,
      (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair,
    );
  }

  get credentialId(): string {
    return toBase64Url(this.id);
  }

  async register(claims: Claims): Promise<WebAuthnRegistration> {
    const head = this.authenticatorData(claims, UP | UV | AT);
    const data = new Uint8Array(head.length + 18 + this.id.length);
    data.set(head);
    data[head.length + 16] = this.id.length >> 8;
    data[head.length + 17] = this.id.length & 0xff;
    data.set(this.id, head.length + 18);
    return {
      credentialId: this.credentialId,
      publicKey: toBase64Url(
        new Uint8Array(await crypto.subtle.exportKey('spki', this.keys.publicKey)),
      ),
      algorithm: this.algorithm,
      clientDataJSON: toBase64Url(this.clientData({ type: 'webauthn.create', ...claims })),
      authenticatorData: toBase64Url(data),
    };
  }

  async assert(claims: Claims): Promise<WebAuthnAssertion> {
    this.counter = claims.counter ?? this.counter + 1;
    const data = this.authenticatorData(claims, UP | UV);
    const clientData = this.clientData({ type: 'webauthn.get', ...claims });
    const signed = new Uint8Array(data.length + 32);
    signed.set(data);
    signed.set(sha256(clientData), data.length);
    const params = this.algorithm === -7 ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'Ed25519' };
    const raw = new Uint8Array(await crypto.subtle.sign(params, this.keys.privateKey, signed));
    return {
      credentialId: this.credentialId,
      clientDataJSON: toBase64Url(clientData),
      authenticatorData: toBase64Url(data),
      signature: toBase64Url(this.algorithm === -7 ? rawToDer(raw) : raw),
    };
  }

  private clientData(claims: Claims & { type: string }): Uint8Array {
    const body: Record<string, unknown> = {
      type: claims.type,
      challenge: claims.challenge,
      origin: claims.origin,
    };
    if (claims.crossOrigin !== undefined) body.crossOrigin = claims.crossOrigin;
    return encoder.encode(JSON.stringify(body));
  }

  private authenticatorData(claims: Claims, defaultFlags: number): Uint8Array {
    const data = new Uint8Array(37);
    data.set(sha256(encoder.encode(claims.rpId ?? new URL(claims.origin).hostname)));
    data[32] = claims.flags ?? defaultFlags;
    new DataView(data.buffer).setUint32(33, this.counter);
    return data;
  }
}

/** r ‖ s as the DER SEQUENCE of two INTEGERs an authenticator sends for ES256. */
function rawToDer(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array): number[] => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const body = [...bytes.subarray(start)];
    if (body[0]! & 0x80) body.unshift(0);
    return [0x02, body.length, ...body];
  };
  const body = [...integer(raw.subarray(0, 32)), ...integer(raw.subarray(32))];
  return new Uint8Array([0x30, body.length, ...body]);
}
