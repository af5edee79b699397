/**
 * The HTTP audit transport: batches records and POSTs them to a collector, retrying with
 * exponential backoff, and hands what is left to `navigator.sendBeacon` when the page is hidden or
 * unloaded. With `format: 'otlp'` the body is OTLP/HTTP JSON logs, so any OpenTelemetry collector
 * (`…/v1/logs`) takes the records without glue.
 *
 * Checklist:
 * - `emit` returns at once and never throws: it only queues (auditing never delays a decision);
 * - a batch leaves the queue only when the server answered 2xx; anything else (non-2xx, network
 *   error, timeout) is a failure: the batch goes back to the front and is retried after
 *   `retryBaseMs · 2^n` (capped at `retryMaxMs`, with jitter);
 * - one POST in flight at a time, so batches arrive in order;
 * - requests use `keepalive` so a POST in flight survives the page unloading; on `pagehide` and on
 *   `visibilitychange` to hidden the rest of the queue goes by `sendBeacon` (or a keepalive fetch
 *   when custom headers are needed, which a beacon cannot carry);
 * - the queue is bounded (`maxQueue`): past it the oldest records are dropped and counted. Use the
 *   IndexedDB transport with `forward` when no record may be lost;
 * - delivery is at least once: a record can arrive twice (beacon after a POST the page never saw
 *   answered); collectors deduplicate by the record's `id`.
 */
import type {
  AuditEntry,
  AuditRecord,
  AuditTransport,
  ToolResultAuditRecord,
} from './audit-record.ts';
import { isToolResultRecord } from './audit-record.ts';
import { unrefTimer } from './unref-timer.ts';

/** Body formats of {@link httpTransport}. */
export const HttpAuditFormat = Object.freeze({
  /** `{"records": [AuditEntry, ...]}` as `application/json`. */
  Json: 'json',
  /** OTLP/HTTP JSON logs: `{"resourceLogs": [{"scopeLogs": [{"logRecords": [...]}]}]}`. */
  Otlp: 'otlp',
} as const);
/** `json` or `otlp`; see {@link HttpAuditFormat}. */
export type HttpAuditFormat = (typeof HttpAuditFormat)[keyof typeof HttpAuditFormat];

/** Options of {@link httpTransport}. */
export interface HttpTransportOptions {
  /** Where to POST; for OTLP, the collector's logs endpoint (`https://collector:4318/v1/logs`). */
  url: string | URL;
  /** Body format; default `json`. */
  format?: HttpAuditFormat;
  /** Records per POST; default 50. */
  batchSize?: number;
  /** Longest a record waits before a POST, in ms; default 1000. */
  flushIntervalMs?: number;
  /** First retry delay, in ms; doubles per consecutive failure; default 500. */
  retryBaseMs?: number;
  /** Longest retry delay, in ms; default 30 000. */
  retryMaxMs?: number;
  /** Most records held in memory; the oldest are dropped past it; default 10 000. */
  maxQueue?: number;
  /** Per-request timeout, in ms; default 10 000. */
  timeoutMs?: number;
  /** Extra request headers (e.g. an API key). Beacons cannot carry them: a keepalive fetch is used instead. */
  headers?: Record<string, string>;
  /** OTLP `service.name`; default `perso`. */
  serviceName?: string;
  /** Flush on `pagehide` and `visibilitychange: hidden`; default true in a page. */
  flushOnHide?: boolean;
  /** The fetch to use; default the global one. */
  fetch?: typeof fetch;
}

/** Delivery counters, for monitoring and tests. */
export interface HttpTransportStats {
  /** Records a server acknowledged with 2xx. */
  sent: number;
  /** Records handed to `sendBeacon` or a keepalive fetch on page hide (not acknowledged). */
  beaconed: number;
  /** POSTs that failed (non-2xx, network error, timeout). */
  failedAttempts: number;
  /** Records dropped because the queue was full. */
  dropped: number;
  /** Records waiting (queued or in flight). */
  pending: number;
}

/** The HTTP transport: an {@link AuditTransport} that can also deliver a batch and say whether it arrived. */
export interface HttpTransport extends AuditTransport {
  emit(record: AuditEntry): void;
  emitResult(record: ToolResultAuditRecord): void;
  /** POSTs everything queued now (ignoring any backoff); resolves when done or when a POST failed. */
  flush(): Promise<void>;
  /**
   * Flushes once (what a POST could not deliver stays counted in `stats().pending`), then stops
   * timers and page listeners. Its timers never keep a Node process alive (they are unref'd).
   */
  close(): Promise<void>;
  /** POSTs these records once, outside the queue; true when the server answered 2xx. */
  deliver(records: readonly AuditEntry[]): Promise<boolean>;
  /** Delivery counters. */
  stats(): HttpTransportStats;
}

