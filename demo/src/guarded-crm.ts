/**
 * The one path every tool call takes, whichever agent proposed it:
 *
 * 1. the page binds the principal once per session (`perso.session`): the agent never sets it;
 * 2. `session.guard` copies the arguments once into frozen JSON, and the page adds what it owns
 *    about the target (the owner of the customer the call names);
 * 3. perso decides: Allow runs the tool body on that same frozen copy, Deny does not, Ask waits
 *    for a person to approve this exact call;
 * 4. the agent is told the tool's result, or perso's model-facing denial text.
 *
 * Nothing here is specific to the CRM except the tool bodies and the owner lookup.
 */
import type { DecisionResult, JsonObject } from '../../src/decision.ts';
import { denialResult } from '../../src/denial-result.ts';
import type { Perso } from '../../src/perso.ts';
import type { PersoSession } from '../../src/session.ts';
import type { ProposedCall } from './agent.ts';
import type { CrmStore } from './crm-store.ts';
import { isCrmToolName, resourceAttributesFor, runCrmTool } from './crm-tools.ts';
import { agentAttributesOf } from './principal.ts';
import type { Principal } from './principal.ts';

/** The request perso was asked about, as shown in the "last request" panel. */
export interface GuardRequest {
  tool: string;
  args: unknown;
  role: string;
  agentAttributes: Readonly<JsonObject>;
  resourceAttributes: JsonObject | null;
}

/** What a person is shown before an Ask call may run. */
export interface ApprovalRequest {
  tool: string;
  /** The exact (canonical, frozen) arguments the tool will run on. */
  args: Readonly<JsonObject>;
  decision: DecisionResult;
}

/** Asks a person; resolves true only on an explicit approval. */
export type ApprovalPrompt = (request: ApprovalRequest) => Promise<boolean>;

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

/** Shows the arguments as the model sent them, for the panel only (the guard makes its own copy). */
function displayCopy(args: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(args ?? {})) as unknown;
  } catch {
    return '(arguments that are not JSON)';
  }
}

/** The CRM's tools behind perso, for one principal at a time. Fires `change` after each call. */
export class GuardedCrm extends EventTarget {
  readonly #perso: Perso;
  readonly #crm: CrmStore;
  #session: PersoSession;
  #last: GuardedCall | null = null;

  constructor(perso: Perso, crm: CrmStore, principal: Principal) {
    super();
    this.#perso = perso;
    this.#crm = crm;
    this.#session = this.#bind(principal);
  }

  /** The last call decided, for the request/decision panel. */
  get last(): GuardedCall | null {
    return this.#last;
  }

  /** Binds a new principal; a call already deciding keeps the one it started with. */
  setPrincipal(principal: Principal): void {
    this.#session = this.#bind(principal);
  }

  /** Decides one call and runs it only when allowed (or approved). */
  async run(call: ProposedCall, approve: ApprovalPrompt): Promise<GuardedCall> {
    const result = await this.#decideAndRun(call, approve);
    this.#last = result;
    this.dispatchEvent(new Event('change'));
    return result;
  }

  async #decideAndRun(call: ProposedCall, approve: ApprovalPrompt): Promise<GuardedCall> {
    const session = this.#session;
    const request: GuardRequest = {
      tool: call.tool,
      args: displayCopy(call.args),
      role: session.role,
      agentAttributes: session.agentAttributes,
      resourceAttributes: null,
    };
    let approval: GuardedCall['approval'] = 'not-needed';
    const tool = call.tool;

    const guarded = session.guard(tool, (args: Readonly<JsonObject>) => this.#runTool(tool, args), {
      // Looked up by the page from its own data, on the canonical copy perso checks.
      resourceAttributes: (args: Readonly<JsonObject>) => {
        request.resourceAttributes = resourceAttributesFor(this.#crm, args);
        return request.resourceAttributes;
      },
      approve: async (decision: DecisionResult, args: Readonly<JsonObject>) => {
        const approved = await approve({ tool, args, decision });
        approval = approved ? 'approved' : 'refused';
        return approved;
      },
    });
    const outcome = await guarded(call.args as Readonly<JsonObject>);
    const { decision } = outcome;
    if (!outcome.ok) {
      const text = denialResult(decision, { tool, args: call.args, role: session.role }).content[0]
        .text;
      return { request, decision, approval, ran: false, output: '', modelText: text };
    }
    const { ok, text } = outcome.value;
    return { request, decision, approval, ran: ok, output: text, modelText: text };
  }

  /** The tool body, reached only when perso allowed the call. Never throws. */
  #runTool(tool: string, args: Readonly<JsonObject>): { ok: boolean; text: string } {
    if (!isCrmToolName(tool)) return { ok: false, text: `the CRM has no tool "${tool}"` };
    try {
      return { ok: true, text: runCrmTool(this.#crm, tool, args) };
    } catch (error) {
      return {
        ok: false,
        text: `the tool failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }

  #bind(principal: Principal): PersoSession {
    return this.#perso.session({
      role: principal.role,
      agentAttributes: agentAttributesOf(principal),
    });
  }
}
