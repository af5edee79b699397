// The HTTP and IndexedDB audit transports against real endpoints (the test runner's /__perso__/
// sinks), real IndexedDB, real sendBeacon, and a real page teardown (an iframe) for "reload mid-flush".
import { expect } from 'chai';
import { httpTransport } from '../../src/audit/http-transport.ts';
import { indexedDbTransport } from '../../src/audit/indexeddb-transport.ts';
import type { AuditRecord, AuditTransport } from '../../src/audit/audit-record.ts';
import { PolicyStore } from '../../src/policy/policy-store.ts';
import { Perso } from '../../src/perso/perso.ts';
import {
  dropStores,
  fileUrl,
  freshStore,
  readSink,
  scriptSink,
  sinkUrl,
  uniqueName,
  waitFor,
} from './helpers/perso-server.ts';

function record(n: number, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    id: `rec-${n}-${crypto.randomUUID()}`,
    time: new Date(1764000000000 + n).toISOString(),
    tool: 'process_refund',
    role: 'agent',
    decision: 'Deny',
    reason: "rule matched tool 'process_refund' for role 'agent'; condition failed",
    kind: 'condition_failed',
    rule: 'refund-limit',
    policyVersion: 'perso-1.0.0',
    policyHash: 'ab'.repeat(32),
    enforced: true,
    args: { amount: 800 + n },
    ...overrides,
  };
}

const idsIn = (received: { body: string }[]) =>
  received.flatMap((r) =>
    (JSON.parse(r.body) as { records: AuditRecord[] }).records.map((x) => x.id),
  );

describe('audit: http transport', () => {
  const transports: AuditTransport[] = [];
  afterEach(async () => {
    for (const t of transports.splice(0)) await t.close?.();
  });
  const make = (options: Parameters<typeof httpTransport>[0]) => {
    const t = httpTransport(options);
    transports.push(t);
    return t;
  };

  it('batches: 7 records with batchSize 3 arrive as 3 POSTs of 3, 3 and 1, in order', async () => {
    const sink = uniqueName('batch');
    const audit = make({ url: sinkUrl(sink), batchSize: 3, flushIntervalMs: 60_000 });
    const records = Array.from({ length: 7 }, (_, i) => record(i));
    for (const r of records) expect(audit.emit(r)).to.equal(undefined);
    await audit.flush();
    const { received } = await readSink(sink);
    expect(
      received.map((r) => (JSON.parse(r.body) as { records: unknown[] }).records.length),
    ).to.deep.equal([3, 3, 1]);
    expect(received[0]!.contentType).to.equal('application/json');
    expect(idsIn(received)).to.deep.equal(records.map((r) => r.id));
    expect(audit.stats()).to.include({ sent: 7, pending: 0, failedAttempts: 0 });
  });

  it('sends by itself after flushIntervalMs, without a flush call', async () => {
    const sink = uniqueName('interval');
    const audit = make({ url: sinkUrl(sink), flushIntervalMs: 30 });
    audit.emit(record(1));
    audit.emit(record(2));
    await waitFor(async () => (await readSink(sink)).received.length === 1);
    expect(idsIn((await readSink(sink)).received)).to.have.length(2);
  });

  it('server answers 503 twice: counted as failures, retried with backoff, delivered once on the third try', async () => {
    const sink = uniqueName('retry');
    await scriptSink(sink, { failures: 2, status: 503 });
    const audit = make({ url: sinkUrl(sink), retryBaseMs: 150, flushIntervalMs: 60_000 });
    const r = record(1);
    audit.emit(r);
    await audit.flush();
    expect(audit.stats()).to.include({ sent: 0, pending: 1, failedAttempts: 1 });
    // Backoff: no immediate hammering after a failure.
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect((await readSink(sink)).attempts).to.equal(1);
    await waitFor(async () => (await readSink(sink)).received.length === 1);
    const sinkState = await readSink(sink);
    expect(sinkState.attempts).to.equal(3);
    expect(idsIn(sinkState.received)).to.deep.equal([r.id]);
    expect(audit.stats()).to.include({ sent: 1, pending: 0, failedAttempts: 2 });
  });

  it('server answers 404 (non-2xx): counted as a failure, the record stays queued', async () => {
    const audit = make({
      url: fileUrl(uniqueName('no-such-endpoint')),
      retryBaseMs: 60_000,
      flushIntervalMs: 60_000,
    });
    audit.emit(record(1));
    await audit.flush();
    expect(audit.stats()).to.include({ sent: 0, pending: 1, failedAttempts: 1 });
    expect(await audit.deliver([record(2)])).to.equal(false);
  });

  it('pagehide: what is queued goes out by sendBeacon at once', async () => {
    const sink = uniqueName('pagehide');
    const audit = make({ url: sinkUrl(sink), flushIntervalMs: 60_000 });
    const records = [record(1), record(2), record(3)];
    for (const r of records) audit.emit(r);
    dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false }));
    expect(audit.stats()).to.include({ beaconed: 3, pending: 0 });
    await waitFor(async () => (await readSink(sink)).received.length === 1);
    expect(idsIn((await readSink(sink)).received)).to.deep.equal(records.map((r) => r.id));
  });

  it('visibilitychange to hidden: what is queued goes out by sendBeacon', async () => {
    const sink = uniqueName('hidden');
    const audit = make({ url: sinkUrl(sink), flushIntervalMs: 60_000 });
    audit.emit(record(1));
    // Headless Chromium keeps the page visible: report "hidden" for this one event.
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    try {
      document.dispatchEvent(new Event('visibilitychange'));
    } finally {
      delete (document as { visibilityState?: unknown }).visibilityState;
    }
    expect(document.visibilityState).to.equal('visible');
    expect(audit.stats().beaconed).to.equal(1);
    await waitFor(async () => (await readSink(sink)).received.length === 1);
  });

  it('format otlp: OTLP/HTTP JSON log records with time, severity, body and attributes', async () => {
    const sink = uniqueName('otlp');
    const audit = make({
      url: sinkUrl(sink),
      format: 'otlp',
      serviceName: 'shop',
      flushIntervalMs: 60_000,
    });
    const denied = record(1);
    const allowed = record(2, {
      decision: 'Allow',
      kind: 'no_condition',
      args: undefined,
      argsSha256: 'cd'.repeat(32),
    });
    audit.emit(denied);
    audit.emit(allowed);
    await audit.flush();
    const { received } = await readSink(sink);
    expect(received).to.have.length(1);
    const body = JSON.parse(received[0]!.body);
    const resource = body.resourceLogs[0];
    expect(resource.resource.attributes).to.deep.include({
      key: 'service.name',
      value: { stringValue: 'shop' },
    });
    const logs = resource.scopeLogs[0].logRecords;
    expect(resource.scopeLogs[0].scope.name).to.equal('perso');
    expect(logs).to.have.length(2);
    expect(logs[0].timeUnixNano).to.equal(`${Date.parse(denied.time)}000000`);
    expect(logs[0].severityText).to.equal('WARN');
    expect(logs[0].severityNumber).to.equal(13);
    expect(logs[1].severityText).to.equal('INFO');
    expect(logs[0].body.stringValue).to.equal(`Deny process_refund as agent: ${denied.reason}`);
    const attrs = (i: number) =>
      Object.fromEntries(
        logs[i].attributes.map((a: { key: string; value: object }) => [
          a.key,
          Object.values(a.value)[0],
        ]),
      );
    expect(attrs(0)).to.include({
      'log.record.uid': denied.id,
      'perso.decision': 'Deny',
      'perso.rule': 'refund-limit',
      'perso.enforced': true,
      'perso.policy.version': 'perso-1.0.0',
      'perso.args': '{"amount":801}',
    });
    expect(attrs(1)['perso.args_sha256']).to.equal('cd'.repeat(32));
    expect(attrs(1)).to.not.have.property('perso.args');
  });
});

