import type { DataSource, EntityManager } from 'typeorm';
import { KeyedMutex } from '../util/mutex';
import { databaseKind, type DatabaseKind } from './data-source';

/**
 * Errors after which a whole transaction is simply run again: MySQL deadlock and lock wait
 * timeout, PostgreSQL deadlock_detected (40P01) and serialization_failure (40001)
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html), SQLite busy.
 */
const RETRYABLE_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', '40P01', '40001', 'SQLITE_BUSY']);

/** Was this a unique-constraint violation (two writers raced to insert the same row)? PostgreSQL: unique_violation, 23505. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; driverError?: { code?: string }; message?: string };
  const code = err.code ?? err.driverError?.code ?? '';
  return code === 'ER_DUP_ENTRY' || code === '23505' || code.startsWith('SQLITE_CONSTRAINT') || /UNIQUE constraint failed|Duplicate entry/i.test(err.message ?? '');
}

/**
 * The DataSource plus one rule for writes: on SQLite (one connection, one writer) write
 * transactions are serialized in-process, because TypeORM would otherwise interleave
 * statements of concurrent transactions on the single connection. On MySQL and PostgreSQL
 * (server databases, several instances may share one) they run concurrently and are
 * retried on deadlock.
 */
export class Database {
  private readonly writeMutex = new KeyedMutex();
  /** Repositories each open write transaction changed, announced once it commits (repoChanged). */
  private readonly changedInTx = new WeakMap<EntityManager, Set<number>>();
  private readonly repoListeners: ((repoId: number) => void)[] = [];
  /** Write transactions started, and open now: what `quiet` compares (src/core/key-cache.ts). */
  private txStarted = 0;
  private txOpen = 0;
  readonly kind: DatabaseKind;
  readonly mysql: boolean;
  readonly postgres: boolean;

  constructor(readonly ds: DataSource) {
    this.kind = databaseKind(ds);
    this.mysql = this.kind === 'mysql';
    this.postgres = this.kind === 'postgres';
  }

  /**
   * A repository's rows (its settings, files or published generations) changed: in-process
   * readers that keep copies (src/core/read-cache.ts) are told once the change is visible, i.e.
   * after the commit of the write transaction `m` (at once outside a transaction). Telling
   * them earlier would let a concurrent read cache the pre-commit state again.
   */
  repoChanged(m: EntityManager, repoId: number): void {
    const pending = this.changedInTx.get(m);
    if (pending) pending.add(repoId);
    else for (const l of this.repoListeners) l(repoId);
  }

  onRepoChanged(listener: (repoId: number) => void): void {
    this.repoListeners.push(listener);
  }

  /** One transaction attempt; announces its repoChanged calls after it committed. */
  private async transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    const changed = new Set<number>();
    this.txStarted++;
    this.txOpen++;
    let result: T;
    try {
      result = await this.ds.transaction((m) => {
        this.changedInTx.set(m, changed);
        return fn(m);
      });
    } finally {
      this.txOpen--;
    }
    for (const id of changed) for (const l of this.repoListeners) l(id);
    return result;
  }

  async write<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    if (this.kind === 'sqlite') return this.writeMutex.run('write', () => this.transaction(fn));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transaction(fn);
      } catch (e) {
        const code = (e as { code?: string; driverError?: { code?: string } }).code ?? (e as { driverError?: { code?: string } }).driverError?.code;
        if (attempt >= 5 || !code || !RETRYABLE_CODES.has(code)) throw e;
        await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50));
      }
    }
  }

  /**
   * A mark for `quiet`: on SQLite, reads outside a transaction run on the one connection the
   * open write transaction (if any) uses, and see its uncommitted rows; a read between a mark
   * and a `quiet(mark)` that is true saw committed rows only. MySQL and PostgreSQL read
   * committed rows from the pool's other connections: always quiet.
   */
  writeMark(): { started: number; open: number } {
    return { started: this.txStarted, open: this.txOpen };
  }

  quiet(mark: { started: number; open: number }): boolean {
    if (this.kind !== 'sqlite') return true;
    return mark.open === 0 && this.txOpen === 0 && this.txStarted === mark.started;
  }

  get manager(): EntityManager {
    return this.ds.manager;
  }

  async ping(): Promise<void> {
    await this.ds.query('SELECT 1');
  }
}
