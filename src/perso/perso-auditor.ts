/**
 * A `Perso`'s auditor: every decision becomes one record per audit transport (built by
 * `decision-record.ts`), emitted without awaiting the decision. Loaded with an instance that has
 * audit transports, before `Perso.load` resolves: a page without transports never downloads it.
 *
 * Checklist:
 * - emitting never awaits nor throws into the decision path; a record that cannot be built is
 *   reported once (`console.warn`), a failing transport once per transport;
 * - records leave in decision order, even when `hashArgs` hashes the args asynchronously.
 */
import type {
  AuditRecord,
  AuditTransport,
  ToolFacts,
  ToolResultAuditRecord,
} from '../audit/audit-record.ts';
import type { ToolResultRecord } from '../engine/types.ts';
import type { HashKey } from '../audit/hashed-args.ts';
import type { CanonicalArgs } from '../call/canonical-args.ts';
import { canonicalizeArgs } from '../call/canonical-args.ts';
import type { DecisionResult, JsonObject, ToolCall } from '../call/decision.ts';
import { own } from '../call/own-properties.ts';
import { errorText } from '../encoding/text.ts';
import { argsHashKey, decisionRecord, hmacHex, toolResultRecord } from './decision-record.ts';

/** What an audit record keeps of a call's host facts: the copies the engine decided on, and the time. */
export interface RecordedFacts {
  /** The call as decided: the host facts replaced by their canonical copies. */
  call: ToolCall;
  agentAttributes?: JsonObject;
  resourceAttributes?: JsonObject;
  /** Set once the decision has read the time. */
  now?: number;
}

/**
 * Canonical copies of a call's host facts (one JSON pass each), or why one cannot be read. A fact
 * that is not a plain object goes to the engine as it is, which refuses it (never loosened here).
 */
export function recordedFacts(call: ToolCall): RecordedFacts | string {
  const facts: RecordedFacts = { call };
  for (const key of ['agentAttributes', 'resourceAttributes'] as const) {
    // Own facts only: a polluted Object.prototype.resourceAttributes is no host fact.
    const value: unknown = own(call, key);
    if (!isPlainObject(value)) continue;
    const canonical = canonicalizeArgs(value, key);
    if (!canonical.ok) return canonical.error;
    facts.call = { ...facts.call, [key]: canonical.value };
    facts[key] = canonical.value;
  }
  return facts;
}

function isPlainObject(value: unknown): value is object {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Audits the decisions of one `Perso` to its transports. */
export class PersoAuditor {
  readonly #transports: readonly AuditTransport[];
  readonly #hashArgs: boolean;
  /** `hashArgs`' key, or why there is none; `null` without `hashArgs`. */
  readonly #hashKey: Promise<CryptoKey | string> | null = null;
  #warned = new WeakSet<AuditTransport>();
  #broken = false;
  #chain: Promise<void> = Promise.resolve();

  /** Starts making `hashArgs`' key at once. */
  constructor(
    transports: readonly AuditTransport[],
    hashArgs: boolean,
    hashKey: HashKey | undefined,
  ) {
    this.#transports = transports;
    this.#hashArgs = hashArgs;
    if (hashArgs)
      this.#hashKey = argsHashKey(hashKey).then(
        ({ key, warning }) => {
          if (warning !== undefined) console.warn(`perso: ${warning}`);
          return key;
        },
        (error: unknown) => {
          const problem = `hashArgs: the key cannot be had (${errorText(error)}); records carry no args hash`;
          console.warn(`perso: ${problem}`);
          return problem;
        },
      );
  }

  /** {@link recordedFacts}, for the decisions of an audited instance. */
  facts(call: ToolCall): RecordedFacts | string {
    return recordedFacts(call);
  }

  /**
   * Records one decision: one record per transport, in decision order. Never throws into the
   * decision path: a record that cannot be built is reported once, and decisions go on.
   */
  record(
    call: { tool: unknown; role: unknown } | null,
    result: DecisionResult,
    canonical: CanonicalArgs | null,
    facts: RecordedFacts | null,
    policyHash: string | null,
    toolFacts?: ToolFacts,
  ): void {
    const checked = canonical?.ok ? canonical : null;
    let record: AuditRecord;
    try {
      // The checked call's tool and role (plain data, read once), not the caller's object again: a
      // getter must not record another tool than the one decided.
      record = decisionRecord(
        facts?.call ?? call,
        result,
        checked?.value ?? null,
        facts,
        policyHash,
        this.#hashArgs,
        toolFacts,
      );
    } catch (error) {
      this.#lost(error);
      return;
    }
    if (!this.#hashArgs) {
      this.#emit(record);
      return;
    }
    const keyed = this.#hashKey;
    const hash =
      checked === null || keyed === null
        ? Promise.resolve(undefined)
        : keyed
            .then((key) => (typeof key === 'string' ? undefined : hmacHex(key, checked.json)))
            .catch(() => undefined);
    // Records leave in decision order even though hashing is asynchronous.
    this.#chain = this.#chain
      .then(() => hash)
      .then((argsHmac) =>
        this.#emit(argsHmac === undefined ? record : Object.freeze({ ...record, argsHmac })),
      );
  }

  /**
   * Records a tool result the evaluator kept as untrusted content (a replay rebuilds the session
   * from it), in order with the decisions. Never throws.
   */
  recordResult(record: ToolResultRecord): void {
    let entry: ToolResultAuditRecord;
    try {
      entry = toolResultRecord(record, this.#hashArgs);
    } catch (error) {
      this.#lost(error);
      return;
    }
    if (this.#hashArgs) this.#chain = this.#chain.then(() => this.#emit(entry, 'emitResult'));
    else this.#emit(entry, 'emitResult');
  }

  /** Waits until every transport that can say so stored the records emitted so far; rejects when one cannot. */
  async persisted(): Promise<void> {
    await this.#chain;
    await Promise.all(
      this.#transports.map((transport) =>
        typeof transport.persisted === 'function' ? transport.persisted() : undefined,
      ),
    );
  }

  /** Waits for queued records, then closes every transport (one without `close` is flushed). Never rejects. */
  async close(): Promise<void> {
    await this.#chain;
    for (const transport of new Set(this.#transports)) {
      try {
        if (typeof transport.close === 'function') await transport.close();
        else await transport.flush?.();
      } catch (error) {
        this.#warnTransport(transport, error);
      }
    }
  }

  /** Hands `record` to each transport's `method` (`emitResult` is optional). */
  #emit(record: AuditRecord | ToolResultAuditRecord, method: 'emit' | 'emitResult' = 'emit'): void {
    for (const transport of this.#transports) {
      try {
        const returned: unknown = transport[method]?.(record as never);
        if (returned instanceof Promise)
          returned.catch((error: unknown) => this.#warnTransport(transport, error));
      } catch (error) {
        this.#warnTransport(transport, error);
      }
    }
  }

  /** Auditing never throws into the decision path; say once that records are being lost. */
  #lost(error: unknown): void {
    if (!this.#broken)
      console.warn(
        `perso: audit records cannot be built (${errorText(error)}); decisions go on unaudited`,
      );
    this.#broken = true;
  }

  #warnTransport(transport: AuditTransport, error: unknown): void {
    if (this.#warned.has(transport)) return;
    this.#warned.add(transport);
    console.warn(
      `perso: an audit transport failed (${errorText(error)}); its records are being lost — fix the transport (further failures of it are not reported)`,
    );
  }
}
