/**
 * What the chat needs from an agent: read a message, propose a tool call or reply, and after the
 * call (or its denial) say what happened. The in-page planner and the OpenAI-compatible client
 * both fit this, so the guard path behind them is the same.
 */
import type { JsonValue } from 'perso';

/** A tool call the agent wants to make. The page decides whether it runs. */
export interface ProposedCall {
  /** Id the agent uses to match the result to the call. */
  id: string;
  tool: string;
  /** Usually an object; anything else (a model's malformed arguments) is left for perso to deny. */
  args: JsonValue;
}

/** The agent's next move: call a tool, or answer the user. */
export type AgentStep = { kind: 'call'; call: ProposedCall } | { kind: 'reply'; text: string };

/** What the agent is told after its call: the tool's result, or perso's model-facing denial. */
export interface ToolReport {
  callId: string;
  tool: string;
  /** False when the call did not run (denied, not approved, or failed). */
  ran: boolean;
  /** The tool's result text, or the denial text written for the model. */
  text: string;
}

/** An agent the chat can talk to. */
export interface Agent {
  /** Shown in the chat header, e.g. "in-page planner". */
  readonly label: string;
  /** Reads the user's message. */
  receive(message: string): Promise<AgentStep>;
  /** Reads what became of its call; may propose another call. */
  report(report: ToolReport): Promise<AgentStep>;
  /** Forgets the conversation. */
  reset(): void;
}
