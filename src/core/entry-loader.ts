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

function toRow(r: Raw, withMeta: boolean): EntryRow {
  let meta: EntryRow['meta'] | undefined;
  const metaText = String(r.meta ?? '{}');
  return {
    id: Number(r.id),
    name: String(r.name),
    version: String(r.version),
    arch: String(r.arch),
    filename: String(r.filename),
    path: String(r.path),
    partition: String(r.part),
    entry: String(r.entry),
    get meta() {
      if (!withMeta) throw new Error('this index build reads entry meta, but its provider declares capabilities.indexReadsMeta: false');
      return (meta ??= JSON.parse(metaText) as EntryRow['meta']);
    },
    size: Number(r.size),
    hashes: hashesFromColumns(r),
    createdAt: new Date(Number(r.created_at)),
    yanked: r.yanked === null ? null : String(r.yanked),
  };
}

/** The visible files of `repoId` (of `partitions` when given), ordered by id. */
export async function loadEntries(m: EntityManager, repoId: number, partitions: string[] | undefined, withMeta: boolean, pageRows = ENTRY_PAGE_ROWS): Promise<EntryRow[]> {
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
      .addSelect(['f.entry AS entry', ...(withMeta ? ['f.meta AS meta'] : []), 'f.size AS size', 'f.sha256 AS sha256', 'f.sha512 AS sha512', 'f.sha1 AS sha1', 'f.md5 AS md5', 'f.created_at AS created_at', 'f.yanked AS yanked']);
    const page = (await visible(qb).andWhere('f.id IN (:...page)', { page: ids.slice(i, i + pageRows) }).getRawMany()) as Raw[];
    for (const r of page) out.push(toRow(r, withMeta));
  }
  return out;
}
