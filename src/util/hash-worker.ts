/**
 * The worker side of src/util/hash-pool.ts: digests computed off the event loop. md5, sha1,
 * sha256 and sha512 of a 1 GiB upload cost ~3-6 s of CPU; on the main thread that stalled
 * every other request (/healthz included) for as long. Several jobs may share one worker:
 * each message names its job.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { DigestAlgorithm } from './digest-types';

export type ToHashWorker =
  /** A job over the file at `path`, being written: read here as 'written' tells how far it is. */
  | { type: 'start'; job: number; algorithms: DigestAlgorithm[]; path: string }
  /** The next `bytes` of the job's file are on disk (in the page cache): read and hash them. */
  | { type: 'written'; job: number; bytes: number }
  | { type: 'end'; job: number }
  | { type: 'abort'; job: number }
  /** Hash a whole local file (read here, in big chunks). */
  | { type: 'file'; job: number; path: string; algorithms: DigestAlgorithm[] };

export type FromHashWorker =
  | { type: 'ack'; job: number; bytes: number }
  | { type: 'done'; job: number; digests: Partial<Record<DigestAlgorithm, string>>; size: number }
  | { type: 'error'; job: number; message: string };

const port = parentPort!;
interface JobState {
  hashes: [DigestAlgorithm, crypto.Hash][];
  size: number;
  /** The file of a 'written' job, opened here (its own descriptor: the writer's may be closed any time). */
  path?: string;
  fd?: number;
}
const jobs = new Map<number, JobState>();
/** One read buffer for every 'written' job: messages are handled one at a time. */
let readBuffer: Buffer | undefined;

function start(job: number, algorithms: DigestAlgorithm[], file?: string): JobState {
  const state: JobState = { hashes: algorithms.map((a) => [a, crypto.createHash(a)] as [DigestAlgorithm, crypto.Hash]), size: 0, path: file };
  jobs.set(job, state);
  return state;
}

function drop(job: number): void {
  const state = jobs.get(job);
  jobs.delete(job);
  if (state?.fd !== undefined) fs.closeSync(state.fd);
}

/** Read and hash the next `bytes` of the job's file. */
function hashWritten(state: JobState, bytes: number): void {
  state.fd ??= fs.openSync(state.path!, 'r');
  readBuffer ??= Buffer.allocUnsafeSlow(1 << 20);
  for (let left = bytes; left > 0; ) {
    const n = fs.readSync(state.fd, readBuffer, 0, Math.min(left, readBuffer.length), state.size);
    if (n === 0) throw new Error(`${state.path}: ended ${left} bytes before what was written`);
    const data = readBuffer.subarray(0, n);
    for (const [, h] of state.hashes) h.update(data);
    state.size += n;
    left -= n;
  }
}

function finish(job: number): void {
  const state = jobs.get(job);
  if (!state) return;
  drop(job);
  const digests = Object.fromEntries(state.hashes.map(([a, h]) => [a, h.digest('hex')]));
  port.postMessage({ type: 'done', job, digests, size: state.size } satisfies FromHashWorker);
}

port.on('message', (m: ToHashWorker) => {
  switch (m.type) {
    case 'start':
      start(m.job, m.algorithms, m.path);
      break;
    case 'written': {
      const state = jobs.get(m.job);
      if (!state) break; // aborted meanwhile
      try {
        hashWritten(state, m.bytes);
      } catch (e) {
        drop(m.job);
        port.postMessage({ type: 'error', job: m.job, message: (e as Error).message } satisfies FromHashWorker);
        break;
      }
      port.postMessage({ type: 'ack', job: m.job, bytes: m.bytes } satisfies FromHashWorker);
      break;
    }
    case 'end':
      finish(m.job);
      break;
    case 'abort':
      drop(m.job);
      break;
    case 'file': {
      const state = start(m.job, m.algorithms);
      // 1 MiB reads: a 64 KiB default costs 16x the read calls for the same bytes.
      const input = fs.createReadStream(m.path, { highWaterMark: 1 << 20 });
      input.on('data', (chunk) => {
        for (const [, h] of state.hashes) h.update(chunk as Buffer);
        state.size += chunk.length;
      });
      input.on('error', (e) => {
        jobs.delete(m.job);
        port.postMessage({ type: 'error', job: m.job, message: e.message } satisfies FromHashWorker);
      });
      input.on('end', () => finish(m.job));
      break;
    }
  }
});
