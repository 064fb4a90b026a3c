/**
 * Digests computed in worker threads (src/util/hash-worker.ts), so that hashing a large upload
 * never blocks the event loop. A small pool (one worker per core, at most 4) is started on first
 * use; jobs go to the least busy worker. Workers are unref'd while idle, so they never keep the
 * process alive.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DigestAlgorithm } from './digest-types';
import type { FromHashWorker, ToHashWorker } from './hash-worker';
import { workerSource } from './worker-source';

export type Digests = Partial<Record<DigestAlgorithm, string>>;

interface PooledWorker {
  worker: Worker;
  jobs: Set<number>;
}

interface JobHandlers {
  owner: PooledWorker;
  ack(bytes: number): void;
  done(digests: Digests, size: number): void;
  fail(e: Error): void;
}

const MAX_WORKERS = Math.max(1, Math.min(4, os.availableParallelism()));
const pool: PooledWorker[] = [];
const handlers = new Map<number, JobHandlers>();
let nextJob = 1;

function spawn(): PooledWorker {
  const pw: PooledWorker = { worker: new Worker(workerSource('hash-worker'), { eval: true }), jobs: new Set() };
  pw.worker.unref();
  pw.worker.on('message', (m: FromHashWorker) => {
    const h = handlers.get(m.job);
    if (!h) return;
    if (m.type === 'ack') h.ack(m.bytes);
    else {
      release(m.job);
      if (m.type === 'done') h.done(m.digests, m.size);
      else h.fail(new Error(m.message));
    }
  });
  const lost = (e: Error) => {
    const i = pool.indexOf(pw);
    if (i >= 0) pool.splice(i, 1);
    for (const job of [...pw.jobs]) {
      const h = handlers.get(job);
      release(job);
      h?.fail(e);
    }
  };
  pw.worker.on('error', lost);
  pw.worker.on('exit', (code) => lost(new Error(`hash worker exited (code ${code})`)));
  pool.push(pw);
  return pw;
}

function assign(job: number, h: Omit<JobHandlers, 'owner'>): PooledWorker {
  const idle = pool.find((p) => p.jobs.size === 0);
  const owner = idle ?? (pool.length < MAX_WORKERS ? spawn() : pool.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a)));
  if (owner.jobs.size === 0) owner.worker.ref(); // a job in progress keeps the process alive
  owner.jobs.add(job);
  handlers.set(job, { ...h, owner });
  return owner;
}

function release(job: number): void {
  const h = handlers.get(job);
  if (!h) return;
  handlers.delete(job);
  h.owner.jobs.delete(job);
  if (h.owner.jobs.size === 0) h.owner.worker.unref();
}

function post(pw: PooledWorker, m: ToHashWorker): void {
  pw.worker.postMessage(m);
}

/** Digests of a whole local file, read and hashed in a worker. */
export function hashFile(path: string, algorithms: readonly DigestAlgorithm[]): Promise<{ digests: Digests; size: number }> {
  return new Promise((resolve, reject) => {
    const job = nextJob++;
    const owner = assign(job, { ack: () => undefined, done: (digests, size) => resolve({ digests, size }), fail: reject });
    post(owner, { type: 'file', job, path, algorithms: [...algorithms] });
  });
}

/**
 * A streaming job over a file being written: `written` reports each further stretch on disk,
 * which the worker reads back (from the page cache) and hashes. `pending` counts bytes the
 * worker has not hashed yet, for the caller's backpressure; `drained` resolves when it falls to `below`.
 */
export class DigestJob {
  private readonly job = nextJob++;
  private readonly owner: PooledWorker;
  private readonly result: Promise<{ digests: Digests; size: number }>;
  private failure: Error | undefined;
  private waiter: { below: number; resolve: () => void; reject: (e: Error) => void } | undefined;
  pending = 0;

  constructor(algorithms: readonly DigestAlgorithm[], file: string) {
    let resolve!: (r: { digests: Digests; size: number }) => void;
    let reject!: (e: Error) => void;
    this.result = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.result.catch(() => undefined); // observed through end() or drained()
    this.owner = assign(this.job, {
      ack: (bytes) => {
        this.pending -= bytes;
        if (this.waiter && this.pending <= this.waiter.below) {
          this.waiter.resolve();
          this.waiter = undefined;
        }
      },
      done: (digests, size) => resolve({ digests, size }),
      fail: (e) => {
        this.failure = e;
        this.waiter?.reject(e);
        this.waiter = undefined;
        reject(e);
      },
    });
    post(this.owner, { type: 'start', job: this.job, algorithms: [...algorithms], path: file });
  }

  /** The next `bytes` of the job's file are written: the worker reads them from the page cache. */
  written(bytes: number): void {
    if (this.failure) throw this.failure;
    this.pending += bytes;
    post(this.owner, { type: 'written', job: this.job, bytes });
  }

  drained(below: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending <= below) return Promise.resolve();
    return new Promise((resolve, reject) => (this.waiter = { below, resolve, reject }));
  }

  end(): Promise<{ digests: Digests; size: number }> {
    if (!this.failure) post(this.owner, { type: 'end', job: this.job });
    return this.result;
  }

  abort(): void {
    if (!handlers.has(this.job)) return;
    post(this.owner, { type: 'abort', job: this.job });
    release(this.job);
  }
}
