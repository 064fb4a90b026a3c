/**
 * Download counts without a database write per GET: package file downloads are counted in
 * memory and written in one transaction every DOWNLOAD_FLUSH_SECONDS (and on shutdown).
 * A crash (kill -9, OOM) loses at most the counts of that last interval; the counts are
 * statistics, not billing, and the hot path stays a map increment. Index files (Packages,
 * .db, simple pages) are not counted: they are what clients poll, not what they install.
 * Per file: `files.downloads` and `files.last_downloaded_at`; per package and UTC day:
 * `download_days` (the per-day plots). Versions, packages and repositories sum their files.
 */
import type { Database } from '../db/database';
import { FileEntity } from '../db/entities';
import { DownloadDayEntity } from '../db/ops-entities';
import type { Logger } from '../util/logger';

export interface CountedFile {
  id: number;
  repoId: number;
  nameKey: string;
}

const DAY_MS = 86_400_000;

export class DownloadStats {
  private files = new Map<number, { n: number; last: number }>();
  private days = new Map<string, { repoId: number; nameKey: string; day: number; n: number }>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    private readonly flushSeconds: number,
  ) {}

  /** One download of a package file (the hot path: two map updates). */
  count(f: CountedFile, at = Date.now()): void {
    const c = this.files.get(f.id);
    if (c) {
      c.n++;
      c.last = Math.max(c.last, at);
    } else this.files.set(f.id, { n: 1, last: at });
    const day = Math.floor(at / DAY_MS);
    const key = `${f.repoId}\u0000${f.nameKey}\u0000${day}`;
    const d = this.days.get(key);
    if (d) d.n++;
    else this.days.set(key, { repoId: f.repoId, nameKey: f.nameKey, day, n: 1 });
  }

  /** Downloads counted and not yet flushed (metrics, and tests waiting for a count). */
  unflushed(): number {
    let n = 0;
    for (const c of this.files.values()) n += c.n;
    return n;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** Write what was counted since the last flush. Counts that fail to write are kept for the next one. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.files.size === 0 && this.days.size === 0) return;
    const files = this.files;
    const days = this.days;
    this.files = new Map();
    this.days = new Map();
    this.flushing = this.write(files, days)
      .catch((e) => {
        this.log.warn('download counts not written; retrying with the next flush', { error: String(e) });
        for (const [id, c] of files) {
          const now = this.files.get(id);
          this.files.set(id, now ? { n: now.n + c.n, last: Math.max(now.last, c.last) } : c);
        }
        for (const [k, d] of days) {
          const now = this.days.get(k);
          if (now) now.n += d.n;
          else this.days.set(k, d);
        }
      })
      .finally(() => (this.flushing = null));
    await this.flushing;
  }

  private async write(files: Map<number, { n: number; last: number }>, days: Map<string, { repoId: number; nameKey: string; day: number; n: number }>): Promise<void> {
    await this.db.write(async (m) => {
      for (const [id, c] of files) {
        // A file deleted meanwhile simply matches no row.
        await m
          .getRepository(FileEntity)
          .createQueryBuilder()
          .update()
          .set({ downloads: () => 'downloads + :n', lastDownloadedAt: () => 'CASE WHEN last_downloaded_at IS NULL OR last_downloaded_at < :last THEN :last ELSE last_downloaded_at END' })
          .where('id = :id')
          .setParameters({ id, n: c.n, last: c.last })
          .execute();
      }
      for (const d of days.values()) {
        const res = await m
          .getRepository(DownloadDayEntity)
          .createQueryBuilder()
          .update()
          .set({ downloads: () => 'downloads + :n' })
          .where('repo_id = :repoId AND name_key = :nameKey AND day = :day')
          .setParameters({ n: d.n, repoId: d.repoId, nameKey: d.nameKey, day: d.day })
          .execute();
        // A unique violation here (another instance inserted the same day first) fails the
        // transaction; the counts are merged back and the next flush updates instead.
        if (res.affected === 0) await m.getRepository(DownloadDayEntity).insert({ repoId: d.repoId, nameKey: d.nameKey, day: d.day, downloads: d.n });
      }
    });
  }

  /** Downloads per UTC day of a repository (or of one package) since `sinceDay` (days since epoch), ascending. */
  async perDay(repoId: number, nameKey: string | null, sinceDay: number): Promise<{ day: number; downloads: number }[]> {
    const qb = this.db.manager
      .getRepository(DownloadDayEntity)
      .createQueryBuilder('d')
      .select('d.day', 'day')
      .addSelect('SUM(d.downloads)', 'downloads')
      .where('d.repo_id = :repoId AND d.day >= :sinceDay', { repoId, sinceDay });
    if (nameKey !== null) qb.andWhere('d.name_key = :nameKey', { nameKey });
    const rows = (await qb.groupBy('d.day').orderBy('d.day', 'ASC').getRawMany()) as { day: unknown; downloads: unknown }[];
    return rows.map((r) => ({ day: Number(r.day), downloads: Number(r.downloads) }));
  }
}
