/**
 * Compressing a large Packages file in segments, so a publish after one upload recompresses
 * one segment instead of the whole file (docs/formats/apt.md#segmented-compression).
 *
 * The sorted stanzas are cut before every package name whose hash is 0 modulo `perSegment`:
 * the cut points depend only on the names, so adding or removing one package changes the
 * segment holding it (or splits/joins two) and leaves every other segment byte-identical.
 * Each segment is compressed on its own and memoized by the sha256 of its plain bytes, then
 * the parts are assembled into ONE gzip member and ONE xz stream:
 * - apt's xz reader stops at the end of the first stream (apt-pkg/contrib/fileutl.cc calls
 *   lzma_auto_decoder without LZMA_CONCATENATED), so concatenated xz streams would silently
 *   drop every segment but the first. A stream of several blocks is what `xz -T0` writes.
 * - gzip: raw deflate ending in a sync flush (byte aligned, no final block) per segment,
 *   concatenated as one deflate stream (pigz --independent does the same), one CRC32 over
 *   the whole plain text: a single member every gzip reader handles.
 * Compression is deterministic, so a cache miss only costs time: the assembled bytes are
 * the same in every process and after restarts.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import lzma from 'lzma-native';
import { RunMemo } from '../../src/core/run-memo';
import { forgetPrefixDigests, PrefixDigests } from './prefix-digests';

/** One segment compressed: its deflate part, its xz block and that block's index record. */
interface SegmentParts {
  deflate: Buffer;
  xzBlock: Buffer;
  xzUnpadded: number;
  size: number;
  /** Stream Flags of the xz stream the block came from (the same for every segment). */
  xzFlags: Buffer;
}

/** Cut points (before names whose hash is 0 modulo the segment size): shared with the other formats' segmented gzip. */
export { segmentStarts } from '../../src/util/segmented-gzip';

const cache = new Map<string, SegmentParts>();
let cachedBytes = 0;
/** Bound of the per-process memo: about six 100,000-package Packages files' worth of parts. */
export const SEGMENT_CACHE_MAX = 128 << 20;

/**
 * Compressions run a few at a time, not one per segment at once: each xz encoder reserves
 * tens of MiB, and a cold build of a 100,000-package file has hundreds of segments.
 */
const MAX_PARALLEL = 2;
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(job: () => Promise<T>): Promise<T> {
  while (running >= MAX_PARALLEL) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await job();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function deflateSync(plain: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    zlib.deflateRaw(plain, { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH }, (err, out) => (err ? reject(err) : resolve(out))),
  );
}

function xzStream(plain: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    lzma.compress(plain, { preset: 6 }, (result: Buffer, err?: Error) => (err ? reject(err) : resolve(Buffer.from(result))));
  });
}

/** Reads one xz varint (7 bits a byte, least significant first). */
function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 1;
  for (let i = at; i < buf.length && i < at + 9; i++) {
    value += (buf[i]! & 0x7f) * shift;
    if ((buf[i]! & 0x80) === 0) return [value, i + 1];
    shift *= 128;
  }
  throw new Error('xz: bad varint in index');
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

/**
 * The one block of a single-block xz stream (https://tukaani.org/xz/xz-file-format.txt,
 * sections 2.1 to 4): 12-byte Stream Header, Block (padded to 4 bytes), Index, 12-byte Stream Footer.
 */
function splitXz(stream: Buffer): { block: Buffer; unpadded: number; flags: Buffer } {
  const footer = stream.subarray(stream.length - 12);
  if (footer.toString('latin1', 10, 12) !== 'YZ') throw new Error('xz: no stream footer');
  const indexSize = (footer.readUInt32LE(4) + 1) * 4;
  const indexStart = stream.length - 12 - indexSize;
  if (stream[indexStart] !== 0) throw new Error('xz: no index');
  const [records, at] = readVarint(stream, indexStart + 1);
  if (records !== 1) throw new Error(`xz: ${records} blocks in a segment, expected 1`);
  const [unpadded] = readVarint(stream, at);
  const block = stream.subarray(12, indexStart);
  if (block.length !== Math.ceil(unpadded / 4) * 4) throw new Error('xz: block size does not match its index record');
  return { block, unpadded, flags: Buffer.from(stream.subarray(6, 8)) };
}

