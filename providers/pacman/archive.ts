/**
 * Opening a package file as a decompressed, bounded tar stream.
 *
 * libalpm opens packages with libarchive and every filter enabled, so the compression is
 * taken from the bytes, never the file name (docs/formats/pacman.md#package-file). We support what makepkg
 * emits in practice (zstd, xz, gzip, plain tar).
 */
import fs from 'node:fs';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { InvalidPackageError } from '../../src/core/errors';
import { byteLimit, decompressor, sniffCompression, type Compression } from '../../src/util/compression';
import { readHead } from '../../src/util/files';

export interface ArchiveLimits {
  /** Hard cap on decompressed bytes. */
  maxDecompressed: number;
  /** Decompressed/compressed ratio above which (past `ratioFloor` bytes) the input is a bomb. */
  maxRatio: number;
  ratioFloor: number;
}

export const DEFAULT_LIMITS: ArchiveLimits = {
  maxDecompressed: 8 * 1024 ** 3,
  maxRatio: 200,
  ratioFloor: 64 * 1024 ** 2,
};

/** File name extension (after `.pkg.tar`) for each compression we accept. */
export const EXTENSION: Record<Exclude<Compression, 'bzip2'>, string> = { zstd: '.zst', xz: '.xz', gzip: '.gz', none: '' };

function hex(b: Buffer): string {
  return [...b.subarray(0, 8)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** A tar header has "ustar" at offset 257 (POSIX ustar and GNU tar both write it). */
export function looksLikeTar(head: Buffer): boolean {
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

/** Detect the compression from the first bytes; throws for anything that is neither compressed nor tar. */
export async function sniffPackage(localPath: string): Promise<Exclude<Compression, 'bzip2'>> {
  const head = await readHead(localPath, 512);
  if (head.length === 0) throw new InvalidPackageError('the package file is empty');
  const kind = sniffCompression(head);
  if (kind === 'bzip2') throw new InvalidPackageError('bzip2-compressed packages are not supported; rebuild with PKGEXT=.pkg.tar.zst, .xz or .gz');
  if (kind === 'none' && !looksLikeTar(head)) {
    throw new InvalidPackageError(`not a pacman package: neither a tar archive nor zstd/xz/gzip-compressed (first bytes ${hex(head)})`);
  }
  return kind;
}

/** Fails once the output is both past `ratioFloor` and more than `maxRatio` times the compressed size. */
function ratioGuard(compressedSize: number, limits: ArchiveLimits): Transform {
  let seen = 0;
  const budget = Math.max(limits.ratioFloor, limits.maxRatio * compressedSize);
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      if (seen > budget) {
        cb(new InvalidPackageError(`package expands more than ${limits.maxRatio} times its ${compressedSize} compressed bytes (decompression bomb?)`));
        return;
      }
      cb(null, chunk);
    },
  });
}

/**
 * The decompressed tar stream of a package, bounded by `limits`. Errors of any stage surface
 * on the returned stream; destroying it stops reading the file.
 */
export function openTarStream(localPath: string, kind: Exclude<Compression, 'bzip2'>, compressedSize: number, limits: ArchiveLimits): Readable {
  const out = byteLimit(limits.maxDecompressed, 'package');
  pipeline(fs.createReadStream(localPath), decompressor(kind), ratioGuard(compressedSize, limits), out, () => {
    // Errors reach `out` (pipeline destroys it with them); early stops end here as premature close.
  });
  return out;
}

/**
 * The decompressed tar stream of an archive already in memory (a sync database fetched by a
 * remote repository), with the same bounds and compression sniffing as a package file.
 */
export function openTarBuffer(data: Buffer, limits: ArchiveLimits, what: string): Readable {
  const kind = sniffCompression(data.subarray(0, 512));
  if (kind === 'bzip2') throw new InvalidPackageError(`${what} is bzip2-compressed, which is not supported (zstd, xz, gzip or plain tar)`);
  if (kind === 'none' && !looksLikeTar(data.subarray(0, 512))) throw new InvalidPackageError(`${what} is neither a tar archive nor zstd/xz/gzip-compressed (first bytes ${hex(data)})`);
  const out = byteLimit(limits.maxDecompressed, what);
  pipeline(Readable.from([data]), decompressor(kind, { what }), ratioGuard(data.length, limits), out, () => {
    // As in openTarStream: errors reach `out`.
  });
  return out;
}

/**
 * Strips the header of the first gzip member (RFC 1952 section 2.3) and inflates only that
 * member: a raw inflater stops at the end of its deflate stream (Node ends its readable side
 * right there) and ignores what follows. Alpine's .apk is several gzip members back to back;
 * a pacman .pkg.tar.gz is one. The output ends with the first member, and `onComplete` runs
 * if that member was complete (a truncated one is an error instead).
 */
export function firstGzipMember(onComplete: () => void): Transform {
  let header: Buffer | null = Buffer.alloc(0);
  let done = false;
  const inflate = zlib.createInflateRaw();
  const out: Transform = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (done) return cb(); // later members: not ours
      if (header !== null) {
        header = Buffer.concat([header, chunk]);
        let len: number | undefined;
        try {
          len = gzipHeaderLength(header);
        } catch (e) {
          return cb(e as Error);
        }
        if (len === undefined) return cb();
        chunk = header.subarray(len);
        header = null;
      }
      if (inflate.write(chunk)) return cb();
      const go = () => {
        inflate.off('drain', go);
        inflate.off('end', go);
        cb();
      };
      inflate.on('drain', go);
      inflate.on('end', go);
    },
    flush(cb) {
      if (done) return cb();
      inflate.once('end', () => cb());
      inflate.end();
    },
  });
  inflate.on('data', (c: Buffer) => {
    if (!done) out.push(c);
  });
  inflate.on('end', () => {
    done = true;
    onComplete();
    out.push(null);
  });
  inflate.on('error', (e: Error) => out.destroy(new InvalidPackageError(`gzip data is corrupt or truncated: ${e.message}`)));
  return out;
}

/** Length of a gzip member header, or undefined when more bytes are needed. Throws if it is not gzip. */
function gzipHeaderLength(b: Buffer): number | undefined {
  if (b.length < 10) return undefined;
  if (b[0] !== 0x1f || b[1] !== 0x8b || b[2] !== 8) throw new InvalidPackageError('not a deflate gzip member');
  const flags = b[3]!;
  let p = 10;
  if (flags & 0x04) {
    if (b.length < p + 2) return undefined;
    p += 2 + b.readUInt16LE(p);
  }
  for (const bit of [0x08, 0x10]) {
    if (flags & bit) {
      const nul = b.indexOf(0, p);
      if (nul < 0) return undefined;
      p = nul + 1;
    }
  }
  if (flags & 0x02) p += 2;
  return b.length >= p ? p : undefined;
}
