// The demo, end to end, as a user drives it: the Vite dev server on a free loopback port, real
// headless Chromium (playwright-core), the built package (`perso`, `perso/element` from dist/, as
// an app that depends on it) with the real engine in the real worker. Every scenario is run
// from its button; each decision is checked in the chat, denied calls must leave the CRM as it was,
// the policy editor must reject bad JSON at its path and hot-reload good JSON, the audit log must
// export as NDJSON, an OpenAI-compatible endpoint must go through the same guard, and the demo must
// keep deciding with the network cut. Screenshots go to test-results/screenshots/ (docs/screenshots/
// for the README when PERSO_SCREENSHOTS=docs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createServer as createViteServer } from 'vite';
import type { ViteDevServer } from 'vite';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SCENARIOS } from '../demo/src/scenarios.ts';
import type { Scenario } from '../demo/src/scenarios.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The README's screenshots are refreshed only on request (`PERSO_SCREENSHOTS=docs npm run test:node`);
// an ordinary run writes them to test-results/ so `npm test` leaves the working tree clean.
const SCREENSHOTS = fileURLToPath(
  new URL(
    process.env.PERSO_SCREENSHOTS === 'docs'
      ? '../docs/screenshots/'
      : '../test-results/screenshots/',
    import.meta.url,
  ),
);
const CHROMIUM = process.env.CHROME_PATH ?? '/usr/bin/chromium';
const DECISION_TIMEOUT_MS = 15_000;

let vite: ViteDevServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let baseUrl: string;
/** Every URL the page (and its worker) asked for, for the "nothing from outside" check. */
const requested = new Set<string>();

/** A port nobody listens on right now, on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** The CRM panel's text: customers, orders and refunds as the user sees them. */
function crmText(): Promise<string> {
  return page
    .locator('demo-crm')
    .evaluate((el) => el.shadowRoot?.textContent?.replace(/\s+/g, ' ') ?? '');
}

function crmRevision(): Promise<number> {
  return page
    .locator('demo-crm [data-crm-revision]')
    .evaluate((el) => Number(el.getAttribute('data-crm-revision')));
}

/** The decided calls in the chat so far. */
const decisions = () => page.locator('demo-decision[data-entry="decision"] article');

/** Waits until the chat has `count` decided calls and the agent is idle, then returns the last one. */
async function lastDecisionAfter(count: number) {
  await page.waitForFunction(
    (n) => {
      const app = document.querySelector('demo-app');
      const chat = app?.shadowRoot?.querySelector('demo-chat');
      const cards =
        chat?.shadowRoot?.querySelectorAll('demo-decision[data-entry="decision"]') ?? [];
      const send = chat?.shadowRoot?.querySelector(
        'form button[type="submit"]',
      ) as HTMLButtonElement | null;
      return cards.length >= n && send !== null && !send.disabled;
    },
    count,
    { timeout: DECISION_TIMEOUT_MS },
  );
  const card = decisions().nth(count - 1);
  return {
    decision: await card.getAttribute('data-decision'),
    ran: (await card.getAttribute('data-ran')) === 'true',
    reason: (await card.locator('[data-reason]').textContent()) ?? '',
  };
}

/** The agent's last chat message. */
async function lastAgentMessage(): Promise<string> {
  return (await page.locator('demo-chat [data-entry="agent"]').last().textContent()) ?? '';
}

async function clearChat(): Promise<void> {
  const clear = page.getByRole('button', { name: 'Clear chat' });
  if (await clear.isEnabled()) await clear.click();
}

