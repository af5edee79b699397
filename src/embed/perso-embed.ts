/**
 * `perso-embed.js`: the script-tag embed. A classic script for `<head>`, right after the WebMCP
 * polyfill (if the page uses one) and before the page's own scripts:
 *
 * ```html
 * <script src="/perso/perso-embed.js" data-policy="/policy.json" data-role="agent"></script>
 * ```
 *
 * Checklist, in the order it runs:
 * - reads its configuration from its own tag (see `embed-config.ts`); a bad one denies everything;
 * - starts loading the policy; calls made meanwhile wait for it up to `data-timeout`, then are denied;
 * - holds every WebMCP surface, whichever of the embed and a polyfill loads first
 *   (`model-context-surfaces.ts`): wraps `registerTool`/`executeTool`/`provideContext` of
 *   `document.modelContext`, the legacy `navigator.modelContext`, a polyfill's inner context and
 *   MCP registry, non-writable and non-configurable, and pins the surfaces to the wrapped objects
 *   (at once when a context is there, else when the page has loaded);
 * - exposes a frozen, non-configurable `window.perso` for the host to set the principal;
 * - checks itself with a canary tool on each surface after the page loaded (and at once when a
 *   context is there), and reports a failure loudly: `console.error`, a `perso-embed-error` event
 *   on `document` (it bubbles to `window`), and `window.perso.status()`.
 */
import type { ToolFacts } from '../audit/audit-record.ts';
import type { DecisionResult, JsonObject } from '../call/decision.ts';
import { Perso } from '../perso/perso.ts';
import type { PersoOptions } from '../perso/perso.ts';
import type { PersoSession } from '../perso/session.ts';
import { createCanary, runCanary } from './canary.ts';
import { readEmbedConfig } from './embed-config.ts';
import type { EmbedConfig } from './embed-config.ts';
import type { GuardRuntime } from './guard-runtime.ts';
import { holdModelContexts } from './model-context-surfaces.ts';
import type { SurfaceState } from './model-context-surfaces.ts';
import { formatDiagnostics } from '../encoding/text.ts';

/** What a host's approver is asked. */
interface ApprovalQuestion {
  tool: string;
  args: unknown;
  reason: string;
  rule: string | null;
  /** When the approval ticket expires (ms since the epoch), if the engine issued one. */
  expiresAt: number | null;
  /** `webauthn`: after a yes, the embed asks the person's authenticator (see webauthn-ceremony.ts). */
  approval: 'click' | 'webauthn';
  /** Aborts when the agent cancels the call: close the question (the answer is then "no"). */
  signal: AbortSignal | undefined;
}

type Approver = (question: ApprovalQuestion) => Promise<boolean>;

/** The state the embed reports through `window.perso.status()`. */
interface EmbedState {
  policy: 'loading' | 'loaded' | 'failed';
  policyVersion: string | null;
  errors: string[];
  selfCheck: 'pending' | 'passed' | 'failed';
  /** Each WebMCP surface and whether perso holds it. */
  surfaces: readonly SurfaceState[];
}

