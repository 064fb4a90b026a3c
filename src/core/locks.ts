import crypto from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Database } from '../db/database';
import { KeyedMutex } from '../util/mutex';

/** One dedicated session that takes and releases named locks, outside the query pool. */
interface LockSession {
  /** Try once, without waiting: true if this session now holds the lock. `key`: sha1 of the lock's full name. */
  tryLock(key: Buffer): Promise<boolean>;
  unlock(key: Buffer): Promise<void>;
  close(): Promise<void>;
}

/**
 * Named locks that hold across server processes.
 *
 * MySQL / PostgreSQL: a session lock (MySQL GET_LOCK, PostgreSQL pg_try_advisory_lock) on
 * ONE dedicated connection per process, outside the query pool. An earlier design held a
 * pooled connection per waiting lock and deadlocked once every pooled connection was a lock
 * holder waiting for a pool slot to run its queries. Locks are taken without waiting and
 * polled, so one connection serves any number of locks; same-process callers queue on an
 * in-process mutex first. If the process dies, the database releases its locks with the
 * session, so a crash never leaves a stuck lock. If the lock connection itself drops, the
 * locks are gone too; the publisher's generation flip is a compare-and-set
 * (`published_seq < target`), so even then no older index replaces a newer one.
 *
 * SQLite: one process owns the file, so the in-process mutex is the whole story.
 */
export class LockManager {
  private readonly local = new KeyedMutex();
  private readonly connMutex = new KeyedMutex();
  private session: LockSession | null = null;
  /** Set by close(): a late caller (a background sync still running at shutdown) must not open a new session, which would keep the process alive. */
  private closed = false;

  constructor(private readonly db: Database) {}

  private async open(): Promise<LockSession> {
    if (this.session) return this.session;
    if (this.closed) throw new Error('the lock manager is closed (the server is shutting down)');
    const forget = (s: LockSession) => () => {
      if (this.session === s) this.session = null;
    };
    const s = this.db.postgres ? await openPostgresSession(this.db, forget) : await openMysqlSession(this.db, forget);
    this.session = s;
    return s;
  }

  /**
   * Run one lock statement on the lock session (statements are serialized; each is instant).
   * A session that was already open may have died unnoticed (database restart, killed
   * connection): then the statement runs once more on a fresh one. That is safe because
   * the database released the dead session's locks with it.
   */
  private run<T>(fn: (s: LockSession) => Promise<T>): Promise<T> {
    return this.connMutex.run('conn', async () => {
      for (let attempt = 1; ; attempt++) {
        const reused = this.session !== null;
        try {
          return await fn(await this.open());
        } catch (e) {
          await this.session?.close().catch(() => undefined);
          this.session = null;
          if (!reused || attempt > 1) throw e;
        }
      }
    });
  }

  async withLock<T>(name: string, fn: () => Promise<T>, timeoutSeconds = 300): Promise<T> {
    return this.local.run(name, async () => {
      if (this.db.kind === 'sqlite') return fn();
      // MySQL lock names are global to the server, not per database: include the database so
      // instances of different artifactd deployments (or test runs) never block each other.
      // The session turns the hash into its database's lock identifier.
      const database = (this.db.ds.options as { database?: string }).database ?? '';
      const key = crypto.createHash('sha1').update(`${database}\u0000${name}`).digest();
      const deadline = Date.now() + timeoutSeconds * 1000;
      for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
        if (await this.run((s) => s.tryLock(key))) break;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutSeconds}s waiting for lock ${name}`);
        await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
      }
      try {
        return await fn();
      } finally {
        await this.run((s) => s.unlock(key)).catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.session?.close().catch(() => undefined);
    this.session = null;
  }
}

async function openMysqlSession(db: Database, forget: (s: LockSession) => () => void): Promise<LockSession> {
  const o = db.ds.options as { host?: string; port?: number; username?: string; password?: string; database?: string };
  const c = await mysql.createConnection({ host: o.host, port: o.port, user: o.username, password: o.password, database: o.database, enableKeepAlive: true });
  const scalar = async (sql: string, params: unknown[]) => {
    const [rows] = await c.query(sql, params);
    return Number(Object.values((rows as Record<string, unknown>[])[0] ?? {})[0]);
  };
  const session: LockSession = {
    // MySQL lock names are limited to 64 characters, hence the hash.
    tryLock: async (key) => (await scalar('SELECT GET_LOCK(?, 0)', [`artifactd:${key.toString('hex')}`])) === 1,
    unlock: async (key) => void (await scalar('SELECT RELEASE_LOCK(?)', [`artifactd:${key.toString('hex')}`])),
    close: async () => {
      await c.end().catch(() => c.destroy());
    },
  };
  c.on('error', forget(session));
  return session;
}

/**
 * PostgreSQL advisory locks take a bigint key
 * (https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADVISORY-LOCKS):
 * the first 8 bytes of the name's sha1, signed. They are scoped to the current database
 * already; the database is in the hash all the same, as for MySQL.
 */
async function openPostgresSession(db: Database, forget: (s: LockSession) => () => void): Promise<LockSession> {
  const o = db.ds.options as { url?: string };
  const c = new pg.Client({ connectionString: o.url, keepAlive: true, application_name: 'artifactd-locks' });
  const session: LockSession = {
    tryLock: async (key) => {
      const r = await c.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key.readBigInt64BE(0).toString()]);
      return r.rows[0]?.locked === true;
    },
    unlock: async (key) => void (await c.query('SELECT pg_advisory_unlock($1::bigint)', [key.readBigInt64BE(0).toString()])),
    close: async () => {
      await c.end().catch(() => undefined);
    },
  };
  // Without an 'error' listener a dropped lock connection (server restart, pg_terminate_backend)
  // would be an uncaught exception and end the process.
  c.on('error', forget(session));
  await c.connect();
  return session;
}
