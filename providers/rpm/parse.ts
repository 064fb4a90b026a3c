/**
 * Reading an uploaded .rpm (docs/formats/rpm.md#package-file): the 96-byte lead, the signature
 * header (padded to 8 bytes), the main header, then the payload, which is never unpacked:
 * every piece of metadata is in the headers. Memory is bounded by the header caps; the payload
 * is only streamed through its digests, which must match what the headers say (the main
 * header's PAYLOADDIGEST, or the signature header's MD5 over header + payload for packages
 * older than rpm 4.14), so a corrupted or truncated upload is refused.
 */
import crypto from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { InvalidPackageError } from '../../src/core/errors';
import { PREAMBLE_SIZE, RpmHeader, readPreamble, type HeaderLimits } from './header';
import { HASHALGO_SHA256, SIGTAG, TAG } from './tags';

export const LEAD_SIZE = 96;
export const LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);
/** The only signature type rpm 4.18 reads (lib/rpmlead.c: RPMSIGTYPE_HEADERSIG). */
const SIGTYPE_HEADERSIG = 5;

export interface RpmParseLimits {
  signature: HeaderLimits;
  main: HeaderLimits;
}

/**
 * rpm's own caps are 65535 entries and 256 MiB of data (HEADER_TAGS_MAX, HEADER_DATA_MAX in
 * lib/header_internal.h). The main header of the largest Fedora packages (texlive, kernel
 * debuginfo) is a few tens of MiB; the signature header holds digests and signatures only,
 * plus IMA/fs-verity file signatures at most.
 */
export const DEFAULT_RPM_LIMITS: RpmParseLimits = {
  signature: { maxEntries: 64, maxDataBytes: 16 << 20 },
  main: { maxEntries: 65535, maxDataBytes: 64 << 20 },
};

export interface RpmFileLayout {
  /** Lead type: 0 binary, 1 source. */
  leadType: number;
  signature: RpmHeader;
  header: RpmHeader;
  /** First byte of the main header (createrepo_c's header-range start). */
  headerStart: number;
  /** First byte of the payload (header-range end). */
  headerEnd: number;
}

