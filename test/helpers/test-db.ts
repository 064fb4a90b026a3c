/**
 * Which database the integration tests run on (TEST_DB) and fresh databases on the server
 * ones: TEST_DB unset means SQLite in the test's temp dir, `mysql` MariaDB at 127.0.0.1:3306,
 * `postgres` PostgreSQL at 127.0.0.1:5432 (scripts/test.sh starts both).
 */
import { createMysqlDatabase } from './mysql';
import { createPostgresDatabase } from './postgres';

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
