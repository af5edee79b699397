/**
 * `perso keygen NAME [--alg Ed25519|ES256]`: a policy signing key pair as two JWK files,
 * `NAME.private.jwk` (owner-only; signs with `perso sign`) and `NAME.public.jwk` (what pages
 * trust), and the `publicKeys` entry to paste into `Perso.load`. The key id is NAME's file name.
 */
import { basename } from 'node:path';
import { generatePolicyKeyPair } from '../policy/policy-integrity.ts';
import type { SignatureAlgorithm } from '../policy/policy-integrity.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, write } from './cli-io.ts';
import { keyFileNames, writeKeyFile } from './key-file.ts';

/** Options of {@link keygenCommand}. */
export interface KeygenOptions {
  /** Where the files go, without extension; its file name is the key id. */
  name: string;
  /** `Ed25519` (default) or `ES256`. */
  alg: SignatureAlgorithm;
}

/** Runs `perso keygen`; resolves to the exit code. */
export async function keygenCommand(options: KeygenOptions, io: CliIo): Promise<ExitCode> {
  const keyId = basename(options.name);
  const { privateFile, publicFile } = keyFileNames(options.name);
  const pair = await generatePolicyKeyPair(options.alg);
  const privateJwk = { kid: keyId, ...(await crypto.subtle.exportKey('jwk', pair.privateKey)) };
  const publicJwk = { kid: keyId, ...(await crypto.subtle.exportKey('jwk', pair.publicKey)) };
  // The public half first: a name already in use stops keygen before a private key is written.
  for (const [file, jwk, half] of [
    [publicFile, publicJwk, 'public'],
    [privateFile, privateJwk, 'private'],
  ] as const) {
    const written = await writeKeyFile(file, jwk, half);
    if (!written.ok) {
      await write(io.stderr, `perso keygen: ${written.error}\n`);
      return ExitCode.Failure;
    }
  }
  const entry = { keyId, alg: options.alg, publicKey: publicJwk };
  await write(
    io.stdout,
    `wrote ${privateFile} (the signing key: keep it secret, out of the repository)\n` +
      `wrote ${publicFile}\n` +
      `trust it in Perso.load with publicKeys: [${JSON.stringify(entry)}]\n`,
  );
  return ExitCode.Ok;
}
