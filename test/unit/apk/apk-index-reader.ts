/**
 * Test-only INDEPENDENT reader of APKINDEX.tar.gz and .apk files, written from docs/formats/apk.md
 * #package-checksum to #index-signature and #testing-without-apk, without importing providers/apk. It splits gzip members with zlib's raw
 * inflate (which stops exactly at the end of the deflate data), checks the signature tar
 * layout, verifies signatures with the real `openssl dgst -verify`, and recomputes C:/S:.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

export interface Member {
  /** The member's bytes, gzip header to trailer. */
  raw: Buffer;
  data: Buffer;
}

/** Split concatenated gzip members (RFC 1952). */
export function gzipMembers(buf: Buffer): Member[] {
  const out: Member[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] !== 0x1f || buf[pos + 1] !== 0x8b || buf[pos + 2] !== 8) throw new Error(`reader: no gzip member at offset ${pos}`);
    const flags = buf[pos + 3]!;
    let p = pos + 10;
    if (flags & 4) p += 2 + buf.readUInt16LE(p);
    if (flags & 8) p = buf.indexOf(0, p) + 1;
    if (flags & 16) p = buf.indexOf(0, p) + 1;
    if (flags & 2) p += 2;
    const res = zlib.inflateRawSync(buf.subarray(p), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    const end = p + res.engine.bytesWritten + 8;
    const raw = buf.subarray(pos, end);
    // the trailer must match: CRC-32 and length of the member's data
    if (raw.readUInt32LE(raw.length - 8) !== zlib.crc32(res.buffer) || raw.readUInt32LE(raw.length - 4) !== res.buffer.length) {
      throw new Error(`reader: bad gzip trailer at offset ${end - 8}`);
    }
    out.push({ raw, data: res.buffer });
    pos = end;
  }
  return out;
}

export interface TarItem {
  name: string;
  type: string;
  data: Buffer;
  /** Offset of the header within the tar. */
  offset: number;
}

/** Read ustar entries until the data ends or a zero block; `zeroBlocksAt` is where zero blocks start. */
export function tarItems(tar: Buffer): { items: TarItem[]; zeroBlocksAt: number | undefined } {
  const items: TarItem[] = [];
  let pos = 0;
  while (pos + 512 <= tar.length) {
    const h = tar.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) return { items, zeroBlocksAt: pos };
    const name = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const size = parseInt(h.toString('latin1', 124, 136).replace(/[\0 ]/g, ''), 8);
    const type = String.fromCharCode(h[156]!);
    if (h.toString('latin1', 257, 262) !== 'ustar') throw new Error(`reader: not ustar at ${pos}`);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== parseInt(h.toString('latin1', 148, 156).replace(/[\0 ]/g, ''), 8)) throw new Error(`reader: bad header checksum at ${pos}`);
    items.push({ name, type, data: tar.subarray(pos + 512, pos + 512 + size), offset: pos });
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  if (pos !== tar.length) throw new Error('reader: tar is not a whole number of 512-byte blocks');
  return { items, zeroBlocksAt: undefined };
}

export interface IndexSignature {
  entryName: string;
  keyName: string;
  signature: Buffer;
}

export interface ReadIndex {
  signatures: IndexSignature[];
  /** The signature tar (decompressed). */
  signatureTar: Buffer | undefined;
  unsigned: Buffer;
  description: string | undefined;
  apkindex: string;
  records: Array<Map<string, string>>;
}

export function parseApkindex(text: string): Array<Map<string, string>> {
  if (text !== '' && !text.endsWith('\n\n')) throw new Error('reader: APKINDEX does not end with a blank line');
  return text
    .split('\n\n')
    .filter((r) => r !== '')
    .map((rec) => {
      const m = new Map<string, string>();
      for (const line of rec.split('\n')) {
        if (!/^[A-Za-z]:/.test(line)) throw new Error(`reader: bad APKINDEX line ${JSON.stringify(line)}`);
        if (m.has(line[0]!)) throw new Error(`reader: field ${line[0]} twice in one record`);
        m.set(line[0]!, line.slice(2));
      }
      return m;
    });
}

/** Read a served APKINDEX.tar.gz; throws on any layout error. */
export function readIndex(bytes: Buffer): ReadIndex {
  const members = gzipMembers(bytes);
  if (members.length < 1 || members.length > 2) throw new Error(`reader: ${members.length} gzip members`);
  let signatures: IndexSignature[] = [];
  let signatureTar: Buffer | undefined;
  if (members.length === 2) {
    signatureTar = members[0]!.data;
    const { items, zeroBlocksAt } = tarItems(signatureTar);
    if (zeroBlocksAt !== undefined) throw new Error('reader: signature tar has end-of-archive blocks');
    signatures = items.map((it) => {
      const m = /^\.SIGN\.RSA256\.(.+)$/.exec(it.name);
      if (!m) throw new Error(`reader: unexpected signature entry ${it.name}`);
      return { entryName: it.name, keyName: m[1]!, signature: Buffer.from(it.data) };
    });
  }
  const unsignedMember = members[members.length - 1]!;
  const { items, zeroBlocksAt } = tarItems(unsignedMember.data);
  if (zeroBlocksAt === undefined || !unsignedMember.data.subarray(zeroBlocksAt).every((b) => b === 0) || unsignedMember.data.length - zeroBlocksAt < 1024) {
    throw new Error('reader: unsigned index tar lacks a normal end-of-archive');
  }
  if (items.some((i) => i.name.startsWith('.'))) throw new Error('reader: dot-file in the index tar');
  const apk = items.find((i) => i.name === 'APKINDEX');
  if (!apk) throw new Error('reader: no APKINDEX');
  const apkindex = apk.data.toString('utf8');
  const description = items.find((i) => i.name === 'DESCRIPTION')?.data.toString('utf8');
  return { signatures, signatureTar, unsigned: unsignedMember.raw, description, apkindex, records: parseApkindex(apkindex) };
}

/** Verify one signature with the real openssl: `openssl dgst -sha256 -verify key -signature sig U`. */
export function opensslVerify(publicKeyPem: string, signature: Buffer, data: Buffer): { ok: boolean; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apk-verify-'));
  try {
    fs.writeFileSync(path.join(dir, 'key.rsa.pub'), publicKeyPem);
    fs.writeFileSync(path.join(dir, 'sig'), signature);
    fs.writeFileSync(path.join(dir, 'data'), data);
    const r = spawnSync('openssl', ['dgst', '-sha256', '-verify', 'key.rsa.pub', '-signature', 'sig', 'data'], { cwd: dir, encoding: 'utf8' });
    return { ok: r.status === 0 && /Verified OK/.test(r.stdout), output: (r.stdout + r.stderr).trim() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** C: of a package file: Q1 + base64(SHA-1 of the compressed member that holds .PKGINFO). */
export function packageChecksum(pkg: Buffer): string {
  const control = gzipMembers(pkg).find((m) => tarItems(m.data).items.some((i) => i.name === '.PKGINFO'));
  if (!control) throw new Error('reader: no control member');
  return 'Q1' + crypto.createHash('sha1').update(control.raw).digest('base64');
}
