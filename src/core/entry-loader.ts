/**
 * The hot path of every publish: the stored entries of a repository, as EntryRows.
 *
 * A raw select of just the columns index builders use (no entity hydration), with `meta`
 * parsed only if a builder reads it: at 10,000 packages this halves the publish time compared
 * with loading full entities. Read in pages, each converted before the next is read, so the
 * driver's raw row objects of one page at most are alive next to the EntryRows: at 100,000 apt
 * packages a single getRawMany held 100,000 raw rows (each with its ~1 KB stanza) besides the
 * rows built from them (issue 19). Same rows, same order (by id) as one query.
 *
 * The ids come first (one query), then the pages by `id IN (...)`. Keyset pages (`id > last
 * ORDER BY id LIMIT n`) were 4x slower than one query on SQLite at 100,000 rows: the planner
 * takes the repo_id index and sorts every remaining row of the repository again for each page.
 * A row hidden or deleted between the two queries is left out; one added after the first waits
 * for the next build, which its change requested (src/core/publisher.ts: requested_seq).
 *
 * Aliases are lower case: PostgreSQL folds unquoted ones (`AS createdAt` would come back as
 * `createdat`).
 */
import type { EntityManager } from 'typeorm';
import { FileEntity } from '../db/entities';
import { hashesFromColumns } from './digests';
import type { EntryKey, EntryRow } from './provider';

/** Rows a page: large enough that the per-query cost vanishes, small next to 100,000 entries (and a bound-parameter list every database takes). */
export const ENTRY_PAGE_ROWS = 2000;

type Raw = Record<string, string | number | null>;

/** What an index build reads beyond the plain fields (Provider.capabilities.indexReadsMeta / indexReadsHashes). */
export interface EntryReads {
  meta: boolean;
  hashes: boolean;
}

export const READS_ALL: EntryReads = { meta: true, hashes: true };

/** The reads a provider's capabilities declare. */
export function entryReads(capabilities: { indexReadsMeta?: boolean; indexReadsHashes?: boolean }): EntryReads {
  return { meta: capabilities.indexReadsMeta !== false, hashes: capabilities.indexReadsHashes !== false };
}

const notLoaded = (field: string, capability: string) => new Error(`this index build reads entry ${field}, but its provider declares capabilities.${capability}: false`);

/**
 * A row whose provider declares `indexReadsMeta: false`: the fields as own properties, `meta`
 * (and `hashes` when not loaded) a getter on the prototype that throws, `createdAt` made on
 * read. A getter in each row's object literal (as below) costs a closure and its context per
 * row: about 1 KB, 96 MiB at 100,000 apt packages (issue 19); the hashes not loaded, 38 MiB more.
 */
class LeanRow {
  readonly id: number;
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  readonly filename: string;
  readonly path: string;
  readonly partition: string;
  readonly size: number;
  readonly yanked: string | null;
  readonly entry: string;
  private readonly createdMs: number;
  constructor(r: Raw, reads: EntryReads) {
    this.id = Number(r.id);
    this.name = String(r.name);
    this.version = String(r.version);
    this.arch = String(r.arch);
    this.filename = String(r.filename);
    this.path = String(r.path);
    this.partition = String(r.part);
    this.size = Number(r.size);
    this.yanked = r.yanked === null ? null : String(r.yanked);
    this.entry = String(r.entry);
    this.createdMs = Number(r.created_at);
    // An own property shadows the prototype's throwing getter (assignment would hit the getter).
    if (reads.hashes) Object.defineProperty(this, 'hashes', { value: hashesFromColumns(r), enumerable: true });
  }
  get createdAt(): Date {
    return new Date(this.createdMs);
  }
  get meta(): EntryRow['meta'] {
    throw notLoaded('meta', 'indexReadsMeta');
  }
  get hashes(): EntryRow['hashes'] {
    throw notLoaded('hashes', 'indexReadsHashes');
  }
}

