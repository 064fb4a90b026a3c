/**
 * "Is this a pacman package?" for uploads without `provider`. Reads only the start of the file.
 *
 * A pacman package is a tar whose first entries include `.PKGINFO` (makepkg writes the
 * top-level dot files first, docs/formats/pacman.md#package-file). An Alpine .apk v2 also is gzip with a `.PKGINFO`,
 * but split over several gzip members, each a cut tar (docs/formats/apk.md#package-file): the control member holds
 * only dot files (`.PKGINFO`, install scripts) and ends without end-of-archive blocks. So for
 * gzip we read the FIRST member only and require `.PKGINFO` plus either a payload entry (not a
 * top-level dot file) or, for a package without files, the tar's zero end-of-archive blocks.
 */
import fs from 'node:fs';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { UploadedFile } from '../../src/core/provider';
import { byteLimit, decompressor, sniffCompression } from '../../src/util/compression';
import { readHead } from '../../src/util/files';
import { readTar } from '../../src/util/tar';
import { firstGzipMember, looksLikeTar } from './archive';

/** Stop after this much of the file, decompressed output or entries: `.PKGINFO` comes early. */
const MAX_COMPRESSED = 16 * 1024 * 1024;
const MAX_DECOMPRESSED = 64 * 1024 * 1024;
const MAX_ENTRIES = 64;

/** Keeps the last 1024 bytes that went through (to look for tar's end-of-archive blocks). */
function tailKeeper(): { stream: Transform; tail: () => Buffer } {
  let tail = Buffer.alloc(0);
  const stream = new Transform({
    transform(chunk: Buffer, _e, cb) {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > 1024) tail = tail.subarray(tail.length - 1024);
      cb(null, chunk);
    },
  });
  return { stream, tail: () => tail };
}

export async function detectPacman(file: UploadedFile): Promise<boolean> {
  const head = await readHead(file.localPath, 512);
  const kind = sniffCompression(head);
  if (kind === 'bzip2' || (kind === 'none' && !looksLikeTar(head))) return false;

  let memberComplete = false;
  const keeper = tailKeeper();
  const src = fs.createReadStream(file.localPath, { end: MAX_COMPRESSED - 1 });
  const dec = kind === 'gzip' ? firstGzipMember(() => (memberComplete = true)) : decompressor(kind);
  const out = byteLimit(MAX_DECOMPRESSED, 'package');
  pipeline(src, dec, keeper.stream, out, () => {});

  let sawPkgInfo = false;
  let sawPayload = false;
  try {
    await readTar(out as Readable, {
      maxEntries: MAX_ENTRIES,
      onEntry: (e) => {
        const top = e.name.split('/', 1)[0] ?? '';
        if (e.name === '.PKGINFO') sawPkgInfo = true;
        else if (e.name !== '' && !top.startsWith('.')) {
          sawPayload = true;
          return 'stop';
        }
        // Non-gzip packages cannot be apks: .PKGINFO among the first entries is enough.
        if (sawPkgInfo && kind !== 'gzip') return 'stop';
        return undefined;
      },
    });
  } catch {
    // Truncated reads (we stop at MAX_COMPRESSED), corrupt data, too many entries: judge by what we saw.
  }
  if (!sawPkgInfo) return false;
  if (kind !== 'gzip' || sawPayload) return true;
  // .PKGINFO with no payload in the first gzip member: a complete, terminated tar is a pacman
  // meta-package; a cut tar (an apk control member) is not.
  const tail = keeper.tail();
  return memberComplete && tail.length === 1024 && tail.every((b) => b === 0);
}
