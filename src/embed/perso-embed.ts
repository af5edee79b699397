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
 * - wraps `registerTool`/`provideContext` of `document.modelContext` and of the legacy
 *   `navigator.modelContext`, non-writable and non-configurable, and pins those properties to the
 *   wrapped objects, so no later script swaps in an unguarded context;
 * - exposes a frozen, non-configurable `window.perso` for the host to set the principal;
 * - checks itself with a canary tool now and after the page loaded, and reports a failure loudly:
 *   `console.error` and a `perso-embed-error` event on `document` (it bubbles to `window`).
 */
import type { DecisionResult, JsonObject } from '../decision.ts';
import { Perso } from '../perso.ts';
import type { PersoOptions } from '../perso.ts';
import type { PersoSession } from '../session.ts';
import { createCanary, runCanary } from './canary.ts';
import { readEmbedConfig } from './embed-config.ts';
import type { EmbedConfig } from './embed-config.ts';
import { installModelContextGuard } from './model-context-guard.ts';
import type { GuardRuntime } from './model-context-guard.ts';

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
}

type Approver = (question: ApprovalQuestion) => Promise<boolean>;

/** The state the embed reports through `window.perso.status()`. */
interface EmbedState {
  policy: 'loading' | 'loaded' | 'failed';
  policyVersion: string | null;
  errors: string[];
  selfCheck: 'pending' | 'passed' | 'failed';
}

