// The outside testers' repros of 2026-12-03 (issue 9), each policy with its requests in order,
// through every Node entry point: the raw ABI (a host written for the original perso.wasm), the
// engine host (`Engine.evaluate`), the library (`Perso.evaluate`) and `perso eval`. The worker in
// Chromium runs the same file in test/browser/repros.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { Perso } from '../src/perso/perso.ts';
import type { ToolCall } from '../src/call/decision.ts';
import { instantiateOriginalAbi } from './support/original-abi.ts';
import { fixtureJson } from './support/json-text.ts';
import { runPerso } from './support/run-cli.ts';

interface Repro {
  policy: string;
  requests: string;
  /** `Allow`, `Deny`, or `Deny:<kind>` when the kind matters. */
  expect: string[];
}

const dir = new URL('./fixtures/repros-2026-12-03/', import.meta.url);
const { repros } = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8')) as {
  repros: Repro[];
};
const text = (file: string): string => readFileSync(new URL(file, dir), 'utf8');
const lines = (r: Repro): string[] =>
  text(r.requests)
    .split('\n')
    .filter((line) => line.trim() !== '');
const module = await loadEngineModule();

/** `Deny:<kind>` expectations compare with the kind; plain ones with the decision alone. */
function answer(expected: string, decision: string, kind: string | undefined): string {
  return expected.includes(':') ? `${decision}:${kind ?? ''}` : decision;
}

/** The raw ABI's context JSON for a request (its `now` passed on as given, `null` included). */
function contextJson(call: Record<string, unknown>): string {
  const context: Record<string, unknown> = {
    role: call.role,
    agent_attrs: call.agentAttributes ?? {},
    resource_attrs: call.resourceAttributes ?? {},
  };
  if (Object.hasOwn(call, 'now')) context.now = call.now;
  return fixtureJson(context);
}

describe('the repros of 2026-12-03 give their expected decisions through every entry point', () => {
  for (const repro of repros) {
    const name = `${repro.policy} with ${repro.requests}`;
    test(`raw ABI: ${name}`, async () => {
      const x = await instantiateOriginalAbi(module);
      const put = (s: string): [number, number] => {
        const bytes = new TextEncoder().encode(s);
        const p = x.alloc(bytes.length);
        new Uint8Array(x.memory.buffer).set(bytes, p);
        return [p, bytes.length];
      };
      const take = (ptr: number): Record<string, unknown> => {
        const n = new DataView(x.memory.buffer).getUint32(ptr, true);
        const reply = JSON.parse(
          new TextDecoder().decode(new Uint8Array(x.memory.buffer, ptr + 4, n)),
        ) as Record<string, unknown>;
        x.dealloc(ptr, 4 + n);
        return reply;
      };
      assert.equal(take(x.init(...put(text(repro.policy)))).ok, true);
      const got = lines(repro).map((line, i) => {
        const call = JSON.parse(line) as Record<string, unknown>;
        const reply = take(
          x.evaluate(
            ...put(String(call.tool)),
            ...put(fixtureJson(call.args ?? {})),
            ...put(contextJson(call)),
          ),
        );
        // An {"error"} reply is a refused request: a host answers it as a Deny (DESIGN §2.3).
        return typeof reply.error === 'string'
          ? answer(repro.expect[i]!, 'Deny', 'invalid_request')
          : answer(repro.expect[i]!, String(reply.decision), String(reply.kind));
      });
      assert.deepEqual(got, repro.expect);
    });

    test(`Engine.evaluate: ${name}`, async () => {
      const engine = await Engine.create(module);
      assert.equal(engine.load(text(repro.policy)).ok, true);
      const got = lines(repro).map((line, i) => {
        const v = engine.evaluate(JSON.parse(line) as ToolCall, 0);
        return answer(repro.expect[i]!, v.decision, v.kind);
      });
      assert.deepEqual(got, repro.expect);
    });

    test(`Perso.evaluate: ${name}`, async () => {
      const perso = await Perso.load({ policy: fileURLToPath(new URL(repro.policy, dir)) });
      assert.equal(perso.status().ok, true);
      const got: string[] = [];
      for (const [i, line] of lines(repro).entries()) {
        const result = await perso.evaluate(JSON.parse(line) as ToolCall);
        got.push(answer(repro.expect[i]!, result.decision, result.kind));
      }
      await perso.close();
      assert.deepEqual(got, repro.expect);
    });

    test(`perso eval: ${name}`, async () => {
      const run = await runPerso(
        ['eval', fileURLToPath(new URL(repro.policy, dir))],
        text(repro.requests),
      );
      assert.equal(run.code, 0, run.stderr);
      const got = run.stdout
        .trimEnd()
        .split('\n')
        .map((line, i) => {
          const result = JSON.parse(line) as { decision: string; kind: string };
          return answer(repro.expect[i]!, result.decision, result.kind);
        });
      assert.deepEqual(got, repro.expect);
    });
  }
});
