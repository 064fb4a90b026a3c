import crypto from 'node:crypto';
import mysql from 'mysql2/promise';
import type { Database } from '../db/database';
import { KeyedMutex } from '../util/mutex';

/**
 * Named locks that hold across server processes.
 *
 * MySQL: GET_LOCK on ONE dedicated connection per process, outside the query pool. An
 * earlier design held a pooled connection per waiting lock and deadlocked once every pooled
 * connection was a lock holder waiting for a pool slot to run its queries. Locks are taken
 * with timeout 0 and polled, so one connection serves any number of locks; same-process
 * callers queue on an in-process mutex first. If the process dies, MySQL releases its locks
 * with the session, so a crash never leaves a stuck lock. If the lock connection itself
 * drops, the locks are gone too; the publisher's generation flip is a compare-and-set
 * (`published_seq < target`), so even then no older index replaces a newer one.
 *
 * SQLite: one process owns the file, so the in-process mutex is the whole story.
 */
export class LockManager {
  private readonly local = new KeyedMutex();
  private readonly connMutex = new KeyedMutex();
  private conn: mysql.Connection | null = null;

  constructor(private readonly db: Database) {}

  private async connection(): Promise<mysql.Connection> {
    if (this.conn) return this.conn;
    const o = this.db.ds.options as { host?: string; port?: number; username?: string; password?: string; database?: string };
    const c = await mysql.createConnection({ host: o.host, port: o.port, user: o.username, password: o.password, database: o.database, enableKeepAlive: true });
    c.on('error', () => {
      if (this.conn === c) this.conn = null;
    });
    this.conn = c;
    return c;
  }

  /** Run one statement on the lock connection (statements are serialized; each is instant). */
  private query(sql: string, params: unknown[]): Promise<number> {
    return this.connMutex.run('conn', async () => {
      try {
        const [rows] = await (await this.connection()).query(sql, params);
        return Number(Object.values((rows as Record<string, unknown>[])[0] ?? {})[0]);
      } catch (e) {
        this.conn?.destroy();
        this.conn = null;
        throw e;
      }
    });
  }

  async withLock<T>(name: string, fn: () => Promise<T>, timeoutSeconds = 300): Promise<T> {
    return this.local.run(name, async () => {
      if (!this.db.mysql) return fn();
      // GET_LOCK names are global to the MySQL server, not per database: include the database
      // so instances of different artifactd deployments (or test runs) never block each other.
      // MySQL lock names are limited to 64 characters, hence the hash.
      const database = (this.db.ds.options as { database?: string }).database ?? '';
      const lockName = `artifactd:${crypto.createHash('sha1').update(`${database}\u0000${name}`).digest('hex')}`;
      const deadline = Date.now() + timeoutSeconds * 1000;
      for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
        if ((await this.query('SELECT GET_LOCK(?, 0)', [lockName])) === 1) break;
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutSeconds}s waiting for lock ${name}`);
        await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
      }
      try {
        return await fn();
      } finally {
        await this.query('SELECT RELEASE_LOCK(?)', [lockName]).catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {
    await this.conn?.end().catch(() => undefined);
    this.conn = null;
  }
}
