/**
 * Accounting of a remote repository's cache: hit/miss counters and last-use times (batched in
 * memory, written every 2 s: a warm page must not cost a database write), least-recently-used
 * eviction down to `cacheMaxBytes`, and the figures and listings the API and UI show.
 * The fetching and serving side is src/core/remote/remote-service.ts.
 */
import { FileEntity, IndexFileEntity, RepoEntity } from '../../db/entities';
import { RemoteObjectEntity, type RemoteObjectRow } from '../../db/remote-entities';
import type { Services } from '../../services';
import { blobKey } from '../../storage/blob-store';
import type { RepoInfo } from '../provider';

export interface CacheStats {
  files: number;
  size: number;
  indexFiles: number;
  indexSize: number;
  hits: number;
  misses: number;
}

/** Serializes "store the blob, insert its row" against "delete the row, delete the blob if unreferenced". */
export function blobLock(sha: string): string {
  return `remote-blob:${sha}`;
}

export class RemoteCache {
  private readonly counts = new Map<number, { hits: number; misses: number }>();
  private readonly touched = new Map<number, number>();
  /** The running counter write: a flush waits for it, so a caller that flushes sees every earlier hit in the database. */
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly s: Services) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), 2000);
    this.timer.unref();
  }

  private objects() {
    return this.s.db.manager.getRepository(RemoteObjectEntity);
  }

  /** One answer from the cache (hit) or from the upstream (miss) for the repository's counters. */
  count(repoId: number, what: 'hits' | 'misses'): void {
    const c = this.counts.get(repoId) ?? { hits: 0, misses: 0 };
    c[what]++;
    this.counts.set(repoId, c);
  }

  /** The cached object was just used: its last-use time for LRU eviction. */
  touch(objectId: number): void {
    this.touched.set(objectId, Date.now());
  }

  /**
   * Least recently used package files go until the cache fits `maxBytes` (never the one just
   * stored, never index files: a cached index names them and is what clients verify against).
   * A blob is deleted only when nothing else (a hosted file, an attachment, an index, another
   * cache) references it; `gc` would find the rest. Last use is this instance's hits (flushed
   * first) and other instances' hits up to their last batch (written every 2 s). `keepId`: the
   * file just fetched, kept even when it alone is larger than the limit.
   */
  async evict(repo: RepoInfo, maxBytes: number, keepId: number | null): Promise<number> {
    await this.flush();
    const rows = await this.objects().find({ where: { repoId: repo.id, kind: 'package' }, order: { lastUsedAt: 'ASC', id: 'ASC' }, select: { id: true, sha256: true, size: true, path: true } });
    let total = rows.reduce((n, r) => n + r.size, 0);
    let evicted = 0;
    for (const r of rows) {
      if (total <= maxBytes) break;
      if (r.id === keepId) continue;
      await this.s.locks.withLock(blobLock(r.sha256), async () => {
        await this.s.db.write((m) => m.getRepository(RemoteObjectEntity).delete({ id: r.id }));
        if (!(await this.blobReferenced(r.sha256))) await this.s.blobs.delete(blobKey(r.sha256)).catch(() => undefined);
      });
      total -= r.size;
      evicted++;
      this.s.log.info('remote: evicted', { repo: `${repo.provider}/${repo.name}`, path: r.path, bytes: r.size });
    }
    return evicted;
  }

  private async blobReferenced(sha: string): Promise<boolean> {
    const m = this.s.db.manager;
    if ((await m.getRepository(FileEntity).count({ where: { sha256: sha } })) > 0) return true;
    if ((await m.getRepository(RemoteObjectEntity).count({ where: { sha256: sha } })) > 0) return true;
    if ((await m.getRepository(IndexFileEntity).count({ where: { sha256: sha } })) > 0) return true;
    const att = await m.getRepository(FileEntity).createQueryBuilder('f').where('f.attachments LIKE :p', { p: `%${sha}%` }).getCount();
    return att > 0;
  }

  /** Write the batched counters and last-use times; resolves once everything recorded before the call is in the database. */
  flush(): Promise<void> {
    const next = this.flushing.then(() => this.writeBatch());
    this.flushing = next.catch(() => undefined);
    return next;
  }

  private async writeBatch(): Promise<void> {
    const counts = [...this.counts];
    this.counts.clear();
    const touched = [...this.touched];
    this.touched.clear();
    if (counts.length === 0 && touched.length === 0) return;
    try {
      await this.s.db.write(async (m) => {
        for (const [id, c] of counts) {
          await m.getRepository(RepoEntity).createQueryBuilder().update().set({ cacheHits: () => `cache_hits + ${Number(c.hits)}`, cacheMisses: () => `cache_misses + ${Number(c.misses)}` }).where('id = :id', { id }).execute();
        }
        for (const [id, at] of touched) await m.getRepository(RemoteObjectEntity).update({ id }, { lastUsedAt: at });
      });
    } catch (e) {
      // Not lost: merged back into the next batch (a newer touch of the same row wins).
      for (const [id, c] of counts) {
        const cur = this.counts.get(id) ?? { hits: 0, misses: 0 };
        this.counts.set(id, { hits: cur.hits + c.hits, misses: cur.misses + c.misses });
      }
      for (const [id, at] of touched) if (!this.touched.has(id)) this.touched.set(id, at);
      throw e;
    }
  }

  async stats(repo: RepoInfo): Promise<CacheStats> {
    await this.flush();
    const rows = (await this.objects().createQueryBuilder('o').select('o.kind', 'kind').addSelect('COUNT(*)', 'n').addSelect('SUM(o.size)', 'size').where('o.repo_id = :id', { id: repo.id }).groupBy('o.kind').getRawMany()) as { kind: string; n: unknown; size: unknown }[];
    const of = (k: string) => rows.find((r) => r.kind === k);
    const row = await this.s.db.manager.getRepository(RepoEntity).findOneByOrFail({ id: repo.id });
    return { files: Number(of('package')?.n ?? 0), size: Number(of('package')?.size ?? 0), indexFiles: Number(of('index')?.n ?? 0), indexSize: Number(of('index')?.size ?? 0), hits: row.cacheHits, misses: row.cacheMisses };
  }

  /** Cached files, newest fetch first (the JSON API and the UI). */
  async list(repo: RepoInfo, page: { limit: number; offset: number }): Promise<{ total: number; files: RemoteObjectRow[] }> {
    await this.flush();
    const total = await this.objects().count({ where: { repoId: repo.id } });
    const files = await this.objects().find({ where: { repoId: repo.id }, order: { fetchedAt: 'DESC', id: 'DESC' }, take: page.limit, skip: page.offset });
    return { total, files };
  }


}
