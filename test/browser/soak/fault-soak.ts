// The fault soak: many calls through the real worker engine (real Comlink, real engine.wasm, real
// IndexedDB policy cache) while faults are injected at random, each a real fault at its boundary:
//   kill     the page terminates the worker mid-wave (its calls time out)
//   stall    the worker's thread is busy for 5 s (a reply slower than the timeout)
//   crash    an uncaught error in the worker
//   trap     a real trap inside engine.wasm
//     (the four above through the fault hooks of ../fixtures/fault-hooks.ts, in front of the real worker)
//   idb-blocked    the cache's database is held open behind a pending upgrade while the policy reloads
//   idb-corrupted  the cached policy's bytes are changed in IndexedDB, then the policy reloads
//                  (online half the time: it is fetched again; else offline: refused, the last good stays)
//   idb-quota      every IndexedDB write throws QuotaExceededError while the policy reloads with a new ETag
// Worker faults land inside a wave of calls in flight; IndexedDB faults between waves (a reload
// may start new rate-limit windows, so the oracle below, the lenient bound, needs to know where it
// happened; a reload of the same text keeps them).
//
// What is checked, per call: it is answered (a decision), and no Allow is one the policy denies:
// `delete` has no rule (default Deny), `pay` needs amount <= 500 and a `to` other than "blocked",
// and at most 5 pays are allowed in any 30 s window (per policy load).
import { openDB } from 'idb';
import { Perso } from '../../../src/perso/perso.ts';
import type { DecisionResult, ToolCall } from '../../../src/call/decision.ts';
import { PolicyStore } from '../../../src/policy/policy-store.ts';
import type { RevisionMark } from '../../../src/policy/policy-store.ts';
import { fileUrl, scriptFile, uniqueName } from '../helpers/perso-server.ts';

