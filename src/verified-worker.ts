/**
 * The evaluator worker, started only from the bytes the build recorded (see `code-integrity.ts`).
 *
 * `startVerifiedWorker` is called with `new`, like `Worker`, and answers a Worker-shaped object at
 * once: messages posted before the worker exists wait, in order, and the worker's events are passed
 * on. Meanwhile the script is fetched and its SHA-256 checked; a mismatch is an `error` event
 * naming it (the bridge answers every call with a Deny that says why).
 *
 * Checklist:
 * - the worker runs the bytes that were checked: it starts from a `blob:` URL made of them;
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

  constructor(url: URL, options: WorkerOptions, expected: string) {
    super();
    void fetchVerified(url, expected, 'the evaluator worker', pageSha256).then((checked) => {
      if (this.#terminated) return;
      if (!checked.ok) {
        this.dispatchEvent(new ErrorEvent('error', { message: checked.error, cancelable: true }));
        return;
      }
      if (blobRefused) {
        this.#use(startWorker(url, options), null);
        return;
      }
      const blobUrl = URL.createObjectURL(new Blob([checked.bytes], { type: 'text/javascript' }));
      this.#unanswered = [];
      this.#use(startWorker(blobUrl, options), () => {
        URL.revokeObjectURL(blobUrl);
        blobRefused = true;
        const resend = this.#unanswered ?? [];
        this.#unanswered = null;
        this.#worker?.terminate();
        this.#worker = null;
        this.#waiting = resend.concat(this.#waiting);
        if (!this.#terminated) this.#use(startWorker(url, options), null);
      }, blobUrl);
    });
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
    this.#waiting = [];
  }

  // Wires a started worker: its events become this object's; `refused` runs instead of passing on
  // an error that came before any answer (a blob worker the page's CSP refused).
  #use(worker: Worker, refused: (() => void) | null, blobUrl?: string): void {
    this.#worker = worker;
    let answered = false;
    worker.addEventListener('message', (event: MessageEvent) => {
      if (this.#worker !== worker) return;
      if (!answered) {
        answered = true;
        this.#unanswered = null;
        if (blobUrl !== undefined) URL.revokeObjectURL(blobUrl);
      }
      this.dispatchEvent(new MessageEvent('message', { data: event.data, ports: [...event.ports] }));
    });
    worker.addEventListener('messageerror', () => {
      if (this.#worker === worker) this.dispatchEvent(new Event('messageerror'));
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
