/**
 * A Comlink endpoint that lets through only plain calls of the exposed methods.
 *
 * Comlink's `expose` answers GET, SET, APPLY, CONSTRUCT, ENDPOINT and RELEASE messages along any
 * property path, so anyone holding the worker could replace a method (`SET ['evaluate']`), pollute
 * a prototype (`SET ['evaluate', '__proto__', 'call']`), read internals or hand us a proxy of their
 * own as an argument. This endpoint sits between the worker scope and `expose` and forwards a
 * message only when:
 * - its `type` is `APPLY`,
 * - its `path` is exactly one own method name of the exposed object,
 * - every argument is a plain structured-clone value (`RAW`), never a Comlink proxy or handler.
 *
 * Anything else is answered with a rejection (so a caller does not hang) and never reaches
 * `expose`. Freezing the exposed object is the second line; this is the first.
 */
import type { Endpoint } from 'comlink';

/** Comlink's wire message for a refused request: the caller's promise rejects with `message`. */
function refusal(id: string, message: string): object {
  return {
    id,
    type: 'HANDLER',
    name: 'throw',
    value: { isError: true, value: { name: 'Error', message } },
  };
}

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
    (wire: unknown) =>
      typeof wire === 'object' && wire !== null && (wire as { type?: unknown }).type === 'RAW',
  );
}

/**
 * Wraps `scope` (the worker's global scope) so that `expose(api, endpoint)` only ever sees plain
 * calls of `api`'s own methods.
 */
export function callsOnlyEndpoint(scope: DedicatedWorkerGlobalScope, api: object): Endpoint {
  const methods: ReadonlySet<string> = new Set(
    Object.keys(api).filter((key) => typeof (api as Record<string, unknown>)[key] === 'function'),
  );
  const filters = new WeakMap<object, (event: MessageEvent) => void>();
  return {
    postMessage(message: unknown, transfer?: Transferable[]): void {
      scope.postMessage(message, transfer ?? []);
    },
    addEventListener(type: string, listener: EventListenerOrEventListenerObject): void {
      const deliver = (event: MessageEvent): void => {
        if (isPlainCall(event.data, methods)) {
          if (typeof listener === 'function') listener(event);
          else listener.handleEvent(event);
          return;
        }
        const id = (event.data as { id?: unknown } | null)?.id;
        if (typeof id === 'string') {
          scope.postMessage(
            refusal(
              id,
              'perso evaluator: refused a message that is not a plain call of an exposed method',
            ),
          );
        }
      };
      filters.set(listener, deliver);
      scope.addEventListener(type as 'message', deliver);
    },
    removeEventListener(type: string, listener: EventListenerOrEventListenerObject): void {
      const deliver = filters.get(listener);
      if (deliver !== undefined) scope.removeEventListener(type as 'message', deliver);
    },
  };
}
