/**
 * A push-based tar reader that follows what apk-tools' own reader accepts (src/tar.c):
 * POSIX ustar headers (magic "ustar"), octal numbers, GNU long names ('L'), PAX per-file
 * records ('x': path, linkpath, APK-TOOLS.checksum.SHA1), global PAX ('g') and long link
 * names ('K') skipped. The end of the archive is the second all-zero block; after it only
 * zero blocks may follow.
 *
 * It is synchronous and push-based (unlike tar-stream) because the apk parser must know,
 * byte for byte, which gzip member each entry header came from, and it bounds everything it
 * buffers (PAX records, long names). Entry contents are streamed to the caller, never kept.
 */
import { InvalidPackageError } from '../../src/core/errors';

export interface TarEntry {
  /** Path as stored (PAX `path`, GNU long name or prefix/name); not normalised. */
  name: string;
  /** The typeflag character ('0' regular, '1' hard link, '2' symlink, '5' directory ...). */
  type: string;
  size: number;
  linkname: string;
  /** PAX records of this entry. */
  pax: Record<string, string>;
}

export interface EntrySink {
  data(chunk: Buffer): void;
  end(): void;
}

const BLOCK = 512;
const MAX_PAX = 64 * 1024;
const MAX_LONGNAME = 4096; // PATH_MAX
const ZERO_BLOCK = Buffer.alloc(BLOCK);
/** Typeflags apk extracts; it silently skips any other type, so we refuse those instead. */
const ENTRY_TYPES = new Set(['0', '7', '1', '2', '3', '4', '5', '6']);

function cString(b: Buffer, start: number, len: number): string {
  const field = b.subarray(start, start + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

/** Octal field as apk reads it: octal digits, then only NULs or spaces. */
function octal(b: Buffer, start: number, len: number, what: string): number {
  const field = b.subarray(start, start + len);
  if (field[0]! & 0x80) throw new InvalidPackageError(`${what}: base-256 tar numbers (files over 8 GiB) are not supported by apk`);
  let i = 0;
  let v = 0;
  while (i < len && field[i]! >= 0x30 && field[i]! <= 0x37) v = v * 8 + (field[i++]! - 0x30);
  for (; i < len; i++) {
    if (field[i] !== 0 && field[i] !== 0x20) throw new InvalidPackageError(`${what}: malformed number in a tar header`);
  }
  return v;
}

/** PAX extended header records: "<len> <key>=<value>\n" (POSIX.1-2001 pax format). */
export function parsePax(buf: Buffer, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] === 0) break; // padding
    const space = buf.indexOf(0x20, pos);
    const len = space > pos ? Number(buf.toString('latin1', pos, space)) : NaN;
    if (!Number.isInteger(len) || len <= space - pos || pos + len > buf.length || buf[pos + len - 1] !== 0x0a) {
      throw new InvalidPackageError(`${what}: malformed PAX extended header`);
    }
    const record = buf.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) throw new InvalidPackageError(`${what}: malformed PAX record "${record.slice(0, 40)}"`);
    out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

type Special = 'pax' | 'longname' | 'skip';

export class TarWalker {
  private header = Buffer.alloc(0);
  /** Content bytes still to read for the current entry, then padding bytes to skip. */
  private remaining = 0;
  private padding = 0;
  private sink: EntrySink | undefined;
  private special: Special | undefined;
  private specialBuf: Buffer[] = [];
  private pendingPax: Record<string, string> | undefined;
  private pendingName: string | undefined;
  /** All-zero blocks seen (apk ends the archive at the second one, consecutive or not). */
  zeroBlocks = 0;
  entries = 0;

  constructor(
    private readonly onEntry: (e: TarEntry) => EntrySink | undefined,
    private readonly what: string,
    private readonly maxEntries = 1_000_000,
  ) {}

  get ended(): boolean {
    return this.zeroBlocks >= 2;
  }