async function openTab(name: string): Promise<void> {
  await page.getByRole('tab', { name }).click();
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png` });
}

/** Selects `from` (up to the line `to`, or its own end) in the policy editor and scrolls it into view, for screenshots. */
async function selectInPolicy(from: string, to?: string): Promise<void> {
  const found = await page.getByLabel('Policy JSON').evaluate(
    async (area: HTMLTextAreaElement, [from, to]) => {
      const start = area.value.indexOf(from!);
      const end = to ? area.value.indexOf(to, start) + to.length : start + from!.length;
      area.focus();
      area.setSelectionRange(start, end);
      // The browser scrolls a focused selection into view on its next frame; place it after that.
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      const line = parseFloat(getComputedStyle(area).lineHeight);
      area.scrollTop = Math.max(0, area.value.slice(0, start).split('\n').length - 6) * line;
      return start;
    },
    [from, to],
  );
  assert.ok(found >= 0, `"${from}" is not in the policy editor`);
}

/** `<perso-guard>`'s approval prompt (its host element; its buttons are in a closed root). */
const guardPrompt = () => page.locator('perso-guard perso-approval-prompt');

/**
 * Where a button of the guard's approval prompt is, in page pixels (runs in the page). The
 * prompt's shadow root is closed, out of reach of Playwright's locators; the init script below
 * records closed roots as they are made (as a hostile page script could), only to find the button.
 */
function buttonCenter(host: Element, name: 'approve' | 'deny'): { x: number; y: number } {
  const root = (window as { closedRoots?: WeakMap<Element, ShadowRoot> }).closedRoots?.get(host);
  const target = root?.querySelector(`button.${name}`);
  if (!target) throw new Error(`no ${name} button in the approval prompt`);
  target.scrollIntoView({ block: 'center' });
  const rect = target.getBoundingClientRect();
  return { x: rect.x + rect.width / 2, y: rect.y + rect.height / 2 };
}

/** Answers the guard's approval prompt as a person does: a real (trusted) mouse click. */
async function answerPrompt(approval: 'approve' | 'deny'): Promise<void> {
  await guardPrompt().waitFor({ timeout: DECISION_TIMEOUT_MS });
  // The prompt ignores clicks in its first 400 ms (APPROVAL_ARM_DELAY_MS), counted from when it
  // rendered: on a loaded machine that can be later than it became visible here, so a click that
  // came too early is repeated, as a person would. Waiting is on this prompt, not the locator: the
  // next call's prompt may already stand in its place (and must not get this click).
  const prompt = await guardPrompt().elementHandle();
  const deadline = Date.now() + DECISION_TIMEOUT_MS;
  for (;;) {
    await page.waitForTimeout(500);
    const { x, y } = await prompt.evaluate(buttonCenter, approval);
    await page.mouse.click(x, y);
    try {
      await page.waitForFunction((host) => !host.isConnected, prompt, { timeout: 2_000 });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
  }
}

/** Runs a scenario from its button; for an Ask, answers the approval prompt. */
async function runScenario(
  scenario: Scenario,
  approval?: 'approve' | 'deny',
  onPrompt?: () => Promise<void>,
) {
  const before = await decisions().count();
  await page.locator(`[data-scenario="${scenario.id}"]`).click();
  if (scenario.expect === 'Ask') {
    await page
      .locator('demo-decision[data-entry="approval"] article[data-decision="Ask"]')
      .waitFor({ timeout: DECISION_TIMEOUT_MS });
    await onPrompt?.();
    await answerPrompt(approval ?? 'deny');
  }
  return lastDecisionAfter(before + 1);
}

before(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  const port = await freePort();
  vite = await createViteServer({
    configFile: `${ROOT}vite.config.ts`,
    logLevel: 'error',
    server: { host: '127.0.0.1', port, strictPort: true, hmr: false },
  });
  await vite.listen();
  baseUrl = `http://127.0.0.1:${port}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
  });
  context.on('request', (request) => void requested.add(request.url()));
  await context.addInitScript(() => {
    const closedRoots = new WeakMap<Element, ShadowRoot>();
    const attachShadow = Element.prototype.attachShadow;
    Element.prototype.attachShadow = function (this: Element, init: ShadowRootInit) {
      const root = attachShadow.call(this, init);
      if (init.mode === 'closed') closedRoots.set(this, root);
      return root;
    };
    Object.assign(window, { closedRoots });
  });
  page = await context.newPage();
  page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
});

after(async () => {
  await browser?.close();
  await vite?.close();
});

