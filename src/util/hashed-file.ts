/**
 * A Writable that stores a stream in a local file and digests it in a worker thread
 * (src/util/hash-pool.ts) in one pass. The chunks it is given are not copied: they are gathered
 * (as references) into batches of about 1 MiB, each written with one writev(2), so the main
 * thread spends one file system call per MiB and no memcpy. Several batch writes are in flight
 * at once (positional, so their order on disk is fixed; two at most, see MAX_WRITING): waiting
 * for each write before taking more input made throughput a function of thread-pool latency,
 * which on a loaded machine is milliseconds. Once a batch and every batch before it are on
 * disk, the worker is told; it reads those bytes back from the page cache with a descriptor of
 * its own and hashes them. (Handing it the bytes instead needed a copy into a transferable
 * buffer per MiB on the main thread, plus a fresh 1 MiB allocation, zeroed by the kernel.)
 * At most MAX_WRITING bytes wait for the disk and MAX_HASHING for the worker; beyond that the
 * writer stops taking input, so memory stays flat whatever the file's size.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import type { DigestAlgorithm } from './digest-types';
import { DigestJob, type Digests } from './hash-pool';

const BATCH = 1 << 20;
/**
 * At most two batch writes in flight: enough to keep the disk busy while the next batch fills,
 * and no more, since each one holds a libuv thread-pool thread (4 by default) for as long as the
 * kernel throttles the writer (dirty-page write-back): other requests' file system calls
 * (/healthz writes a probe file) queue behind them.
 */
const MAX_WRITING = BATCH;
/** How far the worker's hashing may lag behind the disk (bytes it has yet to read back). */
const MAX_HASHING = 16 << 20;
/**
 * A file that ends within this many bytes before its first batch is written is hashed right
 * here (microseconds) instead of by the worker, which would cost three messages to it: most
 * package files of a bulk import are a few KiB.
 */
const HASH_IN_PLACE = 64 << 10;

// The callback API on a plain descriptor: FileHandle.write spends several times longer on the
// event loop per call (measured 0.15-0.3 ms vs 0.03 ms per 1 MiB write).
const writev = (fd: number, bufs: Buffer[], position: number) =>
  new Promise<number>((resolve, reject) => fs.writev(fd, bufs, position, (e, n) => (e ? reject(e) : resolve(n))));
const close = promisify(fs.close);

async function writeFully(fd: number, bufs: Buffer[], len: number, position: number): Promise<void> {
  for (let done = await writev(fd, bufs, position); done < len; ) {
    // A short write (rare: a signal, a full disk about to fail): the rest from where it stopped.
    const rest: Buffer[] = [];
    let skip = done;
    for (const b of bufs) {
      if (skip >= b.length) skip -= b.length;
      else {
        rest.push(b.subarray(skip));
        skip = 0;
      }
    }
    done += await writev(fd, rest, position + done);
    bufs = rest.length ? rest : bufs;
  }
}

export class HashedFileWriter extends Writable {
  /** Bytes taken so far (all of the file once the writer has finished). */
  size = 0;
  /** Set once the writer has finished. */
  digests: Digests = {};
  private fd: number | undefined;
  /** The next batch: references to the chunks taken (the caller must not reuse them). */
  private batch: Buffer[] = [];
  private used = 0;
  /** Batches being written, oldest first; each entry settles once its batch was reported to the worker. */
  private readonly writing: { handedOver: Promise<void>; bytes: number }[] = [];
  private writingBytes = 0;
  /** The newest batch's report: the next one is chained after it, so the worker reads in file order. */
  private tail: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  /** Started with the first batch written: a small file never needs the worker (HASH_IN_PLACE). */
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
    this.batch.push(chunk);
    this.used += chunk.length;
    // 1024: IOV_MAX, the most buffers one writev(2) takes (many tiny chunks come from a client sending a few bytes at a time).
    if (this.used >= BATCH || this.batch.length === 1024) this.flush();
    // Most chunks neither fill a batch nor meet a limit: answer at once, without a promise per 64 KiB.
    if (this.writingBytes <= MAX_WRITING && (this.job?.pending ?? 0) <= MAX_HASHING && !this.failure) return cb();
    this.settle(MAX_WRITING, MAX_HASHING).then(() => cb(), cb);
  }

  /** Start writing the current batch at its offset; report it to the worker once written and once the batch before it was. */
  private flush(): void {
    const len = this.used;
    const job = (this.job ??= new DigestJob(this.algorithms, this.path));
    const written = writeFully(this.fd!, this.batch, len, this.size);
    this.size += len;
    this.batch = [];
    this.used = 0;
    const handedOver = Promise.all([this.tail, written]).then(() => job.written(len));
    handedOver.catch((e: Error) => (this.failure ??= e));
    this.writing.push({ handedOver, bytes: len });
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
      if (!this.job && this.used <= HASH_IN_PLACE) {
        // The whole file is still in hand: write it and hash it here.
        const data = Buffer.concat(this.batch, this.used);
        await writeFully(this.fd!, [data], data.length, 0);
        this.size = data.length;
        this.batch = [];
        this.digests = Object.fromEntries(this.algorithms.map((a) => [a, crypto.createHash(a).update(data).digest('hex')]));
      } else {
        if (this.used > 0) this.flush();
        await this.settle(0, Infinity);
        this.digests = (await this.job!.end()).digests;
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
