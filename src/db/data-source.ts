import fs from 'node:fs';
import path from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { allEntities } from './entities';
import { migrations } from '../../migrations';

/**
 * The database holds the signing keys and token hashes: create it 0600 before SQLite opens it
 * (SQLite would create it 0644 under the usual umask) and tighten an existing one. SQLite gives
 * the -wal and -shm files it creates the main file's mode (sqlite3 os_unix.c findCreateFileMode);
 * existing ones from older versions are tightened here too.
 */
function createPrivateSqliteFiles(file: string): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    try {
      if ((fs.statSync(f).mode & 0o777) !== 0o600) fs.chmodSync(f, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

export type DatabaseKind = 'sqlite' | 'mysql' | 'postgres';

/** Which database a DATABASE_URL names (the schema accepts exactly these prefixes). */
export function databaseKindOf(databaseUrl: string): DatabaseKind {
  if (databaseUrl.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return 'postgres';
  return 'mysql';
}

/** Build (not initialize) the DataSource for `sqlite:<path>`, `mysql://user:pass@host:port/db` or `postgres://user:pass@host:port/db`. */
export function createDataSource(databaseUrl: string): DataSource {
  const common = { entities: allEntities, migrations, synchronize: false, migrationsRun: false, logging: false } as const;
  const kind = databaseKindOf(databaseUrl);
  if (kind === 'sqlite') {
    const file = databaseUrl.slice('sqlite:'.length);
    if (file !== ':memory:') createPrivateSqliteFiles(file);
    const options: DataSourceOptions = {
      ...common,
      type: 'better-sqlite3',
      database: file,
      // WAL lets readers (downloads) proceed while a publish writes; busy_timeout avoids SQLITE_BUSY on bursts.
      prepareDatabase: (db: { pragma(s: string): unknown }) => {
        db.pragma('journal_mode = WAL');
        db.pragma('busy_timeout = 10000');
        db.pragma('synchronous = NORMAL');
      },
    };
    return new DataSource(options);
  }
  if (kind === 'postgres') {
    const u = new URL(databaseUrl);
    return new DataSource({
      ...common,
      type: 'postgres',
      // The whole URL goes to pg as its connection string, so libpq-style parameters
      // (`?sslmode=require`, `?host=/run/postgresql`) work as users know them from psql.
      url: databaseUrl,
      // Named separately too: the lock manager hashes it into its advisory-lock keys.
      database: decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined,
      // pg.Pool: dead sockets are dropped from the pool on their 'error' event and re-dialed
      // on demand; TCP keepalive stops idle connections being cut silently by middleboxes.
      extra: {
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        // pg-pool listens for a client's 'error' only while it is idle and TypeORM only while
        // a query runner holds it; a server-side termination (pg_terminate_backend, DROP
        // DATABASE ... FORCE, a restart) can reach a client between those windows, e.g. while
        // the pool ends it, and an 'error' with no listener ends the process. This listener
        // stays for the client's whole life; the pool still drops the dead client as before.
        onConnect: (client: { on(event: 'error', fn: (e: Error) => void): void }) => {
          client.on('error', () => undefined);
        },
      },
      poolSize: 20,
      applicationName: 'artifactd',
    });
  }
  const u = new URL(databaseUrl.replace(/^mariadb:/, 'mysql:'));
  return new DataSource({
    ...common,
    type: 'mysql',
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    username: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.replace(/^\//, ''),
    charset: 'utf8mb4',
    // Survive dropped connections (the seed needed a "mysql keepalive" fix): the pool
    // re-dials on demand and keepalive stops idle sockets from being cut silently.
    extra: { enableKeepAlive: true, keepAliveInitialDelay: 10_000, connectionLimit: 20, waitForConnections: true },
    poolSize: 20,
  });
}

export function databaseKind(ds: DataSource): DatabaseKind {
  const type = ds.options.type;
  return type === 'mysql' || type === 'mariadb' ? 'mysql' : type === 'postgres' ? 'postgres' : 'sqlite';
}

export function isMysql(ds: DataSource): boolean {
  return databaseKind(ds) === 'mysql';
}