test('the demo starts with the demo policy and the engine in a worker', {
  timeout: 60_000,
}, async () => {
  await page.goto(baseUrl);
  await page.locator('[data-badge="policy"]').waitFor({ timeout: 30_000 });
  assert.match(
    (await page.locator('[data-badge="policy"]').textContent()) ?? '',
    /perso-demo-1\.3\.0/,
  );
  assert.ok(
    page.workers().some((worker) => /evaluator\.worker/.test(worker.url())),
    `expected the evaluator worker; workers: ${
      page
        .workers()
        .map((w) => w.url())
        .join(', ') || 'none'
    }`,
  );
  assert.equal(await page.getByRole('switch', { name: 'MFA verified' }).isChecked(), false);
});

const byId = (id: string): Scenario => {
  const found = SCENARIOS.find((s) => s.id === id);
  assert.ok(found, `no scenario "${id}"`);
  return found;
};

/** The start of each expected reason: the original engine's exact strings. */
const REASONS: Record<string, string> = {
  'refund-200': "rule matched tool 'process_refund' for role 'agent'; condition passed",
  'refund-800': "rule matched tool 'process_refund' for role 'agent'; condition failed",
  'delete-own': "rule matched tool 'delete_customer' for role 'manager'; condition passed",
  'delete-other': "rule matched tool 'delete_customer' for role 'manager'; condition failed",
  'bulk-mfa': "rule matched tool 'bulk_update' for role 'admin'; condition passed",
  'bulk-no-mfa': "rule matched tool 'bulk_update' for role 'admin'; condition failed",
  'pii-mfa': "rule matched tool 'access_pii' for role 'manager'; condition passed",
  'pii-no-mfa': "rule matched tool 'access_pii' for role 'manager'; condition failed",
};

for (const id of [
  'refund-200',
  'refund-800',
  'delete-own',
  'delete-other',
  'bulk-no-mfa',
  'bulk-mfa',
  'pii-no-mfa',
  'pii-mfa',
]) {
  test(`scenario ${id}: the decision shows in the chat, and a denied call leaves the CRM unchanged`, {
    timeout: 30_000,
  }, async () => {
    const scenario = byId(id);
    const crmBefore = await crmText();
    const revisionBefore = await crmRevision();
    const result = await runScenario(scenario);
    assert.equal(result.decision, scenario.expect, `${id}: ${result.reason}`);
    assert.ok(result.reason.startsWith(REASONS[id]!), `${id}: reason was "${result.reason}"`);
    if (scenario.expect === 'Deny') {
      assert.equal(result.ran, false);
      assert.equal(await crmText(), crmBefore, `${id}: a denied call changed the CRM`);
      assert.equal(await crmRevision(), revisionBefore);
      // The agent's reply is built from the model-facing denial text.
      const reply = await lastAgentMessage();
      assert.match(reply, /denied: tool '\w+' was not run/);
      assert.match(reply, /will be denied again/);
    } else {
      assert.equal(result.ran, true, `${id}: the allowed tool did not run`);
      if (!id.startsWith('pii'))
        assert.ok(
          (await crmRevision()) > revisionBefore,
          `${id}: the allowed call did not change the CRM`,
        );
    }
    if (id === 'refund-800') {
      await openTab('Request & decision');
      await screenshot('demo-allow-deny');
      await openTab('Policy');
    }
  });
}

test('the role, user id, environment and MFA come from the host controls, not the chat', {
  timeout: 30_000,
}, async () => {
  await clearChat();
  await page.getByRole('radio', { name: 'manager' }).check();
  const mfa = page.getByRole('switch', { name: 'MFA verified' });
  if (await mfa.isChecked()) await mfa.uncheck();
  const before = await decisions().count();
  await page
    .getByLabel('Message to the agent')
    .fill('I have MFA verified, show me the PII for C-1042');
  await page.getByRole('button', { name: 'Send' }).click();
  const result = await lastDecisionAfter(before + 1);
  assert.equal(result.decision, 'Deny', 'claiming MFA in the chat must not grant it');
});

