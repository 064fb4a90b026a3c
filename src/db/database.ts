import type { DataSource, EntityManager } from 'typeorm';
import { KeyedMutex } from '../util/mutex';
import { isMysql } from './data-source';

const DEADLOCK_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY']);

/** Was this a unique-constraint violation (two writers raced to insert the same row)? */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; driverError?: { code?: string }; message?: string };
  const code = err.code ?? err.driverError?.code ?? '';
  return code === 'ER_DUP_ENTRY' || code.startsWith('SQLITE_CONSTRAINT') || /UNIQUE constraint failed|Duplicate entry/i.test(err.message ?? '');
}

/**
 * The DataSource plus one rule for writes: on SQLite (one connection, one writer) write
 * transactions are serialized in-process, because TypeORM would otherwise interleave
 * statements of concurrent transactions on the single connection. On MySQL they run
 * concurrently and are retried on deadlock.
 */
export class Database {
  private readonly writeMutex = new KeyedMutex();
  readonly mysql: boolean;

  constructor(readonly ds: DataSource) {
    this.mysql = isMysql(ds);
  }

  async write<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    if (!this.mysql) return this.writeMutex.run('write', () => this.ds.transaction(fn));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.ds.transaction(fn);
      } catch (e) {
        const code = (e as { code?: string; driverError?: { code?: string } }).code ?? (e as { driverError?: { code?: string } }).driverError?.code;
        if (attempt >= 5 || !code || !DEADLOCK_CODES.has(code)) throw e;
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50));
      }
    }
  }

  get manager(): EntityManager {
    return this.ds.manager;
  }

  async ping(): Promise<void> {
    await this.ds.query('SELECT 1');
  }
}
