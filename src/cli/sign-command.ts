/**
 * `perso sign POLICY --key NAME.private.jwk --id ID [--out FILE]`: signs the policy file's exact
 * bytes for one identity (the `policyId` pages configure, or the absolute URL they load it from)
 * and writes the `.sig` file (format perso-policy-signature/2) to publish beside it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { importPolicyPrivateKey, signPolicy } from '../policy/policy-integrity.ts';
import type { CliIo } from './cli-io.ts';
import { ExitCode, write } from './cli-io.ts';
import { readKeyFile } from './key-file.ts';
import { errorText, fileErrorText, quote } from '../encoding/text.ts';

/** Options of {@link signCommand}. */
export interface SignOptions {
  /** The policy file to sign, byte for byte. */
  policy: string;
  /** Private JWK files, one signature each. */
  keys: readonly string[];
  /** The identity the signature names. */
  id: string;
  /** Where the `.sig` goes; `POLICY.sig` by default, `-` for stdout. */
  out: string | null;
}

/** Runs `perso sign`; resolves to the exit code. */
export async function signCommand(options: SignOptions, io: CliIo): Promise<ExitCode> {
  const fail = async (error: string): Promise<ExitCode> => {
    await write(io.stderr, `perso sign: ${error}\n`);
    return ExitCode.Failure;
  };
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(await readFile(options.policy));
  } catch (error) {
    return fail(
      `policy file ${quote(options.policy, 200)} could not be read (${fileErrorText(error)}); sign a file, byte for byte as it is published`,
    );
  }
  const signers: { privateKey: CryptoKey; keyId: string }[] = [];
  for (const path of options.keys) {
    const key = await readKeyFile(path, 'private');
    if (!key.ok) return fail(key.error);
    try {
      signers.push({
        privateKey: await importPolicyPrivateKey(key.value.alg, key.value.jwk),
        keyId: key.value.keyId,
      });
    } catch (error) {
      return fail(
        `key file ${quote(path, 200)} is not a usable ${key.value.alg} key (${errorText(error)})`,
      );
    }
  }
  let signature: Awaited<ReturnType<typeof signPolicy>>;
  try {
    signature = await signPolicy(bytes, { id: options.id, signers });
  } catch (error) {
    return fail(`${quote(options.policy, 200)}: ${errorText(error)}`);
  }
  const text = `${JSON.stringify(signature)}\n`;
  const out = options.out ?? `${options.policy}.sig`;
  if (out === '-') {
    await write(io.stdout, text);
    return ExitCode.Ok;
  }
  try {
    await writeFile(out, text);
  } catch (error) {
    return fail(`${quote(out, 200)} could not be written (${fileErrorText(error)})`);
  }
  const by = signers.map((s) => `"${s.keyId}"`).join(', ');
  await write(
    io.stdout,
    `wrote ${out}: policy ${quote(options.id, 200)}, revision ${signature.revision}, sha256 ${signature.sha256}, signed by ${by}\n`,
  );
  return ExitCode.Ok;
}
