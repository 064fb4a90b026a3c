/**
 * Atomic, coalescing index publishing.
 *
 * Every change to a package file bumps `requested_seq` of the index scopes it touches, in
 * the same transaction as the change. Publishing a scope runs under a cross-process lock:
 * it reads `requested_seq` (R), builds every index file from the stored entries, writes
 * each as an immutable content-addressed blob, and only then flips the scope's
 * `generation_id` and sets `published_seq = R` in one transaction. Readers resolve paths
 * through `generation_id`, so they see the old complete set or the new complete set,
 * never a mix, and never an index naming a blob that is not stored yet.
 *
 * Coalescing: a caller waiting for seq N returns as soon as `published_seq >= N`, so a
 * burst of 50 uploads is covered by the few builds that happen to run while it lasts.
 */
import crypto from 'node:crypto';
import { entryReads, loadEntries, loadEntriesByIds, type EntryReads } from './entry-loader';
import type { EntityManager } from 'typeorm';
import type { Database } from '../db/database';
import { isUniqueViolation } from '../db/database';
import { FileEntity, GenerationEntity, IndexFileEntity, ScopeEntity } from '../db/entities';
import type { BlobStore } from '../storage/blob-store';
import { blobKey } from '../storage/blob-store';
import type { Logger } from '../util/logger';
import type { KeyService } from './keys/key-service';
import type { LockManager } from './locks';
import type { EntryRow, IndexFile, Provider, PublishContext, RepoInfo, ScopeContext } from './provider';
import { getProvider } from './provider-registry';
import { sha256Hex } from '../util/hash';
import { In } from 'typeorm';
import { RepoEntity } from '../db/entities';
import { toRepoInfo } from './repo-service';
import { allOf, scopesOfPartitions } from './listing-scopes';
import { hostedMemberIds, isEntryMergedVirtual, mergeMemberEntries, virtualsListing } from './virtual-indexes';
import { ensureFileChangeSeq, keyCache, recordFileChanges } from './key-cache';

/** A virtual repository's scope marked in the same transaction as a member's (src/core/virtual-indexes.ts). */
export interface VirtualTarget {
  repoId: number;
  scope: string;
  seq: number;
}

/** The seq each scope must reach, and the scopes of virtual repositories listing the repository. */
export class SeqTargets extends Map<string, number> {
  readonly virtuals: VirtualTarget[] = [];
}

/** Periodic sweep passes a still-growing pending scope may be skipped (bulk imports), at most. */
const MAX_SKIPPED_PASSES = 6;

/** Told about every scope build (metrics, `publish.failed` events); set once at wiring time. */
export interface PublishObserver {
  published(repo: RepoInfo, scope: string, durationMs: number): void;
  failed(repo: RepoInfo, scope: string, error: unknown): void;
}

/** Renders members' entries again with a virtual's own key (EntryRenderer.renderForVirtual); set once at wiring time. */
export type VirtualEntryRenderer = (provider: Provider, virtual: RepoInfo, rows: EntryRow[], own: (path: string) => Promise<{ data: Buffer; contentType: string } | null>) => Promise<{ rows: EntryRow[]; sideFiles: IndexFile[] }>;

