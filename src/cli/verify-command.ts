/**
 * `perso verify POLICY [SIG] --key NAME.public.jwk --id ID`: checks a `.sig` file against the
 * policy file's exact bytes, the identity pages load it as and the trusted public keys, the way
 * `Perso.load` does (the same verifier); exit 1 with the loader's reason when it would refuse.
 */
import { readFile } from 'node:fs/promises';
import { readRevision, sha256Hex, verifySignatureFile } from '../policy/policy-integrity.ts';
import type { PolicyPublicKey } from '../policy/policy-integrity.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, write } from './cli-io.ts';
import { publicKeyEntry, readKeyFile } from './key-file.ts';
import { fileErrorText, quote } from '../encoding/text.ts';

/** Options of {@link verifyCommand}. */
export interface VerifyOptions {
  /** The policy file, byte for byte as published. */
  policy: string;
  /** The signature file; `POLICY.sig` by default. */
  signature: string | null;
  /** Public JWK files the page trusts. */
  keys: readonly string[];
  /** The identity the page loads the policy as. */
  id: string;
}

/** Runs `perso verify`; resolves to the exit code (1 when the signature is refused). */
export async function verifyCommand(options: VerifyOptions, io: CliIo): Promise<ExitCode> {
  const sigPath = options.signature ?? `${options.policy}.sig`;
  const fail = async (error: string): Promise<ExitCode> => {
    await write(io.stderr, `perso verify: ${error}\n`);
    return ExitCode.Failure;
  };
  let bytes: Uint8Array<ArrayBuffer>;
  let sigText: string;
  try {
    bytes = new Uint8Array(await readFile(options.policy));
  } catch (error) {
    return fail(
      `policy file ${quote(options.policy, 200)} could not be read (${fileErrorText(error)})`,
    );
  }
  try {
    sigText = await readFile(sigPath, 'utf8');
  } catch (error) {
    return fail(
      `signature file ${quote(sigPath, 200)} could not be read (${fileErrorText(error)}); make it with "perso sign"`,
    );
  }
  const keys: PolicyPublicKey[] = [];
  for (const path of options.keys) {
    const key = await readKeyFile(path, 'public');
    if (!key.ok) return fail(key.error);
    keys.push(publicKeyEntry(key.value));
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail(`${quote(options.policy, 200)} is not UTF-8 text`);
  }
  const revision = readRevision(text);
  if (!revision.ok) return fail(`${quote(options.policy, 200)}: ${revision.error}`);
  const verified = await verifySignatureFile(
    sigText,
    { id: options.id, revision: revision.value ?? 0, sha256: await sha256Hex(bytes) },
    keys,
  );
  if (!verified.ok) return fail(`"${options.policy}" refused: ${verified.error}`);
  const { id, revision: rev, sha256, keyId } = verified.value;
  await write(
    io.stdout,
    `${options.policy}: signature verified: policy ${quote(id, 200)}, revision ${rev}, sha256 ${sha256}, key "${keyId}"\n`,
  );
  return ExitCode.Ok;
}