const BEACON_MAX_BYTES = 60_000; // the keepalive/beacon quota is 64 KiB per page; keep a margin
const OTLP_SEVERITY = Object.freeze({ INFO: 9, WARN: 13, ERROR: 17 } as const);
const PACKAGE_VERSION = '0.1.0';

/**
 * A transport that POSTs batched records to `options.url`.
 * @example
 * const audit = httpTransport({ url: 'https://otel.example.com/v1/logs', format: 'otlp' });
 * const perso = await Perso.load({ policy: '/policy.json', audit });
 */
export function httpTransport(options: HttpTransportOptions): HttpTransport {
  const url = new URL(options.url, globalThis.location?.href).href;
  const format = options.format ?? 'json';
  const batchSize = Math.max(1, options.batchSize ?? 50);
  const flushIntervalMs = options.flushIntervalMs ?? 1000;
  const retryBaseMs = options.retryBaseMs ?? 500;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const maxQueue = options.maxQueue ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const headers = options.headers ?? {};
  const serviceName = options.serviceName ?? 'perso';
  const doFetch =
    options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));

  const queue: AuditEntry[] = [];
  let inFlight = 0;
  let failures = 0; // consecutive, for the backoff
  let timer: ReturnType<typeof setTimeout> | null = null;
  let timerAt = Infinity;
  let pumping: Promise<void> | null = null;
  let closed = false;
  const counters = { sent: 0, beaconed: 0, failedAttempts: 0, dropped: 0 };

  const encode = (records: readonly AuditEntry[]): string =>
    format === 'otlp' ? JSON.stringify(toOtlp(records, serviceName)) : JSON.stringify({ records });

  async function deliver(records: readonly AuditEntry[]): Promise<boolean> {
    if (records.length === 0) return true;
    const body = encode(records);
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body,
        // keepalive lets the POST finish if the page unloads, but is limited to 64 KiB in flight.
        keepalive: body.length <= BEACON_MAX_BYTES,
        credentials: 'same-origin',
        signal: AbortSignal.timeout(timeoutMs),
      });
      return response.ok;
    } catch {
      return false;
    }
  }

  function schedule(delayMs: number): void {
    if (closed) return;
    const at = Date.now() + delayMs;
    if (timer !== null && timerAt <= at) return;
    if (timer !== null) clearTimeout(timer);
    timerAt = at;
    timer = unrefTimer(
      setTimeout(() => {
        timer = null;
        timerAt = Infinity;
        void pump();
      }, delayMs),
    );
  }

  function pump(): Promise<void> {
    pumping ??= (async () => {
      try {
        while (queue.length > 0) {
          const batch = queue.splice(0, batchSize);
          inFlight = batch.length;
          const ok = await deliver(batch);
          inFlight = 0;
          if (!ok) {
            queue.unshift(...batch);
            counters.failedAttempts++;
            failures++;
            const backoff = Math.min(retryMaxMs, retryBaseMs * 2 ** (failures - 1));
            schedule(backoff / 2 + (Math.random() * backoff) / 2);
            return;
          }
          counters.sent += batch.length;
          failures = 0;
        }
      } finally {
        pumping = null;
      }
    })();
    return pumping;
  }

  function sendRestOnHide(): void {
    if (queue.length === 0) return;
    const records = queue.splice(0);
    let start = 0;
    while (start < records.length) {
      // Largest prefix that fits the beacon quota (at least one record).
      let end = Math.min(records.length, start + batchSize);
      let body = encode(records.slice(start, end));
      while (body.length > BEACON_MAX_BYTES && end - start > 1) {
        end = start + Math.max(1, Math.floor((end - start) / 2));
        body = encode(records.slice(start, end));
      }
      if (!beacon(body)) {
        queue.unshift(...records.slice(start));
        return;
      }
      counters.beaconed += end - start;
      start = end;
    }
  }

  function beacon(body: string): boolean {
    const blob = new Blob([body], { type: 'application/json' });
    try {
      if (
        Object.keys(headers).length === 0 &&
        typeof navigator !== 'undefined' &&
        typeof navigator.sendBeacon === 'function'
      ) {
        if (navigator.sendBeacon(url, blob)) return true;
      }
    } catch {
      // Some browsers refuse non-CORS-safelisted beacon types (https://crbug.com/490015): use fetch.
    }
    if (body.length > BEACON_MAX_BYTES) return false;
    try {
      void doFetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body,
        keepalive: true,
        credentials: 'same-origin',
      }).catch(() => undefined);
      return true;
    } catch {
      return false;
    }
  }

  const onPageHide = (): void => sendRestOnHide();
  const onVisibilityChange = (): void => {
    if (document.visibilityState === 'hidden') sendRestOnHide();
  };
  const listen =
    (options.flushOnHide ?? true) &&
    typeof addEventListener === 'function' &&
    typeof document !== 'undefined';
  if (listen) {
    addEventListener('pagehide', onPageHide);
    document.addEventListener('visibilitychange', onVisibilityChange);
  }

  const emit = (record: AuditEntry): void => {
    try {
      if (closed) return;
      queue.push(record);
      if (queue.length > maxQueue)
        counters.dropped += queue.splice(0, queue.length - maxQueue).length;
      // While backing off, the retry timer is already set: a new record must not cut it short.
      if (failures === 0) schedule(queue.length >= batchSize ? 0 : flushIntervalMs);
      else if (timer === null && pumping === null) schedule(flushIntervalMs);
    } catch {
      // Never throw into the decision path.
    }
  };

  return Object.freeze({
    emit,
    emitResult: emit,
    async flush(): Promise<void> {
      if (timer !== null) {
        clearTimeout(timer);
        timer = null;
        timerAt = Infinity;
      }
      if (pumping !== null) await pumping;
      await pump();
    },
    async close(): Promise<void> {
      await this.flush();
      closed = true;
      if (timer !== null) clearTimeout(timer);
      if (listen) {
        removeEventListener('pagehide', onPageHide);
        document.removeEventListener('visibilitychange', onVisibilityChange);
      }
    },
    deliver,
    stats(): HttpTransportStats {
      return { ...counters, pending: queue.length + inFlight };
    },
  });
}

