// The hostile corpus (test/support/hostile-corpus.ts) through the raw ABI, Engine, Perso (Node,
// inline engine) and perso eval: every answer a Deny or a clear error (Allow only where the policy
// grants the call), never a crash. Time and memory are measured, not asserted (the worst of each is
// printed); wasm memory is checked against a generous ceiling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { Perso } from '../src/perso/perso.ts';
import type { ToolCall } from '../src/call/decision.ts';
import { instantiateOriginalAbi, type OriginalAbiExports } from './support/original-abi.ts';
import { repoRoot } from './support/run-cli.ts';
import {
  HOSTILE_CALLS,
  HOSTILE_POLICIES,
  HOSTILE_POLICY,
  WorstFigures,
  type HostileCall,
} from './support/hostile-corpus.ts';

const module = await loadEngineModule();
const encoder = new TextEncoder();
const CONTEXT = (role: string) =>
  JSON.stringify({ role, agent_attrs: {}, resource_attrs: {}, now: 1000 });
const WASM_CEILING = 512 * 2 ** 20;

interface Answer {
  decision?: unknown;
  kind?: unknown;
  reason?: unknown;
  error?: unknown;
}

/** What every answer must be: a well-formed Deny or error; an Allow only where the policy grants it. */
function checkAnswer(where: string, expect: HostileCall['expect'] | 'deny', answer: Answer): void {
  const error = typeof answer.error === 'string';
  assert.ok(
    error || ['Allow', 'Deny', 'Ask'].includes(answer.decision as string),
    `${where}: not an answer: ${JSON.stringify(answer).slice(0, 300)}`,
  );
  if (expect === 'deny')
    assert.ok(
      error || answer.decision === 'Deny',
      `${where}: ${String(answer.decision)} (${String(answer.reason).slice(0, 200)}), expected a Deny or an error`,
    );
  const text = String(answer.error ?? answer.reason);
  assert.ok(
    text.length > 0 && text.length < 4096,
    `${where}: the reason is empty or not bounded (${text.length} characters)`,
  );
}

/** The raw ABI as a host written for the original perso.wasm drives it, with bytes in. */
function abiCall(
  x: OriginalAbiExports,
  tool: Uint8Array,
  args: Uint8Array,
  ctx: Uint8Array,
): Answer {
  const put = (b: Uint8Array): number => {
    const p = x.alloc(b.length);
    new Uint8Array(x.memory.buffer).set(b, p);
    return p;
  };
  const [t, a, c] = [put(tool), put(args), put(ctx)];
  const r = x.evaluate(t, tool.length, a, args.length, c, ctx.length);
  const n = new DataView(x.memory.buffer).getUint32(r, true);
  const answer = JSON.parse(
    new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(x.memory.buffer, r + 4, n)),
  ) as Answer;
  x.dealloc(r, 4 + n);
  x.dealloc(t, tool.length);
  x.dealloc(a, args.length);
  x.dealloc(c, ctx.length);
  return answer;
}
function abiInit(x: OriginalAbiExports, policy: string): Answer & { ok?: boolean } {
  const b = encoder.encode(policy);
  const p = x.alloc(b.length);
  new Uint8Array(x.memory.buffer).set(b, p);
  const r = x.init(p, b.length);
  const n = new DataView(x.memory.buffer).getUint32(r, true);
  const answer = JSON.parse(
    new TextDecoder().decode(new Uint8Array(x.memory.buffer, r + 4, n)),
  ) as Answer & { ok?: boolean };
  x.dealloc(r, 4 + n);
  x.dealloc(p, b.length);
  return answer;
}
const asBytes = (v: string | Uint8Array) => (typeof v === 'string' ? encoder.encode(v) : v);