describe('audit: indexeddb transport', () => {
  afterEach(dropStores);

  it('survives a reload: records emitted before closing are all there in a fresh instance, in order', async () => {
    const store = freshStore();
    const first = indexedDbTransport({ store });
    const records = Array.from({ length: 25 }, (_, i) => record(i));
    for (const r of records) first.emit(r);
    await first.persisted();
    await store.close();
    const reopened = new PolicyStore(store.name);
    const second = indexedDbTransport({ store: reopened });
    expect(await second.count()).to.equal(25);
    const ndjson = await second.exportNdjson();
    expect(ndjson.endsWith('\n')).to.equal(true);
    const lines = ndjson.trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as AuditRecord).id)).to.deep.equal(
      records.map((r) => r.id),
    );
    expect(JSON.parse(lines[3]!)).to.deep.equal(records[3]);
    await second.close();
    await reopened.close();
  });

  it('drainNdjson exports the queue and deletes exactly what it exported', async () => {
    const store = freshStore();
    const audit = indexedDbTransport({ store });
    for (let i = 0; i < 5; i++) audit.emit(record(i));
    const drained = (await audit.drainNdjson()).trimEnd().split('\n');
    expect(drained).to.have.length(5);
    expect(await audit.count()).to.equal(0);
    const later = record(5);
    audit.emit(later);
    expect(
      (await audit.drainNdjson())
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as AuditRecord).id),
    ).to.deep.equal([later.id]);
    await audit.close();
  });

  it('forwards to the HTTP transport and deletes only what was delivered', async () => {
    const sink = uniqueName('forward');
    const store = freshStore();
    const audit = indexedDbTransport({
      store,
      batchSize: 4,
      forward: httpTransport({ url: sinkUrl(sink), flushOnHide: false }),
    });
    const records = Array.from({ length: 10 }, (_, i) => record(i));
    for (const r of records) audit.emit(r);
    await audit.flush();
    expect(await audit.count()).to.equal(0);
    const { received } = await readSink(sink);
    expect(received).to.have.length(3);
    expect(idsIn(received)).to.deep.equal(records.map((r) => r.id));
  });

  it('forward target answers 500: nothing is deleted; after it recovers everything arrives once', async () => {
    const sink = uniqueName('forward-fail');
    await scriptSink(sink, { failures: 1, status: 500 });
    const store = freshStore();
    const audit = indexedDbTransport({
      store,
      retryBaseMs: 60_000,
      forward: httpTransport({ url: sinkUrl(sink), flushOnHide: false }),
    });
    const records = [record(1), record(2)];
    for (const r of records) audit.emit(r);
    await audit.flush();
    expect(await audit.count()).to.equal(2);
    expect((await readSink(sink)).received).to.have.length(0);
    await audit.flush();
    expect(await audit.count()).to.equal(0);
    expect(idsIn((await readSink(sink)).received)).to.deep.equal(records.map((r) => r.id));
  });

  it('forwards to a plain { emit } transport and empties the queue', async () => {
    const store = freshStore();
    const seen: string[] = [];
    const audit = indexedDbTransport({ store, forward: { emit: (r) => void seen.push(r.id) } });
    audit.emit(record(1));
    audit.emit(record(2));
    await audit.flush();
    expect(seen).to.have.length(2);
    expect(await audit.count()).to.equal(0);
  });

  it('page torn down mid-flush (iframe removed while the POST is in flight): no record is lost', async () => {
    const sink = uniqueName('reload');
    // The server would accept the POST, but only after the page is gone: no confirmation ever arrives.
    await scriptSink(sink, { delayMs: 1500 });
    const store = freshStore();
    const frame = document.createElement('iframe');
    frame.srcdoc = `<script type="module">
      import { indexedDbTransport } from '/src/audit/indexeddb-transport.ts';
      import { httpTransport } from '/src/audit/http-transport.ts';
      import { PolicyStore } from '/src/policy/policy-store.ts';
      const audit = indexedDbTransport({
        store: new PolicyStore(${JSON.stringify(store.name)}),
        forward: httpTransport({ url: ${JSON.stringify(sinkUrl(sink))}, flushOnHide: false }),
      });
      const records = ${JSON.stringify([record(1), record(2), record(3)])};
      for (const r of records) audit.emit(r);
      await audit.persisted();
      window.persisted = true;
      void audit.flush();
    </script>`;
    document.body.append(frame);
    await waitFor(
      async () =>
        (frame.contentWindow as (Window & { persisted?: boolean }) | null)?.persisted === true &&
        (await readSink(sink)).attempts === 1,
    );
    frame.remove(); // the "reload": the page, its IndexedDB connection and its lock go away mid-POST
    const next = indexedDbTransport({
      store,
      forward: httpTransport({ url: sinkUrl(sink), flushOnHide: false }),
    });
    expect(await next.count()).to.equal(3);
    await scriptSink(sink, { delayMs: 0 });
    await waitFor(async () => {
      await next.flush();
      return (await next.count()) === 0;
    });
    // At least once: the torn-down page's keepalive POST may land too; every record is there.
    const ids = new Set(idsIn((await readSink(sink)).received));
    expect([...ids].sort()).to.deep.equal(
      JSON.parse(frame.srcdoc.match(/const records = (.*);/)![1]!)
        .map((r: AuditRecord) => r.id)
        .sort(),
    );
  });
});

describe('audit: transports under Perso', () => {
  afterEach(dropStores);

  it('every decision lands in IndexedDB and at the HTTP sink, with the same record', async () => {
    const sink = uniqueName('perso-audit');
    const store = freshStore();
    const http = httpTransport({ url: sinkUrl(sink), flushIntervalMs: 60_000, flushOnHide: false });
    const durable = indexedDbTransport({ store });
    const policy = await (await fetch('/test/fixtures/perso-demo-policy.json')).text();
    const perso = await Perso.load({ policy, audit: [http, durable], engine: 'inline' });
    const decision = await perso.evaluate({
      tool: 'process_refund',
      args: { amount: 800 },
      role: 'support_agent',
    });
    await perso.close();
    const lines = (await durable.exportNdjson()).trimEnd().split('\n');
    expect(lines).to.have.length(1);
    const stored = JSON.parse(lines[0]!) as AuditRecord;
    expect(stored).to.include({
      tool: 'process_refund',
      role: 'support_agent',
      decision: decision.decision,
      reason: decision.reason,
    });
    expect(stored.args).to.deep.equal({ amount: 800 });
    expect(idsIn((await readSink(sink)).received)).to.deep.equal([stored.id]);
    await http.close();
    await durable.close();
  });
});