export class Publisher {
  private readonly inflight = new Map<string, Promise<void>>();
  /** KeyedEntries.origin: this publisher's database, unique in the process. */
  private readonly origin = crypto.randomUUID();
  observer: PublishObserver | null = null;
  virtualRenderer: VirtualEntryRenderer | null = null;
  /** Called after each generation flip of a repository (static publishing); set once at wiring time. */
  afterFlip: ((repo: RepoInfo) => void) | null = null;

  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    private readonly locks: LockManager,
    private readonly keys: KeyService,
    private readonly log: Logger,
    private readonly keepGenerations: number,
    private readonly keepSeconds: number,
    private readonly repoDefaults: (repo: RepoInfo) => RepoInfo,
  ) {}

  scopeContext(repo: RepoInfo): ScopeContext {
    const full = this.repoDefaults(repo);
    return {
      repo: full,
      partitions: async () => {
        // A virtual of an entry-merging format has the partitions of its hosted members.
        const ids = await this.packageRepoIds(repo);
        if (ids.length === 0) return [];
        const rows = (await this.db.manager
          .getRepository(FileEntity)
          .createQueryBuilder('f')
          .select('DISTINCT f.partition', 'partition')
          .where('f.repoId IN (:...ids)', { ids })
          .getRawMany()) as { partition: string }[];
        return [...new Set(rows.map((r) => r.partition))].sort();
      },
    };
  }

  /** Repositories whose stored files a repository's indexes list and whose package files it serves: itself, or a merging virtual's hosted members in order. */
  async packageRepoIds(repo: RepoInfo): Promise<number[]> {
    if (!isEntryMergedVirtual(repo)) return [repo.id];
    return hostedMemberIds(this.db.manager, repo.provider, repo.members ?? []);
  }

  /**
   * Scope rows must exist before a transaction bumps them (inserting inside would race on
   * MySQL): the repository's, and the same scopes of every merging virtual that lists it.
   */
  async ensureScopes(repoId: number, scopes: string[]): Promise<void> {
    await this.ensureChanges(repoId);
    await this.insertScopes(repoId, scopes);
    for (const v of await virtualsListing(this.db.manager, repoId)) await this.insertScopes(v.id, scopes);
  }

  private async insertScopes(repoId: number, scopes: string[]): Promise<void> {
    const repo = this.db.manager.getRepository(ScopeEntity);
    const existing = scopes.length ? await repo.find({ where: { repoId, scope: In(scopes) } }) : [];
    const have = new Set(existing.map((s) => s.scope));
    for (const scope of scopes) {
      if (have.has(scope)) continue;
      try {
        await this.db.write((m) => m.getRepository(ScopeEntity).insert({ repoId, scope, requestedSeq: 0, publishedSeq: 0, generationId: null, publishedAt: null }));
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
      }
    }
  }

  /** The repository's change-feed row (src/core/key-cache.ts), before a transaction records a change of its files. */
  ensureChanges(repoId: number): Promise<void> {
    return ensureFileChangeSeq(this.db, repoId);
  }

  /**
   * Inside the caller's write transaction, as its last lock: these file rows of the repository
   * were inserted, deleted or updated in ways an index shows ('all': any may have been), for
   * the keys cached by publishes (src/core/key-cache.ts). requestInTx does it; a write that
   * changes file rows without requesting scopes calls it itself. ensureChanges (or ensureScopes) first.
   */
  recordChangesInTx(m: EntityManager, repoId: number, changed: readonly number[] | 'all'): Promise<void> {
    return recordFileChanges(m, repoId, changed);
  }

  /**
   * Inside the caller's write transaction: mark scopes dirty; returns the seq each must reach.
   * `changed`: the file rows of the repository this transaction inserted, deleted or updated in
   * ways an index shows ('all': any of them; none: a change of settings or keys), recorded with
   * the bumps (recordChangesInTx).
   */
  async requestInTx(m: EntityManager, repoId: number, scopes: string[], changed: readonly number[] | 'all'): Promise<SeqTargets> {
    const targets = new SeqTargets();
    // The files behind these scopes changed in this transaction: cached path lookups go (read-cache.ts).
    this.db.repoChanged(m, repoId);
    // A fixed order keeps concurrent MySQL transactions from deadlocking on scope rows: the
    // repository's own (sorted), then its virtuals' (ascending id, sorted).
    const sorted = [...new Set(scopes)].sort();
    for (const scope of sorted) {
      const seq = await this.bump(m, repoId, scope);
      if (seq === null) throw new Error(`scope ${scope} of repository ${repoId} has no row (ensureScopes first)`);
      targets.set(scope, seq);
    }
    // The virtuals listing this repository republish the same scopes; marked in this
    // transaction, so a crash leaves them pending for the sweep, never forgotten.
    for (const v of await virtualsListing(m, repoId)) {
      for (const scope of sorted) {
        const seq = await this.bump(m, v.id, scope);
        // No row: the virtual was created after ensureScopes; its creation republishes it.
        if (seq !== null) targets.virtuals.push({ repoId: v.id, scope, seq });
        this.db.repoChanged(m, v.id);
      }
    }
    // Last: its holder waits for no other lock (a merging virtual reads its members' rows, not keys: nothing to record for it).
    await this.recordChangesInTx(m, repoId, changed);
    return targets;
  }

  /**
   * Inside the caller's write transaction, before it reads anything: the row locks of these
   * scopes, one statement each in sorted order (the order requestInTx bumps them in, so two
   * transactions never wait on each other in a cycle), without bumping them. What a change
   * that reads whether a partition still holds files needs (src/core/listing-scopes.ts).
   */
  async lockInTx(m: EntityManager, repoId: number, scopes: string[]): Promise<void> {
    for (const scope of [...new Set(scopes)].sort()) await this.setRequested(m, repoId, scope, 'requested_seq');
  }

  /** One scope row's requested_seq set to `expr` (an update: it takes the row's lock). */
  private async setRequested(m: EntityManager, repoId: number, scope: string, expr: string): Promise<void> {
    await m
      .getRepository(ScopeEntity)
      .createQueryBuilder()
      .update()
      .set({ requestedSeq: () => expr })
      .where('repo_id = :repoId AND scope = :scope', { repoId, scope })
      .execute();
  }

  /** requested_seq + 1 of one scope row; the new value, or null when the row does not exist. */
  private async bump(m: EntityManager, repoId: number, scope: string): Promise<number | null> {
    await this.setRequested(m, repoId, scope, 'requested_seq + 1');
    const row = await m.getRepository(ScopeEntity).findOne({ where: { repoId, scope } });
    return row ? row.requestedSeq : null;
  }

  /**
   * Wait until every scope has published at least its target seq, then the virtuals' scopes
   * marked with them. A virtual's failure does not fail the member's change (which is
   * published): it is logged, raised as publish.failed, and retried by the sweep.
   */
  async ensurePublished(repo: RepoInfo, targets: SeqTargets): Promise<void> {
    await Promise.all([...targets].map(([scope, seq]) => this.ensureScope(repo, scope, seq)));
    // A change no index lists (tar has none): its files still go to the static copies.
    if (targets.size === 0) this.afterFlip?.(repo);
    // Another instance may have built it: this one's cached copies (read-cache.ts) must not
    // outlive the answer that says the change is published.
    this.db.repoChanged(this.db.manager, repo.id);
    const virtuals = targets instanceof SeqTargets ? targets.virtuals : [];
    if (virtuals.length === 0) return;
    const repos = new Map<number, RepoInfo | null>();
    for (const v of virtuals) {
      if (!repos.has(v.repoId)) {
        const row = await this.db.manager.getRepository(RepoEntity).findOne({ where: { id: v.repoId } });
        repos.set(v.repoId, row ? toRepoInfo(row) : null);
      }
    }
    await Promise.all(
      virtuals.map(async (v) => {
        const vrepo = repos.get(v.repoId);
        if (!vrepo) return;
        await this.ensureScope(vrepo, v.scope, v.seq).then(() => this.db.repoChanged(this.db.manager, vrepo.id)).catch((e: unknown) => this.log.error('virtual publish failed', { repo: `${vrepo.provider}/${vrepo.name}`, scope: v.scope, error: String(e) }));
      }),
    );
  }

  private async ensureScope(repo: RepoInfo, scope: string, target: number): Promise<void> {
    const scopes = this.db.manager.getRepository(ScopeEntity);
    for (;;) {
      const row = await scopes.findOne({ where: { repoId: repo.id, scope } });
      if (!row || row.publishedSeq >= target) return;
      const key = `${repo.id}\u0000${scope}`;
      // Callers in this process share one running build per scope.
      let run = this.inflight.get(key);
      if (!run) {
        run = this.locks
          .withLock(`publish:${repo.id}:${scope}`, () => this.buildScope(repo, scope))
          .then(
            (ms) => {
              if (ms === null) return;
              this.observer?.published(repo, scope, ms);
              this.afterFlip?.(repo);
            },
            (e: unknown) => {
              this.observer?.failed(repo, scope, e);
              throw e;
            },
          )
          .finally(() => this.inflight.delete(key));
        this.inflight.set(key, run);
      }
      await run;
    }
  }

  /** Returns how long the build took, or null when there was nothing to build. */
  private async buildScope(repo: RepoInfo, scope: string): Promise<number | null> {
    const started = Date.now();
    const scopes = this.db.manager.getRepository(ScopeEntity);
    const row = await scopes.findOneOrFail({ where: { repoId: repo.id, scope } });
    if (row.publishedSeq >= row.requestedSeq) return null;
    const target = row.requestedSeq;
    const provider = getProvider(repo.provider);
    const base = this.scopeContext(repo);
    let entryCount = 0;
    const keySources: string[] = [];
    const sideFiles = new Map<string, IndexFile>();
    const reads = entryReads(provider.capabilities);
    const merged = isEntryMergedVirtual(repo) ? this.mergedEntries(repo, provider, sideFiles) : null;
    const ctx: PublishContext = {
      ...base,
      scope,
      now: new Date(),
      signer: this.keys.signerFor(repo),
      entries: async (partitions?: string[]) => {
        if (partitions && partitions.length === 0) return [];
        const rows = merged ? await merged(partitions, reads) : await this.loadEntries(repo.id, partitions, reads);
        entryCount += rows.length;
        return rows;
      },
      keyed: merged
        ? undefined
        : {
            origin: this.origin,
            keys: async (partitions?: string[]) => {
              if (partitions && partitions.length === 0) return [];
              // From the process's cache brought up to date by the change feed (src/core/key-cache.ts).
              const { keys, source } = await keyCache.keys(this.db, this.origin, repo.id, partitions);
              keySources.push(source);
              entryCount += keys.length;
              return keys;
            },
            byIds: (ids) => loadEntriesByIds(this.db.manager, repo.id, ids, reads),
          },
    };
    const files = await provider.buildIndex(ctx);
    // A merging virtual's own package signatures (pacman), published with its index.
    const built = new Set(files.map((f) => f.path));
    for (const f of sideFiles.values()) if (!built.has(f.path)) files.push(f);
    const stored: { path: string; sha256: string; size: number; contentType: string; historic: boolean }[] = [];
    // A format may publish one buffer under several paths (apt's by-hash copies): hashed once.
    const hashed = new Map<Buffer, string>();
    for (const f of files) {
      const sha256 = hashed.get(f.data) ?? sha256Hex(f.data);
      hashed.set(f.data, sha256);
      const key = blobKey(sha256);
      if (!(await this.blobs.stat(key))) await this.blobs.putBuffer(key, f.data, f.contentType);
      stored.push({ path: f.path, sha256, size: f.data.length, contentType: f.contentType, historic: !!f.historic });
    }
    await this.db.write(async (m) => {
      // Last-Modified has one-second resolution and clients such as apt and pacman revalidate
      // with If-Modified-Since alone: two generations of a scope in the same second would make
      // the second one answer 304 to a client holding the first. So each generation of a scope
      // is at least one second younger than the previous one.
      const previous = await m.getRepository(GenerationEntity).findOne({ where: { repoId: repo.id, scope }, order: { id: 'DESC' }, select: { id: true, createdAt: true } });
      const createdAt = Math.max(Date.now(), (previous?.createdAt ?? 0) + 1000);
      const gen = await m.getRepository(GenerationEntity).insert({ repoId: repo.id, scope, seq: target, createdAt });
      const generationId = Number(gen.identifiers[0].id);
      this.db.repoChanged(m, repo.id);
      for (let i = 0; i < stored.length; i += 200) {
        await m.getRepository(IndexFileEntity).insert(stored.slice(i, i + 200).map((s) => ({ ...s, generationId })));
      }
      // Only move forward: another instance may have published a newer generation meanwhile.
      await m
        .getRepository(ScopeEntity)
        .createQueryBuilder()
        .update()
        .set({ generationId, publishedSeq: target, publishedAt: Date.now() })
        .where('id = :id AND published_seq < :target', { id: row.id, target })
        .execute();
      await this.pruneGenerations(m, repo.id, scope);
    });
    this.log.info('publish', { repo: `${repo.provider}/${repo.name}`, scope, seq: target, files: stored.length, entries: entryCount, ...(keySources.length ? { keys: keySources.join(',') } : {}), durationMs: Date.now() - started });
    return Date.now() - started;
  }

  /**
   * A merging virtual's entries: every hosted member's rows, merged once per build over all
   * partitions (a path is deduplicated across dists too: apt's pool/ is shared, and the file
   * served at a path is the first member's), then filtered by the partitions asked for.
   */
  private mergedEntries(repo: RepoInfo, provider: Provider, sideFiles: Map<string, IndexFile>): (partitions: string[] | undefined, reads: EntryReads) => Promise<EntryRow[]> {
    let all: Promise<EntryRow[]> | null = null;
    const resigned = new Map<number, EntryRow>();
    return async (partitions, asked) => {
      // Re-signing renders entries again: it needs their text whatever the builder asked.
      const reads = provider.capabilities.entriesSignedByRepoKey ? { ...asked, entry: true } : asked;
      // Loaded once per build, with the first call's reads (a builder asks the same way each time).
      all ??= (async () => {
        const ids = await this.packageRepoIds(repo);
        return mergeMemberEntries(await Promise.all(ids.map((id) => this.loadEntries(id, undefined, reads))));
      })();
      const wanted = partitions ? new Set(partitions) : null;
      const rows = (await all).filter((r) => !wanted || wanted.has(r.partition));
      // Entries signed with the repository key (pacman's %PGPSIG%) are signed with the
      // virtual's key instead: a client trusting the virtual's key alone installs them.
      if (!provider.capabilities.entriesSignedByRepoKey || !this.virtualRenderer) return rows;
      const todo = rows.filter((r) => !resigned.has(r.id));
      if (todo.length) {
        const done = await this.virtualRenderer(provider, repo, todo, (path) => this.currentSideFile(repo.id, path));
        for (const r of done.rows) resigned.set(r.id, r);
        for (const f of done.sideFiles) sideFiles.set(f.path, f);
      }
      return rows.map((r) => resigned.get(r.id)!);
    };
  }

  /** A file the repository published at `path` in any scope's current generation, with its bytes. */
  private async currentSideFile(repoId: number, path: string): Promise<{ data: Buffer; contentType: string } | null> {
    const row = (await this.db.manager
      .getRepository(IndexFileEntity)
      .createQueryBuilder('f')
      .innerJoin('scopes', 's', 's.generation_id = f.generation_id')
      .where('s.repo_id = :repoId AND f.path = :path', { repoId, path })
      .select(['f.sha256 AS sha256', 'f.content_type AS content_type'])
      .orderBy('f.generation_id', 'DESC')
      .limit(1)
      .getRawOne()) as { sha256: string; content_type: string } | undefined;
    if (!row) return null;
    const chunks: Buffer[] = [];
    for await (const c of await this.blobs.get(blobKey(row.sha256))) chunks.push(c as Buffer);
    return { data: Buffer.concat(chunks), contentType: row.content_type };
  }

  /** The stored entries a build lists (src/core/entry-loader.ts: read in pages). */
  private loadEntries(repoId: number, partitions: string[] | undefined, reads: EntryReads): Promise<EntryRow[]> {
    return loadEntries(this.db.manager, repoId, partitions, reads);
  }

  private async pruneGenerations(m: EntityManager, repoId: number, scope: string): Promise<void> {
    // Keep the newest `keepGenerations`, and every generation younger than the retention
    // window: under a burst a scope can publish several times a second, and a client that read
    // InRelease a few seconds ago must still find the by-hash files it names.
    const gens = await m.getRepository(GenerationEntity).find({ where: { repoId, scope }, order: { id: 'DESC' }, select: { id: true, createdAt: true } });
    const cutoff = Date.now() - this.keepSeconds * 1000;
    const old = gens.slice(this.keepGenerations).filter((g) => g.createdAt < cutoff).map((g) => g.id);
    if (old.length === 0) return;
    await m.getRepository(IndexFileEntity).delete({ generationId: In(old) });
    await m.getRepository(GenerationEntity).delete({ id: In(old) });
  }

  /** When any index of the repository was last published (epoch ms), or null. */
  async lastPublished(repoId: number): Promise<number | null> {
    const row = (await this.db.manager
      .getRepository(ScopeEntity)
      .createQueryBuilder('s')
      .select('MAX(s.published_at)', 'last')
      .where('s.repo_id = :repoId', { repoId })
      .getRawOne()) as { last: string | number | null } | undefined;
    return row?.last ? Number(row.last) : null;
  }

  /**
   * Rebuild (and so re-sign) every index scope the repository has, and wait for it: after a
   * key import or rotation, or a settings change that shows in the indexes. One transaction
   * bumps every scope, so the rebuilds coalesce with any upload running at the same time.
   */
  async republishAll(repo: RepoInfo): Promise<string[]> {
    const scopes = await this.allScopes(repo);
    if (scopes.length === 0) return [];
    // 'all': a republish follows changes of many rows (reindex records its own too); the next build of each scope reads every key.
    const targets = await this.db.write((m) => this.requestInTx(m, repo.id, scopes, 'all'));
    await this.ensurePublished(repo, targets);
    return scopes;
  }

  /**
   * Every scope the repository has, and every one its partitions map to under `repo`'s
   * settings (a settings change may add arches), their rows created: what a republish bumps.
   */
  async allScopes(repo: RepoInfo): Promise<string[]> {
    const ctx = this.scopeContext(repo);
    await this.ensureScopes(repo.id, allOf(await scopesOfPartitions(getProvider(repo.provider), ctx, await ctx.partitions())));
    return (await this.db.manager.getRepository(ScopeEntity).find({ where: { repoId: repo.id }, select: { scope: true } })).map((s) => s.scope).sort();
  }

  /** Publish every scope of the repository whose requested seq is ahead of its published one, and wait. */
  async publishPending(repo: RepoInfo): Promise<void> {
    const rows = await this.db.manager.getRepository(ScopeEntity).find({ where: { repoId: repo.id } });
    const pending = new SeqTargets();
    for (const r of rows) if (r.publishedSeq < r.requestedSeq) pending.set(r.scope, r.requestedSeq);
    // The virtuals listing it were marked with it (requestInTx): an import is visible there too.
    for (const v of await virtualsListing(this.db.manager, repo.id)) {
      for (const r of await this.db.manager.getRepository(ScopeEntity).find({ where: { repoId: v.id } })) {
        if (r.publishedSeq < r.requestedSeq) pending.virtuals.push({ repoId: v.id, scope: r.scope, seq: r.requestedSeq });
      }
    }
    await this.ensurePublished(repo, pending);
  }

  /** Publish state of every scope of a repository (status API). */
  async scopeStatus(repoId: number): Promise<{ scope: string; publishedSeq: number; requestedSeq: number; publishedAt: string | null }[]> {
    const rows = await this.db.manager.getRepository(ScopeEntity).find({ where: { repoId }, order: { scope: 'ASC' } });
    return rows.map((r) => ({ scope: r.scope, publishedSeq: r.publishedSeq, requestedSeq: r.requestedSeq, publishedAt: r.publishedAt ? new Date(r.publishedAt).toISOString() : null }));
  }

  /** Pending scopes the periodic sweep has seen: requested seq then, and for how many passes. */
  private readonly sweepSeen = new Map<string, { seq: number; passes: number }>();

  /**
   * Finish publishes that were requested but never completed (crash, `?wait=0`, another
   * instance died). `settledOnly` (the periodic pass): skip a scope whose requested seq moved
   * since the previous pass, so a bulk import with `wait=0` (rpcli upload of a directory) is not
   * rebuilt over and over while it runs; a scope pending for `MAX_SKIPPED_PASSES` passes is
   * published anyway, so steady traffic cannot postpone it for long.
   */
  async sweep(resolveRepo: (id: number) => Promise<RepoInfo | null>, settledOnly = false): Promise<number> {
    const pending = await this.db.manager
      .getRepository(ScopeEntity)
      .createQueryBuilder('s')
      .where('s.published_seq < s.requested_seq')
      .getMany();
    const stillPending = new Set<string>();
    let published = 0;
    for (const s of pending) {
      const key = `${s.repoId}\u0000${s.scope}`;
      stillPending.add(key);
      const seen = this.sweepSeen.get(key);
      if (settledOnly && (!seen || seen.seq !== s.requestedSeq) && (seen?.passes ?? 0) < MAX_SKIPPED_PASSES) {
        this.sweepSeen.set(key, { seq: s.requestedSeq, passes: (seen?.passes ?? 0) + 1 });
        continue;
      }
      this.sweepSeen.delete(key);
      published++;
      const repo = await resolveRepo(s.repoId);
      if (repo) await this.ensureScope(repo, s.scope, s.requestedSeq).catch((e) => this.log.error('sweep publish failed', { scope: s.scope, error: String(e) }));
    }
    for (const key of this.sweepSeen.keys()) if (!stillPending.has(key)) this.sweepSeen.delete(key);
    return published;
  }

}
