/**
 * Bodies of small blobs (index files, PyPI pages, small packages) in memory, by sha256
 * (issue 15): opening and reading a file per GET cost about a fifth of a small GET. Blobs
 * are content-addressed, so a kept body is never stale and needs no invalidation; gc may
 * delete a blob that is still kept here, and then nothing names it any more.
 * A body is kept only when what the store returned has the expected size and sha256; a
 * damaged or truncated blob is never made permanent (get answers null: stream it as before).
 * Bounded: bodies up to MAX_ITEM bytes, MAX_TOTAL in all, least recently used go first.
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';

export const MAX_ITEM = 64 << 10;
const MAX_TOTAL = 32 << 20;

export class BlobBodyCache {
  private readonly bodies = new Map<string, Buffer>();
  private readonly loading = new Map<string, Promise<Buffer | null>>();
  private total = 0;

  constructor(private readonly maxTotal = MAX_TOTAL) {}

  /** Whether a blob of this size is served from here (larger ones are streamed). */
  fits(size: number): boolean {
    return size <= MAX_ITEM;
  }

  /** get() when the body is kept: the same Buffer (and the same recency update), or undefined. */
  peek(sha256: string): Buffer | undefined {
    const hit = this.bodies.get(sha256);
    if (hit) {
      this.bodies.delete(sha256);
      this.bodies.set(sha256, hit);
    }
    return hit;
  }

  /** The whole body of a small blob (`open` reads it from the store on a miss); null if the stored bytes are not that blob. */
  async get(sha256: string, size: number, open: () => Promise<Readable>): Promise<Buffer | null> {
    const hit = this.bodies.get(sha256);
    if (hit) {
      this.bodies.delete(sha256);
      this.bodies.set(sha256, hit);
      return hit;
    }
    let p = this.loading.get(sha256);
    if (!p) {
      p = this.load(sha256, size, open).finally(() => this.loading.delete(sha256));
      this.loading.set(sha256, p);
    }
    return p;
  }

  private async load(sha256: string, size: number, open: () => Promise<Readable>): Promise<Buffer | null> {
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of await open()) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length > MAX_ITEM) break; // not what the row says: never read more than a small body
    }
    const body = Buffer.concat(chunks);
    if (body.length !== size || crypto.createHash('sha256').update(body).digest('hex') !== sha256) return null;
    this.bodies.set(sha256, body);
    this.total += body.length;
    for (const [key, old] of this.bodies) {
      if (this.total <= this.maxTotal) break;
      this.bodies.delete(key);
      this.total -= old.length;
    }
    return body;
  }
}
