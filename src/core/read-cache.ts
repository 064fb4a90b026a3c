/**
 * What the GET/HEAD path of /repo/... reads from the database, kept in memory (issue 15): a
 * small GET used to cost three queries (repository row, index file of the current generation,
 * package file). Here they cost none while the copy is valid.
 *
 * What is kept, per repository:
 * - its row (RepoInfo), by (provider, name). Authorization is not cached: every request still
 *   runs RepoService.readable on it with its own principal (the inputs are cached, never the answer);
 * - a snapshot of its scopes: each scope's current generation id and requested seq. Index
 *   files are looked up in the snapshot's generations only, and each answer is kept by path
 *   (a miss too: a generation's set of files never changes). So one instance serves all its
 *   index files from one set of generations, never InRelease of one and Packages of another;
 * - package files by path (found ones only: a new upload is seen at once).
 * Blob bodies are kept by sha256 in src/core/blob-body-cache.ts (content-addressed, never stale).
 *
 * Invalidation:
 * - In this process, at once: every write that changes a repository's files, generations,
 *   settings or kind calls Database.repoChanged in its transaction (Publisher.requestInTx,
 *   the publish itself, RepoService.updateSettings, configureKind), and the copy is dropped
 *   after the commit, so no read after the write's answer sees the old state. Key rotation
 *   and import republish every scope, so they go through the publish.
 * - Changes made by another instance on a shared database: a copy older than `checkMs`
 *   (READ_CACHE_CHECK_MS, 1000 ms by default) is checked before it is used again: the
 *   repository row is read again and the snapshot compared (3 small queries per repository
 *   per second however many requests, instead of 3 per request). Anything that changes the
 *   files of a format with indexes bumps requested_seq in the same transaction, every publish
 *   moves generation_id, and the snapshot also holds the repository's file count and newest
 *   file id (formats without indexes, tar): a changed snapshot drops every path answer.
 *   Until then the instance serves the previous, complete generation, up to `checkMs` old.
 *   That stays consistent for clients: a generation stays readable (its by-hash files, and
 *   the package files its indexes name, which are deleted only by a later publish) for at
 *   least KEEP_GENERATIONS_SECONDS (600 s) after it was superseded, far longer than 1 s,
 *   and Last-Modified/ETag of what is served are those of that generation, so a client
 *   revalidating against two instances gets a full answer, never a wrong 304. The cost is
 *   that a publish, a delete, a settings change (a repository made private too) made on another
 *   instance shows there up to `checkMs` late; the README says so.
 *
 * Bounds: at most MAX_REPOS repositories (least recently used go first) and MAX_PATHS
 * path answers per repository (the map starts over when full).
 */
import type { Database } from '../db/database';
import { FileEntity, IndexFileEntity, ScopeEntity, type FileRow } from '../db/entities';
import type { RepoInfo } from './provider';
import type { RepoService } from './repo-service';

export interface CachedIndexFile {
  generationId: number;
  sha256: string;
  size: number;
  contentType: string;
  createdAt: number;
}

const MAX_REPOS = 1000;
const MAX_PATHS = 10_000;

interface RepoEntry {
  repo: RepoInfo;
  checkedAt: number;
}

interface ScopeSnapshot {
  /** File count and newest file id, then `scope=generation/requested` of every scope, sorted: equal strings mean nothing changed. */
  stamp: string;
  generations: number[];
  checkedAt: number;
  /** Index file answers: `c\0path` (current), `h\0path` (historic), `g<id>\0path` (one generation). */
  index: Map<string, CachedIndexFile | null>;
  files: Map<string, FileRow>;
}

type RawIndexRow = { generation_id: number | string; sha256: string; size: string | number; content_type: string; created_at: string | number };

function toCached(r: RawIndexRow | undefined): CachedIndexFile | null {
  return r ? { generationId: Number(r.generation_id), sha256: r.sha256, size: Number(r.size), contentType: r.content_type, createdAt: Number(r.created_at) } : null;
}

/** Least recently used first: a Map keeps insertion order, so a hit moves its key to the end. */
function touch<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

