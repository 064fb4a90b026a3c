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
import type { EntityManager, SelectQueryBuilder } from 'typeorm';
import { FileEntity, type FileRow } from '../db/entities';
import { hashesFromColumns } from './digests';
import type { EntryRow } from './provider';

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
  readonly entry: string;
  readonly size: number;
  readonly yanked: string | null;
  private readonly createdMs: number;
  constructor(r: Raw, withHashes: boolean) {
    this.id = Number(r.id);
    this.name = String(r.name);
    this.version = String(r.version);
    this.arch = String(r.arch);
    this.filename = String(r.filename);
    this.path = String(r.path);
    this.partition = String(r.part);
    this.entry = String(r.entry);
    this.size = Number(r.size);
    this.yanked = r.yanked === null ? null : String(r.yanked);
    this.createdMs = Number(r.created_at);
    // An own property shadows the prototype's throwing getter (assignment would hit the getter).
    if (withHashes) Object.defineProperty(this, 'hashes', { value: hashesFromColumns(r), enumerable: true });
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
  if (!reads.meta) return new LeanRow(r, reads.hashes);
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

/** The visible files of `repoId` (of `partitions` when given), ordered by id. */
export async function loadEntries(m: EntityManager, repoId: number, partitions: string[] | undefined, reads: EntryReads, pageRows = ENTRY_PAGE_ROWS): Promise<EntryRow[]> {
  const visible = (qb: SelectQueryBuilder<FileRow>) => {
    qb.where('f.repo_id = :repoId AND f.hidden = 0', { repoId });
    if (partitions) qb.andWhere('f.partition IN (:...partitions)', { partitions });
    return qb.orderBy('f.id', 'ASC');
  };
  const files = () => m.getRepository(FileEntity).createQueryBuilder('f');
  const ids = ((await visible(files().select('f.id', 'id')).getRawMany()) as { id: string | number }[]).map((r) => Number(r.id));
  const out: EntryRow[] = [];
  for (let i = 0; i < ids.length; i += pageRows) {
    const qb = files()
      .select(['f.id AS id', 'f.name AS name', 'f.version AS version', 'f.arch AS arch', 'f.filename AS filename', 'f.path AS path', 'f.partition AS part'])
      .addSelect(['f.entry AS entry', 'f.size AS size', 'f.created_at AS created_at', 'f.yanked AS yanked'])
      .addSelect([...(reads.meta ? ['f.meta AS meta'] : []), ...(reads.hashes ? ['f.sha256 AS sha256', 'f.sha512 AS sha512', 'f.sha1 AS sha1', 'f.md5 AS md5'] : [])]);
    const page = (await visible(qb).andWhere('f.id IN (:...page)', { page: ids.slice(i, i + pageRows) }).getRawMany()) as Raw[];
    for (const r of page) out.push(toRow(r, reads));
  }
  return out;
}