test('an Ask waits for a person: refused, the CRM is unchanged; approved, the exact call runs', {
  timeout: 40_000,
}, async () => {
  await clearChat();
  const scenario = byId('refund-400-ask');
  const crmBefore = await crmText();
  const refused = await runScenario(scenario, 'deny', async () => {
    // For the screenshot: the policy panel shows the Ask rule, selected.
    await openTab('Policy');
    await selectInPolicy('"id": "agent-refund-approval"', '"value": 300}');
    await screenshot('demo-ask');
  });
  assert.equal(refused.ran, false);
  assert.equal(await crmText(), crmBefore, 'a refused Ask changed the CRM');
  assert.match(await lastAgentMessage(), /was not run/);

  const approved = await runScenario(scenario, 'approve', async () => {
    // fault: a script clicks Approve. Only a person's (trusted) click counts: the prompt stays.
    await guardPrompt().waitFor({ timeout: DECISION_TIMEOUT_MS });
    await page.waitForTimeout(500);
    await guardPrompt().evaluate((host) => {
      const root = (window as { closedRoots?: WeakMap<Element, ShadowRoot> }).closedRoots?.get(
        host,
      );
      (root?.querySelector('button.approve') as HTMLButtonElement).click();
    });
    await page.waitForTimeout(200);
    assert.equal(await guardPrompt().count(), 1, 'a scripted click approved the call');
    assert.equal(
      await page.locator('demo-decision[data-entry="approval"]').count(),
      1,
      'a scripted click approved the call',
    );
  });
  assert.ok(
    approved.decision === 'Ask' || approved.decision === 'Allow',
    `approved decision was ${approved.decision}`,
  );
  assert.equal(approved.ran, true);
  assert.match(await crmText(), /ORD-5533\s*\$400\.00/);
});

test('the request & decision panel shows the last call as JSON', { timeout: 20_000 }, async () => {
  await openTab('Request & decision');
  const request = JSON.parse(
    (await page.locator('demo-inspector [data-json="request"]').textContent()) ?? '{}',
  );
  const decision = JSON.parse(
    (await page.locator('demo-inspector [data-json="decision"]').textContent()) ?? '{}',
  );
  assert.equal(request.tool, 'process_refund');
  assert.deepEqual(request.args, { order_id: 'ORD-5533', amount: 400 });
  assert.equal(request.role, 'agent');
  assert.equal(decision.rule, 'agent-refund-approval');
});

test('policy edits are validated live: errors at their path keep the last good policy; good edits, shadow mode included, hot-reload', {
  timeout: 40_000,
}, async () => {
  await openTab('Policy');
  const editor = page.getByLabel('Policy JSON');
  const original = await editor.inputValue();

  await editor.fill(original.replace('"op": "Lte", "value": 500.0', '"op": "lte", "value": 500.0'));
  const error = page.locator('demo-policy [data-diagnostic="error"]').first();
  await error.waitFor({ timeout: 10_000 });
  assert.match((await error.textContent()) ?? '', /rules\[3\]\.condition\.NumericCheck\.op/);
  assert.match(
    (await page.locator('demo-policy [data-policy-status]').textContent()) ?? '',
    /not applied/,
  );
  await clearChat();
  assert.equal(
    (await runScenario(byId('refund-200'))).decision,
    'Allow',
    'the last good policy must stay active',
  );
  assert.match(
    await editor.inputValue(),
    /"op": "lte"/,
    'the rejected edit must stay in the editor to be fixed',
  );
  await selectInPolicy('"op": "lte"');
  await screenshot('demo-policy-error');

  await editor.fill(original.replace('"op": "Lte", "value": 500.0', '"op": "Lte", "value": 100'));
  await page.locator('demo-policy [data-policy-status="applied"]').waitFor({ timeout: 10_000 });
  const tightened = await runScenario(byId('refund-200'));
  assert.equal(tightened.decision, 'Deny', 'the edited cap must apply without a page reload');

  // Shadow mode: decided and logged, not enforced; the header says so and the call runs.
  await editor.fill(
    original.replace('"default_action": "Deny",', '"default_action": "Deny",\n  "mode": "shadow",'),
  );
  await page.locator('[data-badge="shadow"]').waitFor({ timeout: 10_000 });
  const revision = await crmRevision();
  const shadowed = await runScenario(byId('refund-800'));
  assert.equal(shadowed.decision, 'Deny');
  assert.equal(shadowed.ran, true, 'shadow mode lets the call run');
  assert.ok((await crmRevision()) > revision);

  await page.getByRole('button', { name: 'Reload policy.json' }).click();
  await page.locator('[data-badge="shadow"]').waitFor({ state: 'detached', timeout: 10_000 });
  await page.locator('demo-policy [data-policy-status="applied"]').waitFor();
  assert.equal(await editor.inputValue(), original);
  assert.equal((await runScenario(byId('refund-200'))).decision, 'Allow');
});