function toRow(r: Raw, reads: EntryReads): EntryRow {
  if (!reads.meta) return new LeanRow(r, reads) as EntryRow;
  // Parsed on first read, and an own property: a spread copy (entry-renderer.ts) keeps it.
  let meta: EntryRow['meta'] | undefined;
  const metaText = String(r.meta ?? '{}');
  const row: EntryRow = {
    id: Number(r.id),
    name: String(r.name),
    version: String(r.version),
    arch: String(r.arch),
    filename: String(r.filename),
    path: String(r.path),
    partition: String(r.part),
    entry: String(r.entry),
    get meta() {
      return (meta ??= JSON.parse(metaText) as EntryRow['meta']);
    },
    size: Number(r.size),
    hashes: reads.hashes ? hashesFromColumns(r) : ({} as EntryRow['hashes']),
    createdAt: new Date(Number(r.created_at)),
    yanked: r.yanked === null ? null : String(r.yanked),
  };
  if (!reads.hashes) Object.defineProperty(row, 'hashes', { get: () => { throw notLoaded('hashes', 'indexReadsHashes'); }, enumerable: true });
  return row;
}

/**
 * A page by primary key alone, the rest of the filter checked here: given `repo_id = ?` next to
 * `id IN (...)`, SQLite walks the repo_id index (every row of the repository, for each page)
 * instead of looking the ids up, ~10 ms a page at 100,000 rows.
 */
async function byIds(m: EntityManager, columns: string[], ids: number[]): Promise<Raw[]> {
  return (await m
    .getRepository(FileEntity)
    .createQueryBuilder('f')
    .select(['f.id AS id', 'f.repo_id AS repo', 'f.hidden AS hidden', 'f.partition AS part', ...columns])
    .where('f.id IN (:...ids)', { ids })
    .orderBy('f.id', 'ASC')
    .getRawMany()) as Raw[];
}

const entryColumns = (reads: EntryReads) => [
  'f.name AS name', 'f.version AS version', 'f.arch AS arch', 'f.filename AS filename', 'f.path AS path', 'f.size AS size', 'f.created_at AS created_at', 'f.yanked AS yanked', 'f.entry AS entry',
  ...(reads.meta ? ['f.meta AS meta'] : []),
  ...(reads.hashes ? ['f.sha256 AS sha256', 'f.sha512 AS sha512', 'f.sha1 AS sha1', 'f.md5 AS md5'] : []),
];

/** The visible files of `repoId` (of `partitions` when given), ordered by id. */
export async function loadEntries(m: EntityManager, repoId: number, partitions: string[] | undefined, reads: EntryReads, pageRows = ENTRY_PAGE_ROWS): Promise<EntryRow[]> {
  const qb = m.getRepository(FileEntity).createQueryBuilder('f').select(['f.id AS id']).where('f.repo_id = :repoId AND f.hidden = 0', { repoId });
  if (partitions) qb.andWhere('f.partition IN (:...partitions)', { partitions });
  const ids = ((await qb.orderBy('f.id', 'ASC').getRawMany()) as Raw[]).map((r) => Number(r.id));
  return loadEntriesByIds(m, repoId, ids, reads, partitions, pageRows);
}

/**
 * Whole rows of these files (PublishContext.keyed.byIds), ordered by id: those still visible in
 * `repoId` (and of `partitions`, when given); a file deleted or hidden meanwhile is absent.
 */
export async function loadEntriesByIds(m: EntityManager, repoId: number, ids: readonly number[], reads: EntryReads, partitions?: string[], pageRows = ENTRY_PAGE_ROWS): Promise<EntryRow[]> {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const wanted = partitions ? new Set(partitions) : null;
  const out: EntryRow[] = [];
  for (let i = 0; i < sorted.length; i += pageRows) {
    for (const r of await byIds(m, entryColumns(reads), sorted.slice(i, i + pageRows))) {
      if (Number(r.repo) === repoId && Number(r.hidden) === 0 && (!wanted || wanted.has(String(r.part)))) out.push(toRow(r, reads));
    }
  }
  return out;
}

