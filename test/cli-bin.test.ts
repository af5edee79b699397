// The installed `perso` command as npm links it: the built dist/cli/main.js, run as an executable
// (what `npx perso` runs after `npm install`, which builds dist/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const demo = fileURLToPath(new URL('../policies/demo.json', import.meta.url));

test('dist/cli/main.js is built, executable, and starts with a node shebang (run npm run build if not)', () => {
  accessSync(bin, constants.X_OK);
  assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

test('the README example: perso eval on the bundled demo policy denies an $800 agent refund', () => {
  const run = spawnSync(bin, ['eval', demo], {
    input: '{"tool":"process_refund","args":{"order_id":"ORD-8821","amount":800},"role":"agent"}\n',
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const decision = JSON.parse(run.stdout);
  assert.equal(decision.decision, 'Deny');
  assert.match(
    decision.reason,
    /^rule matched tool 'process_refund' for role 'agent'; condition failed: Arguments\.amount = 800 is not Lte 500/,
  );
});
