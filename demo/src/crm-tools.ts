/**
 * The CRM tools an agent may call: the original demo's seven, with its argument shapes, and an
 * inbox to read and supplier payments to send. Each tool has a
 * JSON Schema (what an LLM is shown) and a body that acts on the {@link CrmStore}.
 *
 * The bodies contain no authorization code at all: whether a call may run is perso's decision,
 * made before the body is reached. They only check that the arguments make sense.
 */
import type { JsonObject } from 'perso';
import { UPDATABLE_FIELDS } from './crm-store.ts';
import type { CrmStore, UpdatableField } from './crm-store.ts';

/** The CRM's tool names. */
export const CrmToolName = Object.freeze({
  ViewCustomer: 'view_customer',
  UpdateCustomer: 'update_customer',
  DeleteCustomer: 'delete_customer',
  ExportData: 'export_data',
  ProcessRefund: 'process_refund',
  AccessPii: 'access_pii',
  BulkUpdate: 'bulk_update',
  ReadEmail: 'read_email',
  SendPayment: 'send_payment',
} as const);
/** One of the CRM's tool names. */
export type CrmToolName = (typeof CrmToolName)[keyof typeof CrmToolName];

/** A tool as an OpenAI-compatible model sees it. */
export interface ToolSpec {
  name: CrmToolName;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Readonly<Record<string, unknown>>;
}

const customerId = { type: 'string', description: 'customer id, e.g. C-1042' };

/** What each tool does and takes, as JSON Schema (sent to an LLM endpoint when one is set). */
export const CRM_TOOL_SPECS: readonly ToolSpec[] = Object.freeze([
  {
    name: CrmToolName.ViewCustomer,
    description: 'Look up a customer record by id: name, email, phone, plan and status.',
    parameters: {
      type: 'object',
      properties: { customer_id: customerId },
      required: ['customer_id'],
    },
  },
  {
    name: CrmToolName.UpdateCustomer,
    description: 'Update one field of a customer record. Fields: email, phone, plan, status.',
    parameters: {
      type: 'object',
      properties: {
        customer_id: customerId,
        field: { type: 'string', enum: [...UPDATABLE_FIELDS] },
        value: { type: 'string', description: 'the new value' },
      },
      required: ['customer_id', 'field', 'value'],
    },
  },
  {
    name: CrmToolName.DeleteCustomer,
    description: 'Permanently delete a customer record.',
    parameters: {
      type: 'object',
      properties: { customer_id: customerId },
      required: ['customer_id'],
    },
  },
  {
    name: CrmToolName.ProcessRefund,
    description: 'Refund a customer order, in USD.',
    parameters: {
      type: 'object',
      properties: {
        order_id: { type: 'string', description: 'order id, e.g. ORD-8821' },
        amount: { type: 'number', description: 'refund amount in USD' },
        reason: { type: 'string', description: 'why the refund is given (optional)' },
      },
      required: ['order_id', 'amount'],
    },
  },
  {
    name: CrmToolName.AccessPii,
    description: "Read a customer's personal data: SSN, payment card, email, phone.",
    parameters: {
      type: 'object',
      properties: { customer_id: customerId },
      required: ['customer_id'],
    },
  },
  {
    name: CrmToolName.ExportData,
    description: 'Export a customer report as CSV.',
    parameters: {
      type: 'object',
      properties: {
        report_type: { type: 'string', description: 'e.g. "all customers", "inactive accounts"' },
        date_range: { type: 'string', description: 'e.g. "2026-Q3" or "last 90 days" (optional)' },
      },
      required: ['report_type'],
    },
  },
  {
    name: CrmToolName.BulkUpdate,
    description: 'Set one field on every customer matching a filter such as "status = inactive".',
    parameters: {
      type: 'object',
      properties: {
        filter: { type: 'string', description: 'field = value, e.g. "plan = Starter"' },
        field: { type: 'string', enum: [...UPDATABLE_FIELDS] },
        value: { type: 'string', description: 'the new value' },
      },
      required: ['filter', 'field', 'value'],
    },
  },
  {
    name: CrmToolName.ReadEmail,
    description: 'Read an email of the support inbox by id, e.g. E-301.',
    parameters: {
      type: 'object',
      properties: { email_id: { type: 'string', description: 'email id, e.g. E-301' } },
      required: ['email_id'],
    },
  },
  {
    name: CrmToolName.SendPayment,
    description:
      'Pay a supplier: send an amount in USD to a bank account, with the invoice it pays.',
    parameters: {
      type: 'object',
      properties: {
        account: { type: 'string', description: 'the IBAN to pay, without spaces' },
        amount: { type: 'number', description: 'amount in USD' },
        reference: { type: 'string', description: 'the invoice paid, e.g. INV-2291' },
      },
      required: ['account', 'amount', 'reference'],
    },
  },
]);

/** True when `name` is one of the CRM's tools. */
export function isCrmToolName(name: string): name is CrmToolName {
  return CRM_TOOL_SPECS.some((spec) => spec.name === name);
}

