/**
 * Source distributions: https://packaging.python.org/en/latest/specifications/source-distribution-format/
 * A `.tar.gz` (or legacy `.zip`) holding one top-level directory `{name}-{version}/` with the
 * core metadata in `{name}-{version}/PKG-INFO`. Like PyPI, every member must sit under that
 * single directory; like the spec's tar "data" filter, only files, directories and links that
 * stay inside it are accepted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { InvalidPackageError } from '../../src/core/errors';
import { byteLimit, decompressor, sniffCompression } from '../../src/util/compression';
import { readHead } from '../../src/util/files';
import { assertSafeArchivePath, readTar, type TarEntryInfo } from '../../src/util/tar';
import type { SdistExtension } from './names';
import { MAX_METADATA_BYTES } from './wheel';
import { MAX_RATIO, MAX_ZIP_ENTRIES, RATIO_MIN_SIZE, readZipMember, scanZip, singleTopDir } from './zip';

export interface SdistContents {
  topDir: string;
  /** `{top}/PKG-INFO`, byte for byte. */
  pkgInfo: Buffer;
}

const ALLOWED_TAR_TYPES = new Set(['file', 'contiguous-file', 'directory', 'symlink', 'link']);

export async function readSdist(file: string, fileSize: number, ext: SdistExtension, what: string): Promise<SdistContents> {
  return ext === '.zip' ? readZipSdist(file, fileSize, what) : readTarSdist(file, fileSize, what);
}

async function readZipSdist(file: string, fileSize: number, what: string): Promise<SdistContents> {
  const { zip, names, kept } = await scanZip(file, fileSize, what, (n) => /^[^/]+\/PKG-INFO$/.test(n));
  try {
    const topDir = singleTopDir(names, what);
    const entry = kept.get(`${topDir}/PKG-INFO`);
    if (!entry) throw new InvalidPackageError(`${what} has no PKG-INFO in its top-level directory "${topDir}/"`);
    return { topDir, pkgInfo: await readZipMember(zip, entry, MAX_METADATA_BYTES, what) };
  } finally {
    zip.close();
  }
}

/** Links must resolve inside the top directory (symlinks relative to their own directory). */
function checkLink(e: TarEntryInfo, top: string, what: string): void {
  const target = e.linkname ?? '';
  if (target === '') throw new InvalidPackageError(`${what}: link "${e.name}" has no target`);
  let resolved: string;
  if (e.type === 'symlink') {
    if (target.startsWith('/')) throw new InvalidPackageError(`${what}: symlink "${e.name}" points to the absolute path "${target}"`);
    resolved = path.posix.normalize(path.posix.join(path.posix.dirname(e.name), target));
  } else {
    assertSafeArchivePath(target, what);
    resolved = path.posix.normalize(target.replace(/^(\.\/)+/, ''));
  }
  if (resolved !== top && !resolved.startsWith(`${top}/`)) {
    throw new InvalidPackageError(`${what}: link "${e.name}" points outside "${top}/" (to "${target}")`);
  }
}

async function readTarSdist(file: string, fileSize: number, what: string): Promise<SdistContents> {
  const head = await readHead(file, 6);
  if (sniffCompression(head) !== 'gzip') throw new InvalidPackageError(`${what} is named .tar.gz but is not gzip-compressed`);
  // The same bound PyPI applies to zips: beyond 64 MiB the tar may not exceed 50x the upload.
  const limit = Math.max(RATIO_MIN_SIZE, MAX_RATIO * fileSize);
  const input = pipeline(fs.createReadStream(file), decompressor('gzip', { maxOutput: limit, what }), byteLimit(limit, what), () => {
    // errors reach readTar through the last stream; nothing else to do here
  });
  let top: string | null = null;
  let pkgInfo: Buffer | null = null;
  const seen = new Set<string>();
  const firstComponent = (name: string) => name.split('/')[0]!;
  await readTar(input, {
    what,
    maxEntries: MAX_ZIP_ENTRIES,
    maxBuffered: MAX_METADATA_BYTES,
    want: (e) => e.name === `${firstComponent(e.name)}/PKG-INFO` && (top === null || top === firstComponent(e.name)),
    // async: readTar does not catch a synchronous throw from onEntry
    onEntry: async (e, data) => {
      const name = e.name.replace(/\/+$/, '');
      if (name === '') return; // the archive's own "./" entry
      if (!ALLOWED_TAR_TYPES.has(e.type)) {
        throw new InvalidPackageError(`${what}: member "${name}" is a ${e.type}; an sdist may contain only files, directories and links`);
      }
      if (e.pax && Object.keys(e.pax).some((k) => k.startsWith('GNU.sparse'))) {
        throw new InvalidPackageError(`${what}: member "${name}" is a sparse file, which sdists may not contain`);
      }
      const slash = name.indexOf('/');
      if (slash < 0 && e.type !== 'directory') {
        throw new InvalidPackageError(`${what}: "${name}" lies outside the single top-level directory an sdist must have`);
      }
      const first = slash < 0 ? name : name.slice(0, slash);
      if (top === null) top = first;
      else if (first !== top) {
        throw new InvalidPackageError(`${what} has more than one top-level directory ("${top}" and "${first}"); an sdist has exactly one`);
      }
      if (e.type === 'symlink' || e.type === 'link') checkLink({ ...e, name }, top, what);
      if (e.type !== 'directory') {
        if (seen.has(name)) throw new InvalidPackageError(`${what}: member "${name}" appears twice`);
        seen.add(name);
      }
      if (name === `${top}/PKG-INFO`) {
        if (e.type !== 'file' && e.type !== 'contiguous-file') throw new InvalidPackageError(`${what}: "${name}" is a ${e.type}, not a regular file`);
        pkgInfo = data ?? null;
      }
    },
  });
  if (top === null) throw new InvalidPackageError(`${what} is empty`);
  if (pkgInfo === null) throw new InvalidPackageError(`${what} has no PKG-INFO in its top-level directory "${top}/"`);
  return { topDir: top, pkgInfo };
}
