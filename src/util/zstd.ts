/**
 * zstd decompression as a Duplex stream whose decoding runs in a worker thread
 * (src/util/zstd-worker.ts -> zstd-decode.ts). fzstd is pure JS and synchronous: on the
 * event loop, one crafted frame stalled every request for seconds. In the worker it is
 * bounded in
 * - memory: the frame window (<= 128 MiB, checked before fzstd allocates it) plus the
 *   worker's V8 heap limits (resourceLimits);
 * - output: `maxOutput`;
 * - time: a CPU budget that grows with output, checked by the worker after every block, and a
 *   stall watchdog here in case the worker stops reporting (it is then terminated).
 * Idle workers are kept (unref'd) for reuse: starting one costs ~100 ms under tsx.
 */
import { Duplex } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { InvalidPackageError } from '../core/errors';
import type { FromWorker, StartMessage, ToWorker } from './zstd-worker';
import { workerSource } from './worker-source';

export interface ZstdOptions {
  maxOutput: number;
  what?: string;
  /** Override the CPU budget (tests). */
  budget?: Partial<typeof BUDGET>;
}

/**
 * CPU budget: 15 s to start with (a small package decodes in milliseconds; this leaves room
 * for a loaded machine), then per MiB of output 40 ms + 4 ms per MiB of window. fzstd moves
 * its whole window once per block (<= 128 KiB of output), ~0.1 ms per MiB of window at memcpy
 * speed, i.e. ~0.8 ms per MiB of output per MiB of window; the factors leave a 4-5x margin.
 * A frame made of tiny blocks earns almost nothing and fails after the base budget.
 */
const BUDGET = { baseMs: 15_000, msPerMiB: 40, msPerMiBPerWindowMiB: 4 };
/** No message from a busy worker for this long means it is stuck: terminate it. */
const STALL_MS = 30_000;
const MAX_IDLE_WORKERS = 2;
/** V8 heap of a worker: fzstd keeps its window in ArrayBuffers (outside this), the heap holds small tables. */
const RESOURCE_LIMITS = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 };

const idle: Worker[] = [];

/** The idle pool's own listeners; removed when a stream takes the worker. */
const idleHandlers = new Map<Worker, { exit: () => void; error: () => void }>();

function takeWorker(): Worker {
  const w = idle.pop() ?? new Worker(workerSource('zstd-worker'), { eval: true, resourceLimits: RESOURCE_LIMITS });
  const h = idleHandlers.get(w);
  if (h) {
    w.off('exit', h.exit);
    w.off('error', h.error);
    idleHandlers.delete(w);
  }
  w.ref();
  return w;
}

function releaseWorker(w: Worker): void {
  if (idle.length >= MAX_IDLE_WORKERS) {
    void w.terminate();
    return;
  }
  w.unref();
  const h = {
    exit: () => {
      const i = idle.indexOf(w);
      if (i >= 0) idle.splice(i, 1);
      idleHandlers.delete(w);
    },
    error: () => undefined,
  };
  w.on('exit', h.exit);
  w.on('error', h.error);
  idleHandlers.set(w, h);
  idle.push(w);
}

export class ZstdDecompressor extends Duplex {
  private worker: Worker | undefined;
  private readonly credit = new SharedArrayBuffer(4);
  private readonly creditView = new Int32Array(this.credit);
  /** Output bytes pushed while the readable side was full: given back to the worker on _read. */
  private held = 0;
  private pendingCb: ((e?: Error | null) => void) | undefined;
  private lastMessage = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  private readonly what: string;

  constructor(opts: ZstdOptions) {
    super({ readableHighWaterMark: 1 << 20 });
    this.what = opts.what ?? '';
    const w = takeWorker();
    this.worker = w;
    // Only our own listeners are ever removed: Worker manages its message port through
    // newListener/removeListener hooks that removeAllListeners() would break.
    w.on('message', this.onMessageBound);
    w.on('error', this.onErrorBound);
    w.on('exit', this.onExitBound);
    const start: StartMessage = { type: 'start', maxOutput: opts.maxOutput, credit: this.credit, ...BUDGET, ...opts.budget };
    w.postMessage(start satisfies ToWorker);
    this.watchdog = setInterval(() => this.checkStall(), 5000).unref();
  }

  private readonly onMessageBound = (m: FromWorker) => this.onMessage(m);
  private readonly onErrorBound = (e: Error & { code?: string }) => {
    this.detach(false); // it is gone
    this.destroy(
      e.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? new InvalidPackageError(this.label('zstd decompression needs more memory than allowed (decompression bomb?)'))
        : e,
    );
  };
  private readonly onExitBound = () => {
    this.detach(false);
    this.destroy(new Error('zstd worker exited unexpectedly'));
  };

  private checkStall(): void {
    const busy = this.pendingCb !== undefined && this.held === 0;
    if (busy && Date.now() - this.lastMessage > STALL_MS) {
      this.destroy(new InvalidPackageError(this.label(`zstd decompression made no progress for ${STALL_MS / 1000} s`)));
    }
  }

  private label(msg: string): string {
    return this.what ? `${this.what}: ${msg}` : msg;
  }

  private giveCredit(n: number): void {
    Atomics.sub(this.creditView, 0, n);
    Atomics.notify(this.creditView, 0);
  }

  private onMessage(m: FromWorker): void {
    this.lastMessage = Date.now();
    if (this.destroyed) return;
    switch (m.type) {
      case 'data': {
        const buf = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
        if (this.push(buf)) this.giveCredit(buf.length);
        else this.held += buf.length;
        break;
      }
      case 'ack':
        this.callback();
        break;
      case 'end': {
        this.detach(true);
        this.push(null);
        this.callback();
        break;
      }
      case 'error':
        // The worker reset itself after a data error and can serve another stream.
        this.detach(m.data);
        this.destroy(m.data ? new InvalidPackageError(this.label(m.message)) : new Error(m.message));
        break;
    }
  }

  private callback(e?: Error): void {
    const cb = this.pendingCb;
    this.pendingCb = undefined;
    cb?.(e);
  }

  /** Stop using the worker: back to the pool if it is in a clean state, else terminated. */
  private detach(reusable: boolean): void {
    const w = this.worker;
    this.worker = undefined;
    clearInterval(this.watchdog);
    if (!w) return;
    w.off('message', this.onMessageBound);
    w.off('error', this.onErrorBound);
    w.off('exit', this.onExitBound);
    if (reusable) releaseWorker(w);
    else {
      w.on('error', () => undefined);
      void w.terminate();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (!this.worker) return cb(new Error('zstd worker is gone'));
    this.pendingCb = cb;
    const copy = new Uint8Array(chunk); // transferable, and not a view of a pooled buffer
    this.worker.postMessage({ type: 'chunk', data: copy } satisfies ToWorker, [copy.buffer]);
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (!this.worker) return cb(new Error('zstd worker is gone'));
    this.pendingCb = cb;
    this.worker.postMessage({ type: 'end' } satisfies ToWorker);
  }

  override _read(): void {
    if (this.held > 0) {
      const n = this.held;
      this.held = 0;
      this.giveCredit(n);
    }
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    // Destroyed mid-stream (consumer stopped early, error elsewhere): the worker may be busy
    // or blocked on credit, so it is terminated rather than reused.
    this.detach(false);
    this.pendingCb = undefined;
    cb(err);
  }
}
