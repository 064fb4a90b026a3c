import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * `files.rev`: raised by every update of a stored row that can change what an index shows of
 * it (its entry, digests, yank state). An index build that memoizes the bytes of a run of entries
 * keys the memo by the entries' (id, rev), so it can reuse them without reading the entries again
 * (src/core/entry-keys.ts, issue 19). Inserted rows start at 0.
 */
export class FileRevision1765300000000 implements MigrationInterface {
  name = 'FileRevision1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('files', new TableColumn({ name: 'rev', type: 'integer', isNullable: false, default: 0 }));
    // SQLite only: a row stores its columns in order, and `hidden`, `rev` and `created_at` come
    // after `entry`, whose bytes spill to overflow pages; reading the keys of 100,000 rows
    // walked every overflow chain (most of a keyed publish). The index holds the keys (index-only
    // scan). InnoDB and PostgreSQL keep long text out of line: their row reads stay cheap.
    if (q.connection.options.type === 'better-sqlite3') {
      await q.createIndex('files', new TableIndex({ name: 'ix_files_entry_keys', columnNames: ['repo_id', 'partition', 'hidden', 'id', 'rev', 'name', 'version', 'arch', 'created_at'] }));
    }
  }

  async down(q: QueryRunner): Promise<void> {
    if (q.connection.options.type === 'better-sqlite3') await q.dropIndex('files', 'ix_files_entry_keys');
    await q.dropColumn('files', 'rev');
  }
}
