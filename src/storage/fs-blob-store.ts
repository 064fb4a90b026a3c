import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { close, closeSync, fstatSync, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { BlobStat, BlobStore, ByteRange } from './blob-store';

const openForRead = (file: string) => promisify(open)(file, 'r');
const READ_CHUNK = 1 << 20;
const READ_AHEAD = 4 * READ_CHUNK;

/**
 * A file's bytes [start, end) as a stream of 1 MiB reads (fs.createReadStream reads 64 KiB:
 * 16x the read calls, socket writes and per-chunk stream work), reading ahead up to 4 MiB
 * while the consumer waits for its socket to drain: with createReadStream's read size equal
 * to its buffer size, each read only started once the previous chunk had left, so every chunk
 * paid a thread-pool round trip (milliseconds on a loaded machine) on top of the socket's.
 * Node has no sendfile; this is as close as a Readable gets.
 */
class ReadAheadFile extends Readable {
  private reading = false;
  /** Set by _destroy while a read is in flight. */
  private closeAfterRead: (() => void) | undefined;

  constructor(
    private readonly fd: number,
    private position: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: READ_AHEAD });
  }

  override _read(): void {
    if (this.reading) return;
    const len = Math.min(READ_CHUNK, this.end - this.position);
    if (len <= 0) {
      this.push(null);
      return;
    }
    this.reading = true;
    const buf = Buffer.allocUnsafeSlow(len);
    // The callback API on a plain descriptor: FileHandle.read costs several times more event-loop time per call.
    read(this.fd, buf, 0, len, this.position, (e, bytesRead) => {
      this.reading = false;
      if (this.closeAfterRead) return this.closeAfterRead();
      if (e) return void this.destroy(e);
      this.position += bytesRead;
      // A blob never shrinks (content-addressed, written once); a short file ends the stream.
      if (bytesRead === 0) this.push(null);
      else this.push(bytesRead === len ? buf : buf.subarray(0, bytesRead));
    });
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    // A read still in flight must finish before the descriptor is closed (and its number reused).
    const closeNow = () => close(this.fd, () => cb(err));
    if (this.reading) this.closeAfterRead = closeNow;
    else closeNow();
  }
}

/** Blobs as files under `root`. Writes go to a temp name and are renamed into place (atomic on POSIX). */
export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;

  constructor(private readonly root: string) {}

  private file(key: string): string {
    const p = path.resolve(this.root, key);
    if (!p.startsWith(path.resolve(this.root) + path.sep)) throw new Error(`blob key escapes the store: ${key}`);
    return p;
  }

  /**
   * Shard directories known to exist: a bulk import stores thousands of blobs, and a recursive
   * mkdir per blob was a noticeable share of its event-loop time. Blob directories are never
   * removed while the server runs (gc deletes files, not directories); a rename into a
   * directory removed behind our back fails with ENOENT and is retried after a real mkdir.
   */
  private readonly madeDirs = new Set<string>();

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await fs.mkdir(dir, { recursive: true });
    if (this.madeDirs.size > 100_000) this.madeDirs.clear();
    this.madeDirs.add(dir);
  }

  private tempName(dest: string): string {
    return `${dest}.tmp-${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
  }

  /** Run `write` once its directory exists; once more after a real mkdir if the directory had gone. */
  private async inDir(dest: string, write: () => Promise<void>): Promise<void> {
    const dir = path.dirname(dest);
    await this.ensureDir(dir);
    try {
      await write();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || !this.madeDirs.delete(dir)) throw e;
      await this.ensureDir(dir);
      await write();
    }
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const dest = this.file(key);
    await this.inDir(dest, async () => {
      // The upload temp dir normally lives on the same file system: one rename, atomic, and the
      // caller's temp file is consumed. Across devices (EXDEV) a copy to a temp name, then a rename.
      try {
        await fs.rename(localPath, dest);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      }
      const tmp = this.tempName(dest);
      try {
        await fs.copyFile(localPath, tmp);
        await fs.rename(tmp, dest);
      } catch (e) {
        await fs.rm(tmp, { force: true });
        throw e;
      }
    });
  }

  async putBuffer(key: string, data: Buffer): Promise<void> {
    const dest = this.file(key);
    await this.inDir(dest, async () => {
      const tmp = this.tempName(dest);
      try {
        await fs.writeFile(tmp, data);
        await fs.rename(tmp, dest);
      } catch (e) {
        await fs.rm(tmp, { force: true });
        throw e;
      }
    });
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    // Opened here so a missing blob fails now (the caller answers 404), not mid-response.
    const fd = await openForRead(this.file(key));
    try {
      return new ReadAheadFile(fd, range?.start ?? 0, range ? range.end + 1 : fstatSync(fd).size);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  async stat(key: string): Promise<BlobStat | null> {
    try {
      const s = await fs.stat(this.file(key));
      return { size: s.size, lastModified: s.mtime };
    } catch {
      return null;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<{ key: string } & BlobStat> {
    const base = path.resolve(this.root);
    const walk = async function* (dir: string): AsyncIterable<{ key: string } & BlobStat> {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) yield* walk(full);
        else if (e.isFile() && !e.name.includes('.tmp-')) {
          const s = await fs.stat(full);
          yield { key: path.relative(base, full).split(path.sep).join('/'), size: s.size, lastModified: s.mtime };
        }
      }
    };
    yield* walk(path.join(base, prefix));
  }

  async check(): Promise<void> {
    // Few file system calls in a row (each is a thread-pool round trip, slow while an upload
    // keeps the disk and event loop busy): the directory is made only when it is missing, and
    // unlink instead of rm (which stats first).
    const probe = path.join(this.root, `.healthz-${process.pid}`);
    try {
      await fs.writeFile(probe, 'ok');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await fs.mkdir(this.root, { recursive: true });
      await fs.writeFile(probe, 'ok');
    }
    await fs.unlink(probe);
  }
}
