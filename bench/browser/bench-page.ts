/**
 * The browser benchmark page (driven by bench/browser/run.ts in headless Chromium). Exposes
 * `runBench(options)` which measures, side by side in one run, with interleaved blocks so drift
 * hits every contender alike:
 * - single-call latency (p50/p99) from the main thread through a worker, one call at a time;
 * - a batch of 1,000 calls in one message;
 * - load to first decision (a fresh worker each time);
 * for perso (`Perso.evaluate` from the built library with its default worker engine, the API users
 * call, and `WorkerBackend.evaluate` without the library layer), the floor (a bare `postMessage` echo worker)
 * and `@cedar-policy/cedar-wasm` in a worker with the demo policy in Cedar.
 *
 * Every contender's decisions are checked against the conformance fixtures first.
 */
import { WorkerBackend } from '../../src/backend/worker-backend.ts';
import type { ToolCall } from '../../src/call/decision.ts';

// Perso as users ship it: the built library (dist/browser, built by run.ts), its worker and wasm.
// WorkerBackend is internal, so it comes from the sources (served by Vite's dev server).
const built = '/dist/browser/index.js';
const { Perso } = (await import(
  /* @vite-ignore */ built
)) as typeof import('../../src/perso/perso.ts');

interface Fixture {
  id: string;
  policy: unknown;
  request: ToolCall;
  expect: 'Allow' | 'Deny';
}

/** Options of `runBench`. */
export interface BenchOptions {
  /** A git revision whose browser build run.ts put in dist/baseline/dist/browser: measured beside this one. */
  baseline?: string;
  latencySamples: number;
  batches: number;
  loads: number;
}

/** One contender's figures; times in microseconds (latency) and milliseconds (batch, load). */
export interface ContenderResult {
  name: string;
  p50Us: number;
  p99Us: number;
  /** The median over rounds of (this contender's block median / the echo's block median that round). */
  pairedRatio: number;
  batchMedianMs: number;
  batchP99Ms: number;
  /** The median over rounds of its batch block median over the echo's in the same round (NaN: measured apart). */
  batchPairedRatio: number;
  loadMedianMs: number;
  /** The median over rounds of its load over the echo worker's first answer in the same round. */
  loadPairedRatio: number;
  loadP90Ms: number;
  /** Perso only: `Perso.load({ policy: url })` with a warm IndexedDB cache to the first decision. */
  urlLoadMedianMs?: number;
  urlLoadP90Ms?: number;
  urlLoadPairedRatio?: number;
  /** Perso only: where the warm loads got the policy (`cache` after a 304, else `network`). */
  urlLoadSources?: string[];
}

/** What `runBench` returns to the runner. */
export interface BenchResult {
  userAgent: string;
  crossOriginIsolated: boolean;
  timerResolutionUs: number;
  cases: number;
  contenders: ContenderResult[];
}

interface Contender {
  name: string;
  /** Decides one call; answers the decision (or, for the echo, the call itself). */
  one(call: ToolCall): Promise<unknown>;
  batch(calls: ToolCall[]): Promise<unknown>;
  /** Time from nothing to the first decision, with a fresh worker; cleans up after itself. */
  coldStart(): Promise<number>;
  /** Perso only: `Perso.load({ policy: url })` with a warm cache to the first decision. */
  warmUrlStart?(): Promise<{ ms: number; source: string }>;
  decisionOf?(answer: unknown): string;
  /**
   * Its batches are measured apart, after the others' (cedar: a batch of it runs 50 times longer
   * than the others' and its worker's garbage collection and compilation go on in the background
   * after it answers, on a machine with two cores; in the rotation they fell on whichever block
   * came next).
   */
  heavyBatch?: boolean;
  close(): void;
}

const fixtures = (await (await fetch('/test/fixtures/conformance.json')).json()) as {
  cases: Fixture[];
};
const demoPolicyText = await (await fetch('/test/fixtures/perso-demo-policy.json')).text();
const demoPolicy = JSON.parse(demoPolicyText) as object;
// Cedar numbers are 64-bit integers, so the one case with a fractional amount is left out for all.
const demoCases = fixtures.cases.filter(
  (c) => c.policy === 'demo' && c.id !== 'demo-22-manager-refund-2000.01',
);
const calls: ToolCall[] = demoCases.map((c) => c.request);

