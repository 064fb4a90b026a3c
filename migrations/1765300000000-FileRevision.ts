import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

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
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('files', 'rev');
  }
}
