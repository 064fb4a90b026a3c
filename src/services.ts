/** Builds every service from the config: the one place where the pieces are wired. */
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
import type { RepoInfo } from './core/provider';
import type { Logger } from './util/logger';
import { withDefaults } from './core/settings';

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
  tmpDir: string;
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
  let blobs: BlobStore;
  if (config.S3_URL) {
    const s3 = new S3BlobStore(parseS3Url(config.S3_URL, config.S3_REGION));
    await s3.ensureBucket();
    blobs = s3;
  } else {
    blobs = new FsBlobStore(config.dataDir);
  }
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
  const publisher = new Publisher(db, blobs, locks, keys, log, config.KEEP_GENERATIONS, config.KEEP_GENERATIONS_SECONDS, effective);
  const tmpDir = path.join(config.dataDir, 'tmp');
  const renderer = new EntryRenderer(db, blobs, publisher, (repo) => keys.signerFor(repo), tmpDir);
  const catalog = new Catalog(db, config.PUBLIC_READ);
  const packages = new PackageService(db, blobs, publisher, keys, repos, catalog, renderer);
  const tokens = new TokenService(db, resolveAdminToken(config, log));
  const paths = new ServedPaths(db);
  return {
    config, log, db, blobs, locks, keys, repos, publisher, packages, catalog, renderer, tokens, paths,
    tmpDir,
    async close() {
      if (blobs instanceof S3BlobStore) blobs.destroy();
      await locks.close();
      await ds.destroy();
    },
  };
}
