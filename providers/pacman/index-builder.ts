/**
 * The sync databases of one architecture (docs/formats/pacman.md#repository-layout, #database-entries, #signatures, #architecture-any):
 * `<repo>.db` / `<repo>.db.tar.gz` (a `<name>-<version>/desc` per package) and
 * `<repo>.files` / `<repo>.files.tar.gz` (`desc` and `files`), each with a binary detached
 * `.sig` over the exact bytes. `any` packages are merged into every architecture's db, and
 * only the newest version (pacman's vercmp) of each name is listed.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { EntryRow, IndexFile, PublishContext } from '../../src/core/provider';
import { decodeEntry } from './entry';
import { writeTar, type TarItem } from '../../src/util/tar-writer';
import { vercmp } from './vercmp';

export const ANY_ARCH = 'any';

const gzip = promisify(zlib.gzip);

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

/** The db and files archives (gzip), deterministic for the same rows: mtimes are the upload times. */
export async function buildDatabases(rows: EntryRow[]): Promise<{ db: Buffer; files: Buffer }> {
  const chosen = newestPerName(rows)
    .map((row) => {
      const dir = `${row.name}-${row.version}`;
      return { row, dir, key: Buffer.from(dir), entry: decodeEntry(row.entry) };
    })
    .sort((a, b) => Buffer.compare(a.key, b.key));
  const dbFiles: TarItem[] = [];
  const filesFiles: TarItem[] = [];
  for (const { row, dir, entry } of chosen) {
    // Whole seconds: tar stores seconds, and the same rows must give the same bytes.
    const mtime = new Date(Math.floor(row.createdAt.getTime() / 1000) * 1000);
    const desc = Buffer.from(entry.desc, 'utf8');
    dbFiles.push({ name: `${dir}/`, mtime }, { name: `${dir}/desc`, data: desc, mtime });
    filesFiles.push(
      { name: `${dir}/`, mtime },
      { name: `${dir}/desc`, data: desc, mtime },
      { name: `${dir}/files`, data: Buffer.from(entry.files, 'utf8'), mtime },
    );
  }
  // Level 6 (bsdtar's default, what repo-add produces): level 9 costs ~6x the time for ~10% smaller files.
  // zlib's asynchronous gzip gives the same bytes as gzipDeterministic (mtime 0, no name), runs
  // on the thread pool, both archives at once: at 10,000 packages it is most of the build.
  const [db, files] = await Promise.all([gzip(writeTar(dbFiles), { level: 6 }), gzip(writeTar(filesFiles), { level: 6 })]);
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
