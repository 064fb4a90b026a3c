import type { QueryRunner } from 'typeorm';

/**
 * On MySQL/MariaDB, make tables compare text byte for byte (utf8mb4_bin), as SQLite and
 * PostgreSQL do: a table takes the database's default collation, which folds case and accents
 * (see 1763700000000-BinaryCollation). Every migration that creates a table calls this for it.
 */
export async function exactCollation(q: QueryRunner, tables: readonly string[]): Promise<void> {
  if (q.connection.options.type !== 'mysql') return;
  for (const t of tables) await q.query(`ALTER TABLE \`${t}\` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
}
