import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Driver-neutral (Table API) so SQLite and MySQL run the very same migration. */
export class Initial1763600000000 implements MigrationInterface {
  name = 'Initial1763600000000';

  async up(q: QueryRunner): Promise<void> {
    const mysql = q.connection.options.type === 'mysql';
    // MySQL TEXT stops at 64 KiB; index entries (pacman file lists) can be larger.
    const longText = mysql ? 'longtext' : 'text';
    const id = { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' as const };
    const bigint = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });
    const str = (name: string, length: number, isNullable = false) => ({ name, type: 'varchar', length: String(length), isNullable });

    await q.createTable(
      new Table({
        name: 'repos',
        columns: [id, str('provider', 32), str('name', 128), { name: 'settings', type: 'text' }, bigint('created_at')],
        indices: [{ name: 'uq_repos_provider_name', columnNames: ['provider', 'name'], isUnique: true }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'files',
        columns: [
          id,
          { name: 'repo_id', type: 'integer' },
          str('name', 255),
          str('version', 255),
          str('arch', 64),
          str('filename', 255),
          str('path', 400),
          str('partition', 200),
          bigint('size'),
          str('sha256', 64),
          str('sha512', 128),
          str('sha1', 40),
          str('md5', 32),
          { name: 'meta', type: longText },
          { name: 'entry', type: longText },
          { name: 'attachments', type: 'text' },
          str('yanked', 1024, true),
          { name: 'hidden', type: 'integer', default: 0 },
          bigint('created_at'),
        ],
        indices: [
          { name: 'uq_files_repo_partition_path', columnNames: ['repo_id', 'partition', 'path'], isUnique: true },
          { name: 'ix_files_repo_path', columnNames: ['repo_id', 'path'] },
          { name: 'ix_files_repo_name', columnNames: ['repo_id', 'name'] },
          { name: 'ix_files_sha256', columnNames: ['sha256'] },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'scopes',
        columns: [
          id,
          { name: 'repo_id', type: 'integer' },
          str('scope', 255),
          bigint('requested_seq'),
          bigint('published_seq'),
          { name: 'generation_id', type: 'integer', isNullable: true },
          bigint('published_at', true),
        ],
        indices: [{ name: 'uq_scopes_repo_scope', columnNames: ['repo_id', 'scope'], isUnique: true }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'generations',
        columns: [id, { name: 'repo_id', type: 'integer' }, str('scope', 255), bigint('seq'), bigint('created_at')],
        indices: [{ name: 'ix_generations_repo_scope', columnNames: ['repo_id', 'scope'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'index_files',
        columns: [
          id,
          { name: 'generation_id', type: 'integer' },
          str('path', 400),
          str('sha256', 64),
          bigint('size'),
          str('content_type', 128),
          { name: 'historic', type: 'integer', default: 0 },
        ],
        indices: [
          { name: 'ix_index_files_generation_path', columnNames: ['generation_id', 'path'] },
          { name: 'ix_index_files_sha256', columnNames: ['sha256'] },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'signing_keys',
        columns: [
          id,
          { name: 'repo_id', type: 'integer' },
          str('kind', 16),
          str('name', 255),
          str('fingerprint', 128),
          { name: 'public_key', type: 'text' },
          { name: 'private_key', type: 'text' },
          { name: 'active', type: 'integer', default: 1 },
          bigint('created_at'),
        ],
        indices: [{ name: 'uq_signing_keys_repo_kind_name', columnNames: ['repo_id', 'kind', 'name'], isUnique: true }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'tokens',
        columns: [
          id,
          str('name', 128),
          str('token_hash', 64),
          str('role', 16),
          str('repo_pattern', 255),
          bigint('expires_at', true),
          bigint('last_used_at', true),
          bigint('created_at'),
          bigint('revoked_at', true),
        ],
        indices: [{ name: 'uq_tokens_hash', columnNames: ['token_hash'], isUnique: true }],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['tokens', 'signing_keys', 'index_files', 'generations', 'scopes', 'files', 'repos']) await q.dropTable(t);
  }
}