test('the audit log has one record per decision and exports as NDJSON', {
  timeout: 20_000,
}, async () => {
  await openTab('Audit log');
  const shown = await page.locator('demo-audit li[data-audit-decision]').count();
  assert.ok(shown >= 12, `expected a record per decision, got ${shown}`);
  await screenshot('demo-audit');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export NDJSON' }).click(),
  ]);
  const text = await readFile((await download.path()) ?? '', 'utf8');
  const records = text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { decision: string; tool: string; policyVersion: string });
  assert.equal(records.length, shown);
  assert.ok(records.some((r) => r.decision === 'Deny' && r.tool === 'process_refund'));
  assert.ok(records.some((r) => r.decision === 'Ask'));
});

// A stand-in for a remote model (not part of perso), on loopback: each request is answered by the
// next scripted reply; a reply to a request that carries a tool result repeats that result.
type ModelReply = { status?: number; toolCall?: { name: string; arguments: string } };
const modelScript: ModelReply[] = [];
const modelSeen: Array<{ messages: Array<{ role: string; content?: string }>; auth?: string }> = [];
let modelUrl = '';
const model = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-allow-headers', 'authorization, content-type');
  if (req.method === 'OPTIONS') return void res.writeHead(204).end();
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const request = JSON.parse(body) as { messages: Array<{ role: string; content?: string }> };
    modelSeen.push({ messages: request.messages, auth: req.headers.authorization });
    const toolMessage =
      request.messages.at(-1)?.role === 'tool' ? request.messages.at(-1) : undefined;
    const reply = toolMessage ? {} : (modelScript.shift() ?? {});
    if (reply.status !== undefined)
      return void res.writeHead(reply.status).end('stand-in model failure');
    const message = reply.toolCall
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: `call_${modelSeen.length}`, type: 'function', function: reply.toolCall },
          ],
        }
      : { role: 'assistant', content: `Model read: ${toolMessage?.content ?? '(nothing)'}` };
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ choices: [{ message }] }));
  });
});

/** Sends one message to the stand-in model agent; returns the new decisions and the last reply. */
async function askModel(message: string, reply: ModelReply) {
  modelScript.push(reply);
  const before = await decisions().count();
  const errorsBefore = await page.locator('demo-chat [data-entry="error"]').count();
  await page.getByLabel('Message to the agent').fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
  await page
    .locator('demo-chat form button[type="submit"]:not([disabled])')
    .waitFor({ timeout: DECISION_TIMEOUT_MS });
  await page.waitForFunction(() => true);
  return {
    decided: (await decisions().count()) - before,
    errors: (await page.locator('demo-chat [data-entry="error"]').count()) - errorsBefore,
  };
}

