/** Builds every service from the config: the one place where the pieces are wired. */
import { RunMemo } from './core/run-memo';
import path from 'node:path';
import crypto from 'node:crypto';
import type { Config } from './config/schema';
import { createDataSource } from './db/data-source';
import { Database } from './db/database';
import { FsBlobStore } from './storage/fs-blob-store';
import { S3BlobStore, parseS3Url } from './storage/s3-blob-store';
import type { BlobStore } from './storage/blob-store';
import { LockManager } from './core/locks';
import { KeyService } from './core/keys/key-service';
import { ensurePrivateDir, readOrCreateSecret, resolveMasterKey } from './core/keys/secret-files';
import { RepoService } from './core/repo-service';
import { Publisher } from './core/publisher';
import { PackageService } from './core/package-service';
import { EntryRenderer } from './core/entry-renderer';
import { Catalog } from './core/catalog';
import { TokenService } from './core/tokens';
import { ServedPaths } from './core/served-paths';
import { ReadCache } from './core/read-cache';
import { BlobBodyCache } from './core/blob-body-cache';
import type { RepoInfo } from './core/provider';
import type { Logger } from './util/logger';
import { withDefaults } from './core/settings';
import { Metrics } from './core/metrics';
import { Events } from './core/events';
import { WebhookService } from './core/webhooks';
import { WebhookDispatcher } from './core/webhook-dispatcher';
import { AuditLog } from './core/audit';
import { DownloadStats } from './core/download-stats';
import { runScheduledRetention } from './core/scheduled-retention';
import { ScopeEntity } from './db/entities';
import { createStaticPublishing, type StaticPublishing } from './core/static-publish';
import { DeliveryEntity } from './db/ops-entities';

export interface Services {
  config: Config;
  log: Logger;
  db: Database;
  blobs: BlobStore;
  locks: LockManager;
  keys: KeyService;
  repos: RepoService;
  publisher: Publisher;
  packages: PackageService;
  renderer: EntryRenderer;
  /** Every read of files and repository totals outside publishing (src/core/catalog.ts). */
  catalog: Catalog;
  tokens: TokenService;
  paths: ServedPaths;
  /** The GET path's copies of repository rows and path lookups (src/core/read-cache.ts). */
  reads: ReadCache;
  /** Small blob bodies by sha256 (src/core/blob-body-cache.ts). */
  bodies: BlobBodyCache;
  tmpDir: string;
  metrics: Metrics;
  events: Events;
  webhooks: WebhookService;
  dispatcher: WebhookDispatcher;
  audit: AuditLog;
  downloads: DownloadStats;
  /** Static copies of the repositories (src/core/static-publish/), when configured. */
  staticPublish: StaticPublishing;
  close(): Promise<void>;
}

/** ADMIN_TOKEN, or the one generated at first start into DATA_DIR/admin-token (0600). */
function resolveAdminToken(config: Config, log: Logger): string {
  if (config.ADMIN_TOKEN) return config.ADMIN_TOKEN;
  const file = path.join(config.dataDir, 'admin-token');
  const { value: token, created } = readOrCreateSecret(file, () => `ad_${crypto.randomBytes(24).toString('base64url')}`);
  if (created) log.warn('generated an admin token (shown once; also in the file)', { adminToken: token, file });
  return token;
}