/** A segment's compressed parts, and the sha256 of its plain bytes (the memo's key). */
async function partsOf(plain: Buffer): Promise<{ key: string; parts: SegmentParts }> {
  const key = crypto.createHash('sha256').update(plain).digest('hex');
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key); // most recently used last
    cache.set(key, hit);
    return { key, parts: hit };
  }
  const [deflate, xz] = await limited(() => Promise.all([deflateSync(plain), xzStream(plain)]));
  const { block, unpadded, flags } = splitXz(xz);
  const parts: SegmentParts = { deflate, xzBlock: Buffer.from(block), xzUnpadded: unpadded, size: plain.length, xzFlags: flags };
  if (!cache.has(key)) {
    cache.set(key, parts);
    cachedBytes += deflate.length + block.length;
  }
  for (const [k, v] of cache) {
    if (cachedBytes <= SEGMENT_CACHE_MAX) break;
    cache.delete(k);
    cachedBytes -= v.deflate.length + v.xzBlock.length;
  }
  return { key, parts };
}

/** Empties the memo (tests: a cold process must produce the same bytes as a warm one). */
export function forgetSegments(): void {
  cache.clear();
  runSha.clear();
  cachedBytes = 0;
  forgetPrefixDigests();
}

/** A memoized segment's plain bytes again, from its deflate part alone. */
function inflatePart(p: SegmentParts): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    zlib.inflateRaw(p.deflate, { finishFlush: zlib.constants.Z_SYNC_FLUSH }, (err, out) => {
      if (err) return reject(err);
      if (out.length !== p.size) return reject(new Error(`a memoized Packages segment inflated to ${out.length} bytes, not ${p.size}`));
      resolve(out);
    }),
  );
}

/** gzip header as zlib writes it at level 9 with no name and mtime 0 (RFC 1952 §2.3): XFL 2, OS 3 (Unix). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
/** An empty final fixed-Huffman block: BFINAL=1, BTYPE=01, end-of-block (RFC 1951 §3.2.6). */
const DEFLATE_END = Buffer.from([0x03, 0x00]);
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** What a keyed build (PublishContext.keyed) knows of each segment before rendering it. */
export interface SegmentKeys {
  /** The run key of segment i's entries (RunMemo.keyOf over their (id, rev) list). */
  keyOf(i: number): string;
  /** Segment i as rendered holds every entry its key names (a row deleted meanwhile: not). */
  complete(i: number): boolean;
}

/** Run key -> sha256 of the segment's plain bytes (the key of its parts in `cache`); bounded. */
const runSha = new Map<string, string>();
const RUN_SHA_MAX = 65_536;

function learnRunSha(runKey: string, sha: string): void {
  const was = runSha.get(runKey);
  // PUBLISH_MEMO_VERIFY: the same (id, rev) list must render the same bytes (src/core/run-memo.ts).
  if (RunMemo.verify && was !== undefined && was !== sha) throw new Error(`stale index memo: a segment of Packages was built differently with the same (id, rev) list; an update of a file row did not raise its rev (${runKey})`);
  runSha.delete(runKey);
  runSha.set(runKey, sha);
  for (const k of runSha.keys()) {
    if (runSha.size <= RUN_SHA_MAX) break;
    runSha.delete(k);
  }
}

/**
 * Segments rendered and compressed at once: enough to keep MAX_PARALLEL compressions busy on a
 * cold build, and about 1,000 stanzas (~1 MB) read in one query (PublishContext.keyed.byIds).
 */
export const SEGMENT_WINDOW = 8;

export interface SegmentedFile {
  gz: Buffer;
  xz: Buffer;
  size: number;
  /** Of the plain file, by algorithm (hex). */
  digests: Record<string, string>;
  /** The plain file, when it is no larger than `keepPlainUpTo`. */
  plain?: Buffer;
  /** Segments whose bytes were hashed for Release (the others' prefix states were memoized). */
  hashed: number;
}

/**
 * Packages.gz, Packages.xz and the plain file's size and `algos` digests, of the file whose
 * segments `from` to `to` (exclusive) `render(from, to)` gives (each a run of whole stanzas;
 * the buffers need only stay valid until the next call).
 * SEGMENT_WINDOW segments at a time are rendered, compressed (through the memo) and hashed,
 * then their plain bytes dropped, so a 100 MB Packages file never exists at once unless it is
 * kept (`keepPlainUpTo`).
 */
