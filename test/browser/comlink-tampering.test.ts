// Comlink tampering: raw Comlink wire messages posted to a real evaluator worker (as anyone holding
// the Worker could), and forged replies to a real bridge. The worker must refuse everything but a
// plain call of one of its four functions, and stay intact; the bridge must answer Deny.
import { expect } from 'chai';
import { wrap } from 'comlink';
import type { EvaluatorApi } from '../../src/worker/evaluator-api.ts';
import { WorkerBackend } from '../../src/backend/worker-backend.ts';

const EVALUATOR_URL = new URL('/src/worker/evaluator.worker.ts', location.origin);
const FORGED_URL = new URL('./fixtures/forged-reply.worker.ts', import.meta.url);

let worker: Worker;
let demoPolicy = '';
let nextId = 0;

before(async () => {
  demoPolicy = await (await fetch('/test/fixtures/perso-demo-policy.json')).text();
});
beforeEach(() => {
  worker = new Worker(EVALUATOR_URL, { type: 'module' });
});
afterEach(() => worker.terminate());

interface WireReply {
  id: string;
  type: string;
  name?: string;
  value: unknown;
}

/** Posts one raw Comlink message and resolves with the reply carrying its id. */
function post(message: Record<string, unknown>, transfer: Transferable[] = []): Promise<WireReply> {
  const id = `tamper-${nextId++}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no reply to ${JSON.stringify(message)}`)),
      5000,
    );
    const onMessage = (event: MessageEvent): void => {
      if ((event.data as WireReply).id !== id) return;
      clearTimeout(timer);
      worker.removeEventListener('message', onMessage);
      resolve(event.data as WireReply);
    };
    worker.addEventListener('message', onMessage);
    worker.postMessage({ id, ...message }, transfer);
  });
}

const raw = (value: unknown) => ({ type: 'RAW', value });
const viewCall = raw({ tool: 'view_customer', role: 'agent', args: { customer_id: 'C-1' } });

function expectRefused(reply: WireReply): void {
  expect(reply.type).to.equal('HANDLER');
  expect(reply.name).to.equal('throw');
  expect(JSON.stringify(reply.value)).to.match(
    /refused a message that is not a plain call of an exposed method/,
  );
}

/** A plain call still reaches the real function and answers a real verdict. */
async function expectIntact(): Promise<void> {
  const load = await post({ type: 'APPLY', path: ['load'], argumentList: [raw(demoPolicy)] });
  expect(load).to.deep.include({ type: 'RAW' });
  const reply = await post({ type: 'APPLY', path: ['evaluate'], argumentList: [viewCall, raw(0)] });
  expect(reply.type).to.equal('RAW');
  expect(reply.value).to.deep.include({ ok: true });
  expect((reply.value as { value: { decision: string } }).value.decision).to.equal('Allow');
}

describe('Comlink tampering', () => {
  it('SET cannot replace an exposed function', async () => {
    expectRefused(await post({ type: 'SET', path: ['evaluate'], value: raw('replaced') }));
    await expectIntact();
  });

  it('SET then APPLY cannot add a function', async () => {
    expectRefused(await post({ type: 'SET', path: ['allowAll'], value: raw(1) }));
    expectRefused(await post({ type: 'APPLY', path: ['allowAll'], argumentList: [] }));
    await expectIntact();
  });

  it('SET through a function or a prototype path cannot pollute the worker realm', async () => {
    expectRefused(
      await post({ type: 'SET', path: ['evaluate', '__proto__', 'call'], value: raw(null) }),
    );
    expectRefused(await post({ type: 'SET', path: ['__proto__', 'polluted'], value: raw(true) }));
    expectRefused(
      await post({ type: 'SET', path: ['constructor', 'prototype', 'polluted'], value: raw(true) }),
    );
    await expectIntact();
  });

  it('APPLY along a longer path (a chosen this, Function.prototype methods) is refused', async () => {
    expectRefused(
      await post({
        type: 'APPLY',
        path: ['evaluate', 'call'],
        argumentList: [raw(null), viewCall, raw(0)],
      }),
    );
    expectRefused(await post({ type: 'APPLY', path: ['toString'], argumentList: [] }));
    expectRefused(await post({ type: 'APPLY', path: [], argumentList: [] }));
  });

  it('GET cannot read the exposed object or its internals', async () => {
    expectRefused(await post({ type: 'GET', path: [] }));
    expectRefused(await post({ type: 'GET', path: ['evaluate'] }));
  });

  it('CONSTRUCT, ENDPOINT and RELEASE are refused', async () => {
    expectRefused(await post({ type: 'CONSTRUCT', path: ['evaluate'], argumentList: [] }));
    expectRefused(await post({ type: 'ENDPOINT' }));
    expectRefused(await post({ type: 'RELEASE' }));
    await expectIntact();
  });

  it('an argument that is a Comlink proxy (a port of the caller) is refused', async () => {
    const { port1 } = new MessageChannel();
    const reply = await post(
      {
        type: 'APPLY',
        path: ['evaluate'],
        argumentList: [{ type: 'HANDLER', name: 'proxy', value: port1 }, raw(0)],
      },
      [port1],
    );
    expectRefused(reply);
  });

  it('a message that is not Comlink at all changes nothing', async () => {
    worker.postMessage('hello');
    worker.postMessage({ type: 'SET' });
    worker.postMessage(null);
    await expectIntact();
  });

  it('through Comlink.wrap, reading or constructing a function fails (a SET is the raw test above)', async () => {
    const remote = wrap<EvaluatorApi>(worker) as unknown as Record<string, unknown> & EvaluatorApi;
    let readError: unknown = null;
    try {
      // awaiting a member is a GET message
      await (remote as unknown as { evaluate: Promise<unknown> }).evaluate;
    } catch (e) {
      readError = e;
    }
    expect(String(readError)).to.match(/refused a message/);
    const Evaluate = remote.evaluate as unknown as new () => Promise<unknown>;
    let constructError: unknown = null;
    try {
      await new Evaluate();
    } catch (e) {
      constructError = e;
    }
    expect(String(constructError)).to.match(/refused a message/);
    await expectIntact();
  });

  it('a forged reply makes the bridge answer Deny', async () => {
    const workers: Worker[] = [];
    const backend = new WorkerBackend({
      createWorker: () => {
        const forged = new Worker(FORGED_URL, { type: 'module' });
        workers.push(forged);
        return forged;
      },
    });
    try {
      const verdict = await backend.evaluate({ tool: 'allow-with-fault-kind', role: 'r' }, 0);
      expect(verdict).to.include({ decision: 'Deny', kind: 'engine_fault' });
      expect(verdict.reason).to.match(
        /malformed reply from the evaluator worker \(Allow with kind "engine_fault"\)/,
      );
      const proxied = await backend.evaluate({ tool: 'comlink-proxy', role: 'r' }, 0);
      expect(proxied).to.include({ decision: 'Deny', kind: 'engine_fault' });
    } finally {
      backend.close();
    }
    expect(workers.length).to.be.greaterThan(1, 'the forging worker was replaced');
  });

  it('the bridge keeps the Worker and the proxy in private fields', () => {
    const backend = new WorkerBackend();
    expect(Reflect.ownKeys(backend)).to.deep.equal([]);
    expect(Object.values(Object.getOwnPropertyDescriptors(backend))).to.deep.equal([]);
    expect(JSON.stringify(backend)).to.equal('{}');
  });
});
