/**
 * `npm run fuzz -- --seed S --pairs N [--entry abi,engine,perso]: the differential test, open-ended.
 * Runs batches of fast-check cases (seed S, S+1, ...) through the chosen entry points until N pairs
 * were compared; a disagreement is shrunk by fast-check and saved under
 * test/fixtures/differential/, which test/differential-fixtures.test.ts replays through every
 * Node entry point. Exit 1 on a disagreement.
 */
import fc from 'fast-check';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Engine } from '../../src/engine/engine.ts';
import { loadEngineModule } from '../../src/engine/engine-module.ts';
import { instantiateOriginalAbi } from './original-abi.ts';
import { diffCase, type DiffCase } from './differential-cases.ts';
import { checkAnswers, type CaseCheck } from './differential-compare.ts';
import { viaAbi, viaEngine, viaPerso } from './differential-entry-points.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    pairs: { type: 'string', default: '100000' },
    entry: { type: 'string', default: 'abi,engine' },
  },
});
const seed = Number(values.seed);
const target = Number(values.pairs);
const entries = values.entry!.split(',');
const module = await loadEngineModule();

/** One case on fresh instances: a fault in one case (a dead instance) cannot make later ones fail, so shrinking stays on the real cause. */
async function check(c: DiffCase): Promise<CaseCheck[]> {
  const x = await instantiateOriginalAbi(module);
  const engine = await Engine.create(module);
  const out: CaseCheck[] = [];
  if (entries.includes('abi')) out.push(checkAnswers('abi', c, viaAbi(x, c), 'text', 'results'));
  if (entries.includes('engine'))
    out.push(checkAnswers('engine', c, viaEngine(engine, c), 'objects', 'results'));
  if (entries.includes('perso'))
    out.push(checkAnswers('perso', c, await viaPerso(c), 'objects', 'all'));
  return out;
}

const compared = new Map<string, number>(entries.map((e) => [e, 0]));
const started = performance.now();
let batch = 0;
while (Math.min(...compared.values()) < target) {
  const batchSeed = seed + batch++;
  const result = await fc.check(
    fc.asyncProperty(diffCase, async (c) => {
      for (const [i, found] of (await check(c)).entries()) {
        if (found.disagreement !== null) return false;
        compared.set(entries[i]!, compared.get(entries[i]!)! + found.compared);
      }
      return true;
    }),
    { seed: batchSeed, numRuns: 1000 },
  );
  if (batch % 10 === 0)
    console.error(
      `… seed ${batchSeed}: ${[...compared].map(([e, n]) => `${e} ${n}`).join(', ')} pairs so far`,
    );
  if (result.failed) {
    const [shrunk] = result.counterexample! as [DiffCase];
    // An entry point that throws (it refused a policy the reference accepts, say) is a finding too.
    const findings = await check(shrunk).then(
      (checks) => checks.map((f) => f.disagreement).filter((d) => d !== null),
      (error: unknown) => [
        {
          entryPoint: entries.join('+'),
          problem: `threw: ${error instanceof Error ? error.message : String(error)}`,
        },
      ],
    );
    const file = `test/fixtures/differential/seed-${batchSeed}.json`;
    mkdirSync('test/fixtures/differential', { recursive: true });
    const nonFinite = (_: string, v: unknown) =>
      typeof v === 'number' && !Number.isFinite(v) ? { nonFinite: String(v) } : v;
    writeFileSync(
      file,
      `${JSON.stringify({ seed: batchSeed, path: result.counterexamplePath, findings, case: shrunk }, nonFinite, 2)}\n`,
    );
    console.error(
      `disagreement (seed ${batchSeed}, shrunk in ${result.numShrinks} steps), saved as ${file}:\n${JSON.stringify(findings, nonFinite)}`,
    );
    process.exit(1);
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `seed ${seed} (${batch} batches of 1,000 cases, seeds ${seed}..${seed + batch - 1}): ${[...compared].map(([e, n]) => `${e} ${n} pairs`).join(', ')}, 0 disagreements, ${seconds.toFixed(0)} s`,
);
