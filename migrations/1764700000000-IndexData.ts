import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * `files.index_data`: what a provider renders a package's index entry from (JSON), so that
 * entries can be rendered again (reindex, key rotation) without the package being uploaded
 * again. Rows stored before this migration have none: reindex leaves their entry as it is.
 */
export class IndexData1764700000000 implements MigrationInterface {
  name = 'IndexData1764700000000';

  async up(q: QueryRunner): Promise<void> {
    // pacman's file lists can exceed MySQL TEXT's 64 KiB, as `entry` can.
    const type = q.connection.options.type === 'mysql' ? 'longtext' : 'text';
    await q.addColumn('files', new TableColumn({ name: 'index_data', type, isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('files', 'index_data');
  }
}
