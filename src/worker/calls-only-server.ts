/**
 * The evaluator worker's side of Comlink's wire protocol, for plain calls only.
 *
 * Comlink's `expose` answers GET, SET, APPLY, CONSTRUCT, ENDPOINT and RELEASE messages along any
 * property path, so anyone holding the worker could replace a method (`SET ['evaluate']`), pollute
 * a prototype (`SET ['evaluate', '__proto__', 'call']`), read internals or hand us a proxy of their
 * own as an argument. The worker needs none of that: it answers one message, a plain call. So this
 * server speaks exactly that part of the protocol (byte-compatible with `Comlink.wrap` and with
 * `comlink-wire-client.ts`) and no more, which also keeps Comlink's generic code out of the worker.
 *
 * Checklist:
 * - a message is run only when its `type` is `APPLY`, its `path` is exactly one own method name of
 *   the served object and every argument is a plain structured-clone value (`RAW`), never a Comlink
 *   proxy or handler; the method is called with the served object as `this`;
 * - anything else that carries a string id is answered with a rejection (so a caller does not
 *   hang) and reaches nothing; anything without one is ignored;
 * - a method's result is answered as `{id, type: 'RAW', value}`; a throw or rejection as Comlink's
 *   `{id, type: 'HANDLER', name: 'throw', value: {isError, value}}`; a result the structured
 *   clone refuses as a `throw` of "Unserializable return value", as Comlink does.
 * Freezing the served object is the second line; this is the first.
 */

/** A refused or failed request as Comlink's `throw` reply: the caller's promise rejects. */
function thrown(id: unknown, error: unknown): object {
  const value =
    error instanceof Error
      ? { isError: true, value: { name: error.name, message: error.message, stack: error.stack } }
      : { isError: false, value: error };
  return { id, type: 'HANDLER', name: 'throw', value };
}

const REFUSED = 'perso evaluator: refused a message that is not a plain call of an exposed method';

/** True when `data` is a Comlink APPLY of one of `methods` with plain arguments. */
function isPlainCall(data: unknown, methods: ReadonlySet<string>): boolean {
  if (typeof data !== 'object' || data === null) return false;
  const message = data as { type?: unknown; path?: unknown; argumentList?: unknown };
  if (message.type !== 'APPLY') return false;
  const { path, argumentList } = message;
  if (!Array.isArray(path) || path.length !== 1 || typeof path[0] !== 'string') return false;
  if (!methods.has(path[0])) return false;
  if (!Array.isArray(argumentList)) return false;
  return argumentList.every(
    (wire: unknown) => typeof wire === 'object' && wire !== null && (wire as { type?: unknown }).type === 'RAW',
  );
}

/**
 * Answers plain calls of `api`'s own methods posted to `scope` (the worker's global scope), and
 * refuses every other Comlink message.
 */
export function serveCalls(scope: DedicatedWorkerGlobalScope, api: object): void {
  const table = api as Record<string, unknown>;
  const methods: ReadonlySet<string> = new Set(Object.keys(api).filter((key) => typeof table[key] === 'function'));
  const reply = (id: unknown, message: object): void => {
    try {
      scope.postMessage(message);
    } catch {
      scope.postMessage(thrown(id, new TypeError('Unserializable return value')));
    }
  };
  scope.addEventListener('message', (event: MessageEvent) => {
    const data: unknown = event.data;
    if (!isPlainCall(data, methods)) {
      const id = (data as { id?: unknown } | null)?.id;
      if (typeof id === 'string') scope.postMessage(thrown(id, new Error(REFUSED)));
      return;
    }
    const { id, path, argumentList } = data as { id?: unknown; path: [string]; argumentList: { value: unknown }[] };
    const args = argumentList.map((wire) => wire.value);
    let result: unknown;
    try {
      result = (table[path[0]] as (...values: unknown[]) => unknown).apply(api, args);
    } catch (error) {
      reply(id, thrown(id, error));
      return;
    }
    Promise.resolve(result).then(
      (value) => reply(id, { id, type: 'RAW', value }),
      (error: unknown) => reply(id, thrown(id, error)),
    );
  });
}
