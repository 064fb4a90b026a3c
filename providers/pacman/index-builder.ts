/**
 * The sync databases of one architecture (docs/formats/pacman.md#repository-layout, #database-entries, #signatures, #architecture-any):
 * `<repo>.db` / `<repo>.db.tar.gz` (a `<name>-<version>/desc` per package) and
 * `<repo>.files` / `<repo>.files.tar.gz` (`desc` and `files`), each with a binary detached
 * `.sig` over the exact bytes. `any` packages are merged into every architecture's db, and
 * only the newest version (pacman's vercmp) of each name is listed.
 */
import type { EntryKey, EntryRow, IndexFile, KeyedEntries, PublishContext } from '../../src/core/provider';
import { RunMemo } from '../../src/core/run-memo';
import { decodeEntry } from './entry';
import { cutSegments, deflatePart, gzipFromParts, SEGMENT_NAMES, segmentStarts, type DeflatedPart } from '../../src/util/segmented-gzip';
import { END_OF_ARCHIVE, writeTar, type TarItem } from '../../src/util/tar-writer';
import { vercmp } from './vercmp';

export const ANY_ARCH = 'any';

/** Newest version per package name; equal versions: the latest upload wins. */
export function newestPerName<K extends Pick<EntryKey, 'id' | 'name' | 'version' | 'createdAt'>>(rows: K[]): K[] {
  const best = new Map<string, K>();
  for (const row of rows) {
    const cur = best.get(row.name);
    if (!cur) {
      best.set(row.name, row);
      continue;
    }
    const c = vercmp(row.version, cur.version);
    const later = row.createdAt.getTime() > cur.createdAt.getTime() || (row.createdAt.getTime() === cur.createdAt.getTime() && row.id > cur.id);
    if (c > 0 || (c === 0 && later)) best.set(row.name, row);
  }
  return [...best.values()];
}

/** The packages a db lists, in archive order (`<name>-<version>` bytes), cut into runs of whole names. */
function runsOf<K extends Pick<EntryKey, 'id' | 'name' | 'version' | 'createdAt'>>(rows: K[], perSegment: number): K[][] {
  const chosen = sortByBytes(newestPerName(rows), (row) => `${row.name}-${row.version}`);
  return cutSegments(chosen, segmentStarts(chosen.map((c) => c.name), perSegment), (run) => run);
}

/**
 * `items` in the byte order of `keyOf` (what bsdtar and repo-add sort by). For ASCII keys (every
 * valid pacman name and version) that is the order of JS string comparison, without a Buffer
 * per key: at 100,000 packages the sort is a measurable part of each publish.
 */
function sortByBytes<T>(items: T[], keyOf: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, key: keyOf(item) }));
  if (keyed.every((k) => ASCII.test(k.key))) keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  else keyed.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  return keyed.map((k) => k.item);
}
const ASCII = /^[\x00-\x7f]*$/;

/** A run's part of the db archive (`desc`) or of the files archive (`desc` and `files`): tar entries, no end blocks. */
function runTar(rows: EntryRow[], withFiles: boolean): Buffer {
  const out: TarItem[] = [];
  for (const row of rows) {
    const dir = `${row.name}-${row.version}`;
    const entry = decodeEntry(row.entry);
    // Whole seconds: tar stores seconds, and the same rows must give the same bytes.
    const mtime = new Date(Math.floor(row.createdAt.getTime() / 1000) * 1000);
    out.push({ name: `${dir}/`, mtime }, { name: `${dir}/desc`, data: Buffer.from(entry.desc, 'utf8'), mtime });
    if (withFiles) out.push({ name: `${dir}/files`, data: Buffer.from(entry.files, 'utf8'), mtime });
  }
  return writeTar(out, { endOfArchive: false });
}

interface RunParts {
  db: DeflatedPart;
  files: DeflatedPart;
}

// Level 6 (bsdtar's default, what repo-add produces): level 9 costs ~6x the time for ~10% smaller files.
const LEVEL = 6;

async function runParts(rows: EntryRow[]): Promise<RunParts> {
  const [db, files] = await Promise.all([deflatePart(runTar(rows, false), LEVEL), deflatePart(runTar(rows, true), LEVEL)]);
  return { db, files };
}

async function assemble(parts: RunParts[]): Promise<{ db: Buffer; files: Buffer }> {
  const end = await deflatePart(END_OF_ARCHIVE, LEVEL);
  return { db: gzipFromParts([...parts.map((p) => p.db), end], LEVEL), files: gzipFromParts([...parts.map((p) => p.files), end], LEVEL) };
}

/**
 * The db and files archives (gzip), deterministic for the same rows: mtimes are the upload times.
 * Each is one tar (entries sorted by `<name>-<version>`) cut into segments of whole packages,
 * deflated per segment and assembled into one gzip member (src/util/segmented-gzip.ts): the
 * same plain tar as one writeTar of every entry, recompressed only where it changed. The two
 * end blocks come once, after the last segment (docs/formats/pacman.md#repository-layout).
 */
export async function buildDatabases(rows: EntryRow[], perSegment = SEGMENT_NAMES): Promise<{ db: Buffer; files: Buffer }> {
  return assemble(await Promise.all(runsOf(rows, perSegment).map(runParts)));
}

/** Each run's compressed parts by the run's (id, rev) list; bounded (most recently used kept). */
export const runMemo = new RunMemo<RunParts>(
  128 << 20,
  (p) => p.db.deflated.length + p.files.deflated.length,
  (a, b) => a.db.deflated.equals(b.db.deflated) && a.files.deflated.equals(b.files.deflated),
);

/**
 * The same archives from keys first (PublishContext.keyed): only the runs whose (id, rev) list
 * is not memoized are read and deflated, so adding one package to 100,000 reads one run of
 * rows, not all of them, and never holds every entry at once.
 */
export async function buildDatabasesKeyed(keyed: KeyedEntries, partitions: string[], perSegment = SEGMENT_NAMES): Promise<{ db: Buffer; files: Buffer }> {
  return assemble(await runMemo.values('pacman-db', runsOf(await keyed.keys(partitions), perSegment), keyed, runParts));
}

/** All index files of one architecture scope. */
export async function buildArchIndex(ctx: PublishContext): Promise<IndexFile[]> {
  const arch = ctx.scope;
  const partitions = arch === ANY_ARCH ? [ANY_ARCH] : [arch, ANY_ARCH];
  const { db, files } = ctx.keyed ? await buildDatabasesKeyed(ctx.keyed, partitions) : await buildDatabases(await ctx.entries(partitions));
  const pgp = await ctx.signer.openpgp();
  const [dbSig, filesSig] = await Promise.all([pgp.detachSign(db, false), pgp.detachSign(files, false)]);
  const base = `${arch}/${ctx.repo.name}`;
  const out: IndexFile[] = [];
  for (const [suffix, data, sig] of [['.db', db, dbSig], ['.files', files, filesSig]] as const) {
    // pacman only requests `<repo>.db`; `.db.tar.gz` is what repo-add names the real file.
    out.push(
      { path: `${base}${suffix}`, data, contentType: 'application/octet-stream' },
      { path: `${base}${suffix}.sig`, data: sig, contentType: 'application/pgp-signature' },
      { path: `${base}${suffix}.tar.gz`, data, contentType: 'application/gzip' },
      { path: `${base}${suffix}.tar.gz.sig`, data: sig, contentType: 'application/pgp-signature' },
    );
  }
  return out;
}
