/**
 * The conversation: user messages go to the agent, the agent's tool calls go through the guard,
 * and everything that happens becomes an entry the chat view renders. Elements render; this class
 * does the async work. Approvals are the guard's own: its prompt shows below the chat, and only a
 * person's click there lets an Ask run.
 */
import type { Agent, AgentStep } from './agent.ts';
import type { ApprovalRequest, GuardedCall, GuardedCrm } from './guarded-crm.ts';

/** One line of the chat. */
export type ChatEntry =
  | { id: number; kind: 'user'; text: string }
  | { id: number; kind: 'agent'; text: string }
  | { id: number; kind: 'error'; text: string }
  | { id: number; kind: 'pending'; tool: string; args: unknown }
  | { id: number; kind: 'approval'; request: ApprovalRequest }
  | { id: number; kind: 'decision'; result: GuardedCall };

/** `Omit` applied to each member of a union (a plain `Omit` would merge the members). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
/** A chat entry before it gets its id. */
type NewEntry = WithoutId<ChatEntry>;

/** An agent may chain calls; the chat stops it after this many in one turn. */
const MAX_CALLS_PER_TURN = 6;

/** Runs turns and keeps the chat's entries. Fires `change` on every new or replaced entry. */
export class ChatController extends EventTarget {
  #entries: ChatEntry[] = [];
  #nextId = 1;
  #busy = false;
  /** Who proposes the tool calls; swapped when the user picks another model. */
  agent: Agent;
  readonly #guard: GuardedCrm;

  constructor(agent: Agent, guard: GuardedCrm) {
    super();
    this.agent = agent;
    this.#guard = guard;
  }

  /** The chat so far. */
  get entries(): readonly ChatEntry[] {
    return this.#entries;
  }

  /** True while a turn is running (the input is disabled). */
  get busy(): boolean {
    return this.#busy;
  }

  /** Clears the chat and the agent's memory. */
  clear(): void {
    this.#entries = [];
    this.agent.reset();
    this.#changed();
  }

  /** Sends one user message and runs the turn to its end. */
  async send(message: string): Promise<void> {
    const text = message.trim();
    if (text === '' || this.#busy) return;
    this.#busy = true;
    this.#push({ kind: 'user', text });
    try {
      let step: AgentStep = await this.agent.receive(text);
      for (let calls = 0; step.kind === 'call'; calls += 1) {
        if (calls === MAX_CALLS_PER_TURN) {
          step = {
            kind: 'reply',
            text: `I stopped after ${MAX_CALLS_PER_TURN} tool calls in one turn; ask again to continue.`,
          };
          break;
        }
        const { call } = step;
        const pending = this.#push({ kind: 'pending', tool: call.tool, args: call.args });
        const result = await this.#guard.run(call, (request) =>
          this.#replace(pending.id, { kind: 'approval', request }),
        );
        this.#replace(pending.id, { kind: 'decision', result });
        step = await this.agent.report({
          callId: call.id,
          tool: call.tool,
          ran: result.ran,
          text: result.modelText,
        });
      }
      if (step.text !== '') this.#push({ kind: 'agent', text: step.text });
    } catch (error) {
      this.#push({ kind: 'error', text: error instanceof Error ? error.message : String(error) });
    } finally {
      this.#busy = false;
      this.#changed();
    }
  }

  #push(entry: NewEntry): ChatEntry {
    const full = { ...entry, id: this.#nextId++ } as ChatEntry;
    this.#entries = [...this.#entries, full];
    this.#changed();
    return full;
  }

  #replace(id: number, entry: NewEntry): void {
    this.#entries = this.#entries.map((e) => (e.id === id ? ({ ...entry, id } as ChatEntry) : e));
    this.#changed();
  }

  #changed(): void {
    this.dispatchEvent(new Event('change'));
  }
}
