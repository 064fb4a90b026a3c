import crypto from 'node:crypto';
import pg from 'pg';

/** The test machines' PostgreSQL: trust auth, database `test` (scripts/test.sh starts it). */
export const POSTGRES_ROOT_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `fn` on one short-lived connection to the maintenance database. */
export async function withPostgresAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: POSTGRES_ROOT_URL });
  // A maintenance connection can itself be terminated (another file's DROP ... FORCE does not
  // touch it, a PostgreSQL restart would): never an uncaught 'error'.
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * A fresh, uniquely named PostgreSQL database; `drop` removes it. Byte-order collation ("C"),
 * as the MariaDB helper's utf8mb4_bin, so listings sort the same on every database.
 */
export async function createPostgresDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `artifactd_t_${Date.now().toString(36)}_${crypto.randomBytes(3).toString('hex')}`;
  await withPostgresAdmin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C'`));
  const url = new URL(POSTGRES_ROOT_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    // FORCE (PostgreSQL 13+): a server a failed test left running must not keep the database alive.
    drop: () => withPostgresAdmin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}