/** The faults the soak injects. */
export const FAULT_KINDS = [
  'kill',
  'stall',
  'crash',
  'trap',
  'idb-blocked',
  'idb-corrupted',
  'idb-quota',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
const WORKER_FAULTS: ReadonlySet<FaultKind> = new Set(['kill', 'stall', 'crash', 'trap']);

/** Options of {@link runFaultSoak}. */
export interface FaultSoakOptions {
  calls: number;
  seed: number;
  /** The faults to inject, in a random order at random calls; default: one per `faultEvery` calls, of random kinds. */
  faults?: readonly FaultKind[];
  /** Mean calls between faults when `faults` is not given. */
  faultEvery?: number;
  /** Perso's worker timeout; default 100 ms. */
  timeoutMs?: number;
  /** Calls in flight at once; default 64. */
  wave?: number;
}

/** What a soak run saw. */
export interface FaultSoakReport {
  calls: number;
  answered: number;
  /** Calls whose promise had not settled 30 s after its wave was issued. */
  unanswered: number;
  /** Allows the policy denies (the first few described in `wrongAllowSamples`). */
  wrongAllows: number;
  wrongAllowSamples: string[];
  faults: Record<FaultKind, number>;
  /** Decisions by `decision:kind`. */
  decisions: Record<string, number>;
  /** Workers started (the first, and one per replacement). */
  workers: number;
  /** Policy reloads that succeeded / were refused (the last good policy stayed). */
  reloads: { ok: number; refused: number };
  /** The page's JS heap (MiB) after warm-up, at its peak and at the end; null where not measurable. */
  heapMiB: { start: number; peak: number; end: number } | null;
  /** The page's JS heap (MiB, after a gc where the page may run one) every 3,200 calls. */
  heapTrace: number[];
  elapsedMs: number;
}

const FAULT_WORKER = new URL('../fixtures/fault-injection.worker.ts', import.meta.url);
const POLICY = JSON.stringify({
  version: 'soak-1',
  revision: 1,
  default_action: 'Deny',
  tools: ['view', 'pay', 'delete'],
  roles: ['r'],
  rules: [
    { tool_name: 'view', roles: ['r'] },
    {
      tool_name: 'pay',
      roles: ['r'],
      rate_limit: { max: 5, per_seconds: 30 },
      condition: { NumericCheck: { source: 'Arguments', field: 'amount', op: 'Lte', value: 500 } },
    },
    {
      tool_name: 'pay',
      roles: ['r'],
      effect: 'Deny',
      condition: {
        StringCheck: { source: 'Arguments', field: 'to', op: 'In', value: ['blocked'] },
      },
    },
  ],
});
const RATE_MAX = 5;
const RATE_PER = 30;

/** A seeded generator, so a run is reproducible. */
function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Issued {
  call: ToolCall;
  now: number;
  epoch: number;
}

function heapMiB(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const memory = (performance as { memory?: { usedJSHeapSize: number } }).memory;
  return memory === undefined ? null : memory.usedJSHeapSize / 2 ** 20;
}

/** Runs a soak; resolves to its report (it never throws over a wrong answer: the caller asserts). */
export async function runFaultSoak(options: FaultSoakOptions): Promise<FaultSoakReport> {
  const rand = generator(options.seed);
  const timeoutMs = options.timeoutMs ?? 100;
  const wave = options.wave ?? 64;
  const started = performance.now();

  // Where each fault lands: a call index, chosen at random.
  const planned: FaultKind[] =
    options.faults !== undefined
      ? [...options.faults]
      : Array.from(
          { length: Math.floor(options.calls / (options.faultEvery ?? 500)) },
          () => FAULT_KINDS[Math.floor(rand() * FAULT_KINDS.length)]!,
        );
  const faultAt = new Map<number, FaultKind[]>();
  for (const kind of planned) {
    const at = Math.floor(rand() * options.calls);
    faultAt.set(at, [...(faultAt.get(at) ?? []), kind]);
  }

  // The page's Worker constructor, watched: every worker Perso starts runs the real evaluator
  // behind the fault hooks; the newest is kept (only it: the soak's own memory must stay flat) so
  // that the soak can terminate it.
  const RealWorker = globalThis.Worker;
  const spawned: { newest: Worker | null; count: number } = { newest: null, count: 0 };
  globalThis.Worker = class extends RealWorker {
    constructor(_url: string | URL, workerOptions?: WorkerOptions) {
      super(FAULT_WORKER, workerOptions);
      spawned.newest = this;
      spawned.count++;
    }
  };
  const putReal = IDBObjectStore.prototype.put;
  const name = uniqueName('soak');
  const store = new PolicyStore(uniqueName('soak-db'));
  let etag = 1;
  await scriptFile(name, { body: POLICY, etag: `"s${etag}"` });

  let now = 1_000_000;
  let epoch = 0;
  const report: FaultSoakReport = {
    calls: 0,
    answered: 0,
    unanswered: 0,
    wrongAllows: 0,
    wrongAllowSamples: [],
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
    decisions: {},
    workers: 0,
    reloads: { ok: 0, refused: 0 },
    heapMiB: null,
    heapTrace: [],
    elapsedMs: 0,
  };
  // Allowed pays per policy load (epoch): at most RATE_MAX in any RATE_PER window.
  const allowedPays: (number[] | undefined)[] = [[]];
  const wrong = (issued: Issued, why: string): void => {
    report.wrongAllows++;
    if (report.wrongAllowSamples.length < 5)
      report.wrongAllowSamples.push(`${JSON.stringify(issued.call)} at ${issued.now}: ${why}`);
  };
  const check = (issued: Issued, result: DecisionResult): void => {
    report.answered++;
    const key = `${result.decision}:${result.kind}`;
    report.decisions[key] = (report.decisions[key] ?? 0) + 1;
    if (result.decision !== 'Allow') return;
    const { tool, args } = issued.call as { tool: string; args: { amount?: number; to?: string } };
    if (tool === 'delete') wrong(issued, 'no rule grants delete');
    if (tool !== 'pay') return;
    if (!(typeof args.amount === 'number' && args.amount <= 500)) wrong(issued, 'amount over 500');
    if (args.to === 'blocked') wrong(issued, 'to is blocked');
    (allowedPays[issued.epoch] ??= []).push(issued.now);
  };

  const perso = await Perso.load({
    policy: fileUrl(name),
    cache: store,
    engine: 'worker',
    timeoutMs,
    clock: () => now,
  });
  let heapStart: number | null = null;
  let heapPeak = 0;
  try {
    if (!perso.status().ok)
      throw new Error(`the soak policy did not load: ${perso.status().errors[0]?.message ?? ''}`);
    for (let first = 0; first < options.calls; first += wave) {
      const last = Math.min(options.calls, first + wave);
      const asBatch = rand() < 0.15;
      const issued: Issued[] = [];
      const answers: Promise<void>[] = [];
      let idbFaults: FaultKind[] = [];
      const calls: ToolCall[] = [];
      for (let i = first; i < last; i++) {
        const pick = rand();
        const call: ToolCall =
          pick < 0.3
            ? { tool: 'view', role: 'r', args: { id: i } }
            : pick < 0.9
              ? {
                  tool: 'pay',
                  role: 'r',
                  args: {
                    amount: Math.floor(rand() * 1000),
                    to: rand() < 0.1 ? 'blocked' : 'shop',
                  },
                }
              : { tool: 'delete', role: 'r', args: { id: i } };
        const faults = faultAt.get(i) ?? [];
        idbFaults = idbFaults.concat(faults.filter((kind) => !WORKER_FAULTS.has(kind)));
        const inCall = faults.find(
          (kind) => kind === 'stall' || kind === 'crash' || kind === 'trap',
        );
        if (inCall !== undefined && !asBatch) call.agentAttributes = { perso_fault: inCall };
        for (const kind of faults)
          if (WORKER_FAULTS.has(kind) && (kind === 'kill' || !asBatch)) report.faults[kind]++;
        now += 0.05;
        issued.push({ call, now, epoch });
        calls.push(call);
        if (!asBatch) {
          const entry = issued[issued.length - 1]!;
          answers.push(perso.evaluate(call).then((result) => check(entry, result)));
        }
        if (faults.includes('kill') && !asBatch) spawned.newest?.terminate();
      }
      if (asBatch) {
        // One time for the whole batch (Perso reads the clock once).
        for (const entry of issued) entry.now = now;
        answers.push(
          perso
            .evaluateBatch(calls)
            .then((results) => results.forEach((result, k) => check(issued[k]!, result))),
        );
        if (issued.some((_, k) => (faultAt.get(first + k) ?? []).includes('kill')))
          spawned.newest?.terminate();
      }
      report.calls += last - first;
      const before = report.answered;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(answers),
        new Promise((resolve) => (timer = setTimeout(resolve, 30_000))),
      ]);
      clearTimeout(timer);
      report.unanswered += last - first - (report.answered - before);

      for (const kind of idbFaults) {
        report.faults[kind]++;
        const ok = await reloadWith(kind, perso, store, name, () => `"s${++etag}"`, putReal, rand);
        if (ok) {
          report.reloads.ok++;
          epoch++;
        } else report.reloads.refused++;
      }
      if ((first / wave) % 50 === 0) {
        const heap = heapMiB();
        if (heap !== null) {
          report.heapTrace.push(Math.round(heap * 100) / 100);
          heapStart ??= heap;
          heapPeak = Math.max(heapPeak, heap);
        }
      }
    }
    // Still answering after all that: the last good policy, in a working worker.
    const final = await perso.evaluate({ tool: 'view', role: 'r', args: { id: -1 } });
    if (final.decision !== 'Allow')
      throw new Error(`after the soak a plain view is ${final.decision}: ${final.reason}`);
  } finally {
    await perso.close();
    IDBObjectStore.prototype.put = putReal;
    globalThis.Worker = RealWorker;
    await store.close();
    indexedDB.deleteDatabase(store.name);
  }
  for (const times of allowedPays) {
    if (times === undefined) continue; // a policy load in which no pay was allowed
    const sorted = [...times].sort((a, b) => a - b);
    for (let i = RATE_MAX; i < sorted.length; i++) {
      if (sorted[i]! - sorted[i - RATE_MAX]! < RATE_PER) {
        report.wrongAllows++;
        if (report.wrongAllowSamples.length < 5) {
          report.wrongAllowSamples.push(
            `${RATE_MAX + 1} pays allowed within ${RATE_PER} s: ${sorted.slice(i - RATE_MAX, i + 1).join(', ')}`,
          );
        }
      }
    }
  }
  report.workers = spawned.count;
  const heapEnd = heapMiB();
  if (heapStart !== null && heapEnd !== null)
    report.heapMiB = { start: heapStart, peak: Math.max(heapPeak, heapEnd), end: heapEnd };
  report.elapsedMs = performance.now() - started;
  return report;
}

