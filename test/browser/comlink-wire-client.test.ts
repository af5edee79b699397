// The bridge's client of Comlink's wire protocol, against the real evaluator worker and against
// hand-written workers that answer with a thrown error, a proxy, or ids it never sent; and the
// engine.wasm URL the bridge passes in the worker's name.
import { expect } from 'chai';
import { comlinkWireClient, WireProblem } from '../../src/worker/comlink-wire-client.ts';
import { EVALUATOR_WORKER_NAME } from '../../src/worker/evaluator-api.ts';

const EVALUATOR_URL = new URL('/src/worker/evaluator.worker.ts', location.origin);
const WASM_URL = new URL('/engine/build/engine.wasm', location.origin);

/** A module worker from source text (a test-only peer that speaks the wire protocol by hand). */
function peer(source: string): Worker {
  return new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' })), { type: 'module' });
}

const workers: Worker[] = [];
function track(worker: Worker): Worker {
  workers.push(worker);
  return worker;
}
afterEach(() => {
  for (const worker of workers.splice(0)) worker.terminate();
});

let demoPolicy = '';
before(async () => {
  demoPolicy = await (await fetch('/test/fixtures/perso-demo-policy.json')).text();
});

describe('comlinkWireClient', () => {
  it('calls the real worker with Comlink requests and resolves with the raw reply value', async () => {
    const call = comlinkWireClient(track(new Worker(EVALUATOR_URL, { type: 'module' })));
    const load = (await call('load', [demoPolicy])) as { ok: boolean; value: { ok: boolean } };
    expect(load.ok).to.equal(true);
    expect(load.value.ok).to.equal(true);
    const [one, two] = (await Promise.all([
      call('evaluate', [{ tool: 'view_customer', role: 'agent', args: { customer_id: 'C-1' } }, 0]),
      call('evaluate', [{ tool: 'delete_customer', role: 'agent', args: {} }, 0]),
    ])) as { value: { decision: string } }[];
    expect([one!.value.decision, two!.value.decision]).to.deep.equal(['Allow', 'Deny']);
  });

  it('a refused request (not a plain call): the worker answers a throw, which rejects with its message', async () => {
    const call = comlinkWireClient(track(new Worker(EVALUATOR_URL, { type: 'module' })));
    let error: unknown;
    try {
      await call('evaluate.call', [{ tool: 'view_customer', role: 'agent' }, 0]);
    } catch (caught) {
      error = caught;
    }
    expect(String(error)).to.match(/refused a message that is not a plain call of an exposed method/);
  });

  it('a proxy where a value belongs: resolves with a WireProblem, never a value', async () => {
    const worker = track(
      peer(`self.onmessage = (e) => { const { port2 } = new MessageChannel(); self.postMessage({ id: e.data.id, type: 'HANDLER', name: 'proxy', value: port2 }, [port2]); };`),
    );
    const reply = await comlinkWireClient(worker)('evaluate', [{}, 0]);
    expect(reply).to.be.instanceOf(WireProblem);
    expect((reply as WireProblem).problem).to.equal('a HANDLER "proxy" reply where a value belongs');
  });

  it('replies with ids it never sent are ignored; its own still arrive', async () => {
    const worker = track(
      peer(`self.onmessage = (e) => {
        self.postMessage({ id: 'forged-' + e.data.id, type: 'RAW', value: 'forged' });
        self.postMessage({ id: 7, type: 'RAW', value: 'forged' });
        self.postMessage({ id: e.data.id, type: 'RAW', value: 'real' });
      };`),
    );
    expect(await comlinkWireClient(worker)('status', [])).to.equal('real');
  });

  it('an uncloneable argument: rejects with the DataCloneError and sends nothing', async () => {
    let received = 0;
    const worker = track(peer(`self.onmessage = () => self.postMessage({ id: 'count', type: 'RAW', value: 0 });`));
    worker.addEventListener('message', () => received++);
    let error: unknown;
    try {
      await comlinkWireClient(worker)('evaluate', [{ f: () => 1 }, 0]);
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(DOMException);
    expect((error as DOMException).name).to.equal('DataCloneError');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received).to.equal(0);
  });
});

describe('engine.wasm URL in the worker name', () => {
  it('a same-origin URL in the name is the one the worker compiles (a missing file is a wasm_compile fault)', async () => {
    const worker = track(
      new Worker(EVALUATOR_URL, { type: 'module', name: `${EVALUATOR_WORKER_NAME} ${new URL('/no-such-engine.wasm', location.origin).href}` }),
    );
    const status = (await comlinkWireClient(worker)('status', [])) as { ok: boolean; fault?: string; error?: string };
    expect(status.ok).to.equal(false);
    expect(status.fault).to.equal('wasm_compile');
  });

  it('the right URL in the name: the engine starts', async () => {
    const worker = track(new Worker(EVALUATOR_URL, { type: 'module', name: `${EVALUATOR_WORKER_NAME} ${WASM_URL.href}` }));
    expect(await comlinkWireClient(worker)('status', [])).to.deep.include({ ok: true });
  });

  it('a URL on another origin in the name is ignored: the worker compiles the wasm next to itself', async () => {
    const worker = track(
      new Worker(EVALUATOR_URL, { type: 'module', name: `${EVALUATOR_WORKER_NAME} https://attacker.invalid/engine.wasm` }),
    );
    expect(await comlinkWireClient(worker)('status', [])).to.deep.include({ ok: true });
  });
});
