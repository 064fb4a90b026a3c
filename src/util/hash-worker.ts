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
  | { type: 'start'; job: number; algorithms: DigestAlgorithm[] }
  /** A batch of the job's bytes, transferred (not copied) from the main thread. */
  | { type: 'chunk'; job: number; data: ArrayBuffer }
  | { type: 'end'; job: number }
  | { type: 'abort'; job: number }
  /** Hash a whole local file (read here, in big chunks). */
  | { type: 'file'; job: number; path: string; algorithms: DigestAlgorithm[] };

export type FromHashWorker =
  | { type: 'ack'; job: number; bytes: number }
  | { type: 'done'; job: number; digests: Partial<Record<DigestAlgorithm, string>>; size: number }
  | { type: 'error'; job: number; message: string };

const port = parentPort!;
const jobs = new Map<number, { hashes: [DigestAlgorithm, crypto.Hash][]; size: number }>();

function start(job: number, algorithms: DigestAlgorithm[]) {
  const state = { hashes: algorithms.map((a) => [a, crypto.createHash(a)] as [DigestAlgorithm, crypto.Hash]), size: 0 };
  jobs.set(job, state);
  return state;
}

function finish(job: number): void {
  const state = jobs.get(job);
  if (!state) return;
  jobs.delete(job);
  const digests = Object.fromEntries(state.hashes.map(([a, h]) => [a, h.digest('hex')]));
  port.postMessage({ type: 'done', job, digests, size: state.size } satisfies FromHashWorker);
}

port.on('message', (m: ToHashWorker) => {
  switch (m.type) {
    case 'start':
      start(m.job, m.algorithms);
      break;
    case 'chunk': {
      const state = jobs.get(m.job);
      if (!state) break; // aborted meanwhile
      const data = new Uint8Array(m.data);
      for (const [, h] of state.hashes) h.update(data);
      state.size += data.length;
      port.postMessage({ type: 'ack', job: m.job, bytes: data.length } satisfies FromHashWorker);
      break;
    }
    case 'end':
      finish(m.job);
      break;
    case 'abort':
      jobs.delete(m.job);
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
