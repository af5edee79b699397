/**
 * The calling half of `<perso-guard>`: runs guarded tool calls in the session the policy load
 * controller binds (`policy-load-controller.ts`), keeps the decision log and the pending approvals.
 * The element renders what the controllers hold and nothing else.
 *
 * Checklist:
 * - a call carries a tool name and args; the principal is the host's (the session);
 * - a tool runs only through `session.guard`: on Allow, on an Ask a person approved with a trusted
 *   click (and the backend then lifted), or in shadow mode; always on the canonical frozen args;
 * - no session (no policy, no principal), an unknown tool: a denial result, never a throw;
 * - an approval prompt that nobody answers expires and counts as "no";
 * - on a page that also runs the WebMCP embed (`window.perso`), the guard shows the embed's
 *   decisions and is the person the embed asks about Ask decisions (the embed's worker still
 *   redeems the approval: the prompt's answer is a request, not a permission; `embed-link.ts`).
 */
import type { ReactiveController } from 'lit';
import type { DecisionResult, JsonObject } from '../call/decision.ts';
import { canonicalizeArgs } from '../call/canonical-args.ts';
import { denialResult } from '../call/denial-result.ts';
import { own } from '../call/own-properties.ts';
import { PersoApprovalPrompt } from './approval-prompt.ts';
import { type DecisionLogEntry, appendDecision } from './decision-log.ts';
import {
  type EmbedApi,
  type EmbedQuestion,
  embedApi,
  embedDecision,
  questionDecision,
} from './embed-link.ts';
import { PersoDecisionEvent, PersoErrorEvent } from './guard-events.ts';
import type { GuardHost } from './guard-host.ts';
import type { GuardedTool, ToolFunction, ToolOptions } from './guarded-tool.ts';
import type { PolicyLoadController } from './policy-load-controller.ts';
import { errorText, quote, quoteName } from '../encoding/text.ts';

/** How long an approval prompt waits when the backend gives no expiry. */
const DEFAULT_APPROVAL_MS = 120_000;

/** Decides, runs and logs tool calls for one `<perso-guard>`. */
export class GuardController implements ReactiveController {
  /** The decision log, newest last. */
  log: readonly DecisionLogEntry[] = [];
  /** Approval prompts waiting for a person. */
  prompts: readonly PersoApprovalPrompt[] = [];

  readonly #host: GuardHost;
  readonly #policy: PolicyLoadController;
  readonly #tools = new Map<string, GuardedTool>();
  #nextId = 1;
  #joinedEmbed: EmbedApi | null = null;

