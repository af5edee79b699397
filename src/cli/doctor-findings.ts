/**
 * What silently voids the guard on a page, from the facts `perso doctor` read in Chromium
 * (page-facts.ts). Pure: facts in, findings out, so each finding is tested on its own.
 *
 * Checklist, one finding each:
 * - no perso on the page, or tools registered on a WebMCP surface that perso never saw;
 * - a WebMCP surface (`modelContext` on `document`, `navigator` or their prototypes, unless the
 *   object's own property shadows it for good) whose property a script can still redefine;
 * - a polyfill transport that answered MCP from a frame of another origin;
 * - a CSP whose scripts rule lacks `'wasm-unsafe-eval'` (engine.wasm cannot compile), or that has
 *   no `worker-src` (perso's worker then rides on `script-src` or `default-src`);
 * - tools no rule of the policy names, and tools whose names sound consequential (`delete`, `pay`,
 *   `send`, `transfer`) registered without `consequentialHint`.
 */
import { expandPolicy } from '../analysis/policy-entries.ts';
import type { Policy } from '../policy/policy.ts';

/** One tool as a WebMCP surface lists it. */
export interface PageTool {
  name: string;
  /** The surface that lists it, `document.modelContext`. */
  surface: string;
  annotations?: Record<string, unknown>;
}

/** One WebMCP property as defined on the page. */
export interface SurfaceProperty {
  /** `document.modelContext`, `Document.prototype.modelContext`... */
  surface: string;
  configurable: boolean;
  writable: boolean | null;
}

/** What `perso doctor` read of the page. */
export interface PageFacts {
  url: string;
  /** `window.perso` is there (the embed ran). */
  perso: boolean;
  /** The tools perso saw registered, with the annotations it saw (`window.perso.tools()`). */
  persoTools: PageTool[];
  /** The tools the page's WebMCP surfaces list. */
  tools: PageTool[];
  surfaces: SurfaceProperty[];
  /** CSP texts: response headers and `<meta http-equiv>` tags. */
  csp: string[];
  /** Where the page's policy came from (the embed's `data-policy`), when known. */
  policySource: string | null;
  /** The policy, or why it could not be read; null when there is none to read. */
  policy: Policy | { error: string } | null;
  /** A foreign-origin frame's MCP message was answered, on this channel; null when none was. */
  anyOriginChannel: string | null;
}

/** One thing that voids the guard. */
export interface DoctorFinding {
  /** A stable name: `no-perso`, `registered-before-perso`, `redefinable-surface`... */
  code: string;
  message: string;
}

const CONSEQUENTIAL = /delete|pay|send|transfer/i;
const CANARY = /^perso-canary-[0-9a-f]{8}$/;

/** The findings for a page; empty when nothing was found. */
export function doctorFindings(facts: PageFacts): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  const add = (code: string, message: string) => findings.push({ code, message });
  // perso's own self-check tool, where a surface keeps listing it, is not the page's.
  const tools = facts.tools.filter((tool) => !CANARY.test(tool.name));
  const names = [...new Set(tools.map((tool) => tool.name))];
  if (!facts.perso)
    add(
      'no-perso',
      "perso is not on the page (no window.perso): no tool call is guarded; add perso-embed.js before the page's own scripts",
    );
  else {
    const seen = new Set(facts.persoTools.map((tool) => tool.name));
    for (const tool of tools)
      if (!seen.has(tool.name))
        add(
          'registered-before-perso',
          `tool ${JSON.stringify(tool.name)} on ${tool.surface} was registered without perso seeing it (before perso-embed.js loaded, or past it): its calls are refused, or unguarded where an agent reaches it another way; load perso-embed.js before the scripts that register tools`,
        );
  }
  // A prototype's property matters only where the object's own one does not shadow it for good.
  const pinned = new Set(
    facts.surfaces
      .filter((s) => !s.configurable && s.writable !== true)
      .map((s) => s.surface.replace(/^(document|navigator)\./, '')),
  );
  for (const surface of facts.surfaces)
    if (
      (surface.configurable || surface.writable === true) &&
      !(surface.surface.includes('.prototype.') && pinned.has(surface.surface.split('.').pop()!))
    )
      add(
        'redefinable-surface',
        `${surface.surface} can still be ${surface.configurable ? 'redefined' : 'overwritten'} by any script: a later script can put an unguarded context there; load perso-embed.js, which pins the WebMCP surfaces, before the polyfill's users`,
      );
  if (facts.anyOriginChannel !== null)
    add(
      'any-origin-transport',
      `the page's WebMCP transport answered an MCP message from a frame of another origin (channel ${JSON.stringify(facts.anyOriginChannel)}): any site that frames the page can call its tools; give the polyfill's transports allowedOrigins`,
    );
  for (const text of facts.csp) {
    const directives = parseCsp(text);
    const scripts = directives.get('script-src') ?? directives.get('default-src');
    if (
      scripts !== undefined &&
      !scripts.includes("'wasm-unsafe-eval'") &&
      !scripts.includes("'unsafe-eval'")
    )
      add(
        'csp-no-wasm',
        `the CSP ${JSON.stringify(text)} does not allow 'wasm-unsafe-eval': engine.wasm cannot compile, so every call is denied (or decided by the slower JS fallback); add 'wasm-unsafe-eval' to script-src`,
      );
    if (!directives.has('worker-src'))
      add(
        'csp-no-worker-src',
        `the CSP ${JSON.stringify(text)} has no worker-src: perso's worker is allowed or blocked by script-src or default-src instead; add worker-src 'self' (and blob: with codeIntegrity "strict")`,
      );
  }
  const policy = facts.policy;
  if (policy !== null && 'error' in policy)
    add('policy-unreadable', `the policy could not be read: ${policy.error}`);
  else if (policy !== null) {
    const covered = new Set([...expandPolicy(policy).values()].map((entry) => entry.tool));
    for (const name of names)
      if (!covered.has(name))
        add(
          'uncovered-tool',
          `tool ${JSON.stringify(name)} is named by no rule: default_action (${policy.default_action}) decides every call; write a rule for it`,
        );
  }
  for (const name of names) {
    // A surface may drop hints it does not know (a polyfill's getTools); perso keeps what it saw.
    const hinted = [...facts.tools, ...facts.persoTools].some(
      (tool) => tool.name === name && tool.annotations?.consequentialHint === true,
    );
    if (CONSEQUENTIAL.test(name) && !hinted)
      add(
        'unhinted-consequential',
        `tool ${JSON.stringify(name)} sounds consequential but no surface shows it with consequentialHint (registered without it, or dropped by the WebMCP implementation): agents that rely on the hint treat it as harmless; register it with annotations: { consequentialHint: true }`,
      );
  }
  return findings;
}

/** A CSP's directives by name (lowercase), each with its sources. */
export function parseCsp(text: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of text.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    // The first of a repeated directive wins, as browsers do.
    if (name && !directives.has(name.toLowerCase()))
      directives.set(
        name.toLowerCase(),
        sources.map((source) => source.toLowerCase()),
      );
  }
  return directives;
}
