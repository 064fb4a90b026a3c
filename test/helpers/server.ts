/**
 * A real artifactd on port 0 for integration tests: SQLite in a temp dir by default,
 * MariaDB with TEST_DB=mysql, PostgreSQL with TEST_DB=postgres (a fresh database per
 * server, dropped by stop()), s3rver with s3: true.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/schema';
import { createServices, type Services } from '../../src/services';
import { buildApp } from '../../src/app';
import { createHttpServer } from '../../src/http/server-timeouts';
import { withFastPath } from '../../src/http/fast-path';
import { createLogger } from '../../src/util/logger';
import { startS3rver, type S3rverHandle } from './s3';
import { createServerDatabase, testDbKind, type TestDbKind } from './test-db';

export { testDbKind } from './test-db';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';
export const SHARED_MASTER_KEY = 'test-shared-master-key-0123456789';

export interface TestServer {
  url: string;
  dataDir: string;
  services: Services;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export interface ServerOptions {
  db?: TestDbKind;
  /** Share a database with another server (multi-instance tests). */
  databaseUrl?: string;
  s3?: boolean | { url: string };
  env?: Record<string, string>;
  logLines?: string[];
}

export async function startServer(opts: ServerOptions = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'artifactd-test-'));
  const cleanups: (() => Promise<void>)[] = [];
  // Servers sharing a database must share the master key that seals its signing keys (README).
  const shared: Record<string, string> = opts.databaseUrl ? { MASTER_KEY: SHARED_MASTER_KEY } : {};
  // PUBLISH_MEMO_VERIFY: every memoized run of entries is rebuilt and compared (src/core/run-memo.ts).
  const env: Record<string, string> = { DATA_DIR: dataDir, ADMIN_TOKEN, LOG_LEVEL: opts.logLines ? 'info' : 'error', PORT: '0', PUBLISH_MEMO_VERIFY: '1', ...shared, ...opts.env };
  const kind = opts.db ?? testDbKind();
  if (opts.databaseUrl) env.DATABASE_URL = opts.databaseUrl;
  else if (kind !== 'sqlite') {
    const db = await createServerDatabase(kind);
    env.DATABASE_URL = db.url;
    cleanups.push(db.drop);
  }
  if (opts.s3) {
    if (typeof opts.s3 === 'object') env.S3_URL = opts.s3.url;
    else {
      const s3: S3rverHandle = await startS3rver();
      env.S3_URL = s3.url(`bucket-${crypto.randomBytes(4).toString('hex')}`);
      cleanups.push(s3.stop);
    }
  }
  const config = loadConfig(env);
  const log = createLogger(config.LOG_LEVEL, {}, opts.logLines ? (l) => opts.logLines!.push(l) : undefined);
  const services = await createServices(config, log);
  const server = createHttpServer(withFastPath(services, buildApp(services)), config);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    dataDir,
    services,
    env,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await services.close();
      for (const c of cleanups.reverse()) await c();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
