/**
 * Minimal ustar writer (POSIX.1-1988 header layout) for the small tars of APKINDEX.tar.gz.
 * Written by hand because the signature tar must be padded to 512 bytes but carry no
 * end-of-archive blocks (formats.md D.5), and because the output must be deterministic:
 * mtime 0, uid/gid 0, root/root, mode 0644.
 */

const BLOCK = 512;
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

function put(h: Buffer, off: number, len: number, value: string): void {
  h.write(value, off, len, 'utf8');
}

function putOctal(h: Buffer, off: number, len: number, n: number): void {
  put(h, off, len, n.toString(8).padStart(len - 1, '0') + '\0');
}

function header(name: Buffer, size: number, type: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0, 0, Math.min(name.length, 100));
  putOctal(h, 100, 8, 0o644);
  putOctal(h, 108, 8, 0);
  putOctal(h, 116, 8, 0);
  putOctal(h, 124, 12, size);
  putOctal(h, 136, 12, 0);
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  put(h, 156, 1, type);
  put(h, 257, 6, 'ustar\0');
  put(h, 263, 2, '00');
  put(h, 265, 32, 'root');
  put(h, 297, 32, 'root');
  let sum = 0;
  for (const b of h) sum += b;
  put(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

function padded(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

/**
 * One regular-file entry, padded to a whole block. Names over 100 bytes are preceded by a
 * GNU long-name entry ('L'), which apk's tar reader understands.
 */
export function tarEntry(name: string, data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length > 100) {
    const long = Buffer.concat([nameBytes, Buffer.alloc(1)]);
    parts.push(header(Buffer.from('././@LongLink'), long.length, 'L'), padded(long));
  }
  parts.push(header(nameBytes, data.length, '0'), padded(data));
  return Buffer.concat(parts);
}