/**
 * The keys of the visible files of `repoId` (PublishContext.keyed.keys): the rows of loadEntries
 * without their text, in one query (a few dozen bytes a row; on SQLite an index-only scan of
 * ix_files_entry_keys, migrations/1765300000000-FileRevision.ts).
 */
export async function loadKeys(m: EntityManager, repoId: number, partitions?: string[]): Promise<EntryKey[]> {
  const qb = m
    .getRepository(FileEntity)
    .createQueryBuilder('f')
    .select(['f.id AS id', 'f.rev AS rev', 'f.name AS name', 'f.version AS version', 'f.arch AS arch', 'f.partition AS part', 'f.created_at AS created_at'])
    .where('f.repo_id = :repoId AND f.hidden = 0', { repoId })
    .orderBy('f.id', 'ASC');
  if (partitions) qb.andWhere('f.partition IN (:...partitions)', { partitions });
  const sqlite = sqliteHandle(m);
  if (sqlite) {
    // Arrays, not objects: at 100,000 keys better-sqlite3's row objects cost a third of the read.
    const [sql, params] = qb.getQueryAndParameters();
    const rows = sqlite.prepare(sql).raw(true).all(...params) as [number, number, string, string, string, string, number][];
    return rows.map(([id, rev, name, version, arch, partition, createdAt]) => ({ id, rev, name, version, arch, partition, createdAt: new Date(createdAt) }));
  }
  return ((await qb.getRawMany()) as Raw[]).map((r) => ({
    id: Number(r.id),
    rev: Number(r.rev),
    name: String(r.name),
    version: String(r.version),
    arch: String(r.arch),
    partition: String(r.part),
    createdAt: new Date(Number(r.created_at)),
  }));
}

interface SqliteStatement {
  raw(on: boolean): { all(...params: unknown[]): unknown[] };
}

/** better-sqlite3's own handle behind TypeORM (one connection: the same inside a transaction), or null on another database. */
function sqliteHandle(m: EntityManager): { prepare(sql: string): SqliteStatement } | null {
  if (m.connection.options.type !== 'better-sqlite3') return null;
  return (m.connection.driver as unknown as { databaseConnection: { prepare(sql: string): SqliteStatement } }).databaseConnection;
}

/** Ids per `IN (...)` of loadKeysByIds: well under every database's bound-parameter limit. */
const KEY_IDS_PER_QUERY = 500;

/**
 * The keys of these files as loadKeys gives them (src/core/key-cache.ts: the ids changed since a
 * cached read), ordered by id: those still visible in `repoId` (and of `partitions`, when given);
 * a file deleted or hidden is absent. By primary key alone, the rest of the filter checked here
 * (see byIds).
 */
export async function loadKeysByIds(m: EntityManager, repoId: number, ids: readonly number[], partitions?: string[]): Promise<EntryKey[]> {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const wanted = partitions ? new Set(partitions) : null;
  const out: EntryKey[] = [];
  for (let i = 0; i < sorted.length; i += KEY_IDS_PER_QUERY) {
    const rows = (await m
      .getRepository(FileEntity)
      .createQueryBuilder('f')
      .select(['f.id AS id', 'f.repo_id AS repo', 'f.hidden AS hidden', 'f.rev AS rev', 'f.name AS name', 'f.version AS version', 'f.arch AS arch', 'f.partition AS part', 'f.created_at AS created_at'])
      .where('f.id IN (:...ids)', { ids: sorted.slice(i, i + KEY_IDS_PER_QUERY) })
      .orderBy('f.id', 'ASC')
      .getRawMany()) as Raw[];
    for (const r of rows) {
      if (Number(r.repo) !== repoId || Number(r.hidden) !== 0 || (wanted && !wanted.has(String(r.part)))) continue;
      out.push({ id: Number(r.id), rev: Number(r.rev), name: String(r.name), version: String(r.version), arch: String(r.arch), partition: String(r.part), createdAt: new Date(Number(r.created_at)) });
    }
  }
  return out;
}
