/**
 * `node --import tsx bench/stateful.ts [--quick] [--parts]`: only the "Decisions with state (issue
 * 14)" table of `npm run bench:node` (bench/stateful-policies.ts), printed, not written to
 * bench/results. `--parts` adds where a decision's time goes, each part timed alone in a loop (so
 * the parts add up to less than the whole: alone, each keeps the caches and branch predictors to
 * itself): reading the call (`planCall`), writing the fields the entry reads into the request region
 * (`CallWriter.write`), and the engine's `decide` over the slots written.
 */
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { planCall } from '../src/engine/call-plan.ts';
import { markdownTable, percentile } from './measure.ts';
import {
  statefulCall,
  statefulCases,
  statefulEngine,
  statefulPolicies,
} from './stateful-policies.ts';

const quick = process.argv.includes('--quick');
const module = await loadEngineModule();
const create = () => Engine.create(module);
for (const line of await statefulPolicies(create, quick)) console.log(line);

if (process.argv.includes('--parts')) {
  // Every part of every row in one round, rounds interleaved (A B C A B C …), as measure.ts does, so
  // drift in load hits them alike; the median over rounds of each part's time per call.
  const n = quick ? 100_000 : 500_000;
  const parts: { name: string; run: (() => void)[]; ns: number[][] }[] = [];
  for (const c of statefulCases()) {
    const engine = await statefulEngine(create, c);
    const state = engine.loaded!;
    const plan = planCall(statefulCall, state);
    const entry = plan.entry!;
    const roots = [statefulCall.args, plan.agent, plan.resource] as const;
    let now = 2_000_000;
    const run = [
      () => engine.evaluate(statefulCall, ++now),
      () => planCall(statefulCall, state),
      () => engine.writer.write(entry, roots, state.dataStart),
      // The slots hold what the last write put there (this case's call).
      () => engine.x.decide(entry.index, ++now, 1),
    ];
    parts.push({ name: c.name, run, ns: run.map(() => []) });
  }
  for (let r = 0; r < (quick ? 3 : 9); r++) {
    for (const p of parts) {
      p.run[2]!();
      p.run.forEach((f, k) => {
        const t0 = performance.now();
        for (let i = 0; i < n; i++) f();
        p.ns[k]!.push(((performance.now() - t0) * 1e6) / n);
      });
    }
  }
  console.log(
    '## Where the time goes (each part alone, in a loop; medians over interleaved rounds)\n',
  );
  console.log(
    markdownTable(
      ['policy', 'evaluate', 'planCall', 'write', 'decide'],
      parts.map((p) => [p.name, ...p.ns.map((xs) => `${percentile(xs, 50).toFixed(0)} ns`)]),
    ),
  );
}
