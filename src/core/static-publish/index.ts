/**
 * Wiring of static publishing (STATIC_PUBLISH_DIR, STATIC_PUBLISH_S3_URL): one StaticPublisher
 * per target, fed by every generation flip and by a periodic sweep.
 */
import type { Config } from '../../config/schema';
import type { Database } from '../../db/database';
import type { BlobStore } from '../../storage/blob-store';
import type { Logger } from '../../util/logger';
import type { LockManager } from '../locks';
import type { RepoInfo } from '../provider';
import type { Publisher } from '../publisher';
import { StaticPublisher } from './static-publisher';
import { DirTarget, S3Target, type StaticTarget } from './targets';

export { StaticPublisher } from './static-publisher';

export interface StaticPublishing {
  readonly publishers: readonly StaticPublisher[];
  /** Sync every eligible repository to every target, and wait (the periodic pass; tests). */
  syncAll(): Promise<void>;
  /** Sync one repository to every target, and wait. */
  sync(repo: RepoInfo): Promise<void>;
  /** Stops the sweep and waits for the syncs still running. */
  close(): Promise<void>;
}

export function createStaticPublishing(config: Config, db: Database, blobs: BlobStore, locks: LockManager, log: Logger, publisher: Publisher, allRepos: () => Promise<RepoInfo[]>, repoById: (id: number) => Promise<RepoInfo | null>): StaticPublishing {
  const targets: StaticTarget[] = [];
  if (config.STATIC_PUBLISH_DIR) targets.push(new DirTarget(config.STATIC_PUBLISH_DIR));
  if (config.STATIC_PUBLISH_S3_URL) targets.push(new S3Target(config.STATIC_PUBLISH_S3_URL, config.S3_REGION));
  const opts = { includePrivate: config.STATIC_PUBLISH_PRIVATE, publicRead: config.PUBLIC_READ, keepSeconds: config.KEEP_GENERATIONS_SECONDS, minIntervalMs: config.STATIC_PUBLISH_INTERVAL_SECONDS * 1000 };
  const publishers = targets.map((t) => new StaticPublisher(db, blobs, locks, log, t, opts, repoById));
  let timer: NodeJS.Timeout | null = null;
  const syncAll = async () => {
    const repos = await allRepos();
    await Promise.all(publishers.map((p) => p.sweep(repos)));
  };
  if (publishers.length) {
    // Not awaited: an upload's answer does not wait for the static copy (the README says how late it can be).
    publisher.afterFlip = (repo) => {
      for (const p of publishers) void p.schedule(repo);
    };
    let sweeping = false;
    timer = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      void syncAll()
        .catch((e: unknown) => log.error('static sweep failed', { error: String(e) }))
        .finally(() => (sweeping = false));
    }, config.STATIC_PUBLISH_SWEEP_SECONDS * 1000);
    timer.unref();
  }
  return {
    publishers,
    syncAll,
    async sync(repo) {
      await Promise.all(publishers.map((p) => p.schedule(repo)));
    },
    async close() {
      if (timer) clearInterval(timer);
      await Promise.all(publishers.map((p) => p.close()));
    },
  };
}