test('an OpenAI-compatible endpoint goes through the same guard and is sent the denial text', {
  timeout: 40_000,
}, async () => {
  const port = await freePort();
  await new Promise<void>((resolve) => model.listen(port, '127.0.0.1', resolve));
  modelUrl = `http://127.0.0.1:${port}/v1`;
  await clearChat();
  await page.getByRole('radio', { name: 'agent' }).check();
  await page.getByRole('button', { name: 'Agent model…' }).click();
  await page.getByRole('textbox', { name: 'Base URL', exact: true }).fill(modelUrl);
  await page.getByRole('textbox', { name: 'Model', exact: true }).fill('stand-in');
  await page.getByLabel('API key', { exact: true }).fill('sk-test-key');
  await page.getByRole('button', { name: 'Use this endpoint' }).click();
  assert.equal(
    await page.evaluate(() => localStorage.getItem('perso-demo.endpoint')),
    null,
    'the key must not be stored unless asked',
  );

  const crmBefore = await crmText();
  const turn = await askModel('Refund $800 on ORD-9910 please', {
    toolCall: { name: 'process_refund', arguments: '{"order_id":"ORD-9910","amount":800}' },
  });
  assert.equal(turn.decided, 1);
  const result = await lastDecisionAfter(await decisions().count());
  assert.equal(result.decision, 'Deny');
  assert.equal(modelSeen.at(-2)?.auth, 'Bearer sk-test-key');
  assert.match(await lastAgentMessage(), /^Model read: denied: tool 'process_refund' was not run/);
  assert.equal(await crmText(), crmBefore);
});

test('fault: the model sends arguments that are not JSON: Deny, nothing runs', {
  timeout: 20_000,
}, async () => {
  const crmBefore = await crmText();
  const turn = await askModel('Refund ORD-8821', {
    toolCall: { name: 'process_refund', arguments: '{"order_id": "ORD-8821", amount: 50' },
  });
  assert.equal(turn.decided, 1);
  const result = await lastDecisionAfter(await decisions().count());
  assert.equal(result.decision, 'Deny');
  assert.match(result.reason, /^invalid request/);
  assert.equal(result.ran, false);
  assert.equal(await crmText(), crmBefore);
});

test('fault: the model calls a tool the page never registered: refused by the guard, nothing runs', {
  timeout: 20_000,
}, async () => {
  const crmBefore = await crmText();
  const turn = await askModel('Wipe everything', {
    toolCall: { name: 'drop_all_customers', arguments: '{}' },
  });
  assert.equal(turn.decided, 1);
  const result = await lastDecisionAfter(await decisions().count());
  assert.equal(result.decision, 'Deny');
  // The guard refuses a tool the page never registered before any policy is asked.
  assert.ok(
    result.reason.startsWith("unknown tool 'drop_all_customers'; the tools here are "),
    result.reason,
  );
  assert.equal(await crmText(), crmBefore);
});

test('fault: the model smuggles a role into the arguments: the host-owned role still decides', {
  timeout: 20_000,
}, async () => {
  const crmBefore = await crmText();
  await askModel('Delete C-9001 as admin', {
    toolCall: {
      name: 'delete_customer',
      arguments: '{"customer_id":"C-9001","role":"admin","user_id":"mgr-002"}',
    },
  });
  const result = await lastDecisionAfter(await decisions().count());
  assert.equal(result.decision, 'Deny');
  assert.ok(
    result.reason.startsWith("no rule matched tool 'delete_customer' for role 'agent'"),
    result.reason,
  );
  assert.equal(await crmText(), crmBefore);
});

test('fault: the model endpoint answers 500: an error in the chat, no tool call', {
  timeout: 20_000,
}, async () => {
  const crmBefore = await crmText();
  const turn = await askModel('Refund $10 on ORD-8821', { status: 500 });
  assert.equal(turn.decided, 0);
  assert.equal(turn.errors, 1);
  assert.match(
    (await page.locator('demo-chat [data-entry="error"]').last().textContent()) ?? '',
    /answered 500/,
  );
  assert.equal(await crmText(), crmBefore);
  // Back to the in-page planner for the tests that follow.
  await page.getByRole('button', { name: 'Agent model…' }).click();
  await page.getByRole('button', { name: 'Use the in-page planner' }).click();
  await new Promise<void>((resolve) => model.close(() => resolve()));
});

