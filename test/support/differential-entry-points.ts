/**
 * The Node entry points the differential tests drive: the raw ABI (alloc/init/evaluate/dealloc by
 * hand), `Engine`, `Perso` (inline engine) and the `perso eval` command (many cases in one run,
 * merged by differential-merge.ts).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../src/engine/engine.ts';
import { Perso } from '../../src/perso/perso.ts';
import type { ToolCall } from '../../src/call/decision.ts';
import type { OriginalAbiExports } from './original-abi.ts';
import { repoRoot } from './run-cli.ts';
import { toJsonText, type DiffCase } from './differential-cases.ts';
import type { Observed } from './differential-compare.ts';

/** A case through the raw ABI: init with the policy's text, each call as tool, args JSON and context JSON (with `now`). */
export function viaAbi(x: OriginalAbiExports, diffCase: DiffCase): Observed[] {
  const put = (text: string): [number, number] => {
    const bytes = new TextEncoder().encode(text);
    const p = x.alloc(bytes.length);
    new Uint8Array(x.memory.buffer).set(bytes, p);
    return [p, bytes.length];
  };
  const take = (ptr: number): Observed => {
    const n = new DataView(x.memory.buffer).getUint32(ptr, true);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(
      new Uint8Array(x.memory.buffer, ptr + 4, n),
    );
    x.dealloc(ptr, 4 + n);
    return JSON.parse(text) as Observed;
  };
  const more = x as OriginalAbiExports & {
    forget(): void;
    recordResult(ptr: number, len: number): number;
  };
  // Untrusted content outlives a policy load: each case starts from a clean session.
  more.forget();
  const policy = put(JSON.stringify(diffCase.policy));
  const init = take(x.init(...policy)) as { ok?: boolean };
  x.dealloc(...policy);
  if (init.ok !== true)
    throw new Error(`raw ABI refused a generated policy: ${JSON.stringify(init)}`);
  return diffCase.calls.map((call) => {
    for (const r of call.results ?? []) {
      const record = put(
        `{"session":"","tool":${JSON.stringify(r.tool)},"role":${JSON.stringify(call.role)},"result":${toJsonText(r.result)}}`,
      );
      const answer = take(more.recordResult(...record)) as { recorded?: boolean };
      more.dealloc(...record);
      if (answer.recorded !== true)
        throw new Error(`raw ABI refused a tool result: ${JSON.stringify(answer)}`);
    }
    const context = `{"role":${JSON.stringify(call.role)},"agent_attrs":${toJsonText(call.agentAttributes)},"resource_attrs":${toJsonText(call.resourceAttributes)},"now":${toJsonText(call.now)}}`;
    const t = put(call.tool);
    const a = put(toJsonText(call.args));
    const c = put(context);
    const answer = take(x.evaluate(t[0], t[1], a[0], a[1], c[0], c[1]));
    x.dealloc(...t);
    x.dealloc(...a);
    x.dealloc(...c);
    return answer;
  });
}

/** A case through `Engine.load` and `Engine.evaluate` (JS objects in). */
export function viaEngine(engine: Engine, diffCase: DiffCase): Observed[] {
  // Untrusted content outlives a policy load: each case starts from a clean session.
  engine.forget();
  const load = engine.load(JSON.stringify(diffCase.policy));
  if (!load.ok)
    throw new Error(`Engine refused a generated policy: ${JSON.stringify(load.errors)}`);
  return diffCase.calls.map((call) => {
    for (const r of call.results ?? []) {
      const recorded = engine.recordResult({ tool: r.tool, role: call.role, result: r.result });
      if (!recorded.ok) throw new Error(`Engine refused a tool result: ${recorded.error}`);
    }
    return engine.evaluate(toolCall(call), call.now);
  });
}

/** The call an entry point is given: the case's steps (results, approval) are not part of it. */
function toolCall({
  results: _results,
  approve: _approve,
  ...call
}: DiffCase['calls'][number]): ToolCall {
  return call as ToolCall;
}

/** A case through `Perso.load` (the policy object) and `Perso.evaluate`, inline engine. */
export async function viaPerso(diffCase: DiffCase): Promise<Observed[]> {
  const perso = await Perso.load({ policy: JSON.parse(JSON.stringify(diffCase.policy)) as never });
  try {
    if (!perso.status().ok)
      throw new Error(`Perso refused a generated policy: ${JSON.stringify(perso.status().errors)}`);
    const answers: Observed[] = [];
    for (const step of diffCase.calls) {
      for (const r of step.results ?? []) {
        const recorded = await perso.recordResult({
          tool: r.tool,
          role: step.role,
          result: r.result,
        });
        if (!recorded.ok) throw new Error(`Perso refused a tool result: ${recorded.error}`);
      }
      const call = toolCall(step);
      const answer = await perso.evaluate(call);
      if (step.approve === true && answer.decision === 'Ask' && answer.approval !== undefined) {
        // A person approves: the ticket is redeemed for the same call.
        const approved = await perso.approve(answer.approval.nonce, call);
        answers.push({ ...approved, asked: answer });
      } else answers.push(answer);
    }
    return answers;
  } finally {
    await perso.close();
  }
}

/** One `perso eval` run (the source, through tsx, as the CLI tests run it) over a merged case. */
export async function viaCli(merged: DiffCase): Promise<Observed[]> {
  const dir = mkdtempSync(join(tmpdir(), 'perso-diff-'));
  try {
    const file = join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify(merged.policy));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'eval', file],
      { cwd: repoRoot },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.end(
      merged.calls
        .map(
          (c) =>
            `{"tool":${JSON.stringify(c.tool)},"role":${JSON.stringify(c.role)},"args":${toJsonText(c.args)},"agentAttributes":${toJsonText(c.agentAttributes)},"resourceAttributes":${toJsonText(c.resourceAttributes)},"now":${toJsonText(c.now)}}\n`,
        )
        .join(''),
    );
    const [code] = (await once(child, 'close')) as [number | null];
    if (code !== 0) throw new Error(`perso eval exited ${code}: ${stderr}`);
    const lines = stdout.trimEnd().split('\n');
    if (lines.length !== merged.calls.length)
      throw new Error(`perso eval answered ${lines.length} lines for ${merged.calls.length} calls`);
    return lines.map((line) => JSON.parse(line) as Observed);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