/** A request/response client over a bare worker that answers messages in order. */
function orderedClient(worker: Worker): (message: unknown) => Promise<unknown> {
  const waiting: ((value: unknown) => void)[] = [];
  worker.onmessage = (event) => waiting.shift()?.(event.data);
  return (message) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      worker.postMessage(message);
    });
}

const echoUrl = new URL('./echo.worker.ts', import.meta.url);
const cedarUrl = new URL('./cedar.worker.ts', import.meta.url);

/**
 * The floor, made fair: each message carries what perso's must (the call and the time, out; a
 * verdict-sized answer, back), so the only difference left is the work perso does.
 */
function echoContender(): Contender {
  const worker = new Worker(echoUrl, { type: 'module' });
  const send = orderedClient(worker);
  const now = Date.now() / 1000;
  return {
    name: 'postMessage echo (floor)',
    one: (call) => send({ call, now }),
    batch: (batch) => send({ calls: batch, now }),
    async coldStart() {
      const started = performance.now();
      const fresh = new Worker(echoUrl, { type: 'module' });
      await orderedClient(fresh)({ call: calls[0], now });
      const ms = performance.now() - started;
      fresh.terminate();
      return ms;
    },
    close: () => worker.terminate(),
  };
}

function cedarContender(): Contender {
  const worker = new Worker(cedarUrl, { type: 'module' });
  const send = orderedClient(worker);
  return {
    name: 'cedar-wasm in a worker',
    heavyBatch: true,
    one: (call) => send({ type: 'evaluate', call }),
    batch: (batch) => send({ type: 'batch', calls: batch }),
    async coldStart() {
      const started = performance.now();
      const fresh = new Worker(cedarUrl, { type: 'module' });
      await orderedClient(fresh)({ type: 'evaluate', call: calls[0] });
      const ms = performance.now() - started;
      fresh.terminate();
      return ms;
    },
    decisionOf: (answer) => answer as string,
    close: () => worker.terminate(),
  };
}

async function backendContender(): Promise<Contender> {
  const backend = new WorkerBackend();
  const load = await backend.load(demoPolicyText);
  if (!load.ok) throw new Error(`demo policy: ${JSON.stringify(load.errors)}`);
  const now = Date.now() / 1000;
  return {
    name: 'perso WorkerBackend.evaluate',
    one: (call) => backend.evaluate(call, now),
    batch: (batch) => backend.evaluateBatch(batch, now),
    async coldStart() {
      const started = performance.now();
      const fresh = new WorkerBackend();
      await fresh.load(demoPolicyText);
      await fresh.evaluate(calls[0]!, now);
      const ms = performance.now() - started;
      fresh.close();
      return ms;
    },
    decisionOf: (answer) => (answer as { decision: string }).decision,
    close: () => backend.close(),
  };
}

/** The demo policy, served by run.ts with an ETag (a revalidation answers 304). */
const POLICY_URL = '/__bench__/policy.json';
/**
 * Its pinned hash: perso sends If-None-Match only for cached bytes it can verify (a pin or keys),
 * so the warm URL load measures the 304 path with the verification every cached use pays.
 */
const POLICY_PIN = `sha256-${btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(demoPolicyText)))))}`;

type PersoClass = typeof Perso;

