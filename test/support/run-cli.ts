/**
 * Runs the `perso` command from source (`src/cli/main.ts` through tsx) as a child process, the way a
 * user runs `npx perso`, for the CLI tests.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The original demo policy's file. */
export const demoPolicyPath = fileURLToPath(
  new URL('../fixtures/perso-demo-policy.json', import.meta.url),
);

/** What one run of the command gave. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `perso args...`; the caller drives stdin and reads the streams. */
export function startPerso(
  args: readonly string[],
  cwd = repoRoot,
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), ...args], {
    cwd,
  });
}

/** Runs `perso args...` with `input` on stdin (closed after it) and collects everything. */
export async function runPerso(
  args: readonly string[],
  input: string | Buffer = '',
  cwd = repoRoot,
): Promise<CliRun> {
  const child = startPerso(args, cwd);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => undefined); // the command may exit before reading stdin
  child.stdin.end(input);
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}
