/**
 * `perso embed DIR`: copies the script-tag embed (`perso-embed.js` and its `assets/`: the
 * evaluator worker, engine.wasm, the WebAuthn verifier, the fallback evaluator) from the installed
 * package into DIR, a folder the app serves from its own origin (e.g. `public/perso` in Vite).
 *
 * Checklist:
 * - the files are copied as built (their digests are checked by the embed at run time);
 * - an earlier copy's `assets/` is replaced, so no stale hashed file lingers;
 * - a DIR/assets that is not perso's (no perso-embed.js beside it) is left alone and refused.
 */
import { cp, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIo } from './cli-io.ts';
import { ExitCode, write } from './cli-io.ts';
import { fileErrorText, quote } from '../encoding/text.ts';

/** The built embed folder: `dist/script/` of the package (the same path from src/cli and dist/cli). */
const EMBED_DIR = fileURLToPath(new URL('../../dist/script/', import.meta.url));

/** Options of {@link embedCommand}. */
export interface EmbedOptions {
  /** The folder to copy into; made when missing. */
  dir: string;
}

/** Runs `perso embed`; resolves to the exit code. */
export async function embedCommand(options: EmbedOptions, io: CliIo): Promise<ExitCode> {
  const fail = async (error: string): Promise<ExitCode> => {
    await write(io.stderr, `perso embed: ${error}\n`);
    return ExitCode.Failure;
  };
  if (!(await exists(join(EMBED_DIR, 'perso-embed.js'))))
    return fail(
      `the built embed is missing at "${EMBED_DIR}"; reinstall perso (in its own repository: npm run build:embed)`,
    );
  const dir = options.dir;
  if (await exists(join(dir, 'assets'))) {
    if (!(await exists(join(dir, 'perso-embed.js'))))
      return fail(
        `"${join(dir, 'assets')}" exists and is not perso's (no perso-embed.js beside it); choose an empty folder`,
      );
    await rm(join(dir, 'assets'), { recursive: true, force: true });
  }
  try {
    await cp(EMBED_DIR, dir, { recursive: true });
  } catch (error) {
    return fail(`could not copy into ${quote(dir, 200)} (${fileErrorText(error)})`);
  }
  const files = [
    'perso-embed.js',
    ...(await readdir(join(dir, 'assets'))).sort().map((f) => `assets/${f}`),
  ];
  // Vite and most static setups serve public/ at the root: public/perso is /perso/.
  const parts = dir.split(/[\\/]/).filter((part) => part !== '' && part !== '.');
  const fromPublic = parts.lastIndexOf('public');
  const url = `/${(fromPublic >= 0 ? parts.slice(fromPublic + 1) : parts.slice(-1)).join('/')}/`;
  const where = fromPublic >= 0 ? '' : ` (if "${dir}" is served at ${url})`;
  await write(
    io.stdout,
    `${files.map((f) => `wrote ${join(dir, f)}`).join('\n')}\n` +
      `add to <head>, before the page's own scripts${where}:\n` +
      `  <script src="${url}perso-embed.js" data-policy="/policy.json" data-role="agent"></script>\n`,
  );
  return ExitCode.Ok;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
