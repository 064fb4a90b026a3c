/**
 * Which database the integration tests run on (TEST_DB) and fresh databases on the server
 * ones: TEST_DB unset means SQLite in the test's temp dir, `mysql` MariaDB at 127.0.0.1:3306,
 * `postgres` PostgreSQL at 127.0.0.1:5432 (scripts/test.sh starts both).
 */
import mysql from 'mysql2/promise';
import { databaseKindOf } from '../../src/db/data-source';
import { createMysqlDatabase, MYSQL_ROOT_URL } from './mysql';
import { createPostgresDatabase, withPostgresAdmin } from './postgres';

export type TestDbKind = 'sqlite' | 'mysql' | 'postgres';
export type ServerDbKind = Exclude<TestDbKind, 'sqlite'>;

export function testDbKind(): TestDbKind {
  const v = process.env.TEST_DB;
  if (v === 'mysql' || v === 'postgres') return v;
  if (v && v !== 'sqlite') throw new Error(`TEST_DB=${v}: expected sqlite, mysql or postgres`);
  return 'sqlite';
}

/**
 * The server database for tests that need one (several instances sharing it, killing its
 * connections): TEST_DB's if it names one, else MariaDB as before PostgreSQL was supported.
 */
export function sharedDbKind(): ServerDbKind {
  const kind = testDbKind();
  return kind === 'sqlite' ? 'mysql' : kind;
}

/** A fresh, uniquely named database on `kind`; `drop` removes it. */
export async function createServerDatabase(kind: ServerDbKind): Promise<{ url: string; drop: () => Promise<void> }> {
  return kind === 'postgres' ? createPostgresDatabase() : createMysqlDatabase();
}

/**
 * Kill every session connected to the database `databaseUrl` names, server-side, as a
 * database restart, a failover or an idle timeout would. Returns how many there were.
 */
export async function killDatabaseConnections(databaseUrl: string): Promise<number> {
  const db = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  if (databaseKindOf(databaseUrl) === 'postgres') {
    return withPostgresAdmin(async (c) => {
      const r = await c.query<{ killed: boolean }>('SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db]);
      return r.rows.filter((row) => row.killed).length;
    });
  }
  const u = new URL(MYSQL_ROOT_URL);
  const admin = await mysql.createConnection({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) });
  try {
    const [rows] = await admin.query('SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ?', [db]);
    for (const r of rows as { ID: number }[]) await admin.query(`KILL ${Number(r.ID)}`).catch(() => undefined);
    return (rows as unknown[]).length;
  } finally {
    await admin.end();
  }
}