type OtlpValue = { stringValue: string } | { boolValue: boolean };

/**
 * Audit records as an OTLP/HTTP JSON logs request (one resource, one scope). Exported for hosts
 * that ship records their own way.
 */
export function toOtlp(records: readonly AuditEntry[], serviceName = 'perso'): object {
  return {
    resourceLogs: [
      {
        resource: { attributes: [attribute('service.name', serviceName)] },
        scopeLogs: [
          {
            scope: { name: 'perso', version: PACKAGE_VERSION },
            logRecords: records.map((record) => {
              if (isToolResultRecord(record)) return otlpResult(record);
              const severity = severityOf(record);
              const time = `${BigInt(Date.parse(record.time) || 0) * 1_000_000n}`;
              const attributes = [
                attribute('log.record.uid', record.id),
                attribute('perso.tool', record.tool),
                attribute('perso.role', record.role),
                attribute('perso.decision', record.decision),
                attribute('perso.reason', record.reason),
                attribute('perso.kind', record.kind),
                attribute('perso.enforced', record.enforced),
              ];
              if (record.rule !== null) attributes.push(attribute('perso.rule', record.rule));
              if (record.policyVersion !== null)
                attributes.push(attribute('perso.policy.version', record.policyVersion));
              if (record.policyHash !== null)
                attributes.push(attribute('perso.policy.hash', record.policyHash));
              if (record.args !== undefined)
                attributes.push(attribute('perso.args', JSON.stringify(record.args)));
              if (record.argsHmac !== undefined)
                attributes.push(attribute('perso.args_hmac', record.argsHmac));
              if (record.argsSha256 !== undefined)
                attributes.push(attribute('perso.args_sha256', record.argsSha256));
              return {
                timeUnixNano: time,
                observedTimeUnixNano: time,
                severityNumber: OTLP_SEVERITY[severity],
                severityText: severity,
                eventName: 'perso.decision',
                body: {
                  stringValue: `${record.decision} ${record.tool} as ${record.role}: ${record.reason}`,
                },
                attributes,
              };
            }),
          },
        ],
      },
    ],
  };
}

/** A tool result's record as an OTLP log record (`perso.tool_result`, INFO; the value as JSON text). */
function otlpResult(record: ToolResultAuditRecord): object {
  const time = `${BigInt(Date.parse(record.time) || 0) * 1_000_000n}`;
  const attributes = [attribute('log.record.uid', record.id), attribute('perso.tool', record.tool)];
  if (record.role !== undefined) attributes.push(attribute('perso.role', record.role));
  if (record.session !== undefined) attributes.push(attribute('perso.session', record.session));
  if (record.result !== undefined)
    attributes.push(attribute('perso.result', JSON.stringify(record.result)));
  if (record.withheld !== undefined) attributes.push(attribute('perso.withheld', record.withheld));
  return {
    timeUnixNano: time,
    observedTimeUnixNano: time,
    severityNumber: OTLP_SEVERITY.INFO,
    severityText: 'INFO',
    eventName: 'perso.tool_result',
    body: { stringValue: `result of ${record.tool} kept as untrusted content` },
    attributes,
  };
}

function severityOf(record: AuditRecord): keyof typeof OTLP_SEVERITY {
  if (
    record.kind === 'engine_fault' ||
    record.kind === 'no_policy' ||
    record.kind === 'invalid_request'
  )
    return 'ERROR';
  return record.decision === 'Allow' ? 'INFO' : 'WARN';
}

function attribute(key: string, value: string | boolean): { key: string; value: OtlpValue } {
  return { key, value: typeof value === 'boolean' ? { boolValue: value } : { stringValue: value } };
}