export class ReadCache {
  private readonly repos = new Map<string, RepoEntry>();
  private readonly snapshots = new Map<number, ScopeSnapshot>();
  /** Checks in flight, shared by the requests that arrive meanwhile. */
  private readonly loading = new Map<string, Promise<unknown>>();
  /** Bumped by every invalidation: a check that started before one must not store its result. */
  private epoch = 0;

  constructor(
    private readonly db: Database,
    private readonly repoService: RepoService,
    private readonly checkMs: number,
  ) {
    db.onRepoChanged((id) => this.invalidate(id));
  }

  /** Drop everything about one repository (called after a commit that changed it). */
  invalidate(repoId: number): void {
    this.epoch++;
    this.snapshots.delete(repoId);
    for (const [key, e] of this.repos) if (e.repo.id === repoId) this.repos.delete(key);
  }

  private fresh(checkedAt: number): boolean {
    return Date.now() - checkedAt < this.checkMs;
  }

  /** Only requests of the same epoch share a check: one that began before an invalidation may return the old state. */
  private once<T>(what: string | number, load: () => Promise<T>): Promise<T> {
    const key = `${what}\u0000${this.epoch}`;
    let p = this.loading.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load().finally(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  /** RepoService.find, from memory while the copy is fresh. */
  async repo(provider: string, name: string): Promise<RepoInfo | null> {
    const key = `${provider}\u0000${name}`;
    const e = this.repos.get(key);
    if (e && this.fresh(e.checkedAt)) {
      touch(this.repos, key, e, MAX_REPOS);
      return e.repo;
    }
    return this.once(key, async () => {
      const epoch = this.epoch;
      const repo = await this.repoService.find(provider, name);
      // Keep the object a request may already hold when nothing changed.
      const same = e && repo && JSON.stringify(e.repo) === JSON.stringify(repo);
      if (e && !same) this.snapshots.delete(e.repo.id);
      const kept = same ? e.repo : repo;
      // A missing repository is not kept: one created by the next upload must be found at once.
      if (kept && epoch === this.epoch) touch(this.repos, key, { repo: kept, checkedAt: Date.now() }, MAX_REPOS);
      else this.repos.delete(key);
      return kept;
    });
  }

  /**
   * The synchronous side of repo(), currentIndexFile() and packageFile() for the fast path's
   * hits (src/http/fast-path.ts): the same answer those give from memory, or undefined when
   * they would have to ask the database (nothing kept, or the copy is due for its check).
   */
  repoNow(provider: string, name: string): RepoInfo | undefined {
    const key = `${provider}\u0000${name}`;
    const e = this.repos.get(key);
    if (!e || !this.fresh(e.checkedAt)) return undefined;
    touch(this.repos, key, e, MAX_REPOS);
    return e.repo;
  }

  /** currentIndexFile() when its answer (a miss too: null) is kept in a fresh snapshot. */
  currentIndexFileNow(repoId: number, path: string): CachedIndexFile | null | undefined {
    const snap = this.snapshots.get(repoId);
    return snap && this.fresh(snap.checkedAt) ? snap.index.get(`c\u0000${path}`) : undefined;
  }

  /** packageFile() when the file is kept in a fresh snapshot (only found files are kept). */
  packageFileNow(repoId: number, path: string): FileRow | undefined {
    const snap = this.snapshots.get(repoId);
    return snap && this.fresh(snap.checkedAt) ? snap.files.get(path) : undefined;
  }

  private async snapshot(repoId: number): Promise<ScopeSnapshot> {
    const s = this.snapshots.get(repoId);
    if (s && this.fresh(s.checkedAt)) return s;
    return this.once(repoId, async () => {
      const epoch = this.epoch;
      const rows = (await this.db.manager
        .getRepository(ScopeEntity)
        .createQueryBuilder('s')
        .select(['s.scope AS scope', 's.generation_id AS generation_id', 's.requested_seq AS requested_seq'])
        .where('s.repo_id = :repoId', { repoId })
        .getRawMany()) as { scope: string; generation_id: number | string | null; requested_seq: number | string }[];
      // Formats without index scopes (tar) change files without bumping any scope: the number
      // of files and the newest id see an upload, a delete and an overwrite (delete + insert).
      const files = (await this.db.manager
        .getRepository(FileEntity)
        .createQueryBuilder('f')
        .select(['COUNT(*) AS n', 'MAX(f.id) AS newest'])
        .where('f.repo_id = :repoId', { repoId })
        .getRawOne()) as { n: number | string; newest: number | string | null } | undefined;
      const stamp = `${files?.n ?? 0}/${files?.newest ?? ''}\u0000` + rows.map((r) => `${r.scope}=${r.generation_id ?? ''}/${r.requested_seq}`).sort().join('\u0000');
      const current = this.snapshots.get(repoId);
      let next: ScopeSnapshot;
      if (current && current.stamp === stamp) {
        current.checkedAt = Date.now();
        next = current;
      } else {
        const generations = rows.filter((r) => r.generation_id !== null).map((r) => Number(r.generation_id));
        next = { stamp, generations, checkedAt: Date.now(), index: new Map(), files: new Map() };
      }
      if (epoch === this.epoch) touch(this.snapshots, repoId, next, MAX_REPOS);
      return next;
    });
  }

  private async indexAnswer(repoId: number, key: string, query: (snap: ScopeSnapshot) => Promise<CachedIndexFile | null>): Promise<CachedIndexFile | null> {
    const snap = await this.snapshot(repoId);
    const hit = snap.index.get(key);
    if (hit !== undefined) return hit;
    const found = await query(snap);
    if (snap.index.size >= MAX_PATHS) snap.index.clear();
    snap.index.set(key, found);
    return found;
  }

  private indexQuery() {
    return this.db.manager
      .getRepository(IndexFileEntity)
      .createQueryBuilder('f')
      .innerJoin('generations', 'g', 'g.id = f.generation_id')
      .select(['f.generation_id AS generation_id', 'f.sha256 AS sha256', 'f.size AS size', 'f.content_type AS content_type', 'g.created_at AS created_at']);
  }

  /** ServedPaths.currentIndexFile, in the snapshot's generations (the newest one that has the path). */
  currentIndexFile(repoId: number, path: string): Promise<CachedIndexFile | null> {
    return this.indexAnswer(repoId, `c\u0000${path}`, async (snap) => {
      if (snap.generations.length === 0) return null;
      const q = this.indexQuery().where('f.generation_id IN (:...gens) AND f.path = :path', { gens: snap.generations, path });
      return toCached((await q.orderBy('f.generation_id', 'DESC').limit(1).getRawOne()) as RawIndexRow | undefined);
    });
  }

  /** ServedPaths.indexFileOfGeneration (GenerationPins): a generation's files never change. */
  indexFileOfGeneration(repoId: number, generationId: number, path: string): Promise<CachedIndexFile | null> {
    return this.indexAnswer(repoId, `g${generationId}\u0000${path}`, async () => {
      const q = this.indexQuery().where('g.repo_id = :repoId AND f.generation_id = :generationId AND f.path = :path', { repoId, generationId, path });
      return toCached((await q.getRawOne()) as RawIndexRow | undefined);
    });
  }

  /** ServedPaths.historicIndexFile (apt by-hash): the retained generations change only with a publish, which changes the snapshot. */
  historicIndexFile(repoId: number, path: string): Promise<CachedIndexFile | null> {
    return this.indexAnswer(repoId, `h\u0000${path}`, async () => {
      const q = this.indexQuery().where('g.repo_id = :repoId AND f.path = :path AND f.historic = 1', { repoId, path });
      const found = toCached((await q.orderBy('g.id', 'DESC').limit(1).getRawOne()) as RawIndexRow | undefined);
      return found && { ...found, generationId: 0 };
    });
  }

  /** ServedPaths.packageFile; only found files are kept (a file stored a moment ago is found at once). */
  async packageFile(repoId: number, path: string): Promise<FileRow | null> {
    const snap = await this.snapshot(repoId);
    const hit = snap.files.get(path);
    if (hit) return hit;
    const file = await this.db.manager.getRepository(FileEntity).findOne({ where: { repoId, path }, order: { id: 'DESC' } });
    // Stored only if the snapshot is still the current one: an invalidation meanwhile dropped it.
    if (file && this.snapshots.get(repoId) === snap) {
      if (snap.files.size >= MAX_PATHS) snap.files.clear();
      snap.files.set(path, file);
    }
    return file;
  }
}
