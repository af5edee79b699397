// The page payload: what a page that uses perso loads before its first decision (its page code, the
// evaluator worker, engine.wasm), gzipped. Measured as the browser benchmark measures it
// (bench/browser/run.ts --size-only): the library is built, a tiny app that does
// `import { Perso } from 'perso'` and loads a policy by URL is bundled with Vite and opened in
// Chromium, and every file it requested to reach its first decision is summed, gzip -9.
// A size, not a time: it is asserted here (`npm run test:size`, the last step of `npm test`).
//
// Two bounds: the settled budget (48 KiB), and a ceiling at today's figure (58,358 bytes:
// engine.wasm 24,804, the worker 10,640, the page 22,688, the app's entry 226) that no change may
// raise but a security fix that cannot be made smaller (session 10: a reload of the same policy
// text keeps its windows, +34; named sessions, so a new principal keeps what the model read, +14;
// U+2800 folded as a space in FromUntrusted, +2; a clock's time past 1e11 s refused as milliseconds, +54;
// hash churn of the lazy chunks the page names, a few bytes either way). The budget is not met
// (docs/browser.md, "The page payload budget", says where the bytes are): its test is a todo until
// it passes, then the todo goes and the ceiling with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BUDGET_BYTES = 48 * 1024;
const CEILING_BYTES = 58_358;
const root = fileURLToPath(new URL('../../', import.meta.url));

const out = execFileSync(
  process.execPath,
  ['--import', 'tsx', 'bench/browser/run.ts', '--size-only'],
  { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
);
const files = out
  .split('\n')
  .filter((line) => line.startsWith('gzip bytes\t'))
  .map((line) => line.slice('gzip bytes\t'.length));
const bytes = Number(/^page payload gzip bytes: (\d+)$/m.exec(out)?.[1]);
const listing = `\n${files.join('\n')}\n(see docs/browser.md, "The page payload budget")`;

test('the page loaded its worker and engine.wasm: the sum is the whole path to a decision', () => {
  assert.ok(Number.isInteger(bytes) && bytes > 0, `no page payload figure in:\n${out}`);
  assert.ok(
    files.some((line) => /\.wasm\t/.test(line)) &&
      files.some((line) => /worker[^\t]*\.js\t/.test(line)),
    `the page loaded no worker or no wasm:${listing}`,
  );
});

test("a first decision that is no Ask loads none of the worker's approvals", () => {
  assert.ok(
    !files.some((line) => /^[^\t]*worker-approvals[^\t]*\t/.test(line)),
    `the page loaded the worker's approvals before its first decision:${listing}`,
  );
});

test(`the page payload is at most ${CEILING_BYTES} bytes gzipped (the ceiling until the budget is met)`, () => {
  assert.ok(
    bytes <= CEILING_BYTES,
    `the page payload is ${bytes} bytes gzipped, over the ${CEILING_BYTES}-byte ceiling; move code a first decision does not need into a lazy chunk:${listing}`,
  );
});

test(`the page payload is at most 48 KiB (${BUDGET_BYTES} bytes) gzipped`, {
  todo: 'over the budget: engine.wasm and the worker alone are about 41 KiB',
}, () => {
  assert.ok(
    bytes <= BUDGET_BYTES,
    `the page payload is ${bytes} bytes gzipped, over the ${BUDGET_BYTES}-byte budget:${listing}`,
  );
});
