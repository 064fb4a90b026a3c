/**
 * A Writable that stores a stream in a local file and digests it in a worker thread
 * (src/util/hash-pool.ts) in one pass. Bytes are gathered into 1 MiB batches: one write(2)
 * per MiB instead of one per 64 KiB socket read, and each batch, once on disk, is transferred
 * (not copied) to the hashing worker. At most MAX_PENDING bytes wait for the worker; beyond
 * that the writer stops taking input, so memory stays flat whatever the file's size.
 */
import fs from 'node:fs/promises';
import { Writable } from 'node:stream';
import type { DigestAlgorithm } from './digest-types';
import { DigestJob, type Digests } from './hash-pool';

const BATCH = 1 << 20;
const MAX_PENDING = 8 << 20;

export class HashedFileWriter extends Writable {
  size = 0;
  /** Set once the writer has finished. */
  digests: Digests = {};
  private fh: fs.FileHandle | undefined;
  private batch = Buffer.allocUnsafeSlow(BATCH);
  private used = 0;
  private readonly job: DigestJob;

  constructor(
    private readonly path: string,
    algorithms: readonly DigestAlgorithm[],
  ) {
    super({ highWaterMark: BATCH });
    this.job = new DigestJob(algorithms);
  }

  override _construct(cb: (e?: Error | null) => void): void {
    fs.open(this.path, 'w').then((fh) => {
      this.fh = fh;
      cb();
    }, cb);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.take(chunk).then(() => cb(), cb);
  }

  private async take(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, BATCH - this.used);
      chunk.copy(this.batch, this.used, off, off + n);
      this.used += n;
      off += n;
      if (this.used === BATCH) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    const len = this.used;
    const batch = this.batch;
    for (let done = 0; done < len; ) done += (await this.fh!.write(batch, done, len - done)).bytesWritten;
    this.size += len;
    // Buffer.allocUnsafeSlow owns its ArrayBuffer whole: transferring it moves no bytes.
    this.job.write(len === BATCH ? batch : new Uint8Array(batch.buffer, 0, len).slice());
    this.batch = Buffer.allocUnsafeSlow(BATCH);
    this.used = 0;
    await this.job.drained(MAX_PENDING);
  }

  override _final(cb: (e?: Error | null) => void): void {
    (async () => {
      if (this.used > 0) await this.flush();
      const { digests } = await this.job.end();
      this.digests = digests;
      await this.fh!.close();
      this.fh = undefined;
    })().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.job.abort();
    const fh = this.fh;
    this.fh = undefined;
    if (!fh) return cb(err);
    fh.close().then(() => cb(err), () => cb(err));
  }
}
