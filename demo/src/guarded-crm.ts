/**
 * The CRM's tools behind `<perso-guard>`, and the one path every tool call takes, whichever agent
 * proposed it:
 *
 * 1. the page registers each tool body with the guard, with what the page owns about a call's
 *    target (the owner of the customer it names); the principal is the guard's `role` and
 *    `agentAttributes`, set by the page from its own controls, never by the agent;
 * 2. the agent's call goes to `guard.call(tool, args)`: perso copies the arguments once into frozen
 *    JSON and decides. Allow runs the body on that copy, Deny does not, Ask shows the guard's
 *    prompt and runs the body only if a person approves this exact call;
 * 3. the agent is told the tool's result, or perso's model-facing denial text.
 *
 * Nothing here is specific to the CRM except the tool bodies and the owner lookup.
 */
import type { DecisionResult, JsonObject } from 'perso';
import { isDenialResult } from 'perso/element';
import type { PersoDecisionEvent, PersoGuardElement } from 'perso/element';
import type { ProposedCall } from './agent.ts';
import type { CrmStore } from './crm-store.ts';
import { CrmToolName, resourceAttributesFor, runCrmTool } from './crm-tools.ts';

/** The request perso was asked about, as shown in the "last request" panel. */
export interface GuardRequest {
  tool: string;
  args: unknown;
  role: string;
  agentAttributes: Readonly<JsonObject>;
  resourceAttributes: JsonObject | null;
}

/** An Ask the guard is showing a person, for the chat to say so while it waits. */
export interface ApprovalRequest {
  tool: string;
  /** The exact (canonical) arguments the tool will run on if approved. */
  args: unknown;
  decision: DecisionResult;
}

/** What became of one proposed call. */
export interface GuardedCall {
  request: GuardRequest;
  decision: DecisionResult;
  /** For Ask: whether a person approved. */
  approval: 'not-needed' | 'approved' | 'refused';
  /** True when the tool body ran to completion (Allow, approved Ask, or shadow mode). */
  ran: boolean;
  /** The tool's result text, or why it failed; empty when it did not run. */
  output: string;
  /** What the agent is told. */
  modelText: string;
}

/** What a CRM tool body answers the guard (and, through it, the agent). */
interface ToolOutput {
  ok: boolean;
  text: string;
}

/** Shows the arguments as the model sent them, for the panel only (the guard makes its own copy). */
function displayCopy(args: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(args ?? {})) as unknown;
  } catch {
    return '(arguments that are not JSON)';
  }
}

function isToolOutput(value: unknown): value is ToolOutput {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as ToolOutput).ok === 'boolean' &&
    typeof (value as ToolOutput).text === 'string'
  );
}

/** The CRM's tools, registered with one `<perso-guard>`. Fires `change` after each call. */
export class GuardedCrm extends EventTarget {
  readonly #crm: CrmStore;
  #guard: PersoGuardElement | null = null;
  #last: GuardedCall | null = null;
  /** The owner lookup of the call being decided (calls run one at a time, from the chat). */
  #resourceAttributes: JsonObject | null = null;

  constructor(crm: CrmStore) {
    super();
    this.#crm = crm;
  }

  /** The last call decided, for the request/decision panel. */
  get last(): GuardedCall | null {
    return this.#last;
  }

  /** Registers every CRM tool with the page's guard. */
  attach(guard: PersoGuardElement): void {
    this.#guard = guard;
    for (const tool of Object.values(CrmToolName)) {
      guard.register<JsonObject, ToolOutput>(tool, (args) => this.#runTool(tool, args), {
        // Looked up by the page from its own data, on the canonical copy perso checks.
        resourceAttributes: (args) => {
          this.#resourceAttributes = resourceAttributesFor(this.#crm, args);
          return this.#resourceAttributes;
        },
      });
    }
  }

  /**
   * Sends one call through the guard and says what became of it.
   *
   * @param call what the agent proposed
   * @param asking told when the guard asks a person (its prompt shows below the chat)
   */
  async run(call: ProposedCall, asking: (request: ApprovalRequest) => void): Promise<GuardedCall> {
    const guard = this.#guard;
    if (guard === null) throw new Error('the guard is not on the page yet; wait for it to render');
    const request: GuardRequest = {
      tool: call.tool,
      args: displayCopy(call.args),
      role: guard.role ?? '',
      agentAttributes: guard.agentAttributes ?? {},
      resourceAttributes: null,
    };
    this.#resourceAttributes = null;
    // The guard reports each decision as it makes it: an Ask when it asks, and the decision the
    // call finally ran (or did not run) on.
    const decisions: DecisionResult[] = [];
    const onDecision = (event: PersoDecisionEvent): void => {
      if (event.tool !== call.tool) return;
      decisions.push(event.decision);
      if (event.decision.decision === 'Ask')
        asking({ tool: call.tool, args: event.args, decision: event.decision });
    };
    guard.addEventListener('perso-decision', onDecision);
    let answer: unknown;
    try {
      answer = await guard.call(call.tool, call.args);
    } finally {
      guard.removeEventListener('perso-decision', onDecision);
    }
    request.resourceAttributes = this.#resourceAttributes;
    const result = this.#outcome(request, decisions, answer, guard);
    this.#last = result;
    this.dispatchEvent(new Event('change'));
    return result;
  }

  #outcome(
    request: GuardRequest,
    decisions: readonly DecisionResult[],
    answer: unknown,
    guard: PersoGuardElement,
  ): GuardedCall {
    const asked = decisions.some((decision) => decision.decision === 'Ask');
    // A tool the page never registered is refused by the guard before any policy is asked.
    const decision = decisions.at(-1) ?? {
      decision: 'Deny',
      reason: refusalText(answer),
      kind: 'invalid_request',
      policyVersion: guard.policyStatus?.version ?? null,
      enforced: true,
    };
    if (isToolOutput(answer)) {
      const { ok, text } = answer;
      const approval = asked ? 'approved' : 'not-needed';
      return { request, decision, approval, ran: ok, output: text, modelText: text };
    }
    const text = refusalText(answer);
    // Asked and then decided again: a person approved, but the approval was not honoured.
    const approval = !asked ? 'not-needed' : decisions.length > 1 ? 'approved' : 'refused';
    return { request, decision, approval, ran: false, output: '', modelText: text };
  }

  /** The tool body, reached only when perso allowed the call. Never throws. */
  #runTool(tool: CrmToolName, args: Readonly<JsonObject>): ToolOutput {
    try {
      return { ok: true, text: runCrmTool(this.#crm, tool, args) };
    } catch (error) {
      return {
        ok: false,
        text: `the tool failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }
}

/** The text of a denial (or of any error result the guard answered). */
function refusalText(answer: unknown): string {
  if (isDenialResult(answer)) return answer.content[0].text;
  const content = (answer as { content?: { text?: unknown }[] } | null)?.content;
  const text = Array.isArray(content) ? content[0]?.text : undefined;
  return typeof text === 'string' ? text : 'the guard refused the call';
}
