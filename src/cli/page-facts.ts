/**
 * Reads what `perso doctor` needs from a live page, in headless Chromium driven by playwright-core
 * (an optional peer dependency, loaded only here): the WebMCP tools the page's surfaces list and
 * those perso saw, how the surfaces are defined, the CSP, the policy, and whether the page's MCP
 * transport answers a frame of another origin.
 *
 * Checklist:
 * - the page runs as it would for a visitor: nothing is injected before its scripts;
 * - the foreign-origin probe loads the page in a frame of `https://perso-doctor.invalid`, a page
 *   served by the doctor itself, and only asks the transport whether it is ready;
 * - the browser is closed on every path.
 */
import type { Policy } from '../policy/policy.ts';
import type { PageFacts, PageTool, SurfaceProperty } from './doctor-findings.ts';
import { errorText } from '../encoding/text.ts';

/** Options of {@link readPageFacts}. */
export interface PageFactsOptions {
  /** The Chromium to run. */
  executablePath: string;
  /** The policy to check tools against; default: the one the embed's `data-policy` names. */
  policy?: Policy | { error: string };
  /** Milliseconds for the page to load and settle. */
  timeoutMs: number;
}

// https: a polyfill installs only in a secure context, and a frame is one only under a secure parent.
const PROBE_ORIGIN = 'https://perso-doctor.invalid';

/** What the page itself reports (run in the page). */
interface InPage {
  perso: boolean;
  persoTools: PageTool[];
  tools: PageTool[];
  surfaces: SurfaceProperty[];
  metaCsp: string[];
  policySource: string | null;
}

/** Opens `url` in Chromium and reads its facts; a string says why it could not. */
export async function readPageFacts(
  url: string,
  options: PageFactsOptions,
): Promise<PageFacts | string> {
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return 'perso doctor drives Chromium with playwright-core, which is not installed; run "npm install --save-dev playwright-core" and run again';
  }
  let browser: import('playwright-core').Browser;
  try {
    browser = await chromium.launch({
      executablePath: options.executablePath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--no-first-run',
        // The probe's public frame must reach a page on a private address (a local server) as
        // a public site reaches a public page: without this, Chromium refuses the frame itself.
        '--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessForNavigations,PrivateNetworkAccessForWorkers,PrivateNetworkAccessRespectPreflightResults,LocalNetworkAccessChecks',
      ],
    });
  } catch (error) {
    return `cannot start Chromium at ${JSON.stringify(options.executablePath)} (${errorText(error)}); set CHROME_PATH to a Chromium or Chrome binary`;
  }
  try {
    const page = await browser.newPage();
    let response: import('playwright-core').Response | null;
    try {
      response = await page.goto(url, { waitUntil: 'load', timeout: options.timeoutMs });
    } catch (error) {
      return `cannot open ${JSON.stringify(url)} (${errorText(error)}); check the URL and that the server is up`;
    }
    const headerCsp = (await response?.headersArray())
      ?.filter((header) => header.name.toLowerCase() === 'content-security-policy')
      .map((header) => header.value);
    // Let the embed finish its self-check (it runs once the page has loaded).
    await page
      .waitForFunction(
        () => {
          const perso = (window as { perso?: { status(): { selfCheck: string } } }).perso;
          return perso === undefined || perso.status().selfCheck !== 'pending';
        },
        undefined,
        { timeout: options.timeoutMs },
      )
      .catch(() => undefined);
    const facts = await page.evaluate(collectInPage);
    let policy: PageFacts['policy'] = options.policy ?? null;
    if (policy === null && facts.policySource !== null) {
      const text = await page.evaluate(
        (source) =>
          fetch(source).then(
            (r) => (r.ok ? r.text() : `{"fetch error": ${r.status}}`),
            (e) => `{"fetch error": ${JSON.stringify(String(e))}}`,
          ),
        facts.policySource,
      );
      policy = readPolicy(text, facts.policySource);
    }
    return {
      url,
      perso: facts.perso,
      persoTools: facts.persoTools,
      tools: facts.tools,
      surfaces: facts.surfaces,
      csp: [...(headerCsp ?? []), ...facts.metaCsp],
      policySource: facts.policySource,
      policy,
      anyOriginChannel: await probeForeignOrigin(browser, url, options.timeoutMs),
    };
  } finally {
    await browser.close().catch(() => undefined);
  }
}