test('hostile calls through the raw ABI: Deny or error, bounded wasm memory, no trap', async () => {
  const x = await instantiateOriginalAbi(module);
  assert.equal(abiInit(x, JSON.stringify(HOSTILE_POLICY)).ok, true);
  const worst = new WorstFigures();
  type AbiCase = [string, Uint8Array, Uint8Array, Uint8Array, HostileCall['expect']];
  const calls: AbiCase[] = [
    ...HOSTILE_CALLS.map(
      (c): AbiCase => [
        c.name,
        encoder.encode(c.tool),
        asBytes(c.argsText()),
        encoder.encode(CONTEXT(c.role)),
        c.expect,
      ],
    ),
    [
      'invalid UTF-8 in the tool name',
      Uint8Array.from([...encoder.encode('process_refund'), 0xff]),
      encoder.encode('{"amount":1}'),
      encoder.encode(CONTEXT('agent')),
      'deny',
    ],
    [
      'invalid UTF-8 in the context',
      encoder.encode('process_refund'),
      encoder.encode('{"amount":1}'),
      Uint8Array.from([...encoder.encode('{"role":"agent'), 0xc3, 0x28, ...encoder.encode('"}')]),
      'deny',
    ],
  ];
  for (const [name, tool, args, context, expect] of calls) {
    const started = performance.now();
    const answer = abiCall(x, tool, args, context);
    worst.note(name, performance.now() - started, x.memory.buffer.byteLength);
    checkAnswer(`raw ABI, ${name}`, expect, answer);
  }
  assert.ok(worst.memory.bytes <= WASM_CEILING, `wasm memory ${worst.memory.bytes} bytes`);
  console.log(`raw ABI: ${worst}`);
});

test('hostile calls through Engine.evaluate (and evaluateAbi for text-only ones): Deny or error, never a throw', async () => {
  const engine = await Engine.create(module);
  assert.equal(engine.load(JSON.stringify(HOSTILE_POLICY)).ok, true);
  const worst = new WorstFigures();
  for (const c of HOSTILE_CALLS) {
    const started = performance.now();
    const text = c.argsText();
    const answer: Answer =
      c.args !== undefined
        ? engine.evaluate({ tool: c.tool, role: c.role, args: c.args() } as ToolCall, 1000)
        : typeof text === 'string'
          ? (JSON.parse(engine.evaluateAbi(c.tool, text, CONTEXT(c.role))) as Answer)
          : { error: 'bytes only: the raw ABI test covers it' };
    worst.note(c.name, performance.now() - started, engine.memoryBytes);
    checkAnswer(`Engine, ${c.name}`, c.expect, answer);
  }
  assert.ok(worst.memory.bytes <= WASM_CEILING, `wasm memory ${worst.memory.bytes} bytes`);
  console.log(`Engine: ${worst}`);
});

test('hostile calls through Perso.evaluate (Node): Deny or error, never a rejection', async () => {
  const perso = await Perso.load({ policy: HOSTILE_POLICY as never });
  const worst = new WorstFigures();
  try {
    for (const c of HOSTILE_CALLS.filter((h) => h.args !== undefined)) {
      const started = performance.now();
      const answer = await perso.evaluate({
        tool: c.tool,
        role: c.role,
        args: c.args!(),
        now: 1000,
      } as ToolCall);
      worst.note(c.name, performance.now() - started, process.resourceUsage().maxRSS * 1024);
      checkAnswer(`Perso, ${c.name}`, c.expect, answer);
    }
  } finally {
    await perso.close();
  }
  console.log(`Perso (memory: the test process's peak RSS): ${worst}`);
});

