/**
 * Reading a pacman package (docs/formats/pacman.md#package-file, #pkginfo): one pass over the decompressed tar that
 * buffers `.PKGINFO` (bounded) and collects the payload's file list for the `.files` db
 * (docs/formats/pacman.md#database-entries: no top-level dot files, directories end in `/`, `LC_ALL=C sort -u`).
 */
import { InvalidPackageError } from '../../src/core/errors';
import type { Compression } from '../../src/util/compression';
import { assertSafeArchivePath, normalizeTarPath, readTar, type TarEntryInfo } from '../../src/util/tar';
import { DEFAULT_LIMITS, openTarStream, sniffPackage, type ArchiveLimits } from './archive';
import { parsePkgInfo, type PkgInfo } from './pkginfo';

export interface ParseLimits extends ArchiveLimits {
  maxPkgInfo: number;
  maxEntries: number;
  /** Cap on the summed length of all listed paths (the `files` entry is kept in the database). */
  maxFileListBytes: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  ...DEFAULT_LIMITS,
  maxPkgInfo: 1024 * 1024,
  maxEntries: 1_000_000,
  maxFileListBytes: 128 * 1024 * 1024,
};

export interface PackageContents {
  compression: Exclude<Compression, 'bzip2'>;
  info: PkgInfo;
  /** Sorted (C locale, byte order), unique payload paths; directories end in `/`. */
  files: string[];
}

/** Sort like `LC_ALL=C sort -u`: by bytes, duplicates removed. */
export function sortUniqueC(paths: string[]): string[] {
  const bufs = paths.map((p) => Buffer.from(p, 'utf8'));
  bufs.sort(Buffer.compare);
  const out: string[] = [];
  let prev: Buffer | undefined;
  for (const b of bufs) {
    if (prev && prev.equals(b)) continue;
    out.push(b.toString('utf8'));
    prev = b;
  }
  return out;
}

/**
 * Link targets (docs/formats/pacman.md "Package file": libalpm extracts with libarchive relative to /).
 * - A hard link names another archive member: like apk-tools and the sdist reader, its target
 *   must be a safe relative path (no absolute path, no `..`), or extraction would link an
 *   arbitrary file of the system (`../../etc/shadow`) into the package's file list.
 * - A symlink is resolved on the installed system, where absolute targets are normal
 *   (`usr/lib/libfoo.so -> /usr/lib/libfoo.so.1`); but a relative target that climbs above
 *   the package root from where the link sits is never legitimate and is refused.
 */
function checkLink(e: TarEntryInfo): void {
  const target = e.linkname ?? '';
  if (target === '') throw new InvalidPackageError(`package: link "${e.name}" has no target`);
  if (target.includes('\0')) throw new InvalidPackageError(`package: link "${e.name}" has a target containing NUL`);
  if (e.type === 'link') {
    assertSafeArchivePath(normalizeTarPath(target), `package: hard link "${e.name}"`);
    return;
  }
  if (target.startsWith('/')) return;
  let depth = e.name.split('/').filter((s) => s !== '' && s !== '.').length - 1; // directories above the link
  for (const seg of target.split('/')) {
    if (seg === '..') depth--;
    else if (seg !== '' && seg !== '.') depth++;
    if (depth < 0) throw new InvalidPackageError(`package: symlink "${e.name}" points outside the package ("${target}")`);
  }
}

export async function readPackage(localPath: string, compressedSize: number, limits: ParseLimits = DEFAULT_PARSE_LIMITS): Promise<PackageContents> {
  const compression = await sniffPackage(localPath);
  let pkginfo: Buffer | undefined;
  let sawSignatureEntry = false;
  const files: string[] = [];
  let listBytes = 0;
  let entries = 0;

  await readTar(openTarStream(localPath, compression, compressedSize, limits), {
    what: 'package',
    maxEntries: limits.maxEntries,
    maxBuffered: limits.maxPkgInfo,
    want: (e) => e.name === '.PKGINFO' && e.type === 'file',
    // async: readTar only turns rejections into errors; a synchronous throw would escape it.
    onEntry: async (e, data) => {
      entries++;
      const top = e.name.split('/', 1)[0] ?? '';
      if (e.name === '.PKGINFO') {
        if (e.type !== 'file') throw new InvalidPackageError('.PKGINFO is not a regular file');
        if (pkginfo !== undefined) throw new InvalidPackageError('the package contains .PKGINFO twice');
        pkginfo = data;
        return;
      }
      if (e.type === 'link' || e.type === 'symlink') checkLink(e);
      if (top.startsWith('.SIGN.')) sawSignatureEntry = true;
      if (e.name === '' || top.startsWith('.')) return;
      const path = e.type === 'directory' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
      if (path.includes('\n')) throw new InvalidPackageError(`package: entry name ${JSON.stringify(path)} contains a newline`);
      listBytes += Buffer.byteLength(path) + 1;
      if (listBytes > limits.maxFileListBytes) {
        throw new InvalidPackageError(`package: the file list is larger than ${limits.maxFileListBytes} bytes`);
      }
      files.push(path);
    },
  });

  if (entries === 0) throw new InvalidPackageError('package: the tar archive is empty');
  if (pkginfo === undefined) throw new InvalidPackageError('package has no .PKGINFO: not a pacman package');
  // An Alpine .apk is gzip + tar with a .PKGINFO too; its signature entries give it away.
  if (sawSignatureEntry) throw new InvalidPackageError('package has .SIGN.* entries: this is an Alpine .apk, not a pacman package');
  const text = pkginfo.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(pkginfo)) throw new InvalidPackageError('.PKGINFO is not valid UTF-8');
  if (/^datahash = /m.test(text)) throw new InvalidPackageError('.PKGINFO has a "datahash" key: this is an Alpine .apk, not a pacman package');
  const info = parsePkgInfo(text);
  return { compression, info, files: sortUniqueC(files) };
}