function readPolicy(text: string, source: string): PageFacts['policy'] {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    if ('fetch error' in value)
      return { error: `${source}: ${String(value['fetch error'])}; check data-policy` };
    if (!Array.isArray(value.rules) || !Array.isArray(value.tools))
      return { error: `${source}: not a perso policy (no rules or tools); run "perso validate"` };
    return value as unknown as Policy;
  } catch {
    return { error: `${source}: not JSON; run "perso validate"` };
  }
}

/** Runs in the page: what perso and the WebMCP surfaces say. */
async function collectInPage(): Promise<InPage> {
  type Context = { getTools?: () => Promise<{ name?: unknown; annotations?: unknown }[]> };
  const win = window as unknown as {
    perso?: { tools(): Promise<{ name: string; annotations?: Record<string, unknown> }[]> };
  };
  const tools: PageTool[] = [];
  const seen = new Set<unknown>();
  for (const [surface, holder] of [
    ['document.modelContext', document],
    ['navigator.modelContext', navigator],
  ] as const) {
    const context = (holder as unknown as { modelContext?: Context }).modelContext;
    if (context === undefined || context === null || seen.has(context)) continue;
    seen.add(context);
    try {
      for (const tool of (await context.getTools?.()) ?? [])
        if (typeof tool?.name === 'string')
          tools.push({
            name: tool.name,
            surface,
            ...(tool.annotations !== null && typeof tool.annotations === 'object'
              ? { annotations: tool.annotations as Record<string, unknown> }
              : {}),
          });
    } catch {
      // A surface that cannot list its tools lists none.
    }
  }
  const surfaces: SurfaceProperty[] = [];
  for (const [name, target] of [
    ['document', document],
    ['Document.prototype', Document.prototype],
    ['navigator', navigator],
    ['Navigator.prototype', Navigator.prototype],
  ] as const) {
    // The surface agents call through; the testing shim only reaches the guarded context.
    const descriptor = Object.getOwnPropertyDescriptor(target, 'modelContext');
    if (descriptor !== undefined)
      surfaces.push({
        surface: `${name}.modelContext`,
        configurable: descriptor.configurable === true,
        writable: 'value' in descriptor ? descriptor.writable === true : null,
      });
  }
  const embed = document.querySelector('script[data-policy]');
  const policy = embed?.getAttribute('data-policy');
  return {
    perso: win.perso !== undefined,
    persoTools: win.perso
      ? (await win.perso.tools()).map((tool) => ({
          name: tool.name,
          surface: 'perso',
          ...(tool.annotations ? { annotations: tool.annotations } : {}),
        }))
      : [],
    tools,
    surfaces,
    metaCsp: [...document.querySelectorAll('meta[http-equiv]')]
      .filter(
        (meta) => meta.getAttribute('http-equiv')?.toLowerCase() === 'content-security-policy',
      )
      .map((meta) => meta.getAttribute('content') ?? ''),
    policySource: policy ? new URL(policy, location.href).href : null,
  };
}

/**
 * Loads `url` in a frame of another origin and asks its MCP transport, on the channels WebMCP
 * polyfills use, whether it is ready; the channel that answered, or null.
 */
async function probeForeignOrigin(
  browser: import('playwright-core').Browser,
  url: string,
  timeoutMs: number,
): Promise<string | null> {
  const page = await browser.newPage();
  try {
    await page.route(`${PROBE_ORIGIN}/`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><iframe id="target" src=${JSON.stringify(url)}></iframe>`,
      }),
    );
    await page.goto(`${PROBE_ORIGIN}/`, { waitUntil: 'load', timeout: timeoutMs });
    return await page.evaluate(async () => {
      const frame = document.getElementById('target') as HTMLIFrameElement;
      // No function bound to a name in here: the page runs this text as it is, and a bundler's
      // naming helper (esbuild's keepNames) would not be defined there.
      return new Promise<string | null>((resolve) => {
        window.addEventListener('message', (event: MessageEvent) => {
          const data = event.data as { type?: unknown; direction?: unknown; channel?: unknown };
          if (data?.type === 'mcp' && data.direction === 'server-to-client')
            resolve(String(data.channel));
        });
        // Asked a few times: a polyfill starts its transport once its page is ready.
        for (let ms = 0; ms <= 4000; ms += 250)
          setTimeout(() => {
            for (const channel of ['mcp-iframe', 'mcp-default'])
              frame.contentWindow?.postMessage(
                { channel, type: 'mcp', direction: 'client-to-server', payload: 'mcp-check-ready' },
                '*',
              );
          }, ms);
        setTimeout(() => resolve(null), 5000);
      });
    });
  } catch {
    return null;
  } finally {
    await page.close().catch(() => undefined);
  }
}
