/**
 * Publishing one distribution (docs/formats/apt.md, #repository-layout to #architecture-all): for each component and architecture
 * Packages, Packages.gz and Packages.xz, their by-hash copies, and one Release covering
 * all of them, signed as InRelease (clearsigned) and Release.gpg (detached, armored).
 */
import crypto from 'node:crypto';
import os from 'node:os';
import zlib from 'node:zlib';
import lzma from 'lzma-native';
import type { EntryKey, EntryRow, IndexFile, PublishContext, RepoInfo } from '../../src/core/provider';
import { DEFAULT_COMPONENT, isValidSegment, splitPartition } from './params';
import { compareDebianVersions } from './version';

import { listSetting } from '../../src/core/settings';
import { compressSegments, segmentStarts, type SegmentKeys } from './segments';
import { RunMemo } from '../../src/core/run-memo';
import { ARCH_NAME, DEFAULT_ARCHES, SEGMENT_ABOVE_BYTES, SEGMENT_PACKAGES } from './settings';

export { DEFAULT_ARCHES };

/** Hash lists in Release, with the names apt expects (docs/formats/apt.md#release-and-inrelease). */
const RELEASE_HASHES = [
  { field: 'MD5Sum', algo: 'md5' },
  { field: 'SHA1', algo: 'sha1' },
  { field: 'SHA256', algo: 'sha256' },
  { field: 'SHA512', algo: 'sha512' },
] as const;
/** by-hash copies: apt asks for the strongest hash listed (SHA512); SHA256 serves older configurations. */
const BY_HASH = [
  { dir: 'SHA256', algo: 'sha256' },
  { dir: 'SHA512', algo: 'sha512' },
] as const;

export function distOfScope(scope: string): string | null {
  const m = /^dists\/([^/]+)$/.exec(scope);
  return m && isValidSegment(m[1]) ? m[1] : null;
}

/** Architectures every distribution offers even before it holds a package built for them: `settings.arches` (the core fills in APT_ARCHES). */
export function configuredArches(repo: RepoInfo): string[] {
  if (!Array.isArray(repo.settings.arches)) return DEFAULT_ARCHES;
  return listSetting(repo, 'arches', ARCH_NAME).filter((a) => a !== 'all');
}

/** A whole-number setting, or the fallback (unit tests build without the core's defaults). */
function numberSetting(repo: RepoInfo, key: string, fallback: number): number {
  const v = repo.settings[key];
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fallback;
}

/** A single-line string setting, or the fallback. */
function textSetting(repo: RepoInfo, key: string, fallback: string): string {
  const v = repo.settings[key];
  return typeof v === 'string' && v.trim() !== '' && !/[\r\n]/.test(v) ? v.trim() : fallback;
}

/** What the build orders and cuts entries by: an EntryKey (keys first) or an EntryRow. */
type AptKey = Pick<EntryKey, 'id' | 'name' | 'version' | 'arch' | 'partition'>;

/** Order inside Packages: name, then Debian version, then architecture (then upload order). */
export function compareRows(a: AptKey, b: AptKey): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  const v = compareDebianVersions(a.version, b.version);
  if (v !== 0) return v;
  if (a.arch !== b.arch) return a.arch < b.arch ? -1 : 1;
  return a.id - b.id;
}

/** Stanzas separated by one blank line; the file ends with a blank line like dpkg-scanpackages'. */
function stanzasText(entries: readonly string[]): string {
  return entries.map((e) => (e.endsWith('\n') ? e : e + '\n') + '\n').join('');
}

export function packagesFile(rows: EntryRow[]): Buffer {
  return Buffer.from(stanzasText(rows.map((r) => r.entry)), 'utf8');
}

/**
 * Digests by buffer: Release and the by-hash names both need sha256 and sha512 of each file,
 * and at 100,000 packages the files are tens of MB. Index buffers are never changed once built.
 */
const digests = new WeakMap<Buffer, Map<string, string>>();
/** Digests of `data` computed elsewhere (while it was assembled segment by segment). */
function knownDigests(data: Buffer, hexByAlgo: Record<string, string>): void {
  digests.set(data, new Map(Object.entries(hexByAlgo)));
}

function hex(algo: string, data: Buffer): string {
  let known = digests.get(data);
  if (!known) digests.set(data, (known = new Map()));
  let h = known.get(algo);
  if (h === undefined) known.set(algo, (h = crypto.createHash(algo).update(data).digest('hex')));
  return h;
}

