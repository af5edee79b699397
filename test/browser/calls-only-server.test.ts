// The worker's calls-only server (src/worker/calls-only-server.ts) in a real worker: plain calls
// answered as Comlink answers them, faults of a served method as Comlink `throw` replies, and
// Comlink.wrap as a client. Tampering with the real evaluator worker is comlink-tampering.test.ts.
import { expect } from 'chai';
import { wrap } from 'comlink';

const SERVER_URL = new URL('./fixtures/calls-only-server.worker.ts', import.meta.url);

let worker: Worker;
let nextId = 0;

beforeEach(() => {
  worker = new Worker(SERVER_URL, { type: 'module' });
});
afterEach(() => worker.terminate());

interface WireReply {
  id: string;
  type: string;
  name?: string;
  value: unknown;
}

function call(name: string, ...args: unknown[]): Promise<WireReply> {
  const id = `server-${nextId++}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${name}`)), 5000);
    const onMessage = (event: MessageEvent): void => {
      if ((event.data as WireReply).id !== id) return;
      clearTimeout(timer);
      worker.removeEventListener('message', onMessage);
      resolve(event.data as WireReply);
    };
    worker.addEventListener('message', onMessage);
    worker.postMessage({ id, type: 'APPLY', path: [name], argumentList: args.map((value) => ({ type: 'RAW', value })) });
  });
}

describe('calls-only server', () => {
  it('answers a plain call with a RAW reply carrying the result', async () => {
    expect(await call('echo', { a: [1, 'x'] }, 2)).to.deep.equal({ id: `server-${nextId - 1}`, type: 'RAW', value: { value: { a: [1, 'x'] }, more: 2 } });
    expect((await call('later', 'soon')).value).to.equal('soon');
  });

  it('calls the method with the served object as this', async () => {
    expect((await call('thisIsApi')).value).to.equal(true);
  });

  it('a method that throws answers a throw reply with the error', async () => {
    const reply = await call('throws');
    expect(reply).to.include({ type: 'HANDLER', name: 'throw' });
    expect(reply.value).to.deep.include({ isError: true });
    expect((reply.value as { value: { name: string; message: string } }).value).to.include({ name: 'RangeError', message: 'thrown on purpose' });
  });

  it('a method that rejects answers a throw reply with the error', async () => {
    const reply = await call('rejects');
    expect(reply).to.include({ type: 'HANDLER', name: 'throw' });
    expect((reply.value as { value: { message: string } }).value.message).to.equal('rejected on purpose');
  });

  it('a thrown non-error travels as its value', async () => {
    expect((await call('throwsText')).value).to.deep.equal({ isError: false, value: 'a plain string' });
  });

  it('a result the structured clone refuses answers "Unserializable return value", and the server keeps serving', async () => {
    const reply = await call('unserializable');
    expect(reply).to.include({ type: 'HANDLER', name: 'throw' });
    expect((reply.value as { value: { message: string } }).value.message).to.equal('Unserializable return value');
    expect((await call('later', 1)).value).to.equal(1);
  });

  it('a call of a name that is not a method is refused', async () => {
    const reply = await call('toString');
    expect(reply).to.include({ type: 'HANDLER', name: 'throw' });
    expect(JSON.stringify(reply.value)).to.match(/refused a message that is not a plain call of an exposed method/);
  });

  it('Comlink.wrap is a working client: values resolve, faults reject with their message', async () => {
    const remote = wrap<{ echo(v: unknown, m: unknown): unknown; throws(): never }>(worker);
    expect(await remote.echo('a', 'b')).to.deep.equal({ value: 'a', more: 'b' });
    let error: unknown = null;
    try {
      await remote.throws();
    } catch (e) {
      error = e;
    }
    expect(String(error)).to.match(/thrown on purpose/);
  });
});
