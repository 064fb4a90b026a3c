/**
 * Streaming decompression chosen from the bytes, never from a file name, with a hard
 * cap on output so a decompression bomb fails fast instead of filling memory or disk.
 *
 * Every decoder is bounded in
 * - output: `maxOutput` (callers add tighter caps of their own with byteLimit);
 * - memory: gzip/deflate need a 32 KiB window; xz gets a memlimit (XZ_MEMLIMIT); zstd frames
 *   may not declare a window over 128 MiB (src/util/zstd-decode.ts);
 * - time and the event loop: zlib and liblzma run on libuv's thread pool and work in time
 *   linear in their output, which is capped; zstd (pure JS) runs in a worker thread with a
 *   CPU budget (src/util/zstd.ts).
 */
import { Duplex, Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import lzma from 'lzma-native';
import { InvalidPackageError } from '../core/errors';
import { ZstdDecompressor } from './zstd';

/**
 * liblzma memory limit for one xz stream. The decoder needs about its dictionary size: `xz -9`,
 * the largest preset, uses 64 MiB (xz(1) "Memory usage"); 128 MiB matches the zstd window cap.
 * Without a limit a 1 KiB header may ask liblzma for gigabytes.
 */
export const XZ_MEMLIMIT = 128 * 1024 * 1024;
/** Default output cap when a caller gives none: the largest any package parser allows (pacman, 8 GiB). */
export const DEFAULT_MAX_OUTPUT = 8 * 1024 ** 3;

export interface DecompressOptions {
  maxOutput?: number;
  /** Names the input in errors. */
  what?: string;
}

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

/**
 * A native decoder (zlib, liblzma) behind a Duplex that labels its errors as
 * InvalidPackageError, caps its output, and passes backpressure through: the decoder is
 * paused while our readable side is full, so a slow consumer never makes decompressed bytes
 * pile up in memory.
 */
class NativeDecoder extends Duplex {
  private out = 0;
  constructor(
    private readonly inner: Transform,
    private readonly kind: string,
    private readonly maxOutput: number,
    private readonly what: string,
  ) {
    super();
    inner.on('data', (c: Buffer) => {
      this.out += c.length;
      if (this.out > this.maxOutput) {
        this.destroy(new InvalidPackageError(`${this.what} expands beyond ${this.maxOutput} bytes (decompression bomb?)`));
        return;
      }
      if (!this.push(c)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (e: Error) =>
      this.destroy(e instanceof InvalidPackageError ? e : new InvalidPackageError(`${this.kind} data is corrupt or truncated: ${e.message}`)),
    );
  }

  override _write(chunk: Buffer, _e: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.inner.write(chunk)) cb();
    else this.inner.once('drain', () => cb());
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.inner.end();
    cb();
  }

  override _read(): void {
    this.inner.resume();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.inner.destroy();
    cb(err);
  }
}

/** A decompressing Transform for `kind` ('none' passes bytes through). */
export function decompressor(kind: Compression, opts: DecompressOptions = {}): Transform {
  const maxOutput = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
  const what = opts.what ?? `${kind} data`;
  switch (kind) {
    case 'gzip':
      // multi-member gzip is read as one stream, like gunzip(1)
      return new NativeDecoder(zlib.createGunzip(), 'gzip', maxOutput, what) as unknown as Transform;
    case 'xz':
      return new NativeDecoder(lzma.createDecompressor({ memlimit: XZ_MEMLIMIT }) as unknown as Transform, 'xz', maxOutput, what) as unknown as Transform;
    case 'zstd':
      return new ZstdDecompressor({ maxOutput, what }) as unknown as Transform;
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