/**
 * xz is most of a publish: preset 6 (xz's default) compresses a 10,000-package Packages
 * (7.7 MB) in about 3.5 s on one core, which every upload into that distribution waits
 * for. Up to XZ_FAST_ABOVE bytes preset 6 stays cheap (< 0.5 s) and is kept; above it,
 * preset 1 multi-threaded (about 0.6 s on one core, blocks spread over the cores), at the
 * cost of a somewhat larger file (+20% on bench data; about gzip -9's size). Both are
 * deterministic: the same input always gives the same bytes.
 */
export const XZ_FAST_ABOVE = 1 << 20;

export function xzSettings(size: number): Record<string, number> {
  return size > XZ_FAST_ABOVE ? { preset: 1, threads: Math.min(4, os.availableParallelism()) } : { preset: 6 };
}

function xz(data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    lzma.compress(data, xzSettings(data.length), (result: Buffer, err?: Error) => (err ? reject(err) : resolve(Buffer.from(result))));
  });
}

/** Deterministic gzip (no name, mtime 0), on the thread pool so several files compress at once. */
function gzip(data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => zlib.gzip(data, { level: 9 }, (err, out) => (err ? reject(err) : resolve(out))));
}

interface Compressed {
  gz: Buffer;
  xz: Buffer;
}

/**
 * Compressed variants by the content of the plain Packages file. A publish rebuilds every
 * binary-<arch> index of every component of the distribution, but an upload usually
 * changes one of them: the others are byte-identical and reuse their earlier compression.
 * Per process and bounded; nothing depends on a hit (a miss just compresses again).
 */
const compressedCache = new Map<string, Compressed>();
let compressedBytes = 0;
export const COMPRESSED_CACHE_MAX = 64 << 20;

async function compressedOf(plain: Buffer): Promise<Compressed> {
  const key = hex('sha256', plain);
  const hit = compressedCache.get(key);
  if (hit) {
    compressedCache.delete(key); // most recently used last
    compressedCache.set(key, hit);
    return hit;
  }
  const [gz, xzData] = await Promise.all([gzip(plain), xz(plain)]);
  const c = { gz, xz: xzData };
  if (!compressedCache.has(key)) {
    compressedCache.set(key, c);
    compressedBytes += gz.length + xzData.length;
  }
  for (const [k, v] of compressedCache) {
    if (compressedBytes <= COMPRESSED_CACHE_MAX) break;
    compressedCache.delete(k);
    compressedBytes -= v.gz.length + v.xz.length;
  }
  return c;
}

export interface ReleaseFields {
  origin: string;
  label: string;
  dist: string;
  date: Date;
  validUntil?: Date;
  arches: string[];
  components: string[];
  description: string;
  /** Index files relative to dists/<dist>/: their bytes, or (listed but not published) their size and digests. */
  files: ({ path: string; data: Buffer } | { path: string; size: number; digests: Record<string, string> })[];
}

export function releaseText(r: ReleaseFields): string {
  const lines = [
    `Origin: ${r.origin}`,
    `Label: ${r.label}`,
    `Suite: ${r.dist}`,
    `Codename: ${r.dist}`,
    // toUTCString() gives "Sat, 21 Nov 2026 22:29:10 GMT"; apt accepts GMT (docs/formats/apt.md#release-and-inrelease).
    `Date: ${r.date.toUTCString()}`,
  ];
  if (r.validUntil) lines.push(`Valid-Until: ${r.validUntil.toUTCString()}`);
  lines.push(
    `Architectures: ${r.arches.join(' ')}`,
    `Components: ${r.components.join(' ')}`,
    `Description: ${r.description}`,
    'Acquire-By-Hash: yes',
  );
  for (const h of RELEASE_HASHES) {
    lines.push(`${h.field}:`);
    for (const f of r.files) lines.push('data' in f ? ` ${hex(h.algo, f.data)} ${f.data.length} ${f.path}` : ` ${f.digests[h.algo]} ${f.size} ${f.path}`);
  }
  return lines.join('\n') + '\n';
}

