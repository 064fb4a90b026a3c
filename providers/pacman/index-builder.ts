/**
 * The sync databases of one architecture (docs/formats/pacman.md#repository-layout, #database-entries, #signatures, #architecture-any):
 * `<repo>.db` / `<repo>.db.tar.gz` (a `<name>-<version>/desc` per package) and
 * `<repo>.files` / `<repo>.files.tar.gz` (`desc` and `files`), each with a binary detached
 * `.sig` over the exact bytes. `any` packages are merged into every architecture's db, and
 * only the newest version (pacman's vercmp) of each name is listed.
 */
import type { EntryRow, IndexFile, PublishContext } from '../../src/core/provider';
import { decodeEntry } from './entry';
import { cutSegments, gzipSegments, SEGMENT_NAMES, segmentStarts } from '../../src/util/segmented-gzip';
import { END_OF_ARCHIVE, writeTar, type TarItem } from '../../src/util/tar-writer';
import { vercmp } from './vercmp';

export const ANY_ARCH = 'any';

/** Newest version per package name; equal versions: the latest upload wins. */
export function newestPerName(rows: EntryRow[]): EntryRow[] {
  const best = new Map<string, EntryRow>();
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

/**
 * The db and files archives (gzip), deterministic for the same rows: mtimes are the upload times.
 * Each is one tar (entries sorted by `<name>-<version>`) cut into segments of whole packages,
 * deflated per segment and assembled into one gzip member (src/util/segmented-gzip.ts): the
 * same plain tar as one writeTar of every entry, recompressed only where it changed. The two
 * end blocks come once, after the last segment (docs/formats/pacman.md#repository-layout).
 */
export async function buildDatabases(rows: EntryRow[], perSegment = SEGMENT_NAMES): Promise<{ db: Buffer; files: Buffer }> {
  const chosen = newestPerName(rows)
    .map((row) => {
      const dir = `${row.name}-${row.version}`;
      return { row, dir, key: Buffer.from(dir), entry: decodeEntry(row.entry) };
    })
    .sort((a, b) => Buffer.compare(a.key, b.key));
  const starts = segmentStarts(chosen.map((c) => c.row.name), perSegment);
  const items = (withFiles: boolean) => (run: typeof chosen): Buffer => {
    const out: TarItem[] = [];
    for (const { row, dir, entry } of run) {
      // Whole seconds: tar stores seconds, and the same rows must give the same bytes.
      const mtime = new Date(Math.floor(row.createdAt.getTime() / 1000) * 1000);
      out.push({ name: `${dir}/`, mtime }, { name: `${dir}/desc`, data: Buffer.from(entry.desc, 'utf8'), mtime });
      if (withFiles) out.push({ name: `${dir}/files`, data: Buffer.from(entry.files, 'utf8'), mtime });
    }
    return writeTar(out, { endOfArchive: false });
  };
  // Level 6 (bsdtar's default, what repo-add produces): level 9 costs ~6x the time for ~10% smaller files.
  // Segments deflate on the thread pool, both archives at once.
  const [db, files] = await Promise.all([
    gzipSegments([...cutSegments(chosen, starts, items(false)), END_OF_ARCHIVE], 6),
    gzipSegments([...cutSegments(chosen, starts, items(true)), END_OF_ARCHIVE], 6),
  ]);
  return { db, files };
}

/** All index files of one architecture scope. */
export async function buildArchIndex(ctx: PublishContext): Promise<IndexFile[]> {
  const arch = ctx.scope;
  const rows = await ctx.entries(arch === ANY_ARCH ? [ANY_ARCH] : [arch, ANY_ARCH]);
  const { db, files } = await buildDatabases(rows);
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