  // The embed reports its decisions as CustomEvents on document (embed-link.ts).
  readonly #onEmbedDecision = (event: Event): void => {
    const reported = embedDecision(event);
    if (reported !== null) this.#record(reported.tool, reported.args, reported.decision, false);
  };

  readonly #approveForEmbed = (question: EmbedQuestion): Promise<boolean> =>
    this.#askPerson(
      question.tool,
      question.args,
      questionDecision(question),
      question.signal instanceof AbortSignal ? question.signal : undefined,
    );

  /**
   * @param host the element
   * @param policy the host's policy load controller (added to the host before this one)
   */
  constructor(host: GuardHost, policy: PolicyLoadController) {
    this.#host = host;
    this.#policy = policy;
    host.addController(this);
  }

  /** Joins the page's WebMCP embed, if there is one, when the host connects. */
  hostConnected(): void {
    document.addEventListener('perso-decision', this.#onEmbedDecision);
    const embed = embedApi();
    if (embed !== null) {
      embed.setApprover(this.#approveForEmbed);
      this.#joinedEmbed = embed;
    }
  }

  /** Leaves the embed when the host leaves the page. */
  hostDisconnected(): void {
    document.removeEventListener('perso-decision', this.#onEmbedDecision);
    this.#joinedEmbed?.setApprover(null);
    this.#joinedEmbed = null;
  }

  /** The names of the registered tools. */
  get toolNames(): string[] {
    return [...this.#tools.keys()];
  }

  /** The registered tools, by name (a frozen snapshot). */
  get tools(): Record<string, ToolFunction> {
    return Object.freeze(
      Object.fromEntries([...this.#tools].map(([name, tool]) => [name, tool.fn])),
    );
  }

  /** Replaces all tools. */
  setTools(tools: Record<string, ToolFunction>): void {
    this.#tools.clear();
    for (const [name, fn] of Object.entries(tools)) this.register(name, fn);
  }

  /** Adds or replaces one tool. */
  register(name: string, fn: ToolFunction, options: ToolOptions = {}): void {
    if (typeof name !== 'string' || name === '')
      throw new TypeError('register: the tool name must be a non-empty string');
    if (typeof fn !== 'function')
      throw new TypeError(`register: tool ${quote(name)} needs a function`);
    // Own options only: a polluted Object.prototype.annotations or .resourceAttributes is not the host's.
    const given = own(options, 'annotations');
    const annotations = Object.freeze(
      Object.assign(Object.create(null) as object, given ?? {}) as ToolOptions['annotations'] &
        object,
    );
    const resourceAttributes = own(options, 'resourceAttributes');
    this.#tools.set(
      name,
      Object.freeze(
        resourceAttributes === undefined
          ? { fn, annotations }
          : { fn, annotations, resourceAttributes },
      ),
    );
  }

  /**
   * Calls a tool through the guard. Resolves to the tool's result on Allow (or an approved Ask),
   * or to a denial result; rejects only when the tool itself throws after it was allowed.
   */
  async call(name: string, args: unknown): Promise<unknown> {
    const tool = typeof name === 'string' ? this.#tools.get(name) : undefined;
    const toolName = typeof name === 'string' ? name : String(name);
    const role = this.#host.role ?? '';
    if (tool === undefined) {
      const known = this.toolNames.map((known) => quoteName(known)).join(', ') || 'none';
      return unknownTool(toolName, known);
    }
    const session = await this.#policy.session();
    if (typeof session === 'string') {
      const decision = refusal(session);
      this.#record(toolName, args, decision);
      return denialResult(decision, { tool: toolName, args, role });
    }
    // Read the agent's args once, here: the log, the prompt and the tool all see this copy. Args
    // that cannot be copied go to the guard as they are, which refuses them with the reason.
    const copy = canonicalizeArgs(args);
    const checked: unknown = copy.ok ? copy.value : args;
    let asked: DecisionResult | null = null;
    const guarded = session.guard(
      toolName,
      (canonical: Readonly<JsonObject>) => tool.fn(canonical),
      {
        annotations: tool.annotations,
        ...(tool.resourceAttributes === undefined
          ? {}
          : { resourceAttributes: tool.resourceAttributes }),
        ...(typeof this.#host.authenticatorTimeoutMs === 'number'
          ? { webauthn: { timeoutMs: this.#host.authenticatorTimeoutMs } }
          : {}),
        approve: (decision: DecisionResult, canonical: Readonly<JsonObject>) => {
          asked = decision;
          this.#record(toolName, canonical, decision);
          return this.#askPerson(toolName, canonical, decision);
        },
      },
    );
    let outcome: Awaited<ReturnType<typeof guarded>>;
    try {
      outcome = await guarded(checked as Readonly<JsonObject>);
    } catch (error) {
      const message = `tool ${quoteName(toolName)} threw: ${errorText(error)}`;
      this.#host.dispatchEvent(new PersoErrorEvent(message, toolName));
      throw error;
    }
    // An Ask nobody approved was logged when it was asked.
    if (outcome.decision !== asked)
      this.#record(toolName, copy.ok ? copy.value : '(arguments refused)', outcome.decision);
    if (outcome.ok) return outcome.value;
    return denialResult(outcome.decision, { tool: toolName, args, role });
  }

  #record(tool: string, args: unknown, decision: DecisionResult, announce = true): void {
    this.log = appendDecision(this.log, this.#nextId++, tool, args, decision);
    this.#host.requestUpdate();
    if (announce) this.#host.dispatchEvent(new PersoDecisionEvent(tool, args, decision));
  }

  #askPerson(
    tool: string,
    args: unknown,
    decision: Pick<DecisionResult, 'reason' | 'rule' | 'approval'>,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const ticket = decision.approval;
    const waitMs =
      ticket?.expiresAt === undefined
        ? DEFAULT_APPROVAL_MS
        : Math.max(0, ticket.expiresAt - Date.now());
    const prompt = new PersoApprovalPrompt();
    this.prompts = [...this.prompts, prompt];
    this.#host.requestUpdate();
    const webauthn = ticket?.kind === 'webauthn';
    const answer = prompt.ask(
      { tool, args, reason: decision.reason, rule: decision.rule ?? null, webauthn },
      waitMs,
    );
    // The agent cancelled the call while the person was asked: the prompt closes as a "no".
    signal?.addEventListener('abort', () => prompt.cancel(), { once: true });
    if (signal?.aborted === true) prompt.cancel();
    return answer.finally(() => {
      this.prompts = this.prompts.filter((open) => open !== prompt);
      this.#host.requestUpdate();
    });
  }
}

function refusal(reason: string): DecisionResult {
  const kind = reason.startsWith('no principal') ? 'invalid_request' : 'no_policy';
  return { decision: 'Deny', reason, kind, policyVersion: null, enforced: true };
}

function unknownTool(tool: string, known: string) {
  return {
    content: [
      {
        type: 'text' as const,
        text: `unknown tool ${quoteName(tool)}; the tools here are ${known}`,
      },
    ],
    isError: true as const,
  };
}
