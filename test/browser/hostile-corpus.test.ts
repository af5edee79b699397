// The hostile corpus (test/support/hostile-corpus.ts) in Chromium: through Perso with its worker
// engine, and through the script-tag embed as an in-page agent calls a WebMCP tool (JSON text in).
// Every answer a Deny or a clear error (Allow only where the policy grants the call), the tool
// body run only on args the policy grants (as the reference decides them), the worst time printed
// (not asserted).
import { expect } from 'chai';
import { Perso } from '../../src/perso/perso.ts';
import type { Policy } from '../../src/policy/policy.ts';
import type { ToolCall } from '../../src/call/decision.ts';
import {
  HOSTILE_CALLS,
  HOSTILE_POLICIES,
  HOSTILE_POLICY,
  WorstFigures,
} from '../support/hostile-corpus.ts';
import { fileUrl, scriptFile, uniqueName } from './helpers/perso-server.ts';
import { compileReferencePolicy } from '../../src/reference/reference-policy.ts';
import { ReferenceEvaluator } from '../../src/reference/reference-evaluator.ts';

const POLYFILL = '/node_modules/@mcp-b/global/dist/index.iife.js';
const EMBED = '/dist/script/perso-embed.js';

function checkDecision(
  where: string,
  expectation: 'deny' | 'granted',
  decision: { decision: string; reason: string },
): void {
  expect(['Allow', 'Deny', 'Ask'], where).to.include(decision.decision);
  if (expectation === 'deny')
    expect(decision.decision, `${where}: ${decision.reason.slice(0, 200)}`).to.equal('Deny');
  expect(decision.reason.length, `${where}: reason length`).to.be.within(1, 4095);
}

describe('hostile corpus through the worker', function () {
  this.timeout(300_000);

  it('hostile calls: each a Deny (or the granted answer), the worker answers every one', async () => {
    const perso = await Perso.load({
      policy: HOSTILE_POLICY as unknown as Policy,
      engine: 'worker',
      timeoutMs: 30_000,
    });
    const worst = new WorstFigures();
    try {
      for (const c of HOSTILE_CALLS.filter((h) => h.args !== undefined)) {
        const started = performance.now();
        const decision = await perso.evaluate({
          tool: c.tool,
          role: c.role,
          args: c.args!(),
          now: 1000,
        } as ToolCall);
        worst.note(c.name, performance.now() - started, 0);
        checkDecision(`worker, ${c.name}`, c.expect, decision);
      }
    } finally {
      await perso.close();
    }
    console.log(`worker: ${worst.toString().replace(/; most memory.*$/, '')}`);
  });

  for (const hostile of HOSTILE_POLICIES) {
    it(`hostile policy (${hostile.name}): loads or is refused with a clear error; its calls are denied`, async () => {
      const started = performance.now();
      const perso = await Perso.load({
        policy: hostile.policyText(),
        engine: 'worker',
        timeoutMs: 30_000,
      });
      try {
        const status = perso.status();
        expect(status.ok || status.errors.length > 0).to.equal(true);
        for (const c of hostile.calls)
          checkDecision(
            `worker, ${hostile.name}`,
            'deny',
            await perso.evaluate({ ...c, now: 1000 }),
          );
      } finally {
        await perso.close();
      }
      console.log(
        `worker, policy with ${hostile.name}: load and calls ${(performance.now() - started).toFixed(0)} ms`,
      );
    });
  }
});

interface ToolResult {
  isError?: boolean;
  content: { text: string }[];
  structuredContent?: { decision: string; reason: string };
}
type FrameWindow = Window & {
  perso: { setPrincipal(p: { role: string }): void; ready(): Promise<unknown> };
  document: Document & {
    modelContext: {
      registerTool(tool: object): Promise<void>;
      getTools(): Promise<{ name: string }[]>;
      executeTool(tool: object, json: string): Promise<string | null>;
    };
  };
  ran: Array<{ tool: string; args: unknown }>;
};

describe('hostile corpus through the script-tag embed (WebMCP)', function () {
  this.timeout(300_000);
  let frame: HTMLIFrameElement | null = null;
  afterEach(() => frame?.remove());

  it('hostile calls an in-page agent makes: the tool body runs only where the policy grants the call', async () => {
    const name = uniqueName('hostile-policy');
    await scriptFile(name, { body: JSON.stringify(HOSTILE_POLICY), etag: null });
    frame = document.createElement('iframe');
    frame.srcdoc = `<!doctype html><html><head><script>window.ran = [];</script><script src="${POLYFILL}"></script>
      <script src="${EMBED}" data-policy="${fileUrl(name)}" data-role="agent"></script></head><body></body></html>`;
    const loaded = new Promise((resolve) =>
      frame!.addEventListener('load', resolve, { once: true }),
    );
    document.body.append(frame);
    await loaded;
    const win = frame.contentWindow as FrameWindow;
    await win.perso.ready();
    let refusedNames = 0;
    for (const tool of new Set(HOSTILE_CALLS.map((c) => c.tool))) {
      // WebMCP refuses names outside [A-Za-z0-9_.-]{1,128} (NUL, zero-width, bidi, 10 MB): such a
      // tool cannot be registered, so it cannot be called either.
      await win.document.modelContext
        .registerTool({
          name: tool,
          description: 'a tool the hostile corpus calls',
          inputSchema: { type: 'object' },
          execute: (args: unknown) => {
            win.ran.push({ tool, args });
            return { content: [{ type: 'text', text: 'ran' }] };
          },
        })
        .catch(() => refusedNames++);
    }
    const listed = await win.document.modelContext.getTools();
    const compiled = compileReferencePolicy(HOSTILE_POLICY);
    if (!compiled.ok) throw new Error(compiled.error);
    const reference = new ReferenceEvaluator(compiled.policy);
    const worst = new WorstFigures();
    let answered = 0;
    for (const c of HOSTILE_CALLS) {
      const argsText = c.argsText();
      if (typeof argsText !== 'string') continue; // bytes: a page's strings cannot carry them
      const descriptor = listed.find((t) => t.name === c.tool);
      if (descriptor === undefined) continue; // the polyfill refused the name itself: nothing to call
      win.perso.setPrincipal({ role: c.role });
      const before = win.ran.length;
      const started = performance.now();
      let result: ToolResult | null = null;
      try {
        result = JSON.parse(
          (await win.document.modelContext.executeTool(descriptor, argsText)) ?? 'null',
        ) as ToolResult | null;
      } catch (error) {
        result = { isError: true, content: [{ text: String(error) }] }; // a clear error, the tool not run
      }
      worst.note(c.name, performance.now() - started, 0);
      answered++;
      const ran = win.ran.slice(before);
      // The page parses the JSON text (the polyfill's JSON.parse: a duplicate key's last value wins)
      // and perso checks what the tool will get: a run is right only when the policy grants the
      // args the tool received, as the reference evaluator decides them.
      for (const run of ran) {
        const { outcomes } = reference.judge(
          { tool: run.tool, role: c.role, args: run.args },
          1000,
        );
        expect(
          outcomes.map((o) => o.decision),
          `embed, ${c.name}: the tool ran with ${JSON.stringify(run.args)?.slice(0, 100)}`,
        ).to.include('Allow');
      }
      if (ran.length === 0)
        expect(
          result?.isError,
          `embed, ${c.name}: ${JSON.stringify(result).slice(0, 200)}`,
        ).to.equal(true);
    }
    expect(answered).to.be.greaterThan(15);
    console.log(
      `embed: ${worst.toString().replace(/; most memory.*$/, '')}; ${refusedNames} hostile tool names refused by registerTool`,
    );
  });
});
