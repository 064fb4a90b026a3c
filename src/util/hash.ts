import crypto from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { FileHashes } from '../core/provider';

export function sha256Hex(data: Buffer | string): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** A pass-through stream computing sha256, sha512, sha1, md5 and the size in one pass. */
export class MultiHasher extends Transform {
  private readonly h = { sha256: crypto.createHash('sha256'), sha512: crypto.createHash('sha512'), sha1: crypto.createHash('sha1'), md5: crypto.createHash('md5') };
  size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    for (const h of Object.values(this.h)) h.update(chunk);
    cb(null, chunk);
  }

  digests(): FileHashes {
    return { sha256: this.h.sha256.digest('hex'), sha512: this.h.sha512.digest('hex'), sha1: this.h.sha1.digest('hex'), md5: this.h.md5.digest('hex') };
  }
}