  /** Between two headers, with no PAX record or long name waiting for its entry. */
  atBoundary(): boolean {
    return this.header.length === 0 && this.remaining === 0 && this.padding === 0 && !this.pendingPax && this.pendingName === undefined;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    while (buf.length > 0) {
      if (this.remaining > 0) {
        const part = buf.subarray(0, this.remaining);
        this.remaining -= part.length;
        buf = buf.subarray(part.length);
        if (this.special === 'pax' || this.special === 'longname') this.specialBuf.push(part);
        else this.sink?.data(part);
        if (this.remaining === 0) this.entryDone();
      } else if (this.padding > 0) {
        const n = Math.min(this.padding, buf.length);
        this.padding -= n;
        buf = buf.subarray(n);
      } else {
        const need = BLOCK - this.header.length;
        this.header = Buffer.concat([this.header, buf.subarray(0, need)]);
        buf = buf.subarray(need);
        if (this.header.length === BLOCK) {
          const block = this.header;
          this.header = Buffer.alloc(0);
          this.block(block);
        }
      }
    }
  }

  /** End of input: the archive must have ended cleanly. */
  finish(): void {
    if (!this.ended) throw new InvalidPackageError(`${this.what}: tar archive is truncated (no end-of-archive blocks)`);
    if (this.header.length !== 0) throw new InvalidPackageError(`${this.what}: partial tar block after the end of the archive`);
  }

  private block(b: Buffer): void {
    if (this.ended) {
      if (!b.equals(ZERO_BLOCK)) throw new InvalidPackageError(`${this.what}: data after the end of the tar archive`);
      return;
    }
    if (b[0] === 0) {
      if (!b.equals(ZERO_BLOCK)) throw new InvalidPackageError(`${this.what}: tar header with an empty name`);
      this.zeroBlocks++;
      return;
    }
    if (b.toString('latin1', 257, 262) !== 'ustar') throw new InvalidPackageError(`${this.what}: not a ustar tar header`);
    const size = octal(b, 124, 12, this.what);
    const type = String.fromCharCode(b[156]!);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === 'x' || type === 'L' || type === 'g' || type === 'K') {
      const max = type === 'x' ? MAX_PAX : MAX_LONGNAME;
      if ((type === 'x' || type === 'L') && size > max) throw new InvalidPackageError(`${this.what}: ${type === 'x' ? 'PAX header' : 'long name'} larger than ${max} bytes`);
      this.begin(type === 'x' ? 'pax' : type === 'L' ? 'longname' : 'skip', undefined, size, padding);
      return;
    }
    if (++this.entries > this.maxEntries) throw new InvalidPackageError(`${this.what}: more than ${this.maxEntries} tar entries`);
    let name = this.pendingName ?? cString(b, 0, 100);
    const prefix = cString(b, 345, 155);
    if (prefix) name = `${prefix}/${cString(b, 0, 100)}`;
    const pax = this.pendingPax ?? {};
    if (pax.path !== undefined) name = pax.path;
    const linkname = pax.linkpath ?? cString(b, 157, 100);
    this.pendingName = undefined;
    this.pendingPax = undefined;
    if (!ENTRY_TYPES.has(type)) {
      throw new InvalidPackageError(`${this.what}: entry "${name}" has tar type ${JSON.stringify(type)}, which apk does not extract`);
    }
    const hasContent = type === '0' || type === '7';
    const sink = this.onEntry({ name, type, size: hasContent ? size : 0, linkname, pax });
    if (hasContent) {
      this.begin(undefined, sink, size, padding);
    } else {
      // Only regular files have content for apk; whatever a size field says is skipped.
      sink?.end();
      this.begin('skip', undefined, size, padding);
    }
  }

  private begin(special: Special | undefined, sink: EntrySink | undefined, size: number, padding: number): void {
    this.special = special;
    this.sink = sink;
    this.specialBuf = [];
    this.remaining = size;
    this.padding = padding;
    if (size === 0) this.entryDone();
  }

  private entryDone(): void {
    if (this.special === 'pax') this.pendingPax = parsePax(Buffer.concat(this.specialBuf), this.what);
    if (this.special === 'longname') this.pendingName = cString(Buffer.concat(this.specialBuf), 0, MAX_LONGNAME);
    this.sink?.end();
    this.sink = undefined;
    this.special = undefined;
    this.specialBuf = [];
  }
}