function startEmbed(): void {
  const configResult = readEmbedConfig(document.currentScript, document.baseURI);
  const config: EmbedConfig | null = configResult.ok ? configResult.config : null;
  const timeoutMs = config?.timeoutMs ?? 0;
  const state: EmbedState = {
    policy: 'loading',
    policyVersion: null,
    errors: [],
    selfCheck: 'pending',
    surfaces: [],
  };
  // Canaries in flight, by name; each self-check uses a fresh one, so runs never collide.
  const canaries = new Map<string, string>();
  const canariesSeen = new Set<string>();
  // What was seen of each tool at its registration, for window.perso.tools() (pins are written from it).
  const toolFacts = new Map<string, Promise<ToolFacts>>();
  let principal: { role: string | null; agentAttributes: JsonObject | undefined } = {
    role: config?.role ?? null,
    agentAttributes: config?.agentAttributes,
  };
  let bound: { principal: typeof principal; session: PersoSession } | null = null;
  let approver: Approver | null = null;

  const report = (message: string): void => {
    state.errors.push(message);
    console.error(`[perso] ${message}`);
    document.dispatchEvent(
      new CustomEvent('perso-embed-error', { bubbles: true, detail: { message } }),
    );
  };

  const persoReady: Promise<Perso | string> =
    config === null
      ? Promise.resolve(
          `perso-embed is misconfigured: ${configResult.ok ? '' : configResult.error}`,
        )
      : loadPerso(config).then((perso) => {
          const status = perso.status();
          state.policy = status.ok ? 'loaded' : 'failed';
          state.policyVersion = status.version;
          if (!status.ok)
            report(`policy ${config.policy} failed to load: ${formatDiagnostics(status.errors)}`);
          return perso;
        });
  if (config === null && !configResult.ok) report(configResult.error);

  const runtime: GuardRuntime = {
    async session() {
      const perso = await waitFor(persoReady, timeoutMs);
      if (perso === undefined) {
        return `policy ${config?.policy ?? '(none)'} did not load within ${timeoutMs} ms; every call is denied until it loads; check data-policy and the network`;
      }
      if (typeof perso === 'string') return perso;
      if (principal.role === null || principal.role === '') {
        return 'no principal: the host has not set a role; add data-role to the perso-embed.js tag or call window.perso.setPrincipal';
      }
      if (bound === null || bound.principal !== principal)
        bound = {
          principal,
          // One named session for the page's life: a new principal keeps what the model read.
          session: perso.session({
            role: principal.role,
            agentAttributes: principal.agentAttributes,
            session: 'perso-embed',
          }),
        };
      return bound.session;
    },
    report(tool: string, args: unknown, decision: DecisionResult) {
      document.dispatchEvent(
        new CustomEvent('perso-decision', {
          bubbles: true,
          detail: Object.freeze({ tool, args, decision }),
        }),
      );
    },
    async approve(tool: string, args: unknown, decision: DecisionResult, signal?: AbortSignal) {
      const aborted = (): boolean => signal?.aborted === true;
      if (approver === null || aborted()) return false;
      try {
        const question: ApprovalQuestion = {
          tool,
          args,
          reason: decision.reason,
          rule: decision.rule ?? null,
          expiresAt: decision.approval?.expiresAt ?? null,
          approval: decision.approval?.kind === 'webauthn' ? 'webauthn' : 'click',
          signal,
        };
        const answer = approver(Object.freeze(question));
        // The agent cancelled the call: the question closes as a "no", whatever the approver does.
        const cancelled = new Promise<boolean>((resolve) =>
          signal?.addEventListener('abort', () => resolve(false), { once: true }),
        );
        return (await Promise.race([answer, cancelled])) === true && !aborted();
      } catch {
        return false;
      }
    },
    canaryAnswer(name: string) {
      const token = canaries.get(name);
      return token === undefined ? undefined : { content: [{ type: 'text', text: token }] };
    },
    registered(name: string, facts: Promise<ToolFacts>) {
      if (canaries.has(name)) canariesSeen.add(name);
      else toolFacts.set(name, facts);
    },
  };

  const surfaces = holdModelContexts(runtime, report);
  const held = (): boolean =>
    readProperty(document, 'modelContext') !== null ||
    readProperty(navigator, 'modelContext') !== null;

  let checks: Promise<unknown> = Promise.resolve();
  const selfCheck = (): Promise<boolean> => {
    const run = checks.then(async () => {
      surfaces.scan();
      const contexts = new Map<object | null, string>();
      for (const [owner, name] of [
        [document, 'document.modelContext'],
        [navigator, 'navigator.modelContext'],
      ] as const) {
        const context = readProperty(owner, 'modelContext');
        if (!contexts.has(context)) contexts.set(context, name);
      }
      if (contexts.size > 1) contexts.delete(null);
      const verdicts: string[] = [];
      for (const [context, name] of contexts) {
        const canary = createCanary();
        canaries.set(canary.name, canary.token);
        const verdict = await runCanary(canary, context, name, () =>
          canariesSeen.has(canary.name),
        ).finally(() => {
          canaries.delete(canary.name);
          canariesSeen.delete(canary.name);
        });
        if (verdict !== null) verdicts.push(verdict);
      }
      state.selfCheck = verdicts.length === 0 ? 'passed' : 'failed';
      for (const verdict of verdicts) report(`perso is not guarding WebMCP tool calls: ${verdict}`);
      return verdicts.length === 0;
    });
    checks = run.catch(() => undefined);
    return run;
  };
  const settle = (): void => {
    const error = surfaces.pin();
    if (error !== null) report(error);
    // Once the page's own scripts ran: one of them may have installed or replaced the model context.
    void selfCheck();
  };
  if (held()) {
    // The polyfill (or native WebMCP) came first: hold it now, and check again once the page loaded.
    const error = surfaces.pin();
    if (error !== null) report(error);
    else void selfCheck();
    if (document.readyState === 'complete') void selfCheck();
    else window.addEventListener('load', () => void selfCheck(), { once: true });
  } else if (document.readyState === 'complete') {
    settle();
  } else {
    window.addEventListener('load', settle, { once: true });
  }

  const api = Object.freeze({
    /** Sets the principal (from the host's own session); later calls are checked as it. */
    setPrincipal(next: { role: string; agentAttributes?: JsonObject }): void {
      if (
        next === null ||
        typeof next !== 'object' ||
        typeof next.role !== 'string' ||
        next.role === ''
      ) {
        throw new TypeError('perso.setPrincipal: role must be a non-empty string');
      }
      principal = Object.freeze({ role: next.role, agentAttributes: next.agentAttributes });
    },
    /** The role calls are checked as, or `null`. */
    get role(): string | null {
      return principal.role;
    },
    /** Sets who is asked about Ask decisions (e.g. a `<perso-guard>`'s prompt); without one, Ask is denied. */
    setApprover(next: Approver | null): void {
      if (next !== null && typeof next !== 'function')
        throw new TypeError('perso.setApprover: expected a function or null');
      approver = next;
    },
    /** The policy's and the self-check's state. */
    status(): Readonly<EmbedState> {
      return Object.freeze({ ...state, errors: [...state.errors], surfaces: surfaces.states() });
    },
    /** Resolves once the policy is loaded (or failed to). */
    ready(): Promise<Readonly<EmbedState>> {
      return persoReady.then(() => api.status());
    },
    /** Runs the canary self-check again; resolves `true` when the guard is in the path. */
    selfCheck,
    /**
     * The tools registered through perso, each with the SHA-256 of its descriptor and the URL of
     * the script that registered it: what a policy's `tool_pins` pin.
     */
    async tools(): Promise<
      readonly { name: string; descriptorSha256?: string; scriptUrl?: string }[]
    > {
      const entries = await Promise.all(
        [...toolFacts].map(async ([name, facts]) => Object.freeze({ name, ...(await facts) })),
      );
      return Object.freeze(entries);
    },
  });
  try {
    Object.defineProperty(window, 'perso', {
      value: api,
      writable: false,
      configurable: false,
      enumerable: false,
    });
  } catch {
    report('window.perso is already defined; load perso-embed.js once, before other scripts');
  }
}

function loadPerso(config: EmbedConfig): Promise<Perso> {
  const options: PersoOptions = { policy: config.policy };
  if (config.mode !== undefined) options.mode = config.mode;
  if (config.integrity !== undefined) options.integrity = config.integrity;
  if (config.publicKeys !== undefined) options.publicKeys = config.publicKeys;
  if (config.policyId !== undefined) options.policyId = config.policyId;
  return Perso.load(options);
}

function readProperty(owner: object, key: string): object | null {
  try {
    const value: unknown = Reflect.get(owner, key);
    return value !== null && typeof value === 'object' ? value : null;
  } catch {
    return null;
  }
}

function waitFor<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

startEmbed();
