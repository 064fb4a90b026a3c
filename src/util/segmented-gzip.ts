/**
 * One gzip member assembled from separately compressed segments, so an index that changes in
 * one place recompresses one segment instead of the whole file (issue 19). Used by formats
 * whose clients read plain gzip (pacman's db through libarchive); apt's Packages does the same
 * with xz too (providers/apt/segments.ts).
 *
 * Each segment is deflated raw and ended with a sync flush (an empty stored block: byte
 * aligned, no final block, RFC 1951 §3.2.4), so the parts concatenate into ONE deflate stream
 * (what pigz --independent writes); then an empty final block and one trailer with the CRC32
 * and length of the whole plain text (RFC 1952 §2.3.1). That is an ordinary single-member gzip
 * file for every reader. Segment parts are memoized by the sha256 of their plain bytes (and the
 * level); compression is deterministic, so a cold process assembles the same bytes as a warm one.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';

/**
 * Where segments start in a list of names sorted the way the file is: before a name (never
 * between two entries of one name) whose FNV-1a hash is 0 modulo `perSegment`, so cut points
 * depend on the names only and one added or removed name changes one segment (or splits or
 * joins two), never shifts the others. A segment holds `perSegment` names on average.
 */
export function segmentStarts(names: readonly string[], perSegment: number): number[] {
  const starts = names.length ? [0] : [];
  for (let i = 1; i < names.length; i++) {
    if (names[i] !== names[i - 1] && fnv1a(names[i]!) % perSegment === 0) starts.push(i);
  }
  return starts;
}

/** FNV-1a (32 bit) over the name's UTF-16 code units: cheap, and the same in every process. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Names per segment, on average, that pacman, rpm and apk cut their indexes at: big enough that
 * deflating each segment without the previous one's history costs only a few percent in size
 * (docs/formats/*.md "Segmented compression"), small enough that an upload deflates a few tens
 * to a few hundred KB.
 */
export const SEGMENT_NAMES = 128;

/** `items` cut at `starts` (segmentStarts), each run given to `render`. */
export function cutSegments<T, R = Buffer>(items: readonly T[], starts: readonly number[], render: (run: T[]) => R): R[] {
  return starts.map((start, i) => render(items.slice(start, starts[i + 1] ?? items.length)));
}

const memo = new Map<string, Buffer>();
let memoBytes = 0;
/** Bound of the per-process memo of deflated segments. */
export const GZIP_SEGMENT_MEMO_MAX = 64 << 20;

function deflateSegment(plain: Buffer, level: number): Promise<Buffer> {
  const key = `${level}:${crypto.createHash('sha256').update(plain).digest('hex')}`;
  const hit = memo.get(key);
  if (hit) {
    memo.delete(key); // most recently used last
    memo.set(key, hit);
    return Promise.resolve(hit);
  }
  return new Promise((resolve, reject) =>
    zlib.deflateRaw(plain, { level, finishFlush: zlib.constants.Z_SYNC_FLUSH }, (err, out) => {
      if (err) return reject(err);
      if (!memo.has(key)) {
        memo.set(key, out);
        memoBytes += out.length;
      }
      for (const [k, v] of memo) {
        if (memoBytes <= GZIP_SEGMENT_MEMO_MAX) break;
        memo.delete(k);
        memoBytes -= v.length;
      }
      resolve(out);
    }),
  );
}

/** Empties the memo (tests: a cold process must produce the same bytes as a warm one). */
export function forgetGzipSegments(): void {
  memo.clear();
  memoBytes = 0;
}

/** An empty final fixed-Huffman block: BFINAL=1, BTYPE=01, end-of-block (RFC 1951 §3.2.6). */
const DEFLATE_END = Buffer.from([0x03, 0x00]);

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** A segment deflated raw with a sync flush, with the CRC32 and length of its plain bytes. */
export interface DeflatedPart {
  deflated: Buffer;
  crc: number;
  length: number;
}

