// The outside testers' repros of 2026-12-03 (issue 9) through the worker in real Chromium: the
// evaluator worker itself (WorkerBackend) and the library on it (Perso, engine 'worker'). The Node
// entry points run the same files in test/repros.test.ts.
import { expect } from 'chai';
import { WorkerBackend } from '../../src/backend/worker-backend.ts';
import { Perso } from '../../src/perso/perso.ts';
import type { ToolCall } from '../../src/call/decision.ts';

interface Repro {
  policy: string;
  requests: string;
  expect: string[];
}

const base = '/test/fixtures/repros-2026-12-03/';
const { repros } = (await (await fetch(`${base}expected.json`)).json()) as { repros: Repro[] };
const files = new Map<string, string>();
for (const r of repros) {
  for (const file of [r.policy, r.requests])
    if (!files.has(file)) files.set(file, await (await fetch(base + file)).text());
}
const calls = (r: Repro): ToolCall[] =>
  files
    .get(r.requests)!
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ToolCall);
const answer = (expected: string, decision: string, kind: string): string =>
  expected.includes(':') ? `${decision}:${kind}` : decision;

describe('the repros of 2026-12-03 through the worker', () => {
  for (const repro of repros) {
    it(`WorkerBackend: ${repro.policy} with ${repro.requests}`, async () => {
      const backend = new WorkerBackend();
      try {
        const load = await backend.load(files.get(repro.policy)!);
        expect(load.ok, JSON.stringify(load)).to.equal(true);
        const got: string[] = [];
        for (const [i, call] of calls(repro).entries()) {
          const v = await backend.evaluate(call, 0);
          got.push(answer(repro.expect[i]!, v.decision, v.kind));
        }
        expect(got).to.deep.equal(repro.expect);
      } finally {
        backend.close();
      }
    });

    it(`Perso (worker engine): ${repro.policy} with ${repro.requests}`, async () => {
      const perso = await Perso.load({ policy: files.get(repro.policy)!, engine: 'worker' });
      try {
        expect(perso.status().ok).to.equal(true);
        const got: string[] = [];
        for (const [i, call] of calls(repro).entries()) {
          const result = await perso.evaluate(call);
          got.push(answer(repro.expect[i]!, result.decision, result.kind));
        }
        expect(got).to.deep.equal(repro.expect);
      } finally {
        await perso.close();
      }
    });
  }
});