function startEmbed(): void {
  const configResult = readEmbedConfig(document.currentScript, document.baseURI);
  const config: EmbedConfig | null = configResult.ok ? configResult.config : null;
  const timeoutMs = config?.timeoutMs ?? 0;
  const state: EmbedState = { policy: 'loading', policyVersion: null, errors: [], selfCheck: 'pending' };
  // Canaries in flight, by name; each self-check uses a fresh one, so runs never collide.
  const canaries = new Map<string, string>();
  let principal: { role: string | null; agentAttributes: JsonObject | undefined } = {
    role: config?.role ?? null,
    agentAttributes: config?.agentAttributes,
  };
  let bound: { principal: typeof principal; session: PersoSession } | null = null;
  let approver: Approver | null = null;

  const report = (message: string): void => {
    state.errors.push(message);
    console.error(`[perso] ${message}`);
    document.dispatchEvent(new CustomEvent('perso-embed-error', { bubbles: true, detail: { message } }));
  };

  const persoReady: Promise<Perso | string> =
    config === null
      ? Promise.resolve(`perso-embed is misconfigured: ${configResult.ok ? '' : configResult.error}`)
      : loadPerso(config).then((perso) => {
          const status = perso.status();
          state.policy = status.ok ? 'loaded' : 'failed';
          state.policyVersion = status.version;
          if (!status.ok) report(`policy ${config.policy} failed to load: ${status.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
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
      if (bound === null || bound.principal !== principal) bound = { principal, session: perso.session({ role: principal.role, agentAttributes: principal.agentAttributes }) };
      return bound.session;
    },
    report(tool: string, args: unknown, decision: DecisionResult) {
      document.dispatchEvent(new CustomEvent('perso-decision', { bubbles: true, detail: Object.freeze({ tool, args, decision }) }));
    },
    async approve(tool: string, args: unknown, decision: DecisionResult) {
      if (approver === null) return false;
      try {
        const question: ApprovalQuestion = { tool, args, reason: decision.reason, rule: decision.rule ?? null, expiresAt: decision.approval?.expiresAt ?? null, approval: decision.approval?.kind === 'webauthn' ? 'webauthn' : 'click' };
        return (await approver(Object.freeze(question))) === true;
      } catch {
        return false;
      }
    },
    canaryAnswer(name: string) {
      const token = canaries.get(name);
      return token === undefined ? undefined : { content: [{ type: 'text', text: token }] };
    },
  };

  const installError = installOnModelContexts(runtime);
  if (installError !== null) report(installError);

  let checks: Promise<unknown> = Promise.resolve();
  const selfCheck = (): Promise<boolean> => {
    const run = checks.then(async () => {
      const canary = createCanary();
      canaries.set(canary.name, canary.token);
      const verdict = await runCanary(canary).finally(() => canaries.delete(canary.name));
      state.selfCheck = verdict === null ? 'passed' : 'failed';
      if (verdict !== null) report(`perso is not guarding WebMCP tool calls: ${verdict}`);
      return verdict === null;
    });
    checks = run.catch(() => undefined);
    return run;
  };
  if (installError === null) {
    void selfCheck();
    // Again once the page's own scripts ran: one of them may have replaced the model context.
    if (document.readyState === 'complete') void selfCheck();
    else window.addEventListener('load', () => void selfCheck(), { once: true });
  }

  const api = Object.freeze({
    /** Sets the principal (from the host's own session); later calls are checked as it. */
    setPrincipal(next: { role: string; agentAttributes?: JsonObject }): void {
      if (next === null || typeof next !== 'object' || typeof next.role !== 'string' || next.role === '') {
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
      if (next !== null && typeof next !== 'function') throw new TypeError('perso.setApprover: expected a function or null');
      approver = next;
    },
    /** The policy's and the self-check's state. */
    status(): Readonly<EmbedState> {
      return Object.freeze({ ...state, errors: [...state.errors] });
    },
    /** Resolves once the policy is loaded (or failed to). */
    ready(): Promise<Readonly<EmbedState>> {
      return persoReady.then(() => api.status());
    },
    /** Runs the canary self-check again; resolves `true` when the guard is in the path. */
    selfCheck,
  });
  try {
    Object.defineProperty(window, 'perso', { value: api, writable: false, configurable: false, enumerable: false });
  } catch {
    report('window.perso is already defined; load perso-embed.js once, before other scripts');
  }
}

function loadPerso(config: EmbedConfig): Promise<Perso> {
  const options: PersoOptions = { policy: config.policy };
  if (config.mode !== undefined) options.mode = config.mode;
  if (config.integrity !== undefined) options.integrity = config.integrity;
  if (config.publicKeys !== undefined) options.publicKeys = config.publicKeys;
  return Perso.load(options);
}

// Wraps every distinct model context the page exposes and pins the properties to them.
function installOnModelContexts(runtime: GuardRuntime): string | null {
  const documentContext = readProperty(document, 'modelContext');
  const navigatorContext = readProperty(navigator, 'modelContext');
  if (documentContext === null && navigatorContext === null) {
    // Fail closed: a polyfill loaded after the embed would install an unguarded context, so pin the
    // property empty; the page's tools then fail to register, loudly, instead of running unguarded.
    try {
      Object.defineProperty(document, 'modelContext', { value: undefined, writable: false, configurable: false, enumerable: true });
    } catch {
      // Not configurable already: whatever defined it decides; the canary reports it.
    }
    return 'no WebMCP model context (document.modelContext) is present; load the WebMCP polyfill before perso-embed.js (tools are blocked until then)';
  }
  for (const [owner, context] of [
    [document, documentContext],
    [navigator, navigatorContext],
  ] as const) {
    if (context === null) continue;
    const error = installModelContextGuard(context, runtime);
    if (error !== null) return error;
    // @mcp-b/global keeps the WebMCP polyfill's own context as `native` and mirrors tools into it;
    // the polyfill registers declarative <form toolname> tools there directly: guard it as well.
    const inner = readProperty(context, 'native');
    if (inner !== null && inner !== context && typeof (inner as { registerTool?: unknown }).registerTool === 'function') {
      const innerError = installModelContextGuard(inner, runtime, 'inner');
      if (innerError !== null) return innerError;
    }
    try {
      Object.defineProperty(owner, 'modelContext', { value: context, writable: false, configurable: false, enumerable: true });
    } catch (caught) {
      return `could not pin ${owner === document ? 'document' : 'navigator'}.modelContext (${caught instanceof Error ? caught.message : String(caught)})`;
    }
  }
  return null;
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
