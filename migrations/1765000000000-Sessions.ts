import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';
import { exactCollation } from './collation';

/**
 * `sessions`: web UI sign-ins (issue 17). Portable column types only (integer, bigint,
 * varchar) through the Table API, so SQLite, MariaDB and PostgreSQL run the same migration.
 * The session id itself is never stored, only its sha256.
 */
export class Sessions1765000000000 implements MigrationInterface {
  name = 'Sessions1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'sessions',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'session_hash', type: 'varchar', length: '64' },
          { name: 'token_hash', type: 'varchar', length: '64' },
          { name: 'csrf_token', type: 'varchar', length: '64' },
          { name: 'created_at', type: 'bigint' },
          { name: 'expires_at', type: 'bigint' },
        ],
        indices: [
          { name: 'uq_sessions_session_hash', columnNames: ['session_hash'], isUnique: true },
          { name: 'ix_sessions_expires_at', columnNames: ['expires_at'] },
        ],
      }),
    );
    await exactCollation(q, ['sessions']);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('sessions');
  }
}
