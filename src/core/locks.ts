import crypto from 'node:crypto';
import type { Database } from '../db/database';
import { KeyedMutex } from '../util/mutex';

/**
 * Named locks that hold across server processes. MySQL: GET_LOCK on a dedicated
 * connection (released by the server if this process dies, so a crash never leaves a
 * stuck lock). SQLite: one process owns the file, so an in-process mutex is enough.
 */
export class LockManager {
  private readonly local = new KeyedMutex();

  constructor(private readonly db: Database) {}

  async withLock<T>(name: string, fn: () => Promise<T>, timeoutSeconds = 120): Promise<T> {
    // Same-process callers queue locally first so they do not each hold a pooled connection while waiting.
    return this.local.run(name, async () => {
      if (!this.db.mysql) return fn();
      // MySQL lock names are limited to 64 characters.
      const lockName = `artifactd:${crypto.createHash('sha1').update(name).digest('hex')}`;
      const runner = this.db.ds.createQueryRunner();
      await runner.connect();
      try {
        const rows = (await runner.query('SELECT GET_LOCK(?, ?) AS got', [lockName, timeoutSeconds])) as { got: number | string | null }[];
        if (Number(rows[0]?.got) !== 1) throw new Error(`timed out after ${timeoutSeconds}s waiting for lock ${name}`);
        try {
          return await fn();
        } finally {
          await runner.query('SELECT RELEASE_LOCK(?)', [lockName]).catch(() => undefined);
        }
      } finally {
        await runner.release();
      }
    });
  }
}