async function persoContender(
  Perso: PersoClass,
  name = 'perso Perso.evaluate (worker)',
): Promise<Contender> {
  // Once online: fills the IndexedDB cache that every measured URL load then revalidates.
  const online = await Perso.load({ policy: POLICY_URL, integrity: POLICY_PIN });
  if (!online.status().ok)
    throw new Error(`${POLICY_URL}: ${JSON.stringify(online.status().errors)}`);
  await online.close();
  const perso = await Perso.load({ policy: demoPolicy as never });
  if (!perso.status().ok) throw new Error(`demo policy: ${JSON.stringify(perso.status().errors)}`);
  return {
    name,
    one: (call) => perso.evaluate(call),
    batch: (batch) => perso.evaluateBatch(batch),
    async coldStart() {
      const started = performance.now();
      const fresh = await Perso.load({ policy: demoPolicy as never });
      await fresh.evaluate(calls[0]!);
      const ms = performance.now() - started;
      await fresh.close();
      return ms;
    },
    async warmUrlStart() {
      const started = performance.now();
      const fresh = await Perso.load({ policy: POLICY_URL, integrity: POLICY_PIN });
      const first = await fresh.evaluate(calls[0]!);
      const ms = performance.now() - started;
      const source = fresh.status().source ?? 'none';
      await fresh.close();
      if (first.decision !== demoCases[0]!.expect)
        throw new Error(`Perso.load(url) decided ${first.decision}: ${first.reason}`);
      return { ms, source };
    },
    decisionOf: (answer) => (answer as { decision: string }).decision,
    close: () => void perso.close(),
  };
}

/** The p-th percentile (nearest rank). */
function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

/** The smallest step performance.now() takes here (5 µs when cross-origin isolated, else 100 µs). */
function timerResolutionUs(): number {
  let smallest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 50; i++) {
    const a = performance.now();
    let b = performance.now();
    while (b === a) b = performance.now();
    smallest = Math.min(smallest, b - a);
  }
  return smallest * 1000;
}

async function checkDecisions(c: Contender): Promise<void> {
  if (c.decisionOf === undefined) return;
  for (let i = 0; i < calls.length; i++) {
    const got = c.decisionOf(await c.one(calls[i]!));
    if (got !== demoCases[i]!.expect)
      throw new Error(
        `${c.name} decided ${got} for ${demoCases[i]!.id}; expected ${demoCases[i]!.expect}`,
      );
  }
  const batch = (await c.batch(calls)) as unknown[];
  batch.forEach((answer, i) => {
    const got = c.decisionOf!(answer);
    if (got !== demoCases[i]!.expect)
      throw new Error(`${c.name} batch decided ${got} for ${demoCases[i]!.id}`);
  });
}

