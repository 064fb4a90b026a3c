import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * files.name_key: the package name as its provider normalizes it, so "files of one package"
 * is one indexed lookup by (repo_id, name_key) instead of loading a repository's rows and
 * comparing names in JS (issue 12). Driver-neutral (Table API) like the initial migration.
 */
export class FileNameKey1764000000000 implements MigrationInterface {
  name = 'FileNameKey1764000000000';

  async up(q: QueryRunner): Promise<void> {
    // Nullable first: existing rows have no key until the backfill below, then NOT NULL.
    await q.addColumn('files', new TableColumn({ name: 'name_key', type: 'varchar', length: '255', isNullable: true }));
    // Every provider but PyPI keys a package by its name as stored.
    await q.query('UPDATE files SET name_key = name');
    // PyPI: PEP 503 (https://peps.python.org/pep-0503/#normalized-names), written out here
    // rather than imported so this migration keeps doing what it did when it shipped.
    const pep503 = (name: string) => name.replace(/[-_.]+/g, '-').toLowerCase();
    // Lower-case aliases: PostgreSQL folds unquoted identifiers (an alias `repoId` comes back as `repoid`).
    const pypiNames = (await q.query(
      "SELECT DISTINCT f.repo_id AS repo_id, f.name AS name FROM files f INNER JOIN repos r ON r.id = f.repo_id WHERE r.provider = 'pypi'",
    )) as { repo_id: number | string; name: string }[];
    // Raw queries go to the driver as they are: pg numbers its placeholders ($1), the others take `?`.
    const p = (i: number) => (q.connection.options.type === 'postgres' ? `$${i}` : '?');
    for (const { repo_id: repoId, name } of pypiNames) {
      const key = pep503(name);
      if (key !== name) await q.query(`UPDATE files SET name_key = ${p(1)} WHERE repo_id = ${p(2)} AND name = ${p(3)}`, [key, Number(repoId), name]);
    }
    await q.changeColumn('files', 'name_key', new TableColumn({ name: 'name_key', type: 'varchar', length: '255', isNullable: false }));
    await q.createIndex('files', new TableIndex({ name: 'ix_files_repo_name_key', columnNames: ['repo_id', 'name_key'] }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropIndex('files', 'ix_files_repo_name_key');
    await q.dropColumn('files', 'name_key');
  }
}
