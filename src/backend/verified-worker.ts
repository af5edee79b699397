/**
 * The evaluator worker, started only once its script matches the digest the build recorded (see
 * `code-integrity.ts`).
 *
 * `startCheckedWorker` and `startStrictWorker` are called with `new`, like `Worker`, and answer a
 * Worker-shaped object at once: messages posted before the worker exists wait, in order, and the
 * worker's events are passed on. Meanwhile the script is fetched and its SHA-256 checked; a
 * mismatch is an `error` event naming it (the bridge answers every call with a Deny that says why).
 *
 * Checklist:
 * - checked (`codeIntegrity: true`, the default): the worker starts from its URL once the bytes
 *   served there checked out. The browser fetches the script again to start it (usually from the
 *   HTTP cache) and that answer is not checked: a file altered on the CDN or in a cache is caught,
 *   a server that answers the worker's own request differently is not (docs say so). No `blob:` is
 *   needed, so strict CSPs (`worker-src 'self'`) see no violation;
 * - strict (`codeIntegrity: 'strict'`): the worker runs exactly the bytes that were checked, from a
 *   `blob:` URL made of them (kept for the page's later starts); a CSP that refuses `blob:` workers
 *   is an error that says to allow it. Lazy chunks of the worker cannot load from a blob worker;
 * - a start the page refuses (Trusted Types) is an error naming the policy to allow;
 * - an unbundled build (no recorded digest) starts a plain `Worker`.
 */
import { withTrustedWorker, TRUSTED_TYPES_POLICY } from './trusted-worker.ts';
import { EVALUATOR_WORKER_SHA256, fetchVerified, recordedDigest } from './code-integrity.ts';
import { errorText } from '../encoding/text.ts';
// SHA-256 on the page: WebCrypto, or on a page without it (plain http) the plain-JavaScript one,
// loaded only there (the policy hash's helper: one copy on the page).
import { sha256Digest } from '../encoding/sha256-hex.ts';

/**
 * Starts a worker without a check (`codeIntegrity: false`, or an unbundled build): the page's
 * Worker at call time (tests observe workers by replacing it), through perso's Trusted Types policy.
 * Call it with `new`, as `Worker`.
 *
 * @param url the worker script's URL
 * @param options the Worker options
 */
export function startUncheckedWorker(url: URL | string, options: WorkerOptions): Worker {
  return withTrustedWorker(() => new globalThis.Worker(url, options));
}

/**
 * Starts the evaluator worker from its URL once the script there matches the build's record. Call
 * it with `new`, as `Worker`.
 *
 * @param url the worker script's URL
 * @param options the Worker options (`type: 'module'`, the name)
 */
export function startCheckedWorker(url: URL, options: WorkerOptions): Worker {
  const expected = recordedDigest(EVALUATOR_WORKER_SHA256);
  if (expected === null) return startUncheckedWorker(url, options);
  return new PendingWorker(url, options, expected, false) as unknown as Worker;
}

/**
 * Starts the evaluator worker from the very bytes that matched the build's record (a `blob:` URL).
 * Call it with `new`, as `Worker`.
 *
 * @param url the worker script's URL
 * @param options the Worker options (`type: 'module'`, the name)
 */
export function startStrictWorker(url: URL, options: WorkerOptions): Worker {
  const expected = recordedDigest(EVALUATOR_WORKER_SHA256);
  if (expected === null) return startUncheckedWorker(url, options);
  return new PendingWorker(url, options, expected, true) as unknown as Worker;
}

type Checked =
  | { ok: true; bytes: Uint8Array<ArrayBuffer>; blobUrl: () => string }
  | { ok: false; error: string };

/**
 * The checked script, once per page and script URL: a restarted worker (after a fault, or a new
 * `Perso`) starts without fetching it again. A failed check is not kept (a network error may pass).
 */
const checkedScripts = new Map<string, Promise<Checked>>();

function checkedScript(url: URL, expected: string): Promise<Checked> {
  let checked = checkedScripts.get(url.href);
  if (checked === undefined) {
    checked = fetchVerified(url, expected, 'the evaluator worker', sha256Digest).then(
      (fetched): Checked => {
        if (!fetched.ok) {
          checkedScripts.delete(url.href);
          return fetched;
        }
        let blobUrl: string | null = null;
        return {
          ok: true,
          bytes: fetched.bytes,
          blobUrl: () =>
            (blobUrl ??= URL.createObjectURL(
              new Blob([fetched.bytes], { type: 'text/javascript' }),
            )),
        };
      },
    );
    checkedScripts.set(url.href, checked);
  }
  return checked;
}

