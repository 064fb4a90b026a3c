import { Table, TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { exactCollation } from './collation';

/**
 * Repository kinds (issue 14): `hosted` (what every existing repository is), `remote` (a
 * pull-through cache of an upstream) and `virtual` (members merged behind one URL), plus the
 * remote cache's two tables. Portable column types only (varchar, text, bigint, integer): the
 * same migration runs on SQLite, MariaDB and PostgreSQL.
 */
export class RepoKinds1765200000000 implements MigrationInterface {
  name = 'RepoKinds1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.addColumns('repos', [
      new TableColumn({ name: 'kind', type: 'varchar', length: '16', isNullable: false, default: "'hosted'" }),
      new TableColumn({ name: 'upstream', type: 'text', isNullable: true }),
      // JSON array of member repository names, in order (virtual).
      new TableColumn({ name: 'members', type: 'text', isNullable: true }),
      // JSON: metadataTtl, offline, cacheMaxBytes, timeoutSeconds, mergeRemoteProjects, sealed auth.
      new TableColumn({ name: 'remote_config', type: 'text', isNullable: true }),
      new TableColumn({ name: 'cache_hits', type: 'bigint', isNullable: false, default: 0 }),
      new TableColumn({ name: 'cache_misses', type: 'bigint', isNullable: false, default: 0 }),
    ]);
    // Bytes fetched from an upstream and kept: index files (revalidated after metadataTtl) and
    // package files (immutable). One row per served path; the bytes are a content-addressed blob.
    await q.createTable(
      new Table({
        name: 'remote_objects',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'repo_id', type: 'integer' },
          { name: 'path', type: 'varchar', length: '400' },
          { name: 'kind', type: 'varchar', length: '16' },
          { name: 'sha256', type: 'varchar', length: '64' },
          { name: 'size', type: 'bigint' },
          { name: 'content_type', type: 'varchar', length: '128' },
          { name: 'upstream_url', type: 'text' },
          // The index fetch that produced this row (several served files come from one upstream page).
          { name: 'source', type: 'varchar', length: '400' },
          { name: 'fetched_at', type: 'bigint' },
          { name: 'last_used_at', type: 'bigint' },
        ],
      }),
    );
    await q.createIndex('remote_objects', new TableIndex({ name: 'ux_remote_objects_repo_path', columnNames: ['repo_id', 'path'], isUnique: true }));
    await q.createIndex('remote_objects', new TableIndex({ name: 'ix_remote_objects_repo_sha', columnNames: ['repo_id', 'sha256'] }));
    // What an upstream index names: a served path -> its upstream URL and expected sha256
    // (PyPI file links, the indexes an apt InRelease lists). Replaced whenever the index is.
    await q.createTable(
      new Table({
        name: 'remote_links',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'repo_id', type: 'integer' },
          { name: 'path', type: 'varchar', length: '400' },
          { name: 'source', type: 'varchar', length: '400' },
          { name: 'upstream_url', type: 'text' },
          { name: 'sha256', type: 'varchar', length: '64', isNullable: true },
        ],
      }),
    );
    await q.createIndex('remote_links', new TableIndex({ name: 'ux_remote_links_repo_path', columnNames: ['repo_id', 'path'], isUnique: true }));
    await q.createIndex('remote_links', new TableIndex({ name: 'ix_remote_links_repo_source', columnNames: ['repo_id', 'source'] }));
    await exactCollation(q, ['remote_objects', 'remote_links']);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('remote_links');
    await q.dropTable('remote_objects');
    for (const c of ['cache_misses', 'cache_hits', 'remote_config', 'members', 'upstream', 'kind']) await q.dropColumn('repos', c);
  }
}
