/**
 * Measurement for side-by-side benchmarks: every contender runs in the same process, in interleaved
 * rounds (A B C A B C …), so drift in clock speed or load hits them all alike. Throughput is the median
 * over rounds; latency percentiles come from timing single calls.
 */

/** A contender: decides one call, synchronously or not. */
export interface Contender<C> {
  name: string;
  decide: (call: C) => unknown;
  /** True when `decide` returns a promise that must be awaited. */
  async?: boolean;
}

/** What one contender measured. */
export interface Measurement {
  name: string;
  /** Median decisions per second over the rounds. */
  opsPerSecond: number;
  /** Median and 99th percentile of single-call latency, in microseconds (timer overhead included). */
  p50Us: number;
  p99Us: number;
}

async function runBatch<C>(c: Contender<C>, calls: readonly C[], n: number): Promise<number> {
  const len = calls.length;
  const start = performance.now();
  if (c.async) for (let i = 0; i < n; i++) await c.decide(calls[i % len]);
  else for (let i = 0; i < n; i++) c.decide(calls[i % len]);
  return performance.now() - start;
}

const median = (xs: number[]) => percentile(xs, 50);

/** The p-th percentile (nearest rank) of a list of numbers. */
export function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * Measures every contender on the same calls: first a batch size per contender calibrated to about
 * `roundMs`, then `rounds` interleaved rounds for throughput, then `latencySamples` single calls each
 * (also interleaved, in blocks) for p50/p99.
 */
export async function measureSideBySide<C>(
  contenders: readonly Contender<C>[],
  calls: readonly C[],
  { rounds = 7, roundMs = 150, latencySamples = 20000 } = {},
): Promise<Measurement[]> {
  const batch = new Map<Contender<C>, number>();
  for (const c of contenders) {
    let n = 1000;
    await runBatch(c, calls, n); // warm-up: JIT, caches
    for (;;) {
      const ms = await runBatch(c, calls, n);
      if (ms >= roundMs / 4 || n >= 1 << 26) {
        batch.set(c, Math.max(1, Math.round((n * roundMs) / Math.max(ms, 0.001))));
        break;
      }
      n *= 4;
    }
  }
  const rates = new Map<Contender<C>, number[]>(contenders.map((c) => [c, []]));
  for (let r = 0; r < rounds; r++) {
    for (const c of contenders) {
      const n = batch.get(c)!;
      const ms = await runBatch(c, calls, n);
      rates.get(c)!.push((n / ms) * 1000);
    }
  }
  const samples = new Map<Contender<C>, number[]>(contenders.map((c) => [c, []]));
  const block = 500;
  for (let done = 0; done < latencySamples; done += block) {
    for (const c of contenders) {
      const out = samples.get(c)!;
      for (let i = 0; i < block; i++) {
        const call = calls[(done + i) % calls.length];
        const t0 = process.hrtime.bigint();
        if (c.async) await c.decide(call);
        else c.decide(call);
        out.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
    }
  }
  return contenders.map((c) => ({
    name: c.name,
    opsPerSecond: median(rates.get(c)!),
    p50Us: percentile(samples.get(c)!, 50),
    p99Us: percentile(samples.get(c)!, 99),
  }));
}

/** Formats a number of decisions per second for a table (e.g. `2.41M/s`, `182k/s`). */
export function formatRate(opsPerSecond: number): string {
  if (opsPerSecond >= 1e6) return `${(opsPerSecond / 1e6).toFixed(2)}M/s`;
  if (opsPerSecond >= 1e3) return `${(opsPerSecond / 1e3).toFixed(1)}k/s`;
  return `${opsPerSecond.toFixed(0)}/s`;
}

/** Formats microseconds for a table. */
export function formatUs(us: number): string {
  return us >= 100
    ? `${us.toFixed(0)} µs`
    : us >= 10
      ? `${us.toFixed(1)} µs`
      : `${us.toFixed(2)} µs`;
}

/** Renders rows as a GitHub-flavoured Markdown table. */
export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
