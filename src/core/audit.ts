/**
 * The audit log: one row per write (and per refused write) with time, actor, client address,
 * action, target and outcome. Append-only from the API: nothing deletes entries but the
 * retention prune (AUDIT_RETENTION_DAYS). The HTTP side (src/http/ops-middleware.ts) records
 * every non-GET request; background work (scheduled retention) records its own entries.
 */
import type { Database } from '../db/database';
import { AuditEntity, type AuditRow } from '../db/ops-entities';
import type { Logger } from '../util/logger';
import { currentContext, SYSTEM_ACTOR, type Actor } from './request-context';

export interface AuditEntry {
  action: string;
  provider?: string | null;
  repo?: string | null;
  target: string;
  /** HTTP status of the answer (200 for background work). */
  status: number;
  detail?: string | null;
  actor?: Actor;
  clientIp?: string;
}

/** The API's shape of an audit row: the time as ISO text, the actor as one object. */
export type AuditView = Omit<AuditRow, 'at' | 'actorId' | 'actorName'> & {
  at: string;
  actor: { id: number | null; name: string };
};

export interface AuditFilter {
  provider?: string;
  repo?: string;
  actor?: string;
  action?: string;
  outcome?: string;
  /** epoch ms, inclusive */
  since?: number;
  /** epoch ms, exclusive */
  until?: number;
}

export function outcomeOf(status: number): string {
  if (status < 400) return 'ok';
  if (status === 401 || status === 403) return 'denied';
  return status >= 500 ? 'error' : 'refused';
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function view(r: AuditRow): AuditView {
  return {
    id: r.id, at: new Date(r.at).toISOString(), actor: { id: r.actorId, name: r.actorName }, clientIp: r.clientIp, action: r.action,
    provider: r.provider, repo: r.repo, target: r.target, outcome: r.outcome, status: r.status, detail: r.detail,
  };
}

export class AuditLog {
  /** The last entry time this process gave out (record). */
  private lastAt = 0;
  constructor(
    private readonly db: Database,
    private readonly log: Logger,
  ) {}

  /** Never throws: a failing audit write is logged, it does not turn a done write into an error. */
  async record(e: AuditEntry): Promise<void> {
    // Taken when the caller records (the HTTP side: as the response finishes), not when the
    // insert runs: inserts of back-to-back requests can commit in either order on a loaded
    // MySQL, and the log lists by this time. Strictly increasing in this process, so two
    // entries of the same millisecond keep their order too.
    const at = (this.lastAt = Math.max(Date.now(), this.lastAt + 1));
    const ctx = currentContext();
    const actor = e.actor ?? ctx?.actor ?? SYSTEM_ACTOR;
    try {
      await this.db.write((m) =>
        m.getRepository(AuditEntity).insert({
          at,
          actorId: actor.id,
          actorName: clip(actor.name, 128),
          clientIp: clip(e.clientIp ?? ctx?.clientIp ?? '', 64),
          action: clip(e.action, 64),
          provider: e.provider ? clip(e.provider, 32) : null,
          repo: e.repo ? clip(e.repo, 128) : null,
          target: clip(e.target, 512),
          outcome: outcomeOf(e.status),
          status: e.status,
          detail: e.detail ? clip(e.detail, 1024) : null,
        }),
      );
    } catch (err) {
      this.log.error('audit write failed', { action: e.action, target: e.target, error: String(err) });
    }
  }

  /** Newest first, filtered and paged in SQL. */
  async list(f: AuditFilter, page: { limit: number; offset: number }): Promise<{ total: number; entries: AuditView[] }> {
    const qb = this.db.manager.getRepository(AuditEntity).createQueryBuilder('a');
    if (f.provider) qb.andWhere('a.provider = :provider', { provider: f.provider });
    if (f.repo) qb.andWhere('a.repo = :repo', { repo: f.repo });
    if (f.actor) qb.andWhere('a.actor_name = :actor', { actor: f.actor });
    // `package.*` names every action of a kind.
    if (f.action?.endsWith('.*')) qb.andWhere("a.action LIKE :action ESCAPE '!'", { action: `${f.action.slice(0, -1).replace(/[!%_]/g, (c) => `!${c}`)}%` });
    else if (f.action) qb.andWhere('a.action = :action', { action: f.action });
    if (f.outcome) qb.andWhere('a.outcome = :outcome', { outcome: f.outcome });
    if (f.since !== undefined) qb.andWhere('a.at >= :since', { since: f.since });
    if (f.until !== undefined) qb.andWhere('a.at < :until', { until: f.until });
    const [rows, total] = await qb.orderBy('a.at', 'DESC').addOrderBy('a.id', 'DESC').take(page.limit).skip(page.offset).getManyAndCount();
    return { total, entries: rows.map(view) };
  }

  /** Delete entries older than `days` (the only deletion there is). */
  async prune(days: number): Promise<number> {
    if (days <= 0) return 0;
    const res = await this.db.write((m) => m.getRepository(AuditEntity).createQueryBuilder().delete().where('at < :cutoff', { cutoff: Date.now() - days * 86_400_000 }).execute());
    return res.affected ?? 0;
  }
}
