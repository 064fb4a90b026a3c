/**
 * Bounded reading of zip archives (wheels and zip sdists) with yauzl: walk the central
 * directory once (names, sizes, methods), then read only the one small member we need.
 * Zip format: PKWARE APPNOTE.TXT. Checks follow what PyPI (warehouse) refuses at upload:
 * compression ratio over 50 once more than 64 MiB, methods other than stored/deflate;
 * plus unsafe or duplicate member names, which would let two tools see different files.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { InvalidPackageError } from '../../src/core/errors';
import { byteLimit } from '../../src/util/compression';
import { assertSafeArchivePath } from '../../src/util/tar';

export const MAX_ZIP_ENTRIES = 200_000;
/** Warehouse: decompressed total above this must not exceed RATIO x the file size. */
export const RATIO_MIN_SIZE = 64 * 1024 * 1024;
export const MAX_RATIO = 50;
/** Deflate cannot expand more than ~1032:1; a member claiming more is lying about its size. */
const DEFLATE_MAX_RATIO = 1032;
const STORED = 0;
const DEFLATE = 8;

export interface ZipScan {
  zip: ZipFile;
  /** Every member name (directories end with '/'). */
  names: Set<string>;
  /** Members kept by the `keep` predicate, by name. */
  kept: Map<string, Entry>;
  /** Every member, in central directory order. */
  entries: Entry[];
  totalUncompressed: number;
}

function zipError(what: string, e: unknown): InvalidPackageError {
  if (e instanceof InvalidPackageError) return e;
  return new InvalidPackageError(`${what} is not a valid zip archive: ${(e as Error).message}`);
}

/**
 * Open `path` and check every central directory record. The caller must `zip.close()`.
 * `keep(name)` selects the members whose records are returned for reading.
 */
export async function scanZip(path: string, fileSize: number, what: string, keep: (name: string) => boolean): Promise<ZipScan> {
  let zip: ZipFile;
  try {
    // strictFileNames: a '\\' in a name is refused rather than silently turned into '/'
    zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true });
  } catch (e) {
    throw zipError(what, e);
  }
  try {
    if (zip.entryCount > MAX_ZIP_ENTRIES) throw new InvalidPackageError(`${what} has ${zip.entryCount} members (limit ${MAX_ZIP_ENTRIES})`);
    const names = new Set<string>();
    const kept = new Map<string, Entry>();
    const entries: Entry[] = [];
    let total = 0;
    for await (const entry of zip.eachEntry()) {
      const name = entry.fileName;
      assertSafeArchivePath(name, what);
      // checked on the raw bytes too: yauzl decodes non-UTF-8 names as CP437, which maps control bytes to symbols
      if (/[\x00-\x1f\x7f]/.test(name) || entry.fileNameRaw.some((b) => b < 0x20 || b === 0x7f)) throw new InvalidPackageError(`${what}: member name ${JSON.stringify(name)} contains a control character`);
      if (names.has(name)) throw new InvalidPackageError(`${what}: member "${name}" appears twice`);
      names.add(name);
      if (entry.compressionMethod !== STORED && entry.compressionMethod !== DEFLATE) {
        throw new InvalidPackageError(`${what}: member "${name}" uses zip compression method ${entry.compressionMethod}; only stored (0) and deflate (8) are accepted`);
      }
      if (entry.isEncrypted()) throw new InvalidPackageError(`${what}: member "${name}" is encrypted`);
      if (entry.compressionMethod === DEFLATE && entry.uncompressedSize > entry.compressedSize * DEFLATE_MAX_RATIO + 1024) {
        throw new InvalidPackageError(
          `${what}: member "${name}" claims ${entry.uncompressedSize} bytes from ${entry.compressedSize} compressed (impossible ratio; zip bomb?)`,
        );
      }
      total += entry.uncompressedSize;
      entries.push(entry);
      if (keep(name)) kept.set(name, entry);
    }
    if (total > RATIO_MIN_SIZE && total / Math.max(fileSize, 1) > MAX_RATIO) {
      throw new InvalidPackageError(
        `${what} expands to ${total} bytes from ${fileSize} (compression ratio above ${MAX_RATIO}; zip bomb?)`,
      );
    }
    return { zip, names, kept, entries, totalUncompressed: total };
  } catch (e) {
    zip.close();
    throw zipError(what, e);
  }
}

