/**
 * Streaming decompression chosen from the bytes, never from a file name, with a hard
 * cap on output so a decompression bomb fails fast instead of filling memory or disk.
 */
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import lzma from 'lzma-native';
import { InvalidPackageError } from '../core/errors';

export type Compression = 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'none';

/** Identify the compression from the first bytes (at least 6). */
export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return 'none';
}

/** A Transform that fails with InvalidPackageError once more than `max` bytes pass through. */
export function byteLimit(max: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > max) {
        cb(new InvalidPackageError(`${what} expands beyond ${max} bytes (decompression bomb?)`));
        return;
      }
      cb(null, chunk);
    },
  });
}

/** fzstd is synchronous and push-based; wrap it as a Transform. */
function zstdTransform(): Transform {
  let out: Transform;
  const dec = new ZstdDecompress((chunk: Uint8Array) => {
    out.push(Buffer.from(chunk));
  });
  out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        dec.push(chunk);
        cb();
      } catch (e) {
        cb(new InvalidPackageError(`zstd data is corrupt: ${(e as Error).message}`));
      }
    },
    flush(cb) {
      try {
        dec.push(new Uint8Array(0), true);
        cb();
      } catch (e) {
        cb(new InvalidPackageError(`zstd data is truncated: ${(e as Error).message}`));
      }
    },
  });
  return out;
}

/** Wrap a decoder so its errors become InvalidPackageError with a readable message. */
function labelErrors(t: Transform, kind: string): Transform {
  const wrapped = new Transform({
    transform(chunk, _e, cb) {
      if (!t.write(chunk)) t.once('drain', () => cb());
      else cb();
    },
    flush(cb) {
      t.once('end', () => cb());
      t.end();
    },
  });
  t.on('data', (c: Buffer) => wrapped.push(c));
  t.on('error', (e: Error) => wrapped.destroy(e instanceof InvalidPackageError ? e : new InvalidPackageError(`${kind} data is corrupt or truncated: ${e.message}`)));
  return wrapped;
}

/** A decompressing Transform for `kind` ('none' passes bytes through). */
export function decompressor(kind: Compression): Transform {
  switch (kind) {
    case 'gzip':
      // multi-member gzip is read as one stream, like gunzip(1)
      return labelErrors(zlib.createGunzip(), 'gzip');
    case 'xz':
      return labelErrors(lzma.createDecompressor() as unknown as Transform, 'xz');
    case 'zstd':
      return zstdTransform();
    case 'none':
      return new Transform({ transform: (c, _e, cb) => cb(null, c) });
    case 'bzip2':
      throw new InvalidPackageError('bzip2 compression is not supported; use zstd, xz or gzip');
  }
}

/** Compress a (small, already in memory) index file with xz. */
export function xzCompress(data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    lzma.compress(data, { preset: 6 }, (result: Buffer, err?: Error) => (err ? reject(err) : resolve(Buffer.from(result))));
  });
}

/** Deterministic gzip (no name, mtime 0) so the same input always gives the same bytes. */
export function gzipDeterministic(data: Buffer, level = 9): Buffer {
  // zlib writes mtime 0 and no file name by default; OS byte is platform-dependent (3 = Unix here).
  return zlib.gzipSync(data, { level });
}
