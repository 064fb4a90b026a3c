/**
 * Streaming splitter for concatenated gzip members (RFC 1952), as used by apk v2 packages
 * (docs/formats/apk.md#package-file: signature, control and data are separate gzip streams).
 *
 * zlib's gunzip reads several members as one stream and hides the boundaries, but apk's
 * package identity (`C:`) and `datahash` are hashes of the *compressed* bytes of single
 * members. So this module parses each member's header and trailer itself and inflates the
 * body with a raw-deflate stream, learning where the deflate data ends from how many input
 * bytes zlib consumed (`bytesWritten`): zlib stops consuming exactly at the end of the
 * deflate stream. Nothing is buffered beyond one read chunk; the trailer's CRC-32 and
 * length are checked like gunzip(1) does, and the total decompressed output is capped.
 */
import { createReadStream } from 'node:fs';
import zlib from 'node:zlib';
import { InvalidPackageError } from '../../src/core/errors';

export interface MemberVisitor {
  /** A new member starts (index from 0). */
  start(index: number): void;
  /** Compressed bytes of the current member, header to trailer, in order. */
  raw(chunk: Buffer): void;
  /** Decompressed bytes of the current member. */
  data(chunk: Buffer): void;
  /** The member's trailer was read and checked. Return 'stop' to stop reading the file. */
  end(index: number): void | 'stop';
}

export interface SplitOptions {
  /** Cap on the decompressed bytes of all members together (decompression bombs). */
  maxOutput: number;
  /** Cap on the number of members. */
  maxMembers: number;
  /** Names the input in error messages ('package', 'index'). */
  what: string;
  /** Read size (tests use tiny reads to exercise boundaries that fall between chunks). */
  chunkSize?: number;
}

export interface SplitResult {
  members: number;
  /** Compressed bytes read. */
  bytes: number;
  stopped: boolean;
}

const FTEXT_MASK = 0xe0; // reserved FLG bits must be zero
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const MAX_HEADER = 64 * 1024;

/** Length of the gzip header at the start of `b`, -1 if `b` is too short to tell, or throws. */
function headerLength(b: Buffer, member: number, what: string): number {
  const bad = (why: string) =>
    new InvalidPackageError(
      member === 0 ? `${what} is not gzip-compressed (${why})` : `${what}: bytes after gzip member ${member} are not another gzip member (${why})`,
    );
  if (b.length >= 1 && b[0] !== 0x1f) throw bad('bad magic');
  if (b.length >= 2 && b[1] !== 0x8b) throw bad('bad magic');
  if (b.length >= 3 && b[2] !== 8) throw bad(`compression method ${b[2]} is not deflate`);
  if (b.length < 10) return -1;
  const flags = b[3]!;
  if (flags & FTEXT_MASK) throw bad('reserved header flags set');
  let pos = 10;
  if (flags & FEXTRA) {
    if (b.length < pos + 2) return -1;
    pos += 2 + b.readUInt16LE(pos);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    const nul = b.indexOf(0, pos);
    if (nul < 0) return -1;
    pos = nul + 1;
  }
  if (flags & FHCRC) pos += 2;
  return b.length >= pos ? pos : -1;
}

class Splitter {
  private state: 'header' | 'body' | 'trailer' = 'header';
  private pending: Buffer = Buffer.alloc(0);
  private index = 0;
  private inflater: zlib.InflateRaw | undefined;
  private ended: Promise<void> | undefined;
  private crc = 0;
  private size = 0;
  private output = 0;
  private failure: unknown;
  private rejectWait: ((e: unknown) => void) | undefined;
  bytes = 0;

  get completed(): number {
    return this.index;
  }

  constructor(
    private readonly visitor: MemberVisitor,
    private readonly opts: SplitOptions,
  ) {}

