/**
 * `perso replay` on 1,000,000 recorded calls, beside the floor: reading the same file and
 * `JSON.parse`-ing each line. Part of `npm run bench:node`; alone: `node --import tsx bench/replay.ts`.
 *
 * The log is made of real audit records (the demo mix decided by the library with an audit
 * transport), repeated with fresh ids, times and `now`s; the candidate policy lowers the agents'
 * refund cap from 500 to 100, so some records change.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AuditRecord } from '../src/audit/audit-record.ts';
import { READ_BYTES } from '../src/cli/audit-log.ts';
import { DECODE_BYTES } from '../src/cli/ndjson-blocks.ts';
import { replayCommand } from '../src/cli/replay-command.ts';
import { Perso } from '../src/perso/perso.ts';
import type { Policy } from '../src/policy/policy.ts';
import { demoMix, demoPolicyText } from './workload.ts';

/** Writes `count` audit records to `file`, cycling through the demo mix as the library recorded it. */
export async function writeLog(file: string, count: number): Promise<number> {
  const templates: AuditRecord[] = [];
  const guard = await Perso.load({
    policy: JSON.parse(demoPolicyText) as Policy,
    audit: { emit: (record) => void templates.push(record) },
  });
  for (const call of demoMix) await guard.evaluate({ ...call, now: 1_764_000_000 });
  await guard.close();
  const handle = await open(file, 'w');
  let size = 0;
  let parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const template = templates[i % templates.length]!;
    const now = 1_764_000_000 + i / 100;
    parts.push(
      `${JSON.stringify({ ...template, id: `rec-${i.toString(36)}`, time: new Date(now * 1000).toISOString(), now })}\n`,
    );
    if (parts.length === 10_000 || i === count - 1) {
      const text = parts.join('');
      size += Buffer.byteLength(text);
      await handle.write(text);
      parts = [];
    }
  }
  await handle.close();
  return size;
}

/** Reads the file in the same chunks as the replay, decodes pieces of the same size, and `JSON.parse`s each line: the floor. */
async function readAndParse(file: string): Promise<number> {
  let lines = 0;
  let carry = '';
  const decoder = new TextDecoder();
  for await (const data of createReadStream(file, { highWaterMark: READ_BYTES })) {
    const chunk = data as Buffer;
    for (let piece = 0; piece < chunk.length; piece += DECODE_BYTES) {
      const bytes = chunk.subarray(piece, piece + DECODE_BYTES);
      const text = carry + decoder.decode(bytes, { stream: true });
      let from = 0;
      for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', from)) {
        JSON.parse(text.slice(from, at));
        lines++;
        from = at + 1;
      }
      carry = text.slice(from);
    }
  }
  return lines;
}

const sink = (): Writable => new Writable({ write: (_chunk, _encoding, done) => done() });

/**
 * Runs the replay benchmark and returns its Markdown lines: the best and median rate of each,
 * and the replay's time over the floor's in each round (they run in turn, so load the machine is
 * under weighs on both alike), its median the figure to compare across machines and loads.
 * @param count records in the log
 * @param rounds rounds of the floor then the replay
 */
export async function benchReplay(count = 1_000_000, rounds = 5): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'perso-bench-replay-'));
  try {
    const file = join(dir, 'audit.ndjson');
    const bytes = await writeLog(file, count);
    const demo = JSON.parse(demoPolicyText) as Policy;
    const candidate = JSON.stringify({
      ...demo,
      rules: demo.rules.map((rule) =>
        rule.tool_name === 'process_refund' && rule.roles.includes('agent')
          ? {
              ...rule,
              condition: {
                NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 100 },
              },
            }
          : rule,
      ),
    });
    const parseTimes: number[] = [];
    const replayTimes: number[] = [];
    let changes = 0;
    let rssGrowth = 0;
    for (let round = 0; round < rounds; round++) {
      let start = performance.now();
      const lines = await readAndParse(file);
      parseTimes.push(performance.now() - start);
      if (lines !== count) throw new Error(`read ${lines} lines, wrote ${count}`);

      let out = '';
      const stdout = new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          out = (out + chunk.toString()).slice(-4096); // keeps the summary line, the last one
          done();
        },
      });
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = rssBefore;
      const sampler = setInterval(
        () => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)),
        50,
      );
      start = performance.now();
      const code = await replayCommand(
        { audit: file, policy: candidate, json: true },
        { stdin: process.stdin, stdout, stderr: sink() },
      );
      replayTimes.push(performance.now() - start);
      clearInterval(sampler);
      rssGrowth = Math.max(rssGrowth, rssPeak - rssBefore);
      const summary = JSON.parse(out.trimEnd().split('\n').pop()!) as {
        type: string;
        replayed: number;
        changed: number;
      };
      if (code !== 1 || summary.type !== 'summary' || summary.replayed !== count)
        throw new Error(`unexpected replay result: exit ${code}, ${JSON.stringify(summary)}`);
      changes = summary.changed;
    }
    const median = (xs: readonly number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const middle = sorted.length >> 1;
      return sorted.length % 2 === 1
        ? sorted[middle]!
        : (sorted[middle - 1]! + sorted[middle]!) / 2;
    };
    const rate = (ms: number) => Math.round(count / (ms / 1000)).toLocaleString('en');
    const ratios = replayTimes.map((ms, i) => ms / parseTimes[i]!);
    return [
      `## Replay (\`perso replay\`, ${count.toLocaleString('en')} recorded calls, ${(bytes / 2 ** 20).toFixed(0)} MiB, ${rounds} rounds)`,
      '',
      '| | best time | best rate (records/s) | median rate | time vs. the floor (median of rounds) |',
      '|---|---:|---:|---:|---:|',
      `| read + \`JSON.parse\` each line (the floor) | ${(Math.min(...parseTimes) / 1000).toFixed(2)} s | ${rate(Math.min(...parseTimes))} | ${rate(median(parseTimes))} | 1.0× |`,
      `| \`perso replay\` (${changes.toLocaleString('en')} changes written as NDJSON) | ${(Math.min(...replayTimes) / 1000).toFixed(2)} s | ${rate(Math.min(...replayTimes))} | ${rate(median(replayTimes))} | ${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) |`,
      '',
      `Resident memory grew by at most ${(rssGrowth / 2 ** 20).toFixed(1)} MiB during a replay (streaming: one block of lines at a time).`,
      '',
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[2] ?? 1_000_000);
  for (const line of await benchReplay(count)) console.log(line);
}