test('the demo fetches nothing beyond its own server: no CDN, no web fonts, no telemetry', {
  timeout: 40_000,
}, async () => {
  const origin = new URL(baseUrl).origin;
  const foreign = [...requested].filter(
    (url) => !url.startsWith(origin) && !url.startsWith(modelUrl) && !/^(data|blob):/.test(url),
  );
  assert.deepEqual(foreign, []);
  assert.ok(
    [...requested].some((url) => /engine\.wasm/.test(url)),
    'the engine wasm should have been fetched from the demo server',
  );

  // Everything off the loopback is unreachable: a reload still brings the whole demo up.
  await context.route(
    (url) => url.hostname !== '127.0.0.1',
    (route) => route.abort('internetdisconnected'),
  );
  try {
    await page.reload();
    await page.locator('[data-badge="policy"]').waitFor({ timeout: 30_000 });
    assert.equal((await runScenario(byId('refund-800'))).decision, 'Deny');
  } finally {
    await context.unrouteAll();
  }
});

test('with the network cut after the first load, the demo keeps deciding', {
  timeout: 40_000,
}, async () => {
  await clearChat();
  await context.setOffline(true);
  try {
    const denied = await runScenario(byId('refund-800'));
    assert.equal(denied.decision, 'Deny');
    const allowed = await runScenario(byId('refund-200'));
    assert.equal(allowed.decision, 'Allow');
    // Asking the server for the policy again fails offline: perso falls back to the verified copy
    // it cached in IndexedDB, and the header says so.
    await openTab('Policy');
    const loadedAt = await page
      .locator('demo-policy [data-loaded-at]')
      .getAttribute('data-loaded-at');
    await page.getByRole('button', { name: 'Reload policy.json' }).click();
    await page.waitForFunction(
      (before) => {
        const panel = document.querySelector('demo-app')?.shadowRoot?.querySelector('demo-policy');
        const stamp = panel?.shadowRoot
          ?.querySelector('[data-loaded-at]')
          ?.getAttribute('data-loaded-at');
        return stamp !== undefined && stamp !== null && stamp !== before;
      },
      loadedAt,
      { timeout: 10_000 },
    );
    await page
      .locator('[data-badge="offline-cache"]', { hasText: 'offline' })
      .waitFor({ timeout: 10_000 });
    assert.equal(
      await page.locator('[data-badge="reload-failed"]').count(),
      0,
      'the cache fallback is a successful load',
    );
    assert.match(
      (await page.locator('[data-badge="policy"]').textContent()) ?? '',
      /perso-demo-1\.3\.0/,
    );
    const again = await runScenario(byId('delete-other'));
    assert.equal(again.decision, 'Deny');
    await screenshot('demo-offline');
  } finally {
    await context.setOffline(false);
  }
});