export async function buildAptIndex(ctx: PublishContext): Promise<IndexFile[]> {
  const dist = distOfScope(ctx.scope);
  if (!dist) throw new Error(`apt: not a distribution scope: "${ctx.scope}"`);
  const partitions = (await ctx.partitions()).filter((p) => splitPartition(p)?.dist === dist);
  // Keys first (PublishContext.keyed): the stanzas are read a window of segments at a time
  // below; at 100,000 packages they were ~75 MB held through the whole build (issue 19). A
  // merging virtual has no keyed reads: its rows come with their stanzas.
  const keyed = ctx.keyed;
  const rows: (AptKey & { entry?: string })[] = partitions.length ? (keyed ? await keyed.keys(partitions) : await ctx.entries(partitions)) : [];

  const byComponent = new Map<string, (AptKey & { entry?: string })[]>();
  for (const row of rows) {
    const comp = splitPartition(row.partition)?.component;
    if (!comp || splitPartition(row.partition)?.dist !== dist) continue;
    if (!byComponent.has(comp)) byComponent.set(comp, []);
    byComponent.get(comp)!.push(row);
  }
  // A distribution emptied by deletions still gets a valid (empty) index, so clients keep updating.
  const components = byComponent.size ? [...byComponent.keys()].sort() : [DEFAULT_COMPONENT];
  const archSet = new Set(configuredArches(ctx.repo));
  for (const row of rows) if (row.arch !== 'all' && ARCH_NAME.test(row.arch)) archSet.add(row.arch);
  if (archSet.size === 0) for (const a of DEFAULT_ARCHES) archSet.add(a);
  const arches = [...archSet].sort();

  const segmentAbove = numberSetting(ctx.repo, 'segmentAboveBytes', SEGMENT_ABOVE_BYTES);
  const perSegment = numberSetting(ctx.repo, 'segmentPackages', SEGMENT_PACKAGES);
  type Listed = { path: string; data: Buffer; contentType: string };
  // Per binary-<arch> directory in component then architecture order, its files (Release lists them in this order).
  const perDir: Listed[][] = [];
  let scratch = Buffer.alloc(0);
  const small: { dir: string; plain: Buffer; at: number }[] = [];
  const unpublished: { path: string; size: number; digests: Record<string, string> }[] = [];
  for (const comp of components) {
    const compRows = (byComponent.get(comp) ?? []).slice().sort(compareRows);
    for (const arch of arches) {
      // Release does not list `all`, so arch-all packages go into every binary-<arch> (docs/formats/apt.md#architecture-all).
      const fileRows = compRows.filter((r) => r.arch === arch || r.arch === 'all');
      const dir = `${comp}/binary-${arch}`;
      const starts = segmentStarts(fileRows.map((r) => r.name), perSegment);
      // A window's segments are written into one scratch buffer, reused for the next window
      // (compressSegments is done with them by then) instead of a fresh ~100 KB buffer for each
      // of the ~800 segments of a 100,000-package file.
      const segment = (i: number) => fileRows.slice(starts[i], starts[i + 1] ?? fileRows.length);
      const incomplete = new Set<number>();
      const render = async (from: number, to: number): Promise<Buffer[]> => {
        const run = fileRows.slice(starts[from], starts[to] ?? fileRows.length);
        const byId = keyed ? new Map((await keyed.byIds(run.map((r) => r.id))).map((r) => [r.id, r.entry])) : null;
        const segTexts: string[] = [];
        for (let i = from; i < to; i++) {
          const seg = segment(i);
          // A row deleted since the keys were read is left out; the change that deleted it publishes again.
          if (byId && seg.some((r) => !byId.has(r.id))) incomplete.add(i);
          segTexts.push(stanzasText(byId ? seg.flatMap((r) => byId.get(r.id) ?? []) : seg.map((r) => r.entry!)));
        }
        const lengths = segTexts.map((t) => Buffer.byteLength(t, 'utf8'));
        const total = lengths.reduce((a, b) => a + b, 0);
        if (scratch.length < total) scratch = Buffer.allocUnsafe(Math.max(total, scratch.length * 2));
        let at = 0;
        return segTexts.map((t, i) => {
          const part = scratch.subarray(at, at + lengths[i]!);
          part.write(t, 'utf8');
          at += lengths[i]!;
          return part;
        });
      };
      // Copied: the scratch buffer is written again by the next directory.
      const single = starts.length <= 1 ? (starts.length ? Buffer.from((await render(0, 1))[0]!) : Buffer.alloc(0)) : null;
      if (single && single.length <= segmentAbove) {
        // Small: compressed whole, and the plain Packages published too (as dpkg-scanpackages users expect).
        small.push({ dir, plain: single, at: perDir.push([]) - 1 });
        continue;
      }
      // Segment by segment (bounded memory), recompressing only segments not seen before and
      // hashing for Release only from the first changed segment on (providers/apt/prefix-digests.ts).
      // Up to segmentAbove bytes (about SEGMENT_PACKAGES names or more) the plain file is
      // still published: an upload recompresses one segment instead of the whole file (at
      // 1,000 packages that is what makes add-1 cheaper than reprepro's).
      // Keys first, a segment is known by its entries' (id, rev) list before it is read.
      const known: SegmentKeys | undefined = keyed && !single ? { keyOf: (i) => RunMemo.keyOf(`${keyed.origin}\u0000apt`, segment(i) as EntryKey[]), complete: (i) => !incomplete.has(i) } : undefined;
      const file = await compressSegments(starts.length, async (from, to) => (single ? [single] : render(from, to)), RELEASE_HASHES.map((h) => h.algo), segmentAbove, known);
      if (file.plain) {
        knownDigests(file.plain, file.digests);
        perDir.push([
          { path: `${dir}/Packages`, data: file.plain, contentType: 'text/plain; charset=utf-8' },
          { path: `${dir}/Packages.gz`, data: file.gz, contentType: 'application/gzip' },
          { path: `${dir}/Packages.xz`, data: file.xz, contentType: 'application/x-xz' },
        ]);
        continue;
      }
      // Large: apt downloads .xz or .gz, so the uncompressed file (by far the largest to
      // store) is not published; Release must still list it, as Debian's does: apt skips an
      // index whose uncompressed name Release lacks, and checks the decompressed bytes
      // against its hashes (docs/formats/apt.md#segmented-compression).
      unpublished.push({ path: `${dir}/Packages`, size: file.size, digests: file.digests });
      perDir.push([
        { path: `${dir}/Packages.gz`, data: file.gz, contentType: 'application/gzip' },
        { path: `${dir}/Packages.xz`, data: file.xz, contentType: 'application/x-xz' },
      ]);
    }
  }
  // The small files' compressions all at once: gzip and xz run on the thread pool.
  const compressed = await Promise.all(small.map((f) => compressedOf(f.plain)));
  small.forEach(({ dir, plain, at }, i) => {
    perDir[at] = [
      { path: `${dir}/Packages`, data: plain, contentType: 'text/plain; charset=utf-8' },
      { path: `${dir}/Packages.gz`, data: compressed[i].gz, contentType: 'application/gzip' },
      { path: `${dir}/Packages.xz`, data: compressed[i].xz, contentType: 'application/x-xz' },
    ];
  });
  const indexFiles = perDir.flat();

  // Release order: each directory's Packages, Packages.gz, Packages.xz, whether published or only listed.
  const listed: ReleaseFields['files'] = indexFiles.flatMap((f) => [...unpublished.filter((u) => `${u.path}.gz` === f.path), f]);

  const validDays = ctx.repo.settings.validDays;
  const release = releaseText({
    origin: textSetting(ctx.repo, 'origin', ctx.repo.name),
    label: textSetting(ctx.repo, 'label', ctx.repo.name),
    dist,
    date: ctx.now,
    validUntil: typeof validDays === 'number' && validDays > 0 ? new Date(ctx.now.getTime() + validDays * 86_400_000) : undefined,
    arches,
    components,
    description: textSetting(ctx.repo, 'description', `artifactd repository ${ctx.repo.name}`),
    files: listed,
  });

  const pgp = await ctx.signer.openpgp();
  const releaseBytes = Buffer.from(release, 'utf8');
  // Like `gpg --clearsign`: the Release's final newline becomes the line break before the
  // signature armor (which RFC 4880 §7.1 excludes from the signed text), so no blank line
  // is added. openpgp.js writes the body with CRLF line ends; the signature covers the
  // canonical CRLF form either way, so LF (what gpg and the Debian archive publish) keeps it valid.
  const inRelease = (await pgp.clearsign(release.slice(0, -1))).replace(/\r\n/g, '\n');
  const releaseGpg = await pgp.detachSign(releaseBytes, true);

  const base = `dists/${dist}`;
  const out: IndexFile[] = [
    { path: `${base}/Release`, data: releaseBytes, contentType: 'text/plain; charset=utf-8' },
    { path: `${base}/InRelease`, data: Buffer.from(inRelease, 'utf8'), contentType: 'text/plain; charset=utf-8' },
    { path: `${base}/Release.gpg`, data: releaseGpg, contentType: 'application/pgp-signature' },
  ];
  for (const f of indexFiles) {
    out.push({ path: `${base}/${f.path}`, data: f.data, contentType: f.contentType });
    const dir = f.path.slice(0, f.path.lastIndexOf('/'));
    for (const h of BY_HASH) {
      out.push({ path: `${base}/${dir}/by-hash/${h.dir}/${hex(h.algo, f.data)}`, data: f.data, contentType: f.contentType, historic: true });
    }
  }
  return out;
}
