/**
 * A client of Comlink's wire protocol for the evaluator worker: plain `APPLY` calls of named
 * functions with plain arguments, answered by the worker's `calls-only-server.ts`.
 *
 * Why not `Comlink.wrap` on the main thread: the worker answers only plain calls of its five
 * functions (see `calls-only-server.ts`), so of Comlink's client only that one message is ever
 * used, and `wrap`'s generality costs on every call (a Proxy trap, a random UUID string, transfer
 * handler checks, a `.then` to unwrap) and in every page's download. The worker side is as small (`calls-only-server.ts`).
 *
 * Checklist:
 * - requests are `{id, type: 'APPLY', path: [name], argumentList: [{type: 'RAW', value}…]}`, Comlink's
 *   own format, so the worker (and any Comlink `expose`) handles them as any Comlink call;
 * - ids are short strings from a counter (Comlink ignores falsy ids, so never `0`);
 * - a `RAW` reply resolves with its value, still unchecked: the caller validates it field by field;
 * - a `HANDLER throw` reply rejects with its message, as Comlink would;
 * - any other reply (a proxy handed back, an unknown type) resolves with a {@link WireProblem},
 *   never a value, so the caller treats it as a malformed reply;
 * - a value the structured clone refuses rejects with the `DataCloneError`, as Comlink would;
 * - replies with an id this client did not send are ignored.
 */

/** A reply that is not a value: the caller must treat it as malformed. */
export class WireProblem {
  /** What was wrong with the reply. */
  readonly problem: string;

  /** @param problem what was wrong with the reply */
  constructor(problem: string) {
    this.problem = problem;
  }
}

/** Calls one function of the worker by name; resolves with the reply's raw value, unchecked. */
export type WireCall = (name: string, args: readonly unknown[]) => Promise<unknown>;

interface Waiting {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** The message of a Comlink `throw` reply's serialized error, whatever its shape. */
function thrownMessage(value: unknown): string {
  const inner = (value as { value?: unknown } | null)?.value;
  const message = (inner as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(inner);
}

/** A client for `worker`: one message listener, one map of calls in flight. */
export function comlinkWireClient(worker: Worker): WireCall {
  const waiting = new Map<string, Waiting>();
  let lastId = 0;
  worker.addEventListener('message', (event: MessageEvent) => {
    const data: unknown = event.data;
    if (typeof data !== 'object' || data === null) return;
    const { id, type, name, value } = data as { id?: unknown; type?: unknown; name?: unknown; value?: unknown };
    if (typeof id !== 'string') return;
    const call = waiting.get(id);
    if (call === undefined) return;
    waiting.delete(id);
    if (type === 'RAW') call.resolve(value);
    else if (type === 'HANDLER' && name === 'throw') call.reject(new Error(thrownMessage(value)));
    else call.resolve(new WireProblem(`a ${String(type)}${typeof name === 'string' ? ` "${name}"` : ''} reply where a value belongs`));
  });
  return (name, args) =>
    new Promise((resolve, reject) => {
      const id = `${++lastId}`;
      const argumentList = new Array<{ type: 'RAW'; value: unknown }>(args.length);
      for (let i = 0; i < args.length; i++) argumentList[i] = { type: 'RAW', value: args[i] };
      waiting.set(id, { resolve, reject });
      try {
        worker.postMessage({ id, type: 'APPLY', path: [name], argumentList });
      } catch (error) {
        waiting.delete(id);
        reject(error);
      }
    });
}
