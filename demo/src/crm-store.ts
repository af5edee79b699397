/**
 * The mock B2B CRM the demo's tools act on: three customers, three orders, and the refunds and bulk
 * changes made so far. It lives in the page only and is deterministic (no random counts, no clock
 * in the data), so a test can compare two snapshots and know whether a tool changed anything.
 */

/** A customer record. `owner_id` is the manager who owns the account (checked on delete). */
export interface Customer {
  id: string;
  name: string;
  email: string;
  phone: string;
  plan: string;
  status: string;
  owner_id: string;
  created_at: string;
  ssn: string;
  card_last4: string;
  card_type: string;
}

/** An order that can be refunded. */
export interface Order {
  id: string;
  customer_id: string;
  amount: number;
  status: string;
}

/** A refund the CRM has issued. */
export interface Refund {
  order_id: string;
  amount: number;
  reason: string;
}

/** A deep copy of the whole CRM, safe to keep and compare. */
export interface CrmSnapshot {
  revision: number;
  customers: Customer[];
  orders: Order[];
  refunds: Refund[];
}

/** The fields `update_customer` and `bulk_update` may change, as in the original demo. */
export const UPDATABLE_FIELDS = Object.freeze(['email', 'phone', 'plan', 'status'] as const);
/** A field `update_customer` and `bulk_update` may change. */
export type UpdatableField = (typeof UPDATABLE_FIELDS)[number];

function initialCustomers(): Customer[] {
  return [
    {
      id: 'C-1042',
      name: 'Alice Hartwell',
      email: 'alice.hartwell@example.com',
      phone: '+1-555-0192',
      plan: 'Pro',
      status: 'active',
      owner_id: 'mgr-001',
      created_at: '2023-08-14',
      ssn: '***-**-4821',
      card_last4: '4242',
      card_type: 'Visa',
    },
    {
      id: 'C-2038',
      name: 'Daniel Osei',
      email: 'daniel.osei@example.com',
      phone: '+1-555-0374',
      plan: 'Starter',
      status: 'inactive',
      owner_id: 'mgr-001',
      created_at: '2024-01-03',
      ssn: '***-**-7705',
      card_last4: '8833',
      card_type: 'Mastercard',
    },
    {
      id: 'C-9001',
      name: 'Priya Menon',
      email: 'priya.menon@example.com',
      phone: '+1-555-0581',
      plan: 'Enterprise',
      status: 'active',
      owner_id: 'mgr-002',
      created_at: '2022-11-29',
      ssn: '***-**-3390',
      card_last4: '1177',
      card_type: 'Amex',
    },
  ];
}

function initialOrders(): Order[] {
  return [
    { id: 'ORD-8821', customer_id: 'C-1042', amount: 249.99, status: 'delivered' },
    { id: 'ORD-9910', customer_id: 'C-2038', amount: 1899.0, status: 'delivered' },
    { id: 'ORD-5533', customer_id: 'C-9001', amount: 89.5, status: 'delivered' },
  ];
}

/**
 * The CRM's state and the only code that changes it. Every change bumps `revision` and notifies
 * listeners, so the UI redraws and a test can see that a denied call changed nothing.
 */
export class CrmStore extends EventTarget {
  #customers = new Map<string, Customer>();
  #orders = new Map<string, Order>();
  #refunds: Refund[] = [];
  #revision = 0;

  constructor() {
    super();
    this.reset();
  }

  /** Bumped by every change. */
  get revision(): number {
    return this.#revision;
  }

  /** Puts back the three customers and three orders and forgets every refund. */
  reset(): void {
    this.#customers = new Map(initialCustomers().map((c) => [c.id, c]));
    this.#orders = new Map(initialOrders().map((o) => [o.id, o]));
    this.#refunds = [];
    this.#changed();
  }

  /** A customer by id (a copy), or undefined. */
  customer(id: string): Customer | undefined {
    const found = this.#customers.get(id);
    return found ? { ...found } : undefined;
  }

  /** An order by id (a copy), or undefined. */
  order(id: string): Order | undefined {
    const found = this.#orders.get(id);
    return found ? { ...found } : undefined;
  }

  /** A deep copy of everything. */
  snapshot(): CrmSnapshot {
    return structuredClone({
      revision: this.#revision,
      customers: [...this.#customers.values()],
      orders: [...this.#orders.values()],
      refunds: this.#refunds,
    });
  }

  /** Sets one field of one customer; returns the old value. */
  updateCustomer(id: string, field: UpdatableField, value: string): string {
    const customer = this.#mustGetCustomer(id);
    const old = customer[field];
    customer[field] = value;
    this.#changed();
    return old;
  }

  /** Removes a customer for good; returns the removed record. */
  deleteCustomer(id: string): Customer {
    const customer = this.#mustGetCustomer(id);
    this.#customers.delete(id);
    this.#changed();
    return { ...customer };
  }

  /** Records a refund against an order and marks the order refunded. */
  refund(orderId: string, amount: number, reason: string): Order {
    const order = this.#orders.get(orderId);
    if (!order)
      throw new Error(
        `order "${orderId}" not found; known orders: ${[...this.#orders.keys()].join(', ')}`,
      );
    this.#refunds.push({ order_id: orderId, amount, reason });
    order.status = 'refunded';
    this.#changed();
    return { ...order };
  }

  /** Sets `field` to `value` on every customer whose `filterField` equals `filterValue`; returns the ids changed. */
  bulkUpdate(
    filterField: UpdatableField,
    filterValue: string,
    field: UpdatableField,
    value: string,
  ): string[] {
    const changed: string[] = [];
    for (const customer of this.#customers.values()) {
      if (customer[filterField] === filterValue) {
        customer[field] = value;
        changed.push(customer.id);
      }
    }
    this.#changed();
    return changed;
  }

  #mustGetCustomer(id: string): Customer {
    const customer = this.#customers.get(id);
    if (!customer) {
      throw new Error(
        `customer "${id}" not found; known customers: ${[...this.#customers.keys()].join(', ') || 'none'}`,
      );
    }
    return customer;
  }

  #changed(): void {
    this.#revision += 1;
    this.dispatchEvent(new Event('change'));
  }
}