/** Injects one IndexedDB fault, reloads the policy, removes the fault; true when the reload succeeded. */
async function reloadWith(
  kind: FaultKind,
  perso: Perso,
  store: PolicyStore,
  name: string,
  nextEtag: () => string,
  putReal: typeof IDBObjectStore.prototype.put,
  rand: () => number,
): Promise<boolean> {
  const url = fileUrl(name);
  switch (kind) {
    case 'idb-blocked': {
      // A connection that ignores versionchange and an upgrade waiting on it: every open queues.
      const holder = await openDB(store.name);
      const upgrade = openDB(store.name, holder.version + 1, {
        upgrade(_db, _old, _new, transaction) {
          // Leave the schema as it was once the holder lets go.
          transaction.done.catch(() => undefined);
          transaction.abort();
        },
      }).then(
        (db) => db.close(),
        () => undefined,
      );
      try {
        return (await perso.reload()).ok;
      } finally {
        holder.close();
        await upgrade;
      }
    }
    case 'idb-corrupted': {
      const entry = await store.getPolicy(url);
      if (entry !== undefined) {
        const bytes = new Uint8Array(entry.bytes);
        bytes[bytes.length >> 1] ^= 0x20;
        // tampered at rest: the bytes change, the revision mark stays what it was
        const current = await store.getRevisionMark(url);
        const mark = (current as RevisionMark | undefined) ?? {
          url,
          highest: entry.revision ?? 0,
          sha256: entry.sha256,
          signature: entry.signature,
        };
        await store.savePolicy({ ...entry, bytes }, mark, current);
      }
      const offline = rand() < 0.5;
      if (offline) await scriptFile(name, { status: 500 });
      try {
        return (await perso.reload()).ok;
      } finally {
        if (offline) await scriptFile(name, { body: POLICY, etag: nextEtag() });
      }
    }
    case 'idb-quota': {
      // What a full origin answers: the write throws QuotaExceededError.
      IDBObjectStore.prototype.put = function put(): never {
        throw new DOMException('the origin is over its storage quota', 'QuotaExceededError');
      };
      try {
        await scriptFile(name, { body: POLICY, etag: nextEtag() });
        return (await perso.reload()).ok;
      } finally {
        IDBObjectStore.prototype.put = putReal;
      }
    }
    default:
      return true;
  }
}