export async function deflatePart(plain: Buffer, level: number): Promise<DeflatedPart> {
  return { deflated: await deflateSegment(plain, level), crc: zlib.crc32(plain), length: plain.length };
}

/** Parts inflated at once by plainDigest: bounds the plain bytes held to a few segments. */
const INFLATE_AHEAD = 8;

/**
 * A digest of the concatenated plain bytes of `parts`, from their deflated bytes alone: each
 * part is a complete raw deflate stream up to its sync flush, so it inflates on its own (on the
 * thread pool, a few ahead) and is hashed in order. For a digest over a whole file that changes
 * near its start (rpm's open-checksum), where no hash state can be kept from one build to the next.
 */
export async function plainDigest(parts: readonly DeflatedPart[], algorithm: string): Promise<string> {
  const hash = crypto.createHash(algorithm);
  const inflate = (p: DeflatedPart) => {
    const plain = new Promise<Buffer>((resolve, reject) =>
      zlib.inflateRaw(p.deflated, { finishFlush: zlib.constants.Z_SYNC_FLUSH }, (err, out) => {
        if (err) return reject(err);
        if (out.length !== p.length) return reject(new Error(`a deflated part inflated to ${out.length} bytes, not ${p.length}`));
        resolve(out);
      }),
    );
    plain.catch(() => {}); // rejected while an earlier part is awaited: handled when its turn comes
    return plain;
  };
  const pending = parts.slice(0, INFLATE_AHEAD).map(inflate);
  for (let i = 0; i < parts.length; i++) {
    hash.update(await pending[i]!);
    pending[i] = undefined as never; // let the plain bytes go
    if (i + INFLATE_AHEAD < parts.length) pending.push(inflate(parts[i + INFLATE_AHEAD]!));
  }
  return hash.digest('hex');
}

/** CRC-32 (the gzip polynomial, reflected) of a product of polynomials modulo it: zlib's multmodp. */
const POLY = 0xedb88320;
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}
/** x^(2^k) modulo the polynomial, k = 0..31. */
const X2N = (() => {
  const t = new Array<number>(32);
  let p = 0x40000000; // x^1
  t[0] = p;
  for (let k = 1; k < 32; k++) t[k] = p = multModP(p, p);
  return t;
})();

/**
 * The CRC32 of A + B from crc(A), crc(B) and B's length, without A's or B's bytes (zlib's
 * crc32_combine: crc(A) times x^(8 len B), plus crc(B)). A memoized segment keeps only its
 * deflated bytes and CRC, and the whole file's CRC still comes out exact.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  let p = 0x80000000; // x^0
  let n = lengthB;
  for (let k = 3; n > 0; k++, n = Math.floor(n / 2)) if (n % 2) p = multModP(X2N[k & 31]!, p);
  return (multModP(p, crcA) ^ crcB) >>> 0;
}

/**
 * The gzip member of the concatenation of the parts' plain bytes. Header as zlib writes it with
 * no name and mtime 0: XFL 2 at level 9, 4 at level 1, else 0 (RFC 1952 §2.3.1), OS 3 (Unix).
 */
export function gzipFromParts(parts: readonly DeflatedPart[], level: number): Buffer {
  let crc = 0;
  let total = 0;
  for (const p of parts) {
    crc = crc32Combine(crc, p.crc, p.length);
    total += p.length;
  }
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, level === 9 ? 2 : level === 1 ? 4 : 0, 3]);
  return Buffer.concat([header, ...parts.map((p) => p.deflated), DEFLATE_END, u32(crc), u32(total % 2 ** 32)]);
}

/** The gzip member of the concatenation of `segments`, each deflated once per process (memo). */
export async function gzipSegments(segments: readonly Buffer[], level: number): Promise<Buffer> {
  return gzipFromParts(await Promise.all(segments.map((s) => deflatePart(s, level))), level);
}