/** Read one (small) member fully: size bounded, local header name and CRC-32 checked. */
export async function readZipMember(zip: ZipFile, entry: Entry, max: number, what: string): Promise<Buffer> {
  const label = `${what}: "${entry.fileName}"`;
  if (entry.uncompressedSize > max) throw new InvalidPackageError(`${label} is larger than ${max} bytes`);
  try {
    // The local header must name the same file as the central directory: a mismatch is
    // how archives show different contents to different unzip implementations.
    const local = await zip.readLocalFileHeaderPromise(entry);
    if (!local.fileName.equals(entry.fileNameRaw)) {
      throw new InvalidPackageError(`${label}: local file header names "${local.fileName.toString('latin1')}" instead`);
    }
    const stream = await zip.openReadStreamPromise(entry);
    const limit = byteLimit(max, label);
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      limit.on('error', reject);
      limit.on('data', (c: Buffer) => chunks.push(c));
      limit.on('end', resolve);
      stream.pipe(limit);
    });
    const data = Buffer.concat(chunks);
    if (zlib.crc32(data) >>> 0 !== entry.crc32 >>> 0) throw new InvalidPackageError(`${label} fails its CRC-32 check (corrupt archive)`);
    return data;
  } catch (e) {
    if (e instanceof InvalidPackageError) throw e;
    throw new InvalidPackageError(`${label} cannot be read: ${(e as Error).message}`);
  }
}

/** The single top-level directory of an archive's member names, or an error naming the offender. */
export function singleTopDir(names: Iterable<string>, what: string): string {
  let top: string | null = null;
  for (const name of names) {
    if (name === '') continue;
    const slash = name.indexOf('/');
    if (slash < 0) throw new InvalidPackageError(`${what}: "${name}" lies outside the single top-level directory an sdist must have`);
    const first = name.slice(0, slash);
    if (top === null) top = first;
    else if (first !== top) {
      throw new InvalidPackageError(`${what} has more than one top-level directory ("${top}" and "${first}"); an sdist has exactly one`);
    }
  }
  if (top === null) throw new InvalidPackageError(`${what} is empty`);
  return top;
}

/**
 * Read every member once, streaming (nothing is kept): the local header must name the same
 * file as the central directory, the data must inflate cleanly to exactly the size the
 * directory declares (yauzl's validateEntrySizes) and match its CRC-32, as unzip and pip's
 * zipfile do when they extract. Returns the SHA-256 of each member (urlsafe base64 without
 * padding, the RECORD notation) for the caller's RECORD check. Sizes are already bounded
 * by scanZip (member count, ratio, per-member deflate ratio).
 */
export async function verifyMembers(zip: ZipFile, entries: Entry[], what: string): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  for (const entry of entries) {
    if (entry.fileName.endsWith('/')) continue; // directories carry no data
    const label = `${what}: "${entry.fileName}"`;
    try {
      const local = await zip.readLocalFileHeaderPromise(entry);
      if (!local.fileName.equals(entry.fileNameRaw)) {
        throw new InvalidPackageError(`${label}: local file header names "${local.fileName.toString('latin1')}" instead`);
      }
      const stream = await zip.openReadStreamPromise(entry);
      const hash = crypto.createHash('sha256');
      let crc = 0;
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (c: Buffer) => {
          crc = zlib.crc32(c, crc);
          hash.update(c);
        });
        stream.on('error', reject);
        stream.on('end', resolve);
      });
      if (crc >>> 0 !== entry.crc32 >>> 0) throw new InvalidPackageError(`${label} fails its CRC-32 check (corrupt archive)`);
      digests.set(entry.fileName, hash.digest('base64url'));
    } catch (e) {
      if (e instanceof InvalidPackageError) throw e;
      throw new InvalidPackageError(`${label} cannot be read: ${(e as Error).message}`);
    }
  }
  return digests;
}