/** Runs `perso eval POLICY` over NDJSON bytes under /usr/bin/time; returns its lines, exit code and peak RSS. */
async function cliRun(
  policy: string,
  input: Uint8Array,
): Promise<{ code: number | null; lines: string[]; stderr: string; rss: number; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'perso-hostile-'));
  try {
    const file = join(dir, 'policy.json');
    writeFileSync(file, policy);
    const started = performance.now();
    const child = spawn(
      '/usr/bin/time',
      [
        '-f',
        'maxrss-kb %M',
        process.execPath,
        '--import',
        'tsx',
        join(repoRoot, 'src/cli/main.ts'),
        'eval',
        file,
      ],
      { cwd: repoRoot },
    );
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    const [code] = (await once(child, 'close')) as [number | null];
    const rss = Number(/maxrss-kb (\d+)/.exec(stderr)?.[1] ?? 0) * 1024;
    const text = Buffer.concat(out).toString('utf8');
    return {
      code,
      lines: text === '' ? [] : text.trimEnd().split('\n'),
      stderr,
      rss,
      ms: performance.now() - started,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('hostile calls through perso eval (one process, NDJSON bytes): one Deny or error line each', async () => {
  const lines = HOSTILE_CALLS.map((c) => {
    const args = asBytes(c.argsText());
    return Buffer.concat([
      Buffer.from(
        `{"tool":${JSON.stringify(c.tool)},"role":${JSON.stringify(c.role)},"now":1000,"args":`,
      ),
      args,
      Buffer.from('}\n'),
    ]);
  });
  lines.push(
    Buffer.concat([
      Buffer.from('{"tool":"process_refund'),
      Buffer.from([0xff]),
      Buffer.from('","role":"agent","args":{"amount":1}}\n'),
    ]),
  );
  const run = await cliRun(JSON.stringify(HOSTILE_POLICY), Buffer.concat(lines));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.lines.length, lines.length, run.stderr);
  run.lines.forEach((line, i) =>
    checkAnswer(
      `perso eval, ${HOSTILE_CALLS[i]?.name ?? 'invalid UTF-8 in the tool name'}`,
      HOSTILE_CALLS[i]?.expect ?? 'deny',
      JSON.parse(line) as Answer,
    ),
  );
  console.log(
    `perso eval: ${lines.length} hostile lines in one run, ${run.ms.toFixed(0)} ms, peak RSS ${(run.rss / 2 ** 20).toFixed(0)} MiB`,
  );
});

for (const hostile of HOSTILE_POLICIES) {
  test(`hostile policy (${hostile.name}): loads or is refused with a clear error; its calls are denied in every Node entry point`, async () => {
    const text = hostile.policyText();
    const worst = new WorstFigures();

    const x = await instantiateOriginalAbi(module);
    let started = performance.now();
    const init = abiInit(x, text);
    worst.note('raw ABI init', performance.now() - started, x.memory.buffer.byteLength);
    assert.ok(
      init.ok === true || typeof init.error === 'string',
      JSON.stringify(init).slice(0, 300),
    );
    for (const c of hostile.calls)
      checkAnswer(
        `raw ABI, ${hostile.name}`,
        'deny',
        abiCall(
          x,
          encoder.encode(c.tool),
          encoder.encode(JSON.stringify(c.args)),
          encoder.encode(CONTEXT(c.role)),
        ),
      );

    const engine = await Engine.create(module);
    started = performance.now();
    const load = engine.load(text);
    worst.note('Engine.load', performance.now() - started, engine.memoryBytes);
    if (!load.ok)
      assert.ok(
        load.errors.length > 0 &&
          load.errors.every((e) => e.message.length > 0 && e.message.length < 4096),
        JSON.stringify(load.errors).slice(0, 300),
      );
    for (const c of hostile.calls)
      checkAnswer(`Engine, ${hostile.name}`, 'deny', engine.evaluate(c, 1000));

    started = performance.now();
    const perso = await Perso.load({ policy: text });
    worst.note('Perso.load', performance.now() - started, process.resourceUsage().maxRSS * 1024);
    try {
      assert.ok(perso.status().ok || perso.status().errors.length > 0);
      for (const c of hostile.calls)
        checkAnswer(`Perso, ${hostile.name}`, 'deny', await perso.evaluate({ ...c, now: 1000 }));
    } finally {
      await perso.close();
    }

    const run = await cliRun(
      text,
      Buffer.from(hostile.calls.map((c) => `${JSON.stringify({ ...c, now: 1000 })}\n`).join('')),
    );
    worst.note('perso eval', run.ms, run.rss);
    if (run.code === 0) {
      assert.equal(run.lines.length, hostile.calls.length);
      for (const line of run.lines)
        checkAnswer(`perso eval, ${hostile.name}`, 'deny', JSON.parse(line) as Answer);
    } else {
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /\S/);
      assert.ok(run.stderr.length < 64 * 1024, 'the error is bounded');
    }
    console.log(
      `policy with ${hostile.name}: ${init.ok === true ? 'loaded' : `refused (${String(init.error).slice(0, 120)})`}; ${worst}`,
    );
  });
}
