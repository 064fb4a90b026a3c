/**
 * A Writable that stores a stream in a local file and digests it in a worker thread
 * (src/util/hash-pool.ts) in one pass. Bytes are gathered into 1 MiB batches: one write(2)
 * per MiB instead of one per 64 KiB socket read. Several batch writes are in flight at once
 * (positional, so their order on disk is fixed; two at most, see MAX_WRITING): waiting for each write before taking more
 * input made throughput a function of thread-pool latency, which on a loaded machine is
 * milliseconds. Each batch, once on disk, is transferred (not copied) to the hashing worker,
 * in file order. At most MAX_WRITING bytes wait for the disk and MAX_HASHING for the worker;
 * beyond that the writer stops taking input, so memory stays flat whatever the file's size.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import type { DigestAlgorithm } from './digest-types';
import { DigestJob, type Digests } from './hash-pool';

const BATCH = 1 << 20;
/**
 * The first batch is small: most package files (a bulk import's .debs) are a few KiB, and a
 * 1 MiB buffer per file was most of such an import's garbage-collection time. A file that ends
 * within it is also hashed right here (microseconds for 64 KiB) instead of by the worker,
 * which would cost three messages to it.
 */
const FIRST_BATCH = 64 << 10;
/**
 * At most two batch writes in flight: enough to keep the disk busy while the next batch fills,
 * and no more, since each one holds a libuv thread-pool thread (4 by default) for as long as the
 * kernel throttles the writer (dirty-page write-back): other requests' file system calls
 * (/healthz writes a probe file) queue behind them.
 */
const MAX_WRITING = BATCH;
const MAX_HASHING = 8 << 20;

// The callback API on a plain descriptor: FileHandle.write spends several times longer on the
// event loop per call (measured 0.15-0.3 ms vs 0.03 ms per 1 MiB write).
const write = (fd: number, buf: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) => fs.write(fd, buf, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));
const close = promisify(fs.close);

async function writeFully(fd: number, buf: Buffer, len: number, position: number): Promise<void> {
  for (let done = 0; done < len; ) done += await write(fd, buf, done, len - done, position + done);
}

export class HashedFileWriter extends Writable {
  /** Bytes taken so far (all of the file once the writer has finished). */
  size = 0;
  /** Set once the writer has finished. */
  digests: Digests = {};
  private fd: number | undefined;
  /** Allocated on the first write after each flush (FIRST_BATCH for the first, BATCH after). */
  private batch: Buffer | null = null;
  private used = 0;
  /** Batches being written, oldest first; each entry settles once its batch went to the worker. */
  private readonly writing: { handedOver: Promise<void>; bytes: number }[] = [];
  private writingBytes = 0;
  /** The newest batch's hand-over: the next one is chained after it, keeping the hash in file order. */
  private tail: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  /** Started with the first full batch: a file that fits the first batch never needs the worker. */
  private job: DigestJob | null = null;

  constructor(
    private readonly path: string,
    private readonly algorithms: readonly DigestAlgorithm[],
  ) {
    super({ highWaterMark: 4 * BATCH });
  }

  override _construct(cb: (e?: Error | null) => void): void {
    fs.open(this.path, 'w', (e, fd) => {
      this.fd = fd;
      cb(e);
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    let off = 0;
    while (off < chunk.length) {
      const batch = (this.batch ??= Buffer.allocUnsafeSlow(this.size === 0 ? FIRST_BATCH : BATCH));
      const n = Math.min(chunk.length - off, batch.length - this.used);
      chunk.copy(batch, this.used, off, off + n);
      this.used += n;
      off += n;
      if (this.used === batch.length) this.flush();
    }
    // Most chunks neither fill a batch nor meet a limit: answer at once, without a promise per 64 KiB.
    if (this.writingBytes <= MAX_WRITING && (this.job?.pending ?? 0) <= MAX_HASHING && !this.failure) return cb();
    this.settle(MAX_WRITING, MAX_HASHING).then(() => cb(), cb);
  }

  /** Start writing the current batch at its offset; hand it to the worker once written and once the batch before it was. */
  private flush(): void {
    const len = this.used;
    const batch = this.batch!;
    const job = (this.job ??= new DigestJob(this.algorithms));
    const written = writeFully(this.fd!, batch, len, this.size);
    this.size += len;
    this.batch = null;
    this.used = 0;
    const handedOver = Promise.all([this.tail, written]).then(() => {
      // Buffer.allocUnsafeSlow owns its ArrayBuffer whole: transferring it moves no bytes.
      job.write(len === batch.length ? batch : new Uint8Array(batch.buffer, 0, len).slice());
    });
    handedOver.catch((e: Error) => (this.failure ??= e));
    const entry = { handedOver, bytes: len };
    this.writing.push(entry);
    this.writingBytes += len;
    this.tail = handedOver;
  }

  /** Until at most `writing` bytes wait for the disk and `hashing` for the worker. */
  private async settle(writing: number, hashing: number): Promise<void> {
    while (this.writingBytes > writing) {
      const oldest = this.writing.shift()!;
      this.writingBytes -= oldest.bytes;
      await oldest.handedOver;
    }
    if (this.failure) throw this.failure;
    await this.job?.drained(hashing);
  }

  override _final(cb: (e?: Error | null) => void): void {
    (async () => {
      if (!this.job) {
        // The whole file is in the first batch: write it and hash it here.
        const data = this.batch?.subarray(0, this.used) ?? Buffer.alloc(0);
        await writeFully(this.fd!, data, data.length, 0);
        this.size = data.length;
        this.digests = Object.fromEntries(this.algorithms.map((a) => [a, crypto.createHash(a).update(data).digest('hex')]));
        this.batch = null;
      } else {
        if (this.used > 0) this.flush();
        await this.settle(0, Infinity);
        this.digests = (await this.job.end()).digests;
      }
      const fd = this.fd!;
      this.fd = undefined;
      await close(fd);
    })().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.job?.abort();
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return cb(err);
    // Writes still in flight finish (or fail) before the descriptor closes.
    Promise.allSettled(this.writing.map((w) => w.handedOver))
      .then(() => close(fd))
      .then(() => cb(err), () => cb(err));
  }
}
