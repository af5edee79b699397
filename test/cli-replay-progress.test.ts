// replay-progress.ts: a redrawn line with records/s and the ETA on a terminal, erased at the end;
// nothing for a short run elsewhere (a CI log or a pipe gets a plain line only every 5 seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { ReplayProgress } from '../src/cli/replay-progress.ts';

function stream(tty: boolean): { writable: Writable; written: () => string } {
  let text = '';
  const writable = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      text += chunk.toString();
      done();
    },
  });
  if (tty) Object.assign(writable, { isTTY: true });
  return { writable, written: () => text };
}

test('on a terminal: records/s, share done and ETA on one redrawn line, erased when done', async () => {
  const out = stream(true);
  const progress = new ReplayProgress(out.writable, 1000);
  progress.tick(10, 100);
  assert.equal(out.written(), '', 'nothing before the first interval');
  await sleep(250);
  progress.tick(5000, 500);
  assert.match(out.written(), /^\r\x1b\[Kreplay: 5,000 lines, [\d,]+ records\/s, 50%, ETA \d+ s$/);
  progress.done(10_000);
  assert.match(out.written(), /\r\x1b\[K$/);
});

test('elsewhere: a short run prints nothing, no control characters', async () => {
  const out = stream(false);
  const progress = new ReplayProgress(out.writable, null);
  await sleep(250);
  progress.tick(5000, 0);
  progress.done(5000);
  assert.equal(out.written(), '');
});
