/**
 * Events: what happened, written to an outbox table (`events`) that the webhook dispatcher
 * (src/core/webhook-dispatcher.ts) turns into deliveries. Writing to the database first is
 * what makes a delivery survive a crash or restart, and what lets several instances share
 * the work without sending an event twice.
 *
 * `package.published` must never reach a receiver before the package is in the signed
 * index: it is written `held` with the index scopes and seqs the upload waits for, in the
 * upload's own transaction, and released only once every one of them is published. So a
 * crash between the upload and its publish loses nothing: the publish sweep finishes the
 * publish, and the dispatcher then releases the event. Settings and key changes do the same
 * (src/core/repo-changes.ts): their event is written in the change's transaction.
 */
import type { EntityManager } from 'typeorm';
import type { Database } from '../db/database';
import { ScopeEntity } from '../db/entities';
import { EventEntity } from '../db/ops-entities';
import type { StoredFileView } from './catalog';
import type { RepoInfo } from './provider';
import { currentActor, currentContext } from './request-context';
import type { SeqTargets } from './publisher';

export const EVENT_TYPES = [
  'package.published',
  'package.deleted',
  'package.yanked',
  'package.unyanked',
  'repository.created',
  'repository.settings_changed',
  'key.rotated',
  'publish.failed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** Sent only by `POST /api/webhooks/{id}/test`, to that one webhook. */
export type AnyEventType = EventType | 'ping';

/** The package file an event is about (a stored file's view). */
export type EventFile = Pick<StoredFileView, 'name' | 'version' | 'arch' | 'filename' | 'path' | 'size' | 'sha256'>;

/** The JSON body of a delivery; `id` (the event id) is added when it is sent. */
export interface EventPayload {
  type: AnyEventType;
  time: string;
  repository: { provider: string; name: string; url: string } | null;
  package: { name: string; version: string; arch: string; filename: string; size: number; sha256: string; downloadUrl: string } | null;
  actor: { id: number | null; name: string };
  details?: Record<string, unknown>;
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

export class Events {
  constructor(
    private readonly db: Database,
    /** BASE_URL, else the listen address: events raised outside a request still carry absolute URLs. */
    readonly fallbackBaseUrl: string,
    /** Called after an event is written (the dispatcher wakes up instead of waiting for its next poll). */
    readonly wake: () => void = () => undefined,
  ) {}

  payload(type: AnyEventType, repo: RepoInfo | null, file?: EventFile, details?: Record<string, unknown>): EventPayload {
    const base = currentContext()?.baseUrl ?? this.fallbackBaseUrl;
    const repoUrl = repo ? `${base}/repo/${repo.provider}/${encodeURIComponent(repo.name)}` : '';
    return {
      type,
      time: new Date().toISOString(),
      repository: repo ? { provider: repo.provider, name: repo.name, url: repoUrl } : null,
      package: file ? { name: file.name, version: file.version, arch: file.arch, filename: file.filename, size: file.size, sha256: file.sha256, downloadUrl: `${repoUrl}/${encodePath(file.path)}` } : null,
      actor: { ...currentActor() },
      ...(details ? { details } : {}),
    };
  }

  /** Record an event that may go out now. `m`: inside the caller's transaction. */
  async emit(type: EventType, repo: RepoInfo | null, files: EventFile[] | null, details?: Record<string, unknown>, m?: EntityManager): Promise<void> {
    await this.insert(m, type, repo, files, details, null);
  }

  /**
   * Record an event that goes out only once every scope in `targets` has published at least
   * its seq (inside the transaction that requested those seqs).
   */
  async emitWhenPublished(m: EntityManager, type: EventType, repo: RepoInfo, files: EventFile[] | null, targets: SeqTargets, details?: Record<string, unknown>): Promise<void> {
    await this.insert(m, type, repo, files, details, [...targets].map(([scope, seq]) => [repo.id, scope, seq]));
  }

  private async insert(m: EntityManager | undefined, type: EventType, repo: RepoInfo | null, files: EventFile[] | null, details: Record<string, unknown> | undefined, wait: [number, string, number][] | null): Promise<void> {
    // One event per package file: receivers get the filename, size and sha256 of each.
    const payloads = files ? files.map((f) => this.payload(type, repo, f, details)) : [this.payload(type, repo, undefined, details)];
    const rows = payloads.map((p) => ({
      type,
      repoId: repo?.id ?? null,
      repoName: repo?.name ?? null,
      payload: JSON.stringify(p),
      state: wait ? ('held' as const) : ('ready' as const),
      waitTargets: wait ? JSON.stringify(wait) : null,
      createdAt: Date.now(),
    }));
    if (rows.length === 0) return;
    if (m) await m.getRepository(EventEntity).insert(rows);
    else await this.db.write((w) => w.getRepository(EventEntity).insert(rows));
    // Outside a transaction the rows are visible now; inside one, at the latest on the next poll.
    if (!m) this.wake();
  }

  /** Held events whose scopes have all published move to `ready`; returns how many did. */
  async releasePublished(limit = 200): Promise<number> {
    const held = await this.db.manager.getRepository(EventEntity).find({ where: { state: 'held' }, order: { id: 'ASC' }, take: limit, select: { id: true, waitTargets: true } });
    if (held.length === 0) return 0;
    const published = new Map<string, number>();
    const seqOf = async (repoId: number, scope: string): Promise<number> => {
      const key = `${repoId}\u0000${scope}`;
      if (!published.has(key)) {
        const row = await this.db.manager.getRepository(ScopeEntity).findOne({ where: { repoId, scope }, select: { publishedSeq: true } });
        // A scope that no longer exists cannot hold an event back.
        published.set(key, row ? row.publishedSeq : Number.MAX_SAFE_INTEGER);
      }
      return published.get(key)!;
    };
    const ready: number[] = [];
    for (const e of held) {
      const targets = JSON.parse(e.waitTargets ?? '[]') as [number, string, number][];
      let ok = true;
      for (const [repoId, scope, seq] of targets) if ((await seqOf(repoId, scope)) < seq) ok = false;
      if (ok) ready.push(e.id);
    }
    if (ready.length) {
      await this.db.write((m) =>
        m.getRepository(EventEntity).createQueryBuilder().update().set({ state: 'ready' }).where("id IN (:...ids) AND state = 'held'", { ids: ready }).execute(),
      );
    }
    return ready.length;
  }
}