function text(args: Readonly<JsonObject>, key: string): string {
  const value = args[key];
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`argument "${key}" must be a non-empty string`);
  }
  return value.trim();
}

function field(args: Readonly<JsonObject>, key: string): UpdatableField {
  const value = text(args, key);
  if (!(UPDATABLE_FIELDS as readonly string[]).includes(value)) {
    throw new Error(`argument "${key}" is "${value}"; use one of ${UPDATABLE_FIELDS.join(', ')}`);
  }
  return value as UpdatableField;
}

function money(amount: number): string {
  return `$${amount.toFixed(2)}`;
}

/**
 * Runs a tool's body against the CRM and returns its result as text (what the agent reads).
 * Throws with a clear message when the arguments do not fit the tool.
 */
export function runCrmTool(crm: CrmStore, tool: CrmToolName, args: Readonly<JsonObject>): string {
  switch (tool) {
    case CrmToolName.ViewCustomer: {
      const c = crm.customer(text(args, 'customer_id'));
      if (!c) return `customer "${String(args.customer_id)}" not found`;
      return `${c.id} ${c.name}: ${c.email}, ${c.phone}, plan ${c.plan}, ${c.status}, customer since ${c.created_at}`;
    }
    case CrmToolName.UpdateCustomer: {
      const id = text(args, 'customer_id');
      const name = field(args, 'field');
      const value = text(args, 'value');
      const old = crm.updateCustomer(id, name, value);
      return `updated ${id}.${name}: "${old}" → "${value}"`;
    }
    case CrmToolName.DeleteCustomer: {
      const removed = crm.deleteCustomer(text(args, 'customer_id'));
      return `deleted customer ${removed.id} (${removed.name}); the record is gone`;
    }
    case CrmToolName.ProcessRefund: {
      const amount = args.amount;
      if (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0) {
        throw new Error('argument "amount" must be a positive number of dollars');
      }
      const reason =
        typeof args.reason === 'string' && args.reason !== '' ? args.reason : 'not given';
      const order = crm.refund(text(args, 'order_id'), amount, reason);
      const customer = crm.customer(order.customer_id);
      return `refunded ${money(amount)} on ${order.id} (${customer?.name ?? order.customer_id}); reason: ${reason}; expect it in 3–5 business days`;
    }
    case CrmToolName.AccessPii: {
      const c = crm.customer(text(args, 'customer_id'));
      if (!c) return `customer "${String(args.customer_id)}" not found`;
      return `${c.id} ${c.name}: SSN ${c.ssn}, ${c.card_type} ending ${c.card_last4}, ${c.email}, ${c.phone} (this access is audited)`;
    }
    case CrmToolName.ExportData: {
      const report = text(args, 'report_type');
      const range =
        typeof args.date_range === 'string' && args.date_range !== ''
          ? args.date_range
          : 'all time';
      const status = /\b(inactive|active)\b/i.exec(report)?.[1]?.toLowerCase();
      const rows = crm
        .snapshot()
        .customers.filter((c) => status === undefined || c.status === status).length;
      return `export ready: "${report}" (${range}), ${rows} row${rows === 1 ? '' : 's'}, exports/${report.toLowerCase().replace(/\W+/g, '-')}.csv`;
    }
    case CrmToolName.ReadEmail: {
      const email = crm.email(text(args, 'email_id'));
      if (!email)
        return `email "${String(args.email_id)}" not found; the inbox has ${crm.emailIds.join(', ')}`;
      return `${email.id} from ${email.from}, "${email.subject}": ${email.body}`;
    }
    case CrmToolName.SendPayment: {
      const amount = args.amount;
      if (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0)
        throw new Error('argument "amount" must be a positive number of dollars');
      const payment = crm.pay(text(args, 'account'), amount, text(args, 'reference'));
      return `paid ${money(payment.amount)} to ${payment.account} for ${payment.reference}`;
    }
    case CrmToolName.BulkUpdate: {
      const match = /^\s*(\w+)\s*=\s*(.+?)\s*$/.exec(text(args, 'filter'));
      if (!match) throw new Error('argument "filter" must look like "status = inactive"');
      const filterField = field({ filter_field: match[1]! }, 'filter_field');
      const changed = crm.bulkUpdate(
        filterField,
        match[2]!,
        field(args, 'field'),
        text(args, 'value'),
      );
      return `bulk update done: ${changed.length} record(s) where ${filterField} = ${match[2]} now have ${String(args.field)} = "${String(args.value)}"${changed.length ? ` (${changed.join(', ')})` : ''}`;
    }
  }
}

/**
 * Host-owned facts about the call's target, looked up by the page (never taken from the model):
 * the owner of the customer a call names. An unknown customer gives `{}`, which no ownership
 * check can pass.
 */
export function resourceAttributesFor(crm: CrmStore, args: Readonly<JsonObject>): JsonObject {
  const id = args.customer_id;
  if (typeof id !== 'string') return {};
  const customer = crm.customer(id);
  return customer ? { customer_id: customer.id, owner_id: customer.owner_id } : {};
}
