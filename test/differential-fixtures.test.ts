// The disagreements `npm run fuzz` found and shrank (test/fixtures/differential/*.json), replayed
// through the raw ABI, Engine, Perso (Node) and perso eval: each must now agree with the reference
// (fresh instances per fixture). A fixture marked `open` (a finding not fixed yet) is a todo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { instantiateOriginalAbi } from './support/original-abi.ts';
import type { DiffCase } from './support/differential-cases.ts';
import { checkAnswers } from './support/differential-compare.ts';
import { viaAbi, viaCli, viaEngine, viaPerso } from './support/differential-entry-points.ts';

const folder = new URL('./fixtures/differential/', import.meta.url);
const revive = (_: string, v: unknown) =>
  v !== null && typeof v === 'object' && 'nonFinite' in v
    ? Number((v as { nonFinite: string }).nonFinite)
    : v;
const fixtures = readdirSync(folder).filter((f) => f.endsWith('.json'));
const module = await loadEngineModule();

test('there are saved disagreements to replay', () => assert.ok(fixtures.length > 0));

for (const file of fixtures) {
  const { case: c, open } = JSON.parse(readFileSync(new URL(file, folder), 'utf8'), revive) as {
    case: DiffCase;
    open?: string;
  };
  // A fixture with `open` is a finding not fixed yet: run, reported as a todo until it passes.
  test(`fuzz fixture ${file}: every entry point agrees with the reference`, {
    todo: open,
  }, async () => {
    const x = await instantiateOriginalAbi(module);
    const engine = await Engine.create(module);
    for (const found of [
      checkAnswers('abi', c, viaAbi(x, c), 'text'),
      checkAnswers('engine', c, viaEngine(engine, c), 'objects'),
      checkAnswers('perso', c, await viaPerso(c), 'objects'),
      checkAnswers('cli', c, await viaCli(c), 'text'),
    ]) {
      assert.equal(found.disagreement, null, JSON.stringify(found.disagreement));
    }
  });
}
