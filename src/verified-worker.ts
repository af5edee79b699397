/**
 * The evaluator worker, started only from the bytes the build recorded (see `code-integrity.ts`).
 *
 * `startVerifiedWorker` is called with `new`, like `Worker`, and answers a Worker-shaped object at
 * once: messages posted before the worker exists wait, in order, and the worker's events are passed
 * on. Meanwhile the script is fetched and its SHA-256 checked; a mismatch is an `error` event
 * naming it (the bridge answers every call with a Deny that says why).
 *
 * Checklist:
 * - the worker runs the bytes that were checked: it starts from a `blob:` URL made of them, kept
 *   for the page's later starts (restarts after a fault, other `Perso` instances);
 * - a page whose CSP refuses `blob:` workers (`worker-src 'self'`, the strict CSP docs/browser.md
 *   recommends) cannot start one: the blob worker's `error` comes before any message, and the
 *   worker starts from its URL instead, once the bytes served there checked out. That second
 *   request is not checked again (usually the HTTP cache answers it): a server that answers two
 *   requests differently is caught only where `worker-src` allows `blob:` (docs say so);
 * - an unbundled build (no recorded digest) starts a plain `Worker`, as before.
 */
import { withTrustedWorker } from './trusted-worker.ts';
import { EVALUATOR_WORKER_SHA256, fetchVerified, recordedDigest, webCryptoSha256 } from './code-integrity.ts';

/**
 * SHA-256 on the page: WebCrypto, or on a page without it (plain http) the plain-JavaScript one,
 * loaded only there.
 */
export async function pageSha256(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  if (globalThis.crypto?.subtle !== undefined) return webCryptoSha256(bytes);
  return (await import('./sha256.ts')).sha256(bytes);
}

type Posted = [message: unknown, transfer: Transferable[]];

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

const startWorker = startUncheckedWorker;

/** Once a blob worker was refused on this page (its CSP), later starts go to the URL directly. */
let blobRefused = false;

/**
 * The checked script as a blob: URL, once per page and script URL: a restarted worker (after a
 * fault, or a new `Perso`) starts from the same checked bytes without fetching them again. A failed
 * check is not kept (a network error may pass).
 */
const checkedScripts = new Map<string, Promise<{ ok: true; blobUrl: string } | { ok: false; error: string }>>();

function checkedScript(url: URL, expected: string): Promise<{ ok: true; blobUrl: string } | { ok: false; error: string }> {
  let checked = checkedScripts.get(url.href);
  if (checked === undefined) {
    checked = fetchVerified(url, expected, 'the evaluator worker', pageSha256).then((fetched) => {
      if (!fetched.ok) {
        checkedScripts.delete(url.href);
        return fetched;
      }
      return { ok: true, blobUrl: URL.createObjectURL(new Blob([fetched.bytes], { type: 'text/javascript' })) };
    });
    checkedScripts.set(url.href, checked);
  }
  return checked;
}

/**
 * Starts the evaluator worker from verified bytes. Call it with `new`, as `Worker`.
 *
 * @param url the worker script's URL
 * @param options the Worker options (`type: 'module'`, the name)
 */
export function startVerifiedWorker(url: URL, options: WorkerOptions): Worker {
  const expected = recordedDigest(EVALUATOR_WORKER_SHA256);
  if (expected === null) return startWorker(url, options);
  return new PendingWorker(url, options, expected) as unknown as Worker;
}

/** A Worker stand-in that becomes the verified worker once its script checked out. */
class PendingWorker extends EventTarget {
  #worker: Worker | null = null;
  /** Messages (and their transfer lists) posted before the worker exists. */
  #waiting: Posted[] = [];
  /** Messages posted to a blob worker before its first answer: sent again if the CSP refused it. */
  #unanswered: Posted[] | null = null;
  #terminated = false;
  /**
   * `message` and `messageerror` listeners, added straight to the worker once it answered: the hot
   * path then has no stand-in between Comlink and the worker (no event made again per message).
   */
  readonly #direct: [type: string, listener: EventListenerOrEventListenerObject][] = [];
  #directWorker: Worker | null = null;

  constructor(url: URL, options: WorkerOptions, expected: string) {
    super();
    void checkedScript(url, expected).then((checked) => {
      if (this.#terminated) return;
      if (!checked.ok) {
        this.dispatchEvent(new ErrorEvent('error', { message: checked.error, cancelable: true }));
        return;
      }
      if (blobRefused) {
        this.#use(startWorker(url, options), null);
        return;
      }
      this.#unanswered = [];
      this.#use(startWorker(checked.blobUrl, options), () => {
        blobRefused = true;
        const resend = this.#unanswered ?? [];
        this.#unanswered = null;
        this.#worker?.terminate();
        this.#worker = null;
        this.#waiting = resend.concat(this.#waiting);
        if (!this.#terminated) this.#use(startWorker(url, options), null);
      });
    });
  }

  /** Listens here, and on the worker itself once it answered (`message`, `messageerror`). */
  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: AddEventListenerOptions | boolean): void {
    if (listener === null) return;
    if ((type === 'message' || type === 'messageerror') && options === undefined) {
      this.#direct.push([type, listener]);
      this.#directWorker?.addEventListener(type, listener);
      if (this.#directWorker !== null) return;
    }
    super.addEventListener(type, listener, options);
  }

  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: EventListenerOptions | boolean): void {
    if (listener === null) return;
    const at = this.#direct.findIndex(([t, l]) => t === type && l === listener);
    if (at >= 0) {
      this.#direct.splice(at, 1);
      this.#directWorker?.removeEventListener(type, listener);
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
    // A message that moved something cannot be sent twice: it is not kept for a resend.
    if (transfer.length === 0) this.#unanswered?.push([message, transfer]);
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

  // Wires a started worker: its events become this object's; `refused` runs instead of passing on
  // an error that came before any answer (a blob worker the page's CSP refused).
  #use(worker: Worker, refused: (() => void) | null): void {
    this.#worker = worker;
    let answered = false;
    // Until its first answer, messages pass through here (a refused blob worker is replaced); then
    // the listeners go on the worker itself.
    const relay = (event: MessageEvent): void => {
      if (this.#worker !== worker || answered) return;
      answered = true;
      this.#unanswered = null;
      worker.removeEventListener('message', relay);
      this.dispatchEvent(new MessageEvent('message', { data: event.data, ports: [...event.ports] }));
      this.#directWorker = worker;
      for (const [type, listener] of this.#direct) {
        super.removeEventListener(type, listener);
        worker.addEventListener(type, listener);
      }
    };
    worker.addEventListener('message', relay);
    worker.addEventListener('messageerror', () => {
      if (this.#worker === worker && !answered) this.dispatchEvent(new Event('messageerror'));
    });
    worker.addEventListener('error', (event: ErrorEvent | Event) => {
      event.preventDefault();
      if (this.#worker !== worker) return;
      if (!answered && refused !== null) {
        refused();
        return;
      }
      const message = event instanceof ErrorEvent ? event.message : '';
      this.dispatchEvent(new ErrorEvent('error', { message, cancelable: true }));
    });
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const [message, transfer] of waiting) this.postMessage(message, transfer);
  }
}
