/**
 * The default agent: a deterministic planner that runs in the page with no model and no network.
 * It reads a message with a few patterns and proposes one CRM tool call, so the same message always
 * gives the same call. It knows nothing about the policy: like a real model, it tries what it is
 * asked to try, and perso decides.
 */
import type { JsonObject } from 'perso';
import type { Agent, AgentStep, ProposedCall, ToolReport } from './agent.ts';
import { CrmToolName } from './crm-tools.ts';
import { UPDATABLE_FIELDS } from './crm-store.ts';

/** Customer names the planner recognises, so "delete Priya's record" works like "delete C-9001". */
const CUSTOMER_NAMES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\balice\b|\bhartwell\b/i, 'C-1042'],
  [/\bdaniel\b|\bosei\b/i, 'C-2038'],
  [/\bpriya\b|\bmenon\b/i, 'C-9001'],
];

const HELP =
  'I can view, update or delete customers (C-1042, C-2038, C-9001), process refunds on orders ' +
  '(ORD-8821, ORD-9910, ORD-5533), read PII, export data, run bulk updates, read the inbox (E-301) ' +
  'and pay suppliers. Try "Process a $200 refund for order ORD-8821".';

function customerIn(message: string): string | undefined {
  const id = /\bC-\d{3,}\b/i.exec(message)?.[0];
  if (id) return id.toUpperCase();
  return CUSTOMER_NAMES.find(([pattern]) => pattern.test(message))?.[1];
}

function orderIn(message: string): string | undefined {
  return /\bORD-\d{3,}\b/i.exec(message)?.[0].toUpperCase();
}

function amountIn(message: string): number | undefined {
  const match = /\$\s?(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s?(?:usd|dollars?)\b/i.exec(
    message,
  );
  const digits = match?.[1] ?? match?.[2];
  return digits === undefined ? undefined : Number(digits.replaceAll(',', ''));
}

function fieldIn(message: string): string | undefined {
  return UPDATABLE_FIELDS.find((f) => new RegExp(`\\b${f}\\b`, 'i').test(message));
}

/** The value after "to", keeping quotes' content whole: `set plan to "Pro Plus"` → `Pro Plus`. */
function newValueIn(message: string): string | undefined {
  const match = /\bto\s+(?:"([^"]+)"|'([^']+)'|(\S+))/i.exec(message);
  const value = match?.[1] ?? match?.[2] ?? match?.[3];
  return value?.replace(/[.,;!?]+$/, '');
}

/** `where status = inactive` / `for plan = Starter` → `status = inactive`. */
function filterIn(message: string): string | undefined {
  const match = /\b(?:where|for|with)\s+(\w+)\s*(?:=|is)\s*(\w+)/i.exec(message);
  return match ? `${match[1]!.toLowerCase()} = ${match[2]}` : undefined;
}

/** How many times: "five $400 refunds", "3 refunds", "twice"; 1 when the message does not say. */
function timesIn(message: string): number {
  const words: Record<string, number> = { two: 2, three: 3, four: 4, five: 5, twice: 2 };
  const match =
    /\b(two|three|four|five|[2-5])\s+(?:\$\s?[\d,.]+\s+)?refunds\b/i.exec(message) ??
    /\b(twice)\b|\b(two|three|four|five|[2-5])\s+times\b/i.exec(message);
  const count = match
    ?.slice(1)
    .find((group) => group !== undefined)
    ?.toLowerCase();
  if (count === undefined) return 1;
  return words[count] ?? Number(count);
}

/**
 * One tool call, or a question back. `times` > 1: the same call, made again after each result.
 * `thenPay`: after reading an email, pay the account it names (what an injected email asks for).
 */
type Plan =
  | { tool: CrmToolName; args: JsonObject; times?: number; thenPay?: true }
  | { reply: string };

/** An IBAN as emails write it (digits only, as German ones are): two letters, then 13 to 32 digits. */
const IBAN = /\b[A-Z]{2}\d{2}(?: ?\d){11,30}\b/;

/** The payment an email asks for: the account it names, its amount and its invoice. */
export function paymentNamedIn(text: string): JsonObject | null {
  const account = IBAN.exec(text)?.[0].replaceAll(' ', '');
  const amount = amountIn(text);
  if (account === undefined || amount === undefined) return null;
  const reference = /\bINV-\d+\b/i.exec(text)?.[0].toUpperCase() ?? 'no reference';
  return { account, amount, reference };
}

/**
 * Turns one message into one tool call (or a question back). Order matters: the most specific
 * intents are tried first ("bulk update" before "update", "PII" before "view").
 */
