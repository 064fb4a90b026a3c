/**
 * A small POSIX ustar writer for index archives (pacman sync dbs, APKINDEX.tar.gz and its
 * signature member): directories and regular files owned by root, written straight into one
 * preallocated buffer, deterministic for the same input. At 10,000 packages (30,000 entries) a
 * general tar library spends most of the publish time on per-entry streams and small buffers;
 * this does the same in a fraction of it. Names longer than ustar's name/prefix fields get a
 * pax `path` record (POSIX.1-2001), which libarchive and GNU tar read.
 */

export interface TarItem {
  /** Path inside the archive; directories end in `/`. */
  name: string;
  /** File contents; undefined for a directory. */
  data?: Buffer;
  mtime: Date;
}

const BLOCK = 512;
/** The end of an archive: two zero blocks (POSIX ustar), for callers that assemble a tar in pieces. */
export const END_OF_ARCHIVE: Readonly<Buffer> = Buffer.alloc(2 * BLOCK);

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/**
 * `width - 1` octal digits and a NUL, as ustar numeric fields are written, digit by digit into
 * the buffer (no strings: 30,000 headers per db). Returns the sum of the bytes written.
 */
function octal(buf: Buffer, offset: number, width: number, value: number): number {
  let v = Math.floor(value);
  let sum = 0;
  buf[offset + width - 1] = 0;
  for (let i = offset + width - 2; i >= offset; i--) {
    const d = 0x30 + (v % 8);
    buf[i] = d;
    sum += d;
    v = Math.floor(v / 8);
  }
  if (v !== 0) throw new Error(`tar: ${value} does not fit a ${width}-byte field`);
  return sum;
}

/** Writes at most `max` bytes of `s` (callers ensure it fits); returns the sum of the bytes written. */
function text(buf: Buffer, offset: number, max: number, s: string): number {
  const n = buf.write(s, offset, max, 'utf8');
  let sum = 0;
  for (let i = offset; i < offset + n; i++) sum += buf[i]!;
  return sum;
}

/** The fields every header shares (uid, gid, magic, owner names, device numbers); the rest is zero. */
const TEMPLATE = (() => {
  const t = Buffer.alloc(BLOCK);
  octal(t, 108, 8, 0); // uid
  octal(t, 116, 8, 0); // gid
  t.fill(0x20, 148, 156); // the checksum field counts as spaces while summing
  t.write('ustar\u000000', 257, 'ascii');
  t.write('root', 265, 'ascii');
  t.write('root', 297, 'ascii');
  octal(t, 329, 8, 0); // devmajor
  octal(t, 337, 8, 0); // devminor
  return t;
})();
const TEMPLATE_SUM = TEMPLATE.reduce((n, b) => n + b, 0);

/** [prefix, name] for the ustar fields, or null when the path needs a pax record. */
function splitName(name: string): [string, string] | null {
  const len = Buffer.byteLength(name);
  if (len <= 100) return ['', name];
  if (len > 256) return null;
  // Split at a '/' so that the prefix has at most 155 bytes and the rest at most 100.
  for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && rest !== '' && Buffer.byteLength(rest) <= 100) return [prefix, rest];
  }
  return null;
}

/** A pax extended-header record `<len> path=<value>\n`, where len counts the whole record. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return Buffer.from(`${len}${body}`);
}

function writeHeader(buf: Buffer, at: number, f: { prefix: string; name: string; size: number; mtime: number; type: '0' | '5' | 'x'; mode: number }): void {
  // `buf` is zero-filled: copy the shared fields, write the others, add their bytes to the sum.
  TEMPLATE.copy(buf, at);
  let sum = TEMPLATE_SUM;
  sum += text(buf, at, 100, f.name);
  sum += octal(buf, at + 100, 8, f.mode);
  sum += octal(buf, at + 124, 12, f.size);
  sum += octal(buf, at + 136, 12, f.mtime);
  buf[at + 156] = f.type.charCodeAt(0);
  sum += buf[at + 156]!;
  if (f.prefix !== '') sum += text(buf, at + 345, 155, f.prefix);
  // Six octal digits, NUL, space (the field's last byte stays the template's space).
  octal(buf, at + 148, 7, sum);
}

interface Planned {
  item: TarItem;
  split: [string, string] | null;
  pax: Buffer | undefined;
  /** Bytes of the file's data (0 for a directory). */
  size: number;
}

function plan(item: TarItem, size = item.data?.length ?? 0): Planned {
  const split = splitName(item.name);
  return { item, split, pax: split ? undefined : paxRecord('path', item.name), size };
}

/** Bytes of an entry's header block(s): the ustar header, after a pax header and record when the name needs one. */
const headLength = (p: Planned) => BLOCK + (p.pax ? BLOCK + padded(p.pax.length) : 0);

/** Writes the entry's header block(s) at `at` (the buffer is zero-filled); returns where its data starts. */
function writeHead(buf: Buffer, at: number, { item, split, pax, size }: Planned): number {
  const mtime = Math.floor(item.mtime.getTime() / 1000);
  const isDir = item.data === undefined;
  let prefix = '';
  let name = item.name;
  if (split) [prefix, name] = split;
  if (pax) {
    // The ustar name fields get a truncated stand-in; readers take the pax path.
    writeHeader(buf, at, { prefix: '', name: `PaxHeader/${Buffer.from(item.name).subarray(-80).toString('latin1').replace(/[^\x20-\x7e]/g, '_')}`, size: pax.length, mtime, type: 'x', mode: 0o644 });
    at += BLOCK;
    pax.copy(buf, at);
    at += padded(pax.length);
    name = Buffer.from(item.name).subarray(0, 100).toString('latin1').replace(/[^\x20-\x7e]/g, '_');
  }
  writeHeader(buf, at, { prefix, name, size, mtime, type: isDir ? '5' : '0', mode: isDir ? 0o755 : 0o644 });
  return at + BLOCK;
}

/**
 * The whole archive, entries in the given order, ending with two zero blocks unless
 * `endOfArchive` is false (apk's signature and control tars are "cut": docs/formats/apk.md#index-signature).
 */
export function writeTar(items: TarItem[], opts: { endOfArchive?: boolean } = {}): Buffer {
  const endBlocks = opts.endOfArchive === false ? 0 : 2 * BLOCK;
  const plans = items.map((item) => plan(item));
  let total = endBlocks;
  for (const p of plans) total += headLength(p) + padded(p.size);
  const buf = Buffer.alloc(total);
  let at = 0;
  for (const p of plans) {
    at = writeHead(buf, at, p);
    if (p.item.data) {
      p.item.data.copy(buf, at);
      at += padded(p.size);
    }
  }
  return buf;
}

/**
 * The header block(s) writeTar puts before a regular file of `size` bytes, for a caller that
 * writes the data itself, in pieces (compressed in segments: providers/apk/index-builder.ts),
 * followed by `tarPadding(size)`. Header, data and padding together are the bytes writeTar
 * writes for that file.
 */
export function tarFileHead(name: string, size: number, mtime: Date): Buffer {
  const p = plan({ name, mtime, data: Buffer.alloc(0) }, size);
  const buf = Buffer.alloc(headLength(p));
  writeHead(buf, 0, p);
  return buf;
}

/** The zero bytes that pad a file's data of `size` bytes to whole blocks. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc(padded(size) - size);
}