export async function compressSegments(count: number, render: (from: number, to: number) => Promise<Buffer[]>, algos: readonly string[], keepPlainUpTo: number, known?: SegmentKeys): Promise<SegmentedFile> {
  const parts: SegmentParts[] = [];
  const digester = new PrefixDigests(algos);
  let kept: Buffer[] | null = [];
  let size = 0;
  // Keys first: the leading segments whose entries are unchanged (their run key names a plain
  // sha256 whose parts and prefix state are memoized) are neither read nor rendered nor hashed.
  let skipped = 0;
  for (; known && !RunMemo.verify && skipped < count; skipped++) {
    const sha = runSha.get(known.keyOf(skipped));
    const p = sha === undefined ? undefined : cache.get(sha);
    if (!p || !digester.skip(sha!, p.size)) break;
    parts.push(p);
    size += p.size;
  }
  if (size > keepPlainUpTo) kept = null;
  const take = (plain: Buffer, key: string, p: SegmentParts) => {
    digester.add(key, plain);
    parts.push(p);
    size += plain.length;
    if (kept && size > keepPlainUpTo) kept = null;
    kept?.push(Buffer.from(plain)); // render may reuse its buffers for the next window
  };
  for (let from = skipped; from < count; ) {
    // After the first changed segment every later one must be hashed for Release. Those whose
    // parts are memoized by their run key give their plain bytes back by inflating the
    // memoized deflate part (each is a whole raw deflate stream up to its sync flush): no rows
    // read, nothing rendered. The others are rendered, SEGMENT_WINDOW at a time.
    const memoized = (i: number) => {
      if (!known || RunMemo.verify) return undefined;
      const sha = runSha.get(known.keyOf(i));
      const p = sha === undefined ? undefined : cache.get(sha);
      return p && { sha: sha!, p };
    };
    let to = from;
    if (memoized(from)) {
      const hits: { sha: string; p: SegmentParts }[] = [];
      for (let hit; to < count && hits.length < SEGMENT_WINDOW && (hit = memoized(to)); to++) hits.push(hit);
      for (const h of hits) {
        cache.delete(h.sha); // most recently used last
        cache.set(h.sha, h.p);
      }
      const plains = await Promise.all(hits.map((h) => inflatePart(h.p)));
      plains.forEach((plain, i) => take(plain, hits[i]!.sha, hits[i]!.p));
    } else {
      while (to < count && to - from < SEGMENT_WINDOW && !memoized(to)) to++;
      const plains = await render(from, to);
      const done = await Promise.all(plains.map((p) => partsOf(p)));
      plains.forEach((p, i) => {
        if (known?.complete(from + i)) learnRunSha(known.keyOf(from + i), done[i]!.key);
        take(p, done[i]!.key, done[i]!.parts);
      });
    }
    from = to;
  }
  // A small file is published plain: the skipped segments' bytes are needed after all.
  if (kept && skipped) kept = [...(await render(0, skipped)).map((p) => Buffer.from(p)), ...kept];
  const { crc, digests } = digester.finish();
  const gz = Buffer.concat([GZIP_HEADER, ...parts.map((p) => p.deflate), DEFLATE_END, u32(crc), u32(size % 2 ** 32)]);

  const flags = parts[0]!.xzFlags;
  const header = Buffer.concat([XZ_MAGIC, flags, u32(zlib.crc32(flags))]);
  const records: number[] = [0, ...varint(parts.length)];
  for (const p of parts) records.push(...varint(p.xzUnpadded), ...varint(p.size));
  while (records.length % 4) records.push(0);
  const indexBody = Buffer.from(records);
  const index = Buffer.concat([indexBody, u32(zlib.crc32(indexBody))]);
  const footerBody = Buffer.concat([u32(index.length / 4 - 1), flags]);
  const footer = Buffer.concat([u32(zlib.crc32(footerBody)), footerBody, Buffer.from('YZ', 'latin1')]);
  const xz = Buffer.concat([header, ...parts.map((p) => p.xzBlock), index, footer]);
  return { gz, xz, size, digests, plain: kept ? Buffer.concat(kept, size) : undefined, hashed: digester.hashed };
}
