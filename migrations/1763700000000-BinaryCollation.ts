import type { MigrationInterface, QueryRunner } from 'typeorm';
import { exactCollation } from './collation';

/** Every table of the schema (1763600000000-Initial). */
export const TABLES = ['repos', 'files', 'scopes', 'generations', 'index_files', 'signing_keys', 'tokens'];

/**
 * Names compare byte for byte, as on SQLite. MySQL/MariaDB tables take the database's default
 * collation, which is case- and accent-insensitive (utf8mb4_general_ci on MariaDB,
 * utf8mb4_0900_ai_ci on MySQL 8): there `WHERE name = 'app-secret'` found the repository
 * "App-secret", so a token scoped to `app-*` could write into and administer it, and file paths,
 * package names and scopes differing only in case collided on unique indexes. Every text column
 * becomes utf8mb4_bin (the whole table, so columns added later inherit it): identifiers must be
 * exact, and the remaining text (metadata, settings JSON, keys) has no reason to compare loosely;
 * search lower-cases both sides itself. SQLite compares with BINARY already: nothing to do there.
 */
export class BinaryCollation1763700000000 implements MigrationInterface {
  name = 'BinaryCollation1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await exactCollation(q, TABLES);
  }

  /**
   * Back to the database's default collation. This fails (duplicate key) once names that differ
   * only in case exist side by side, which is exactly what the old collation could not represent.
   */
  async down(q: QueryRunner): Promise<void> {
    if (q.connection.options.type !== 'mysql') return;
    const [row] = (await q.query('SELECT @@character_set_database AS charset, @@collation_database AS collation')) as { charset: string; collation: string }[];
    if (!/^\w+$/.test(row.charset) || !/^\w+$/.test(row.collation)) throw new Error(`unexpected database collation ${row.charset}/${row.collation}`);
    for (const t of TABLES) await q.query(`ALTER TABLE \`${t}\` CONVERT TO CHARACTER SET ${row.charset} COLLATE ${row.collation}`);
  }
}