/** Runs every measurement; see the module comment. */
async function runBench(options: BenchOptions): Promise<BenchResult> {
  const contenders = [
    echoContender(),
    await persoContender(Perso),
    await backendContender(),
    cedarContender(),
  ];
  if (options.baseline !== undefined) {
    // The same library at an earlier revision, in the same interleaved run: before and after.
    const baseline = '/dist/baseline/dist/browser/index.js';
    const { Perso: Before } = (await import(
      /* @vite-ignore */ baseline
    )) as typeof import('../../src/perso/perso.ts');
    contenders.push(
      await persoContender(Before, `perso Perso.evaluate at ${options.baseline} (before)`),
    );
  }
  const results = new Map<
    Contender,
    {
      latency: number[];
      pairedRatios: number[];
      batch: number[];
      batchRatios: number[];
      load: number[];
      loadRatios: number[];
      urlLoad: number[];
      urlLoadRatios: number[];
      sources: Set<string>;
    }
  >(
    contenders.map((c) => [
      c,
      {
        latency: [],
        pairedRatios: [],
        batch: [],
        batchRatios: [],
        load: [],
        loadRatios: [],
        urlLoad: [],
        urlLoadRatios: [],
        sources: new Set(),
      },
    ]),
  );
  try {
    for (const c of contenders) await checkDecisions(c);

    // single calls: warm up, then interleaved blocks; each round starts with the next contender, as
    // a contender's place in the round was seen to move its p50 by tens of µs on a loaded machine
    // Short blocks (a few ms each), so the contenders of one round see the same machine; each
    // block's median against the echo's in the same round gives a paired ratio that drift cancels.
    const block = 100;
    const inTurn = (round: number): Contender[] =>
      contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
    for (const c of contenders)
      for (let i = 0; i < 2000; i++) await c.one(calls[i % calls.length]!);
    const echo = contenders[0]!;
    for (let done = 0, round = 0; done < options.latencySamples; done += block, round++) {
      const blockMedians = new Map<Contender, number>();
      for (const c of inTurn(round)) {
        const out = results.get(c)!.latency;
        const mine: number[] = [];
        for (let i = 0; i < block; i++) {
          const call = calls[(done + i) % calls.length]!;
          const started = performance.now();
          await c.one(call);
          mine.push((performance.now() - started) * 1000);
        }
        out.push(...mine);
        blockMedians.set(c, percentile(mine, 50));
      }
      for (const c of contenders)
        results.get(c)!.pairedRatios.push(blockMedians.get(c)! / blockMedians.get(echo)!);
    }

    // batches of 1,000 calls in one message
    const thousand = Array.from({ length: 1000 }, (_, i) => calls[i % calls.length]!);
    const measureBatches = async (group: Contender[]): Promise<void> => {
      for (const c of group) for (let i = 0; i < 20; i++) await c.batch(thousand);
      for (let done = 0, round = 0; done < options.batches; done += 10, round++) {
        const blockMedians = new Map<Contender, number>();
        for (let k = 0; k < group.length; k++) {
          const c = group[(k + round) % group.length]!;
          const mine: number[] = [];
          for (let i = 0; i < 10; i++) {
            const started = performance.now();
            await c.batch(thousand);
            mine.push(performance.now() - started);
          }
          results.get(c)!.batch.push(...mine);
          blockMedians.set(c, percentile(mine, 50));
        }
        const echoMedian = blockMedians.get(contenders[0]!);
        if (echoMedian !== undefined)
          for (const c of group)
            results.get(c)!.batchRatios.push(blockMedians.get(c)! / echoMedian);
      }
    };
    await measureBatches(contenders.filter((c) => c.heavyBatch !== true));
    await measureBatches(contenders.filter((c) => c.heavyBatch === true));

    // load to first decision, a fresh worker each time (the first of each is a warm-up)
    for (let i = 0; i <= options.loads; i++) {
      const round = new Map<Contender, { load: number; urlLoad?: number }>();
      for (const c of inTurn(i)) {
        const ms = await c.coldStart();
        round.set(c, { load: ms });
        if (i > 0) results.get(c)!.load.push(ms);
        if (c.warmUrlStart === undefined) continue;
        const warm = await c.warmUrlStart();
        round.get(c)!.urlLoad = warm.ms;
        if (i > 0) {
          results.get(c)!.urlLoad.push(warm.ms);
          results.get(c)!.sources.add(warm.source);
        }
      }
      // Each start over the echo worker's first answer in the same round: what perso adds to a bare worker.
      const echoLoad = round.get(contenders[0]!)!.load;
      if (i > 0) {
        for (const [c, r] of round) {
          results.get(c)!.loadRatios.push(r.load / echoLoad);
          if (r.urlLoad !== undefined) results.get(c)!.urlLoadRatios.push(r.urlLoad / echoLoad);
        }
      }
    }
  } finally {
    for (const c of contenders) c.close();
  }

  return {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    timerResolutionUs: timerResolutionUs(),
    cases: calls.length,
    contenders: contenders.map((c) => {
      const r = results.get(c)!;
      return {
        name: c.name,
        p50Us: percentile(r.latency, 50),
        p99Us: percentile(r.latency, 99),
        pairedRatio: percentile(r.pairedRatios, 50),
        batchMedianMs: percentile(r.batch, 50),
        batchP99Ms: percentile(r.batch, 99),
        batchPairedRatio: r.batchRatios.length === 0 ? Number.NaN : percentile(r.batchRatios, 50),
        loadMedianMs: percentile(r.load, 50),
        loadPairedRatio: percentile(r.loadRatios, 50),
        loadP90Ms: percentile(r.load, 90),
        ...(r.urlLoad.length === 0
          ? {}
          : {
              urlLoadMedianMs: percentile(r.urlLoad, 50),
              urlLoadP90Ms: percentile(r.urlLoad, 90),
              urlLoadPairedRatio: percentile(r.urlLoadRatios, 50),
              urlLoadSources: [...r.sources],
            }),
      };
    }),
  };
}

(globalThis as unknown as { runBench: typeof runBench }).runBench = runBench;
document.title = 'perso browser benchmark: ready';
