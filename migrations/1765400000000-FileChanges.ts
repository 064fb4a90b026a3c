import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A per-repository change feed of its file rows (src/core/key-cache.ts, issue 19): every write
 * transaction that inserts, deletes or updates what an index shows of a file row raises its
 * repository's `file_change_seqs.seq` (the row's lock held to commit) and records one
 * `file_changes` row per file id with that seq (file_id 0: every file). A publish that kept a
 * scope's keys from an earlier build re-reads only the ids changed since, instead of every key.
 * Portable column types only: the same migration runs on SQLite, MariaDB and PostgreSQL.
 */
export class FileChanges1765400000000 implements MigrationInterface {
  name = 'FileChanges1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'file_change_seqs',
        columns: [
          { name: 'repo_id', type: 'integer', isPrimary: true },
          { name: 'seq', type: 'bigint', isNullable: false, default: 0 },
          // Change rows with seq <= pruned are gone: a cache older than that reads every key.
          { name: 'pruned', type: 'bigint', isNullable: false, default: 0 },
        ],
      }),
    );
    // Existing repositories start at 0; new ones get their row before their first change (Publisher.ensureScopes).
    await q.query('INSERT INTO file_change_seqs (repo_id, seq, pruned) SELECT id, 0, 0 FROM repos');
    await q.createTable(
      new Table({
        name: 'file_changes',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'repo_id', type: 'integer' },
          { name: 'seq', type: 'bigint' },
          { name: 'file_id', type: 'bigint' },
        ],
      }),
    );
    await q.createIndex('file_changes', new TableIndex({ name: 'ix_file_changes_repo_seq', columnNames: ['repo_id', 'seq'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('file_changes');
    await q.dropTable('file_change_seqs');
  }
}