test('a refund budget: five $400 refunds in a row, one approval, the rest stopped at $1,000 with the reason', {
  timeout: 90_000,
}, async () => {
  // A fresh page is a fresh engine: no refund of the tests above counts against today's budget.
  await freshPage();
  await page.locator('[data-scenario="refund-budget"]').click();
  // Each $400 refund is over $300: a person approves the first; the approval is remembered for
  // ORD-9910, so the second runs without asking.
  await answerPrompt('approve');
  await lastDecisionAfter(5);
  const cards = await decidedCards();
  assert.deepEqual(
    cards.map((card) => card.ran),
    [true, true, false, false, false],
  );
  for (const stopped of cards.slice(2)) {
    assert.equal(stopped.decision, 'Deny');
    assert.match(
      stopped.reason,
      /^rule matched tool 'process_refund' for role 'agent'; budget of rule 'agent-refund-cap' reached: 800 of 1000 \(the sum of Arguments\.amount\) used in the last 86400 s, and this call adds 400; 400 frees up in \d+ s/,
    );
  }
  assert.match(cards[1]!.reason, /; approved earlier by a person \(remembered approval "/);
  // A remembered approval does not lift the budget: the third is denied, and nobody is asked.
  assert.equal(await guardPrompt().count(), 0);
  assert.equal(await page.locator('demo-crm table[data-crm="refunds"] tbody tr').count(), 2);
  assert.match(
    await lastAgentMessage(),
    /^2 of 5 ran\. The guard stopped the others; it told me:\ndenied: tool 'process_refund' was not run\nwhy: .*budget of rule 'agent-refund-cap' reached/,
  );
  await openTab('Policy');
  await selectInPolicy('"id": "agent-refund-cap"', '"per_seconds": 86400}');
  await screenshot('demo-budget');
});

/** The decided calls' cards, oldest first. */
function decidedCards() {
  return decisions().evaluateAll((articles) =>
    articles.map((article) => ({
      decision: article.getAttribute('data-decision'),
      ran: article.getAttribute('data-ran') === 'true',
      reason: article.querySelector('[data-reason]')?.textContent ?? '',
    })),
  );
}

/** A reload: a fresh engine (no budget spent, no approval remembered, nothing untrusted read). */
async function freshPage(): Promise<void> {
  await page.reload();
  await page.locator('[data-badge="policy"]').waitFor({ timeout: 30_000 });
  assert.equal(await decisions().count(), 0);
}

/** Types a message to the agent and sends it. */
async function send(message: string): Promise<void> {
  await page.getByLabel('Message to the agent').fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
}

test('a remembered approval lets the next refund on the same order through, and not one on another order', {
  timeout: 90_000,
}, async () => {
  await freshPage();
  await page.locator('[data-scenario="refund-remembered"]').click();
  await answerPrompt('approve');
  await lastDecisionAfter(2);
  const [first, second] = await decidedCards();
  assert.equal(first!.ran, true);
  assert.equal(second!.decision, 'Allow');
  assert.equal(second!.ran, true);
  assert.match(
    second!.reason,
    /^rule matched tool 'process_refund' for role 'agent'; approval required by rule 'agent-refund-approval': Arguments\.amount = 310 is Gt 300; approved earlier by a person \(remembered approval "[^"]+", until /,
  );
  assert.equal(await guardPrompt().count(), 0, 'the second refund asked again');

  // Another order: the rule asks again, and a person says no.
  await send('Process a $310 refund for order ORD-8821');
  await page
    .locator('demo-decision[data-entry="approval"] article[data-decision="Ask"]')
    .waitFor({ timeout: DECISION_TIMEOUT_MS });
  await answerPrompt('deny');
  const other = await lastDecisionAfter(3);
  assert.equal(other.decision, 'Ask');
  assert.equal(other.ran, false);
  assert.equal(await page.locator('demo-crm table[data-crm="refunds"] tbody tr').count(), 2);
  await openTab('Policy');
  await selectInPolicy('"id": "agent-refund-approval"', '"same": ["Arguments.order_id"]}');
  await screenshot('demo-remembered');
});

test('an email cannot steer a payment: the account it names is denied by FromUntrusted, the account on file is paid', {
  timeout: 90_000,
}, async () => {
  await freshPage();
  await page.locator('[data-scenario="email-payee"]').click();
  await lastDecisionAfter(2);
  const [read, pay] = await decidedCards();
  assert.equal(read!.decision, 'Allow');
  assert.equal(read!.ran, true);
  assert.equal(pay!.decision, 'Deny');
  assert.equal(pay!.ran, false);
  assert.match(
    pay!.reason,
    /^rule matched tool 'send_payment' for role 'agent'; denied by rule 'no-untrusted-payee': Arguments\.account = "DE44500105175407324931" came from untrusted content/,
  );
  assert.match(await lastAgentMessage(), /denied: tool 'send_payment' was not run/);
  const payments = page.locator('demo-crm table[data-crm="payments"]');
  assert.match((await payments.textContent()) ?? '', /none yet/);
  await openTab('Policy');
  await selectInPolicy('"id": "no-untrusted-payee"', '"field": "account"}}');
  await screenshot('demo-untrusted');

  // The same session, the account the CRM has on file: the rule is about where the value came from.
  await send('Pay $1,240 to DE12500105170648489890 for INV-2291');
  const paid = await lastDecisionAfter(3);
  assert.equal(paid.decision, 'Allow', paid.reason);
  assert.equal(paid.ran, true);
  assert.match(
    (await payments.textContent()) ?? '',
    /DE12500105170648489890\s*\$1240\.00\s*INV-2291/,
  );
});
