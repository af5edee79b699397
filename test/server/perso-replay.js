// A test-runner plugin that replays an audit log recorded in the browser with the `perso` command,
// as a person would after exporting it: `executeServerCommand('perso-replay', { log, policy })`
// from @web/test-runner-commands writes the NDJSON `log` to a temporary file and runs
// `perso replay FILE test/fixtures/<policy> --json` from source; it answers `{code, stdout, stderr}`.
// With PERSO_UPDATE_FIXTURES=1 the log is also kept as test/fixtures/<save> (the Node test replays it).

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = /^[\w.-]+\.(json|ndjson)$/;

/** @returns {import('@web/test-runner').TestRunnerPlugin} */
export function persoReplayPlugin() {
  return {
    name: 'perso-replay',
    async executeCommand({ command, payload }) {
      if (command !== 'perso-replay') return undefined;
      const { log, policy, save } =
        /** @type {{ log?: unknown, policy?: unknown, save?: unknown }} */ (payload ?? {});
      if (typeof log !== 'string' || typeof policy !== 'string' || !FIXTURE.test(policy))
        throw new Error('perso-replay: pass { log: NDJSON text, policy: a file in test/fixtures }');
      if (
        typeof save === 'string' &&
        FIXTURE.test(save) &&
        process.env.PERSO_UPDATE_FIXTURES === '1'
      )
        await writeFile(join(root, 'test/fixtures', save), log);
      const dir = await mkdtemp(join(tmpdir(), 'perso-replay-browser-'));
      try {
        const file = join(dir, 'audit.ndjson');
        await writeFile(file, log);
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            join(root, 'src/cli/main.ts'),
            'replay',
            file,
            join(root, 'test/fixtures', policy),
            '--json',
          ],
          { cwd: root },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
        const [code] = await once(child, 'close');
        return { code, stdout, stderr };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
