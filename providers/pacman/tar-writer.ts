/**
 * A small POSIX ustar writer for the sync databases: directories and regular files owned by
 * root, written straight into one preallocated buffer. At 10,000 packages (30,000 entries) a
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

const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** `width - 1` octal digits and a NUL, as ustar numeric fields are written. */
function octal(buf: Buffer, offset: number, width: number, value: number): void {
  const s = Math.floor(value).toString(8).padStart(width - 1, '0');
  if (s.length > width - 1) throw new Error(`tar: ${value} does not fit a ${width}-byte field`);
  buf.write(s, offset, 'ascii');
  buf[offset + width - 1] = 0;
}

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
  buf.write(f.name, at, 100, 'utf8');
  octal(buf, at + 100, 8, f.mode);
  octal(buf, at + 108, 8, 0); // uid
  octal(buf, at + 116, 8, 0); // gid
  octal(buf, at + 124, 12, f.size);
  octal(buf, at + 136, 12, f.mtime);
  buf.fill(0x20, at + 148, at + 156); // checksum counts as spaces while summing
  buf.write(f.type, at + 156, 'ascii');
  buf.write('ustar\u000000', at + 257, 'ascii');
  buf.write('root', at + 265, 'ascii');
  buf.write('root', at + 297, 'ascii');
  octal(buf, at + 329, 8, 0); // devmajor
  octal(buf, at + 337, 8, 0); // devminor
  buf.write(f.prefix, at + 345, 155, 'utf8');
  let sum = 0;
  for (let i = at; i < at + BLOCK; i++) sum += buf[i]!;
  buf.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, at + 148, 'ascii');
}

/** The whole archive, entries in the given order, ending with two zero blocks. */
export function writeTar(items: TarItem[]): Buffer {
  const plan = items.map((item) => {
    const split = splitName(item.name);
    const pax = split ? undefined : paxRecord('path', item.name);
    return { item, split, pax };
  });
  let total = 2 * BLOCK;
  for (const p of plan) total += BLOCK + padded(p.item.data?.length ?? 0) + (p.pax ? BLOCK + padded(p.pax.length) : 0);
  const buf = Buffer.alloc(total);
  let at = 0;
  for (const { item, split, pax } of plan) {
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
    writeHeader(buf, at, { prefix, name, size: isDir ? 0 : item.data!.length, mtime, type: isDir ? '5' : '0', mode: isDir ? 0o755 : 0o644 });
    at += BLOCK;
    if (!isDir) {
      item.data!.copy(buf, at);
      at += padded(item.data!.length);
    }
  }
  return buf;
}