export async function createServices(config: Config, log: Logger): Promise<Services> {
  ensurePrivateDir(config.dataDir, log);
  const ds = createDataSource(config.databaseUrl);
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  const db = new Database(ds);
  const metrics = new Metrics({
    scopes: async () => (await ds.getRepository(ScopeEntity).createQueryBuilder('s').where('s.published_seq < s.requested_seq').getCount()),
    deliveries: async () => ds.getRepository(DeliveryEntity).count({ where: { status: 'pending' } }),
  });
  metrics.watchDatabase(ds);
  let blobs: BlobStore;
  if (config.S3_URL) {
    const s3 = new S3BlobStore(parseS3Url(config.S3_URL, config.S3_REGION));
    await s3.ensureBucket();
    blobs = s3;
  } else {
    blobs = new FsBlobStore(config.dataDir);
  }
  blobs = metrics.watchBlobs(blobs);
  const locks = new LockManager(db);
  const keys = new KeyService(db, locks, resolveMasterKey(config, log), 'artifactd');
  // A master key that does not fit the stored keys stops the boot; release the pools first.
  await keys.sealPlaintextKeys(log).catch(async (e: unknown) => {
    await Promise.allSettled([locks.close(), ds.destroy()]);
    throw e;
  });
  const repos = new RepoService(db);
  // Repositories see the server-wide defaults (from the environment) under their own settings.
  const effective = (repo: RepoInfo): RepoInfo => withDefaults(repo, config.providerDefaults);
  RunMemo.verify = config.PUBLISH_MEMO_VERIFY === '1';
  const publisher = new Publisher(db, blobs, locks, keys, log, config.KEEP_GENERATIONS, config.KEEP_GENERATIONS_SECONDS, effective);
  const tmpDir = path.join(config.dataDir, 'tmp');
  const renderer = new EntryRenderer(db, blobs, publisher, (repo) => keys.signerFor(repo), tmpDir);
  publisher.virtualRenderer = (provider, virtual, rows, own) => renderer.renderForVirtual(provider, virtual, rows, own);
  const catalog = new Catalog(db, config.PUBLIC_READ);
  let dispatcher: WebhookDispatcher | null = null;
  const fallbackBaseUrl = config.BASE_URL ?? `http://${config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST}:${config.PORT}`;
  const events = new Events(db, fallbackBaseUrl, () => dispatcher?.wake());
  const audit = new AuditLog(db, log);
  const webhooks = new WebhookService(db, config.MASTER_KEY, events);
  dispatcher = new WebhookDispatcher(
    db, events, webhooks, log,
    { pollSeconds: config.WEBHOOK_POLL_SECONDS, timeoutSeconds: config.WEBHOOK_TIMEOUT_SECONDS, retrySeconds: config.WEBHOOK_RETRY_SECONDS, giveUpSeconds: config.WEBHOOK_GIVE_UP_SECONDS },
    (outcome) => metrics.webhookDeliveries.inc({ outcome }),
  );
  const packages = new PackageService(db, blobs, publisher, keys, repos, catalog, renderer, events, audit);
  // In the creating transaction; the dispatcher sees it on its next poll, with the upload's events.
  repos.onCreated = (m, repo) => events.emit('repository.created', repo, null, undefined, m);
  // A scope that keeps failing (the sweep retries it) raises publish.failed at most every 5 minutes.
  const lastFailure = new Map<string, number>();
  publisher.observer = {
    published: (repo, _scope, ms) => {
      metrics.publishes.inc({ provider: repo.provider, outcome: 'ok' });
      metrics.publishDuration.observe({ provider: repo.provider }, ms / 1000);
    },
    failed: (repo, scope, error) => {
      metrics.publishes.inc({ provider: repo.provider, outcome: 'error' });
      const key = `${repo.id}\u0000${scope}`;
      if (Date.now() - (lastFailure.get(key) ?? 0) < 300_000) return;
      lastFailure.set(key, Date.now());
      void events.emit('publish.failed', repo, null, { scope, error: (error as Error)?.message ?? String(error) }).catch((e) => log.error('publish.failed event not recorded', { error: String(e) }));
    },
  };
  const downloads = new DownloadStats(db, log, config.DOWNLOAD_FLUSH_SECONDS);
  const tokens = new TokenService(db, resolveAdminToken(config, log));
  const paths = new ServedPaths(db);
  const reads = new ReadCache(db, repos, config.READ_CACHE_CHECK_MS);
  const bodies = new BlobBodyCache();
  // Background work every instance runs (each step is claimed in the database, src/core/webhook-dispatcher.ts).
  dispatcher.start();
  downloads.start();
  let retentionTimer: NodeJS.Timeout | null = null;
  const staticPublish = createStaticPublishing(config, db, blobs, locks, log, publisher, () => repos.list(), (id) => repos.byId(id));
  const services: Services = {
    config, log, db, blobs, locks, keys, repos, publisher, packages, catalog, renderer, tokens, paths, reads, bodies,
    tmpDir, metrics, events, webhooks, dispatcher, audit, downloads, staticPublish,
    async close() {
      await staticPublish.close();
      if (retentionTimer) clearInterval(retentionTimer);
      await dispatcher!.stop();
      await downloads.stop();
      if (blobs instanceof S3BlobStore) blobs.destroy();
      await locks.close();
      await ds.destroy();
    },
  };
  if (config.RETENTION_INTERVAL_SECONDS > 0) {
    retentionTimer = setInterval(() => void runScheduledRetention(services).catch((e) => log.error('scheduled retention failed', { error: String(e) })), config.RETENTION_INTERVAL_SECONDS * 1000);
    retentionTimer.unref();
  }
  return services;
}
