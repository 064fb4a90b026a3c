/**
 * The sync databases of one architecture (formats.md A.3, A.4, A.6, A.7):
 * `<repo>.db` / `<repo>.db.tar.gz` (a `<name>-<version>/desc` per package) and
 * `<repo>.files` / `<repo>.files.tar.gz` (`desc` and `files`), each with a binary detached
 * `.sig` over the exact bytes. `any` packages are merged into every architecture's db, and
 * only the newest version (pacman's vercmp) of each name is listed.
 */
import tar from 'tar-stream';
import type { EntryRow, IndexFile, PublishContext } from '../../src/core/provider';
import { gzipDeterministic } from '../../src/util/compression';
import { decodeEntry } from './entry';
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

interface TarFile {
  name: string;
  data?: Buffer;
  mtime: Date;
}

/** A tar (ustar/pax via tar-stream) of directories and files, entries in the given order. */
async function packTar(files: TarFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const f of files) {
    const common = { name: f.name, mtime: f.mtime, uid: 0, gid: 0, uname: 'root', gname: 'root' };
    // One entry at a time: tar-stream's queue of pending entries is quadratic for 10,000s of them.
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (f.data === undefined) pack.entry({ ...common, type: 'directory', mode: 0o755 }, cb);
      else pack.entry({ ...common, type: 'file', mode: 0o644, size: f.data.length }, f.data, cb);
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** The db and files archives (gzip), deterministic for the same rows: mtimes are the upload times. */
export async function buildDatabases(rows: EntryRow[]): Promise<{ db: Buffer; files: Buffer }> {
  const chosen = newestPerName(rows)
    .map((row) => {
      const dir = `${row.name}-${row.version}`;
      return { row, dir, key: Buffer.from(dir), entry: decodeEntry(row.entry) };
    })
    .sort((a, b) => Buffer.compare(a.key, b.key));
  const dbFiles: TarFile[] = [];
  const filesFiles: TarFile[] = [];
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
  const [dbTar, filesTar] = await Promise.all([packTar(dbFiles), packTar(filesFiles)]);
  // Level 6 (bsdtar's default, what repo-add produces): level 9 costs ~6x the time for ~10% smaller files.
  return { db: gzipDeterministic(dbTar, 6), files: gzipDeterministic(filesTar, 6) };
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
