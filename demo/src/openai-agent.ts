/**
 * An agent backed by any OpenAI-compatible chat completions endpoint (OpenAI, Groq, a local
 * llama.cpp or Ollama server...). The model proposes tool calls; the page guards them exactly as
 * it guards the planner's, and the model is sent the tool's result or perso's denial text.
 *
 * The API key stays in this object (and in the settings form). It is sent only to the base URL the
 * user typed, and stored only if the user ticks "remember on this device".
 */
import type { JsonValue } from 'perso';
import type { Agent, AgentStep, ToolReport } from './agent.ts';
import { CRM_TOOL_SPECS } from './crm-tools.ts';

/** Where and how to reach the model. */
export interface EndpointSettings {
  /** e.g. `https://api.groq.com/openai/v1` or `http://127.0.0.1:11434/v1`. */
  baseUrl: string;
  model: string;
  /** May be empty for local servers that need none. */
  apiKey: string;
}

interface ToolCallMessage {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCallMessage[] }
  | { role: 'tool'; tool_call_id: string; content: string };

const SYSTEM_PROMPT = `You are the assistant of a B2B CRM. Use the tools to do what the user asks.
Customers: C-1042 (Alice Hartwell), C-2038 (Daniel Osei), C-9001 (Priya Menon).
Orders: ORD-8821 ($249.99), ORD-9910 ($1,899.00), ORD-5533 ($89.50).
Every tool call is checked by the page's access policy before it runs. When a call is denied, tell
the user plainly why, using the text you are given, and do not retry the same call.
Be brief.`;

/** Reads the first tool call of an assistant message; arguments that are not JSON stay a string. */
function parseArguments(raw: string): JsonValue {
  try {
    return JSON.parse(raw === '' ? '{}' : raw) as JsonValue;
  } catch {
    // Let perso see the malformed arguments and deny them, rather than guessing what was meant.
    return raw;
  }
}

/** An {@link Agent} that asks a model through an OpenAI-compatible `/chat/completions` endpoint. */
export class OpenAiCompatibleAgent implements Agent {
  readonly label: string;
  readonly #settings: EndpointSettings;
  #messages: ChatMessage[] = [{ role: 'system', content: SYSTEM_PROMPT }];

  constructor(settings: EndpointSettings) {
    this.#settings = { ...settings, baseUrl: settings.baseUrl.trim().replace(/\/+$/, '') };
    this.label = `${settings.model} at ${URL.canParse(this.#settings.baseUrl) ? new URL(this.#settings.baseUrl).host : this.#settings.baseUrl}`;
  }

  async receive(message: string): Promise<AgentStep> {
    this.#messages.push({ role: 'user', content: message });
    return this.#complete();
  }

  async report(report: ToolReport): Promise<AgentStep> {
    this.#messages.push({ role: 'tool', tool_call_id: report.callId, content: report.text });
    return this.#complete();
  }

  reset(): void {
    this.#messages = [{ role: 'system', content: SYSTEM_PROMPT }];
  }

  async #complete(): Promise<AgentStep> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#settings.apiKey !== '') headers.authorization = `Bearer ${this.#settings.apiKey}`;
    let response: Response;
    try {
      response = await fetch(`${this.#settings.baseUrl}/chat/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          model: this.#settings.model,
          messages: this.#messages,
          tools: CRM_TOOL_SPECS.map((spec) => ({ type: 'function', function: spec })),
          tool_choice: 'auto',
          parallel_tool_calls: false,
        }),
      });
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new Error(
        `could not reach the model endpoint "${this.#settings.baseUrl}" (${detail}); check the URL, that the server runs, and that it allows this page's origin (CORS)`,
      );
    }
    if (!response.ok) {
      const detail = (await response.text()).slice(0, 300);
      throw new Error(
        `the model endpoint answered ${response.status}: ${detail || response.statusText}; check the base URL, model and key`,
      );
    }
    const body = (await response.json()) as {
      choices?: Array<{ message?: { content?: string | null; tool_calls?: ToolCallMessage[] } }>;
    };
    const message = body.choices?.[0]?.message;
    if (!message)
      throw new Error('the model endpoint sent no message; check that it is OpenAI-compatible');

    const first = message.tool_calls?.[0];
    if (!first) {
      const text = message.content ?? '';
      this.#messages.push({ role: 'assistant', content: text });
      return { kind: 'reply', text };
    }
    // One call at a time, like the original demo: the history keeps only the call that was guarded,
    // so every tool_call_id the model sees has exactly one answer.
    this.#messages.push({
      role: 'assistant',
      content: message.content ?? null,
      tool_calls: [first],
    });
    const args = parseArguments(first.function.arguments);
    return { kind: 'call', call: { id: first.id, tool: first.function.name, args } };
  }
}
