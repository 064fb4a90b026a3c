import { Table, TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { exactCollation } from './collation';

/**
 * Operations (issue 16): webhooks and their queued deliveries, the event outbox, the audit
 * log, per-day download counts, and per-file download totals on `files`. Driver-neutral
 * (Table API, only integer/bigint/varchar/text) so SQLite, MySQL and PostgreSQL run it alike.
 */
export class Operations1765100000000 implements MigrationInterface {
  name = 'Operations1765100000000';

  async up(q: QueryRunner): Promise<void> {
    const id = { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' as const };
    const int = (name: string, isNullable = false) => ({ name, type: 'integer', isNullable });
    const bigint = (name: string, isNullable = false) => ({ name, type: 'bigint', isNullable });
    const str = (name: string, length: number, isNullable = false) => ({ name, type: 'varchar', length: String(length), isNullable });
    const text = (name: string, isNullable = false) => ({ name, type: 'text', isNullable });

    await q.createTable(
      new Table({
        name: 'webhooks',
        columns: [id, str('url', 2048), text('secret'), str('events', 1024), str('repo_pattern', 255), int('active'), str('description', 255), bigint('created_at'), bigint('updated_at')],
      }),
    );
    // The outbox: one row per event. `held` events wait for their index scopes to publish
    // (`wait_targets`), then the dispatcher fans them out into deliveries exactly once.
    await q.createTable(
      new Table({
        name: 'events',
        columns: [id, str('type', 64), int('repo_id', true), str('repo_name', 128, true), text('payload'), str('state', 16), text('wait_targets', true), bigint('created_at')],
        indices: [{ name: 'ix_events_state', columnNames: ['state', 'id'] }],
      }),
    );
    await q.createTable(
      new Table({
        name: 'webhook_deliveries',
        columns: [
          id,
          int('webhook_id'),
          int('event_id'),
          str('event_type', 64),
          str('status', 16),
          int('attempts'),
          bigint('next_attempt_at'),
          str('claimed_by', 64, true),
          bigint('claimed_until', true),
          int('response_code', true),
          int('duration_ms', true),
          str('last_error', 1024, true),
          bigint('created_at'),
          bigint('finished_at', true),
        ],
        indices: [
          { name: 'uq_deliveries_webhook_event', columnNames: ['webhook_id', 'event_id'], isUnique: true },
          { name: 'ix_deliveries_status_next', columnNames: ['status', 'next_attempt_at'] },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'audit_log',
        columns: [
          id,
          bigint('at'),
          int('actor_id', true),
          str('actor_name', 128),
          str('client_ip', 64),
          str('action', 64),
          str('provider', 32, true),
          str('repo', 128, true),
          str('target', 512),
          str('outcome', 16),
          int('status'),
          str('detail', 1024, true),
        ],
        indices: [
          { name: 'ix_audit_at', columnNames: ['at'] },
          { name: 'ix_audit_repo', columnNames: ['repo', 'at'] },
          { name: 'ix_audit_action', columnNames: ['action', 'at'] },
        ],
      }),
    );
    // Downloads per package per UTC day (day = days since 1970-01-01): the per-day plots.
    await q.createTable(
      new Table({
        name: 'download_days',
        columns: [id, int('repo_id'), str('name_key', 255), int('day'), bigint('downloads')],
        indices: [{ name: 'uq_download_days', columnNames: ['repo_id', 'name_key', 'day'], isUnique: true }],
      }),
    );
    await q.addColumn('files', new TableColumn({ name: 'downloads', type: 'bigint', default: 0 }));
    await q.addColumn('files', new TableColumn({ name: 'last_downloaded_at', type: 'bigint', isNullable: true }));
    await exactCollation(q, ['webhooks', 'events', 'webhook_deliveries', 'audit_log', 'download_days']);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('files', 'last_downloaded_at');
    await q.dropColumn('files', 'downloads');
    for (const t of ['download_days', 'audit_log', 'webhook_deliveries', 'events', 'webhooks']) await q.dropTable(t);
  }
}
