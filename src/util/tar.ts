/**
 * Reading tar streams with bounds: entry count, per-entry size for entries we buffer,
 * and path safety (no absolute paths, no `..` components, no NUL).
 */
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { InvalidPackageError } from '../core/errors';

export interface TarEntryInfo {
  /** Path as stored, with a leading `./` removed. */
  name: string;
  type: string;
  size: number;
  linkname?: string;
  mode?: number;
  /** PAX extended header records of this entry (e.g. apk's APK-TOOLS.checksum.SHA1). */
  pax?: Record<string, string>;
}

export interface TarReadOptions {
  /** Give up after this many entries. */
  maxEntries?: number;
  /** Return `true` to buffer an entry (up to `maxBuffered` bytes) and get it in `onEntry`. */
  want?: (entry: TarEntryInfo) => boolean;
  maxBuffered?: number;
  /** Called for every entry; `data` is set for wanted ones. Return 'stop' to end early. */
  onEntry: (entry: TarEntryInfo, data?: Buffer) => void | 'stop' | Promise<void | 'stop'>;
  /** Reject absolute paths and `..` components (default true). */
  checkPaths?: boolean;
  what?: string;
}

export function normalizeTarPath(name: string): string {
  let n = name;
  while (n.startsWith('./')) n = n.slice(2);
  return n;
}

/** Throws InvalidPackageError for absolute, parent-escaping or NUL-containing archive paths. */
export function assertSafeArchivePath(name: string, what: string): void {
  if (name.includes('\0')) throw new InvalidPackageError(`${what}: entry name contains NUL`);
  if (name.startsWith('/')) throw new InvalidPackageError(`${what}: absolute path "${name}" in archive`);
  if (name.split('/').includes('..')) throw new InvalidPackageError(`${what}: path traversal "${name}" in archive`);
}

/** Walk a (decompressed) tar stream. Resolves when the archive ends or `onEntry` returns 'stop'. */
export function readTar(input: Readable, opts: TarReadOptions): Promise<void> {
  const what = opts.what ?? 'archive';
  const maxEntries = opts.maxEntries ?? 200_000;
  const maxBuffered = opts.maxBuffered ?? 1 << 20;
  const checkPaths = opts.checkPaths ?? true;
  return new Promise<void>((resolve, reject) => {
    const extract = tar.extract();
    let count = 0;
    let done = false;
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      input.unpipe(extract);
      if (err) {
        extract.destroy();
        input.destroy();
        reject(err instanceof InvalidPackageError ? err : new InvalidPackageError(`${what} is not a valid tar archive: ${(err as Error).message}`));
      } else {
        extract.destroy();
        input.destroy();
        resolve();
      }
    };
    extract.on('entry', (header, stream, next) => {
      if (done) {
        stream.resume();
        return;
      }
      const info: TarEntryInfo = {
        name: normalizeTarPath(header.name),
        // Unknown typeflags (GNU sparse, vendor types) stay distinct so callers can refuse them.
        type: header.type ?? 'unknown',
        size: header.size ?? 0,
        linkname: header.linkname ?? undefined,
        mode: header.mode,
        pax: header.pax as Record<string, string> | undefined,
      };
      try {
        if (++count > maxEntries) throw new InvalidPackageError(`${what} has more than ${maxEntries} entries`);
        if (checkPaths) assertSafeArchivePath(info.name, what);
      } catch (e) {
        stream.resume();
        finish(e);
        return;
      }
      const wanted = opts.want?.(info) ?? false;
      const chunks: Buffer[] = [];
      let got = 0;
      stream.on('data', (data: unknown) => {
        const c = data as Buffer;
        if (!wanted) return;
        got += c.length;
        if (got > maxBuffered) {
          finish(new InvalidPackageError(`${what}: entry "${info.name}" is larger than ${maxBuffered} bytes`));
          return;
        }
        chunks.push(c);
      });
      stream.on('error', finish);
      stream.on('end', () => {
        if (done) return;
        // .then() so a synchronous throw in onEntry becomes a rejection, not an uncaught exception.
        Promise.resolve()
          .then(() => opts.onEntry(info, wanted ? Buffer.concat(chunks) : undefined))
          .then(
          (r) => (r === 'stop' ? finish() : next()),
          finish,
        );
      });
    });
    extract.on('finish', () => finish());
    extract.on('error', finish);
    input.on('error', finish);
    // A source destroyed without an error (a consumer upstream gave up) never ends the
    // extractor: without this the promise would never settle.
    input.on('close', () => {
      if (!input.readableEnded) finish(new InvalidPackageError(`${what} ended before the end of the archive`));
    });
    input.pipe(extract);
  });
}