async function readAt(fh: fs.FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

/** Whether the bytes start like an rpm: the lead magic and a header magic right after the lead. */
export function looksLikeRpm(head: Buffer): boolean {
  return head.length >= LEAD_SIZE + 4 && head.subarray(0, 4).equals(LEAD_MAGIC) && head.readUInt32BE(LEAD_SIZE) === 0x8eade801;
}

async function readHeaderAt(fh: fs.FileHandle, at: number, fileSize: number, what: string, limits: HeaderLimits): Promise<RpmHeader> {
  const preamble = await readAt(fh, at, PREAMBLE_SIZE);
  const { total } = readPreamble(preamble, what, limits);
  if (at + total > fileSize) throw new InvalidPackageError(`the rpm is truncated: the ${what} needs ${total} bytes at offset ${at}, the file is ${fileSize} bytes`);
  return new RpmHeader(await readAt(fh, at, total), what, limits);
}

/** Lead and both headers, checked; nothing of the payload is read. */
export async function readLayout(localPath: string, fileSize: number, limits: RpmParseLimits = DEFAULT_RPM_LIMITS): Promise<RpmFileLayout> {
  const fh = await fs.open(localPath, 'r');
  try {
    const lead = await readAt(fh, 0, LEAD_SIZE);
    if (lead.length < 4 || !lead.subarray(0, 4).equals(LEAD_MAGIC)) throw new InvalidPackageError('not an rpm package: the file does not start with the rpm lead magic ed ab ee db');
    if (lead.length < LEAD_SIZE) throw new InvalidPackageError(`the rpm is truncated: the lead is ${LEAD_SIZE} bytes, the file has ${lead.length}`);
    const major = lead[4];
    if (major !== 3 && major !== 4) throw new InvalidPackageError(`rpm lead version ${major} is not supported (rpm reads 3 and 4)`);
    const leadType = lead.readUInt16BE(6);
    if (leadType !== 0 && leadType !== 1) throw new InvalidPackageError(`rpm lead type ${leadType} is neither binary (0) nor source (1)`);
    const sigtype = lead.readUInt16BE(78);
    if (sigtype !== SIGTYPE_HEADERSIG) throw new InvalidPackageError(`rpm lead signature type ${sigtype} is not supported (only 5, a header-style signature)`);

    const sigPre = readPreamble(await readAt(fh, LEAD_SIZE, PREAMBLE_SIZE), 'signature header', limits.signature);
    const signature = await readHeaderAt(fh, LEAD_SIZE, fileSize, 'signature header', limits.signature);
    // The signature header is zero-padded to a multiple of 8 counted from the start of the file.
    const sigEnd = LEAD_SIZE + sigPre.total;
    const headerStart = sigEnd + ((8 - (sigEnd % 8)) % 8);
    const mainPre = readPreamble(await readAt(fh, headerStart, PREAMBLE_SIZE), 'main header', limits.main);
    const header = await readHeaderAt(fh, headerStart, fileSize, 'main header', limits.main);
    return { leadType, signature, header, headerStart, headerEnd: headerStart + mainPre.total };
  } finally {
    await fh.close();
  }
}

/** Streams header + payload once and checks every digest the headers carry. */
export async function verifyDigests(localPath: string, fileSize: number, layout: RpmFileLayout): Promise<void> {
  const { signature: sig, header, headerStart, headerEnd } = layout;
  const signedSize = sig.int(SIGTAG.LONGSIZE) ?? sig.int(SIGTAG.SIZE);
  if (signedSize !== undefined && signedSize !== fileSize - headerStart) {
    throw new InvalidPackageError(`the rpm is truncated or has trailing bytes: its signature header says header + payload are ${signedSize} bytes, the file has ${fileSize - headerStart}`);
  }
  const payloadDigest = header.stringArray(TAG.PAYLOADDIGEST)[0];
  const payloadAlgo = header.int(TAG.PAYLOADDIGESTALGO) ?? HASHALGO_SHA256;
  const md5 = sig.has(SIGTAG.MD5) ? sig.bin(SIGTAG.MD5) : undefined;
  const headerSha256 = sig.string(SIGTAG.SHA256);
  const headerSha1 = sig.string(SIGTAG.SHA1);
  if (!payloadDigest && !md5) throw new InvalidPackageError('the rpm carries no payload digest (neither PAYLOADDIGEST nor the signature MD5), so its contents cannot be checked');
  if (payloadDigest && payloadAlgo !== HASHALGO_SHA256) throw new InvalidPackageError(`payload digest algorithm ${payloadAlgo} is not supported (8, SHA-256, is what rpm >= 4.14 writes)`);

  const hHeader256 = crypto.createHash('sha256');
  const hHeader1 = crypto.createHash('sha1');
  const hPayload = crypto.createHash('sha256');
  const hAll = crypto.createHash('md5');
  let pos = headerStart;
  for await (const chunk of createReadStream(localPath, { start: headerStart, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hAll.update(chunk);
    const end = pos + chunk.length;
    if (pos < headerEnd) {
      const cut = Math.min(chunk.length, headerEnd - pos);
      hHeader256.update(chunk.subarray(0, cut));
      hHeader1.update(chunk.subarray(0, cut));
      if (cut < chunk.length) hPayload.update(chunk.subarray(cut));
    } else hPayload.update(chunk);
    pos = end;
  }
  if (headerSha256 && hHeader256.digest('hex') !== headerSha256.toLowerCase()) throw new InvalidPackageError('header SHA-256 digest mismatch: the main header was changed after the package was built');
  if (headerSha1 && hHeader1.digest('hex') !== headerSha1.toLowerCase()) throw new InvalidPackageError('header SHA-1 digest mismatch: the main header was changed after the package was built');
  if (payloadDigest && hPayload.digest('hex') !== payloadDigest.toLowerCase()) throw new InvalidPackageError('payload digest mismatch: the payload is not the one the header describes (corrupted or truncated upload)');
  if (md5 && !hAll.digest().equals(md5)) throw new InvalidPackageError('MD5 digest mismatch over header and payload: the file is corrupted or truncated');
}