  /** Record the first error, wake up whatever is waiting, stop the inflater. */
  fail(e: unknown): void {
    if (this.failure === undefined) this.failure = e;
    this.rejectWait?.(this.failure);
    this.inflater?.destroy();
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Await `p`, but give up as soon as anything fails. */
  private wait<T>(p: Promise<T>): Promise<T> {
    this.check();
    return new Promise<T>((resolve, reject) => {
      // Only clear our own handler: this finally() runs a tick after `p` settles, when the
      // next wait() may already have installed its handler; clearing that one lost the next
      // inflate error and left the request hanging forever.
      const mine = (e: unknown) => reject(e);
      this.rejectWait = mine;
      p.then(resolve, reject).finally(() => {
        if (this.rejectWait === mine) this.rejectWait = undefined;
      });
    });
  }

  private corrupt(e: Error): InvalidPackageError {
    return new InvalidPackageError(`${this.opts.what}: gzip member ${this.index + 1} is corrupt: ${e.message}`);
  }

  private startBody(): void {
    const inf = zlib.createInflateRaw();
    this.inflater = inf;
    this.crc = 0;
    this.size = 0;
    inf.on('data', (c: Buffer) => {
      try {
        this.crc = zlib.crc32(c, this.crc);
        this.size += c.length;
        this.output += c.length;
        if (this.output > this.opts.maxOutput) {
          throw new InvalidPackageError(`${this.opts.what} expands beyond ${this.opts.maxOutput} bytes (decompression bomb?)`);
        }
        this.visitor.data(c);
      } catch (e) {
        this.fail(e);
      }
    });
    inf.on('error', (e: Error) => this.fail(this.corrupt(e)));
    this.ended = new Promise<void>((resolve) => inf.once('end', resolve));
    this.state = 'body';
  }

  /** Feed deflate bytes; resolves with how many zlib consumed (fewer than given = stream ended). */
  private inflate(buf: Buffer): Promise<number> {
    const inf = this.inflater!;
    const before = inf.bytesWritten;
    return this.wait(
      new Promise<number>((resolve, reject) => {
        inf.write(buf, (err) => (err ? reject(this.corrupt(err)) : resolve(inf.bytesWritten - before)));
      }),
    );
  }

  private checkTrailer(): void {
    const n = this.index + 1;
    const crc = this.pending.readUInt32LE(0);
    const isize = this.pending.readUInt32LE(4);
    if (crc !== this.crc >>> 0) throw new InvalidPackageError(`${this.opts.what}: gzip member ${n} fails its CRC-32 check`);
    if (isize !== this.size % 2 ** 32) throw new InvalidPackageError(`${this.opts.what}: gzip member ${n} has a wrong length in its trailer`);
  }

  /** Process one chunk of the file. Resolves true when the visitor asked to stop. */
  async feed(chunk: Buffer): Promise<boolean> {
    this.bytes += chunk.length;
    let buf = chunk;
    while (buf.length > 0) {
      this.check();
      if (this.state === 'header') {
        const had = this.pending.length;
        const all = had ? Buffer.concat([this.pending, buf]) : buf;
        const len = headerLength(all, this.index, this.opts.what);
        if (len < 0) {
          if (all.length > MAX_HEADER) throw new InvalidPackageError(`${this.opts.what}: gzip header of member ${this.index + 1} is too long`);
          this.pending = Buffer.from(all);
          return false;
        }
        if (this.index >= this.opts.maxMembers) throw new InvalidPackageError(`${this.opts.what} has more than ${this.opts.maxMembers} gzip members`);
        this.visitor.start(this.index);
        this.visitor.raw(all.subarray(0, len));
        buf = buf.subarray(len - had);
        this.pending = Buffer.alloc(0);
        this.startBody();
      } else if (this.state === 'body') {
        const used = await this.inflate(buf);
        this.visitor.raw(buf.subarray(0, used));
        buf = buf.subarray(used);
        if (buf.length > 0) {
          // zlib stopped consuming: the deflate stream is complete. Wait for its last output.
          await this.wait(this.ended!);
          this.inflater!.destroy();
          this.inflater = undefined;
          this.state = 'trailer';
        }
      } else {
        const take = buf.subarray(0, 8 - this.pending.length);
        this.visitor.raw(take);
        this.pending = Buffer.concat([this.pending, take]);
        buf = buf.subarray(take.length);
        if (this.pending.length === 8) {
          this.checkTrailer();
          this.pending = Buffer.alloc(0);
          this.state = 'header';
          if (this.visitor.end(this.index++) === 'stop') return true;
        }
      }
    }
    this.check();
    return false;
  }

  /** End of file: only a complete last member is acceptable. */
  finish(): number {
    this.check();
    if (this.state === 'header' && this.pending.length === 0) {
      if (this.index === 0) throw new InvalidPackageError(`${this.opts.what} is empty`);
      return this.index;
    }
    this.inflater?.destroy();
    const n = this.index + 1;
    if (this.state === 'header' && this.index === 0) throw new InvalidPackageError(`${this.opts.what} is not gzip-compressed (too short)`);
    throw new InvalidPackageError(`${this.opts.what} is truncated: gzip member ${n} is incomplete`);
  }
}

/** Read the file at `path` member by member, calling `visitor` as bytes go by. */
export async function splitGzipMembers(path: string, visitor: MemberVisitor, opts: SplitOptions): Promise<SplitResult> {
  const splitter = new Splitter(visitor, opts);
  const stream = createReadStream(path, { highWaterMark: opts.chunkSize ?? 256 * 1024 });
  try {
    for await (const chunk of stream) {
      if (await splitter.feed(chunk as Buffer)) return { members: splitter.completed, bytes: splitter.bytes, stopped: true };
    }
    return { members: splitter.finish(), bytes: splitter.bytes, stopped: false };
  } catch (e) {
    splitter.fail(e);
    throw e;
  } finally {
    stream.destroy();
  }
}