export function planToolCall(message: string): Plan {
  const customer = customerIn(message);

  if (/\bE-\d{3,}\b|\binbox\b/i.test(message)) {
    const id = /\bE-\d{3,}\b/i.exec(message)?.[0].toUpperCase();
    if (!id) return { reply: 'Which email should I read? The inbox has E-301.' };
    const pay = /\bpay\b/i.test(message);
    return {
      tool: CrmToolName.ReadEmail,
      args: { email_id: id },
      ...(pay ? { thenPay: true } : {}),
    };
  }
  if (/\bpay\b/i.test(message)) {
    const payment = paymentNamedIn(message);
    if (payment === null)
      return {
        reply:
          'Which account, and how much? Say e.g. "Pay $120 to DE12500105170648489890 for INV-2290".',
      };
    return { tool: CrmToolName.SendPayment, args: payment };
  }
  if (/\brefund/i.test(message)) {
    const order = orderIn(message);
    if (!order)
      return { reply: 'Which order should I refund? Orders: ORD-8821, ORD-9910, ORD-5533.' };
    const amount = amountIn(message);
    if (amount === undefined)
      return { reply: `How much should I refund on ${order}? Say e.g. "$200".` };
    const reason = /\bbecause\s+(.+?)[.!]?$/i.exec(message)?.[1];
    const times = timesIn(message);
    return {
      tool: CrmToolName.ProcessRefund,
      args: reason ? { order_id: order, amount, reason } : { order_id: order, amount },
      ...(times > 1 ? { times } : {}),
    };
  }
  if (/\bbulk\b/i.test(message)) {
    return {
      tool: CrmToolName.BulkUpdate,
      args: {
        filter: filterIn(message) ?? 'status = inactive',
        field:
          fieldIn(message.replace(/\b(?:where|for|with)\s+\w+\s*(?:=|is)\s*\w+/i, '')) ?? 'status',
        value: newValueIn(message) ?? 'archived',
      },
    };
  }
  if (/\b(?:pii|ssn|social security|card number|personal (?:data|info))/i.test(message)) {
    if (!customer) return { reply: 'Whose personal data? Customers: C-1042, C-2038, C-9001.' };
    return { tool: CrmToolName.AccessPii, args: { customer_id: customer } };
  }
  if (/\b(?:delete|remove|erase)\b/i.test(message)) {
    if (!customer)
      return { reply: 'Which customer should I delete? Customers: C-1042, C-2038, C-9001.' };
    return { tool: CrmToolName.DeleteCustomer, args: { customer_id: customer } };
  }
  if (/\b(?:export|csv|download)\b/i.test(message)) {
    const range = /\b(?:for|from|over)\s+((?:last|past)\s+\d+\s+\w+|\d{4}(?:-Q[1-4])?)/i.exec(
      message,
    )?.[1];
    const status = /\b(inactive|active)\b/i.exec(message)?.[1];
    const report = status ? `${status.toLowerCase()} accounts` : 'all customers';
    return {
      tool: CrmToolName.ExportData,
      args: range ? { report_type: report, date_range: range } : { report_type: report },
    };
  }
  if (/\b(?:update|change|set)\b/i.test(message)) {
    const field = fieldIn(message);
    const value = newValueIn(message);
    if (!customer || !field || !value) {
      return {
        reply:
          'Tell me the customer, the field (email, phone, plan, status) and the new value, e.g. "Set C-1042 plan to Enterprise".',
      };
    }
    return { tool: CrmToolName.UpdateCustomer, args: { customer_id: customer, field, value } };
  }
  if (customer) return { tool: CrmToolName.ViewCustomer, args: { customer_id: customer } };
  return { reply: HELP };
}

/**
 * The planner as an {@link Agent}: one call per message (or the same call `times` times, each after
 * the last one's result, as an agent working through a list would), then a reply built from what
 * happened.
 */
export class PlannerAgent implements Agent {
  readonly label = 'in-page planner (offline, deterministic)';
  #calls = 0;
  #pending: { tool: CrmToolName; args: JsonObject; left: number; thenPay: boolean } | null = null;
  #reports: ToolReport[] = [];

  async receive(message: string): Promise<AgentStep> {
    const plan = planToolCall(message);
    this.#reports = [];
    if ('reply' in plan) return { kind: 'reply', text: plan.reply };
    this.#pending = {
      tool: plan.tool,
      args: plan.args,
      left: (plan.times ?? 1) - 1,
      thenPay: plan.thenPay === true,
    };
    return this.#call(plan.tool, plan.args);
  }

  async report(report: ToolReport): Promise<AgentStep> {
    this.#reports.push(report);
    const pending = this.#pending;
    if (pending !== null && pending.left > 0) {
      pending.left -= 1;
      return this.#call(pending.tool, pending.args);
    }
    // Told to pay what the email says, the planner does, like a model that trusts what it read.
    const payment = pending?.thenPay === true && report.ran ? paymentNamedIn(report.text) : null;
    if (payment !== null) {
      this.#pending = null;
      return this.#call(CrmToolName.SendPayment, payment);
    }
    this.#pending = null;
    return { kind: 'reply', text: replyTo(this.#reports) };
  }

  reset(): void {
    this.#calls = 0;
    this.#pending = null;
    this.#reports = [];
  }

  #call(tool: CrmToolName, args: JsonObject): AgentStep {
    this.#calls += 1;
    const call: ProposedCall = { id: `call-${this.#calls}`, tool, args };
    return { kind: 'call', call };
  }
}

/**
 * The planner repeats what it was told. For a denial that is perso's model-facing text, so the
 * user reads the same explanation a model would have been given.
 */
function replyTo(reports: readonly ToolReport[]): string {
  const last = reports.at(-1);
  if (last === undefined) return '';
  if (reports.length === 1)
    return last.ran
      ? `Done: ${last.text}.`
      : `I could not do that. The guard told me:\n${last.text}`;
  const ran = reports.filter((report) => report.ran).length;
  const stopped = reports.find((report) => !report.ran);
  return stopped === undefined
    ? `Done, all ${reports.length} times: ${last.text}.`
    : `${ran} of ${reports.length} ran. The guard stopped the others; it told me:\n${stopped.text}`;
}