type Posted = [message: unknown, transfer: Transferable[]];

/** A Worker stand-in that becomes the checked worker once its script checked out. */
class PendingWorker extends EventTarget {
  #worker: Worker | null = null;
  /** Messages (and their transfer lists) posted before the worker exists. */
  #waiting: Posted[] = [];
  #terminated = false;
  /**
   * `message` listeners (with their options), added straight to the worker once it answered: the
   * hot path then has no stand-in between Comlink and the worker (no event made again per message).
   */
  readonly #direct: [
    listener: EventListenerOrEventListenerObject,
    options: AddEventListenerOptions | boolean | undefined,
  ][] = [];
  #directWorker: Worker | null = null;

  constructor(url: URL, options: WorkerOptions, expected: string, fromBlob: boolean) {
    super();
    void checkedScript(url, expected).then((checked) => {
      if (this.#terminated) return;
      if (!checked.ok) {
        this.#fail(checked.error);
        return;
      }
      let worker: Worker;
      try {
        worker = startUncheckedWorker(fromBlob ? checked.blobUrl() : url, options);
      } catch (error) {
        const text = errorText(error);
        this.#fail(
          /TrustedScriptURL|Trusted ?Types/i.test(text)
            ? `${text}; the page enforces Trusted Types: allow perso's policy name ("trusted-types ${TRUSTED_TYPES_POLICY}")`
            : text,
        );
        return;
      }
      this.#use(worker, fromBlob);
    });
  }

  /** Listens here, and for `message`, on the worker itself once it answered. */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: AddEventListenerOptions | boolean,
  ): void {
    if (listener === null) return;
    if (type === 'message') {
      this.#direct.push([listener, options]);
      if (this.#directWorker !== null) {
        this.#directWorker.addEventListener(type, listener, options);
        return;
      }
    }
    super.addEventListener(type, listener, options);
  }

  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: EventListenerOptions | boolean,
  ): void {
    if (listener === null) return;
    if (type === 'message') {
      const at = this.#direct.findIndex(([known]) => known === listener);
      if (at >= 0) this.#direct.splice(at, 1);
      this.#directWorker?.removeEventListener(type, listener, options);
    }
    super.removeEventListener(type, listener, options);
  }

  /** Posts now, or once the worker exists. */
  postMessage(message: unknown, transfer: Transferable[] = []): void {
    if (this.#terminated) return;
    if (this.#worker === null) {
      this.#waiting.push([message, transfer]);
      return;
    }
    this.#worker.postMessage(message, transfer);
  }

  /** Ends the worker (or keeps it from ever starting). */
  terminate(): void {
    this.#terminated = true;
    this.#worker?.terminate();
    this.#worker = null;
    this.#directWorker = null;
    this.#waiting = [];
  }

  #fail(message: string): void {
    this.dispatchEvent(new ErrorEvent('error', { message, cancelable: true }));
  }

  // Wires a started worker: its events become this object's until its first answer, then its
  // listeners go on the worker itself.
  #use(worker: Worker, fromBlob: boolean): void {
    this.#worker = worker;
    let answered = false;
    const relay = (event: MessageEvent): void => {
      if (this.#worker !== worker || answered) return;
      answered = true;
      worker.removeEventListener('message', relay);
      this.dispatchEvent(
        new MessageEvent('message', { data: event.data, ports: [...event.ports] }),
      );
      this.#directWorker = worker;
      for (const [listener, options] of this.#direct) {
        super.removeEventListener('message', listener, options);
        worker.addEventListener('message', listener, options);
      }
    };
    worker.addEventListener('message', relay);
    worker.addEventListener('messageerror', () => {
      if (this.#worker === worker) this.dispatchEvent(new Event('messageerror'));
    });
    worker.addEventListener('error', (event: ErrorEvent | Event) => {
      event.preventDefault();
      if (this.#worker !== worker) return;
      const message = event instanceof ErrorEvent ? event.message : '';
      // A blob worker that fails before any answer: the page's CSP refused it (worker-src).
      this.#fail(
        fromBlob && !answered
          ? `the page refused to start the evaluator worker from its checked bytes (a blob: URL; codeIntegrity: "strict"): add blob: to worker-src, or pass codeIntegrity: true${message === '' ? '' : ` (${message})`}`
          : message,
      );
    });
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const [message, transfer] of waiting) this.postMessage(message, transfer);
  }
}
