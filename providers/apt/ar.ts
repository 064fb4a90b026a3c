/**
 * A small streaming reader for the common `ar` format, as used by .deb files (deb(5),
 * docs/formats/apt.md#deb-file): magic `!<arch>\n`, then per member a 60-byte header (name 16, mtime 12,
 * uid 6, gid 6, mode 8, size 10, magic "`\n") and the data padded to an even length.
 * No extensions: no symbol table, no GNU/BSD long-name tables (dpkg does not allow them).
 *
 * Members are read in one pass; nothing but headers and a few peeked bytes is buffered.
 */
import type { Readable, Writable } from 'node:stream';
import { InvalidPackageError } from '../../src/core/errors';

export const AR_MAGIC = Buffer.from('!<arch>\n', 'latin1');
const HEADER_SIZE = 60;
/** Bytes of each member's data made available in `ArMember.head` (enough to sniff compression). */
const HEAD_BYTES = 16;

export interface ArMember {
  name: string;
  size: number;
  /** Offset of the member's data in the archive. */
  offset: number;
  /** The first bytes of the data (fewer if the member is shorter). */
  head: Buffer;
}

/** What to do with a member: stream its data into a Writable, skip it, or stop reading. */
export type ArAction = Writable | 'skip' | 'stop';

/** Parse one 60-byte header; throws InvalidPackageError naming the problem. */
export function parseArHeader(h: Buffer, offset: number, what: string): { name: string; size: number } {
  if (h[58] !== 0x60 || h[59] !== 0x0a) throw new InvalidPackageError(`${what}: corrupt ar member header at byte ${offset}`);
  let name = h.subarray(0, 16).toString('latin1').replace(/ +$/, '');
  // GNU ar terminates names with '/'; the common format does not. Both are fine.
  if (name.endsWith('/') && name.length > 1) name = name.slice(0, -1);
  if (name === '' || name.startsWith('/') || name.startsWith('#1/') || name.includes('/')) {
    throw new InvalidPackageError(`${what}: ar member "${name}" uses an ar extension (symbol table or long names) that .deb files do not allow`);
  }
  if (/[^\x21-\x7e]/.test(name)) throw new InvalidPackageError(`${what}: ar member name ${JSON.stringify(name)} has invalid characters`);
  const sizeText = h.subarray(48, 58).toString('latin1').replace(/ +$/, '');
  if (!/^[0-9]+$/.test(sizeText)) throw new InvalidPackageError(`${what}: ar member "${name}" has an invalid size field "${sizeText}"`);
  return { name, size: Number(sizeText) };
}

/** A pull buffer over an async chunk iterator. */
class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  /** Make at least `n` bytes available if the input has them. */
  async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else if (r.value.length > 0) this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    }
    return this.buf.length >= n;
  }

  peek(n: number): Buffer {
    return this.buf.subarray(0, Math.min(n, this.buf.length));
  }

  /** Remove and return up to `n` buffered bytes. */
  take(n: number): Buffer {
    const out = this.buf.subarray(0, Math.min(n, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

/** Write with backpressure; resolves false when the sink is gone (destroyed by its consumer). */
function writeTo(sink: Writable, chunk: Buffer): Promise<boolean> {
  if (sink.destroyed || sink.writableEnded) return Promise.resolve(false);
  if (sink.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      sink.off('drain', onDrain);
      sink.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    sink.on('drain', onDrain);
    sink.on('close', onClose);
  });
}

/**
 * Read an ar archive from `input`, calling `visit` for each member in order. Resolves when
 * the archive ends or `visit` returns 'stop'. A truncated archive or a bad header rejects
 * with InvalidPackageError. A sink that its consumer destroys early just stops receiving
 * data (the consumer reports its own error).
 */
export async function readAr(input: Readable, what: string, visit: (m: ArMember) => ArAction | Promise<ArAction>): Promise<void> {
  const r = new ChunkReader(input[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  try {
    if (!(await r.fill(AR_MAGIC.length)) || !r.peek(AR_MAGIC.length).equals(AR_MAGIC)) {
      throw new InvalidPackageError(`${what} is not an ar archive (a .deb starts with "!<arch>\\n")`);
    }
    r.take(AR_MAGIC.length);
    let offset = AR_MAGIC.length;
    for (;;) {
      if (!(await r.fill(1))) return; // clean end between members
      if (!(await r.fill(HEADER_SIZE))) throw new InvalidPackageError(`${what} is truncated inside an ar member header at byte ${offset}`);
      const { name, size } = parseArHeader(r.take(HEADER_SIZE), offset, what);
      offset += HEADER_SIZE;
      await r.fill(Math.min(size, HEAD_BYTES));
      const action = await visit({ name, size, offset, head: Buffer.from(r.peek(Math.min(size, HEAD_BYTES))) });
      if (action === 'stop') return;
      const sink = action === 'skip' ? null : action;
      let left = size;
      let alive = sink !== null;
      while (left > 0) {
        if (!(await r.fill(1))) {
          sink?.destroy();
          throw new InvalidPackageError(`${what} is truncated: ar member "${name}" declares ${size} bytes but only ${size - left} are present`);
        }
        const chunk = r.take(left);
        left -= chunk.length;
        if (alive && sink) alive = await writeTo(sink, chunk);
      }
      if (alive && sink) sink.end();
      offset += size;
      if (size % 2 === 1) {
        // Members are padded to an even length with "\n"; tolerate a missing final pad byte.
        if (await r.fill(1)) r.take(1);
        offset += 1;
      }
    }
  } finally {
    await r.close();
  }
}
