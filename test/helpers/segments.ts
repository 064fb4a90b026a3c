/**
 * Comparing two files gzip'd in segments (src/util/segmented-gzip.ts): which compressed bytes
 * an index change left in place. A segment's deflate part is the same bytes wherever it stands,
 * so two builds share every byte up to the first changed part and every byte after the last
 * one, up to the end block and the trailer (CRC32 and length of the whole text: it changes).
 */
import { gzipSegments } from '../../src/util/segmented-gzip';

const GZIP_HEADER = 10;
const TRAILER = 8;
/** The empty final block gzipSegments ends the deflate stream with. */
const END_BLOCK = 2;

/** Bytes `a` and `b` share from the start. */
export function sharedPrefix(a: Buffer, b: Buffer): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** Bytes `a` and `b` share at the end. */
export function sharedSuffix(a: Buffer, b: Buffer): number {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

/** The deflate part of one plain segment, as it stands inside any file gzipSegments assembles. */
export async function deflatePart(plain: Buffer, level: number): Promise<Buffer> {
  const gz = await gzipSegments([plain], level);
  return gz.subarray(GZIP_HEADER, gz.length - END_BLOCK - TRAILER);
}

/** One build: the gzip file, and optionally its plain first and last segments, to be left out of the comparison. */
export interface SegmentedBuild {
  gz: Buffer;
  /** A header that holds a count or a size, and so changes with every upload. */
  first?: Buffer;
  /** A footer that changes with every upload (a tar padding's length). */
  last?: Buffer;
}

/**
 * Where two builds differ once their `first` and `last` parts are left out: the compressed
 * bytes both share at the start and at the end, and how many bytes of `after` lie between,
 * i.e. were compressed anew for the change.
 */
export async function changedBytes(before: SegmentedBuild, after: SegmentedBuild, level: number): Promise<{ prefix: number; suffix: number; changed: number }> {
  const inner = async ({ gz, first, last }: SegmentedBuild) => {
    const head = first ? (await deflatePart(first, level)).length : 0;
    const tail = last ? (await deflatePart(last, level)).length : 0;
    return gz.subarray(GZIP_HEADER + head, gz.length - TRAILER - END_BLOCK - tail);
  };
  const a = await inner(before);
  const b = await inner(after);
  const prefix = sharedPrefix(a, b);
  const suffix = Math.min(sharedSuffix(a, b), b.length - prefix);
  return { prefix, suffix, changed: b.length - prefix - suffix };
}
