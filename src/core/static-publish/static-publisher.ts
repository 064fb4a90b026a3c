/**
 * Static publishing: after a generation flip, the repository is written as plain files in
 * the client layout to a directory or a bucket (`<target>/<provider>/<repo>/<client path>`,
 * the paths under /repo/<provider>/<repo>/), so nginx, S3 website hosting or a CDN serves the
 * reads and artifactd only takes writes.
 *
 * Order of one sync (what makes a half-finished sync safe for a client reading meanwhile):
 *   1. package files, their attachments and `historic` index files (apt by-hash): immutable
 *      content, written before any index names them;
 *   2. index files at paths the target does not hold yet (rpm's hashed repodata files);
 *   3. index files that replace an existing file, deepest paths first (apt `Packages` before
 *      `InRelease`), a detached signature before the file it signs (Provider.indexPartners:
 *      pacman `<repo>.db.sig` before `<repo>.db`, rpm `repomd.xml.asc` before `repomd.xml`).
 * A path no longer published is deleted only once it has been absent for the retention window
 * (KEEP_GENERATIONS_SECONDS), so a client mid-update still finds what its index names.
 *
 * What the target holds is tracked in a manifest beside the repositories
 * (`.artifactd/<provider>/<repo>.json`: path -> sha256, and since when a path is no longer
 * published). Every sync also lists the target, so a missing or truncated file is rewritten and
 * a crash mid-sync is repaired by the next sync; the manifest is written last. Syncs of one
 * repository run under a cross-process lock, so two instances never interleave theirs.
 */
import { Readable } from 'node:stream';
import type { Database } from '../../db/database';
import { FileEntity, IndexFileEntity, ScopeEntity } from '../../db/entities';
import type { BlobStore } from '../../storage/blob-store';
import { blobKey } from '../../storage/blob-store';
import type { Logger } from '../../util/logger';
import type { StoredAttachment } from '../entry-renderer';
import type { LockManager } from '../locks';
import type { Provider, RepoInfo } from '../provider';
import { contentTypeFor } from '../../http/content-types';
import { getProvider } from '../provider-registry';
import type { StaticTarget, TargetFile } from './targets';

/** One file the target must hold. */
export interface WantedFile {
  path: string;
  sha256: string;
  size: number;
  contentType: string;
  /** 1: immutable content (packages, attachments, by-hash), 2: an index file. */
  stage: 1 | 2;
}

interface Manifest {
  files: Record<string, { sha256: string; goneSince?: number }>;
}

export interface SyncResult {
  written: number;
  deleted: number;
  /** Paths no longer published, kept until the retention window has passed. */
  retained: number;
}

/** Cache-Control the target's objects carry (S3; nginx sets its own from its config). */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
const WRITE_CONCURRENCY = 4;
/** A temp file older than this is a crashed write's leftover, not one being written. */
const STALE_TEMP_MS = 10 * 60_000;

export interface StaticPublishOptions {
  /** Publish repositories with `private: true` (and every repository when PUBLIC_READ=false). */
  includePrivate: boolean;
  publicRead: boolean;
  keepSeconds: number;
  /**
   * A repository's syncs start at least this far apart. A client that fetches a file and then
   * its detached signature (pacman, dnf) gets a mismatched pair only when a sync replaces both
   * between its two requests; spacing the syncs makes that rare under a stream of uploads (and
   * turns a burst of publishes into one sync).
   */
  minIntervalMs: number;
}

export class StaticPublisher {
  private readonly running = new Map<number, Promise<SyncResult | null>>();
  private readonly again = new Set<number>();
  private closed = false;
  /** Repositories whose scheduled sync has begun reading (a change after that needs another). */
  private readonly started = new Set<number>();
  /** When each repository's last sync started (epoch ms), for `minIntervalMs`. */
  private readonly lastStart = new Map<number, number>();

  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    private readonly locks: LockManager,
    private readonly log: Logger,
    readonly target: StaticTarget,
    private readonly opts: StaticPublishOptions,
    /** The repository as stored now: whether it may be published is decided on fresh settings. */
    private readonly repoById: (id: number) => Promise<RepoInfo | null>,
  ) {}

  /** Whether the repository is published statically: hosted, and public unless configured otherwise. */
  eligible(repo: RepoInfo): boolean {
    if ((repo.kind ?? 'hosted') !== 'hosted') return false;
    if (this.opts.includePrivate) return true;
    return this.opts.publicRead && repo.settings.private !== true;
  }

  /**
   * Sync one repository now, or right after the sync already running (which may have read the
   * database before the latest flip). Resolves when a sync that started after the call is done.
   */
  schedule(repo: RepoInfo): Promise<SyncResult | null> {
    if (this.closed) return Promise.resolve(null);
    const current = this.running.get(repo.id);
    if (current) {
      // Not started yet (spacing, or waiting for the lock): it will read the latest state anyway.
      if (!this.started.has(repo.id)) return current;
      this.again.add(repo.id);
      return current.then(() => this.running.get(repo.id) ?? this.schedule(repo));
    }
    const wait = Math.max(0, (this.lastStart.get(repo.id) ?? 0) + this.opts.minIntervalMs - Date.now());
    const run = new Promise((r) => setTimeout(r, wait))
      .then(() => (this.closed ? null : this.locks.withLock(`static:${repo.id}`, async () => {
        this.lastStart.set(repo.id, Date.now());
        this.started.add(repo.id);
        // The caller's copy may predate a settings change (made private since).
        const fresh = await this.repoById(repo.id);
        if (!fresh) return null;
        return this.eligible(fresh) ? this.sync(fresh) : this.withdraw(fresh);
      })))
      .catch((e: unknown) => {
        this.log.error('static publish failed', { repo: `${repo.provider}/${repo.name}`, target: this.target.label, error: String(e) });
        return null;
      })
      .finally(() => {
        this.running.delete(repo.id);
        this.started.delete(repo.id);
        if (this.again.delete(repo.id)) void this.schedule(repo);
      });
    this.running.set(repo.id, run);
    return run;
  }

  /** The periodic pass: every eligible repository (repairs, deletions whose window has passed). */
  async sweep(repos: RepoInfo[]): Promise<void> {
    for (const repo of repos) await this.schedule(repo);
  }

  /** What the target must hold for this repository now. */
  async wanted(repo: RepoInfo): Promise<Map<string, WantedFile>> {
    const provider = getProvider(repo.provider);
    const out = new Map<string, WantedFile>();
    type Raw = { path: string; sha256: string; size: string | number; content_type: string; historic: number | boolean | string };
    const current = (await this.db.manager
      .getRepository(IndexFileEntity)
      .createQueryBuilder('f')
      .innerJoin('scopes', 's', 's.generation_id = f.generation_id')
      .where('s.repo_id = :id', { id: repo.id })
      .select(['f.path AS path', 'f.sha256 AS sha256', 'f.size AS size', 'f.content_type AS content_type', 'f.historic AS historic'])
      .getRawMany()) as Raw[];
    // Older retained generations' by-hash files: a client holding an older InRelease asks for them.
    const historic = (await this.db.manager
      .getRepository(IndexFileEntity)
      .createQueryBuilder('f')
      .innerJoin('generations', 'g', 'g.id = f.generation_id')
      .where('g.repo_id = :id AND f.historic = 1', { id: repo.id })
      .select(['f.path AS path', 'f.sha256 AS sha256', 'f.size AS size', 'f.content_type AS content_type', 'f.historic AS historic'])
      .getRawMany()) as Raw[];
    for (const r of [...historic, ...current]) {
      const isHistoric = r.historic === true || Number(r.historic) === 1;
      const path = provider.staticPath?.(r.path) ?? r.path;
      out.set(path, { path, sha256: r.sha256, size: Number(r.size), contentType: r.content_type, stage: isHistoric ? 1 : 2 });
    }
    const scopes = (await this.db.manager.getRepository(ScopeEntity).find({ where: { repoId: repo.id }, select: { scope: true } })).map((s) => s.scope);
    const files = await this.db.manager.getRepository(FileEntity).find({ where: { repoId: repo.id }, select: { path: true, sha256: true, size: true, filename: true, attachments: true }, order: { id: 'ASC' } });
    for (const f of files) {
      const paths = [f.path, ...(provider.staticAliases?.(f.path, scopes) ?? [])];
      for (const p of paths) {
        // An index file at the same path wins, as it does in the server's own resolution.
        if (!out.has(p)) out.set(p, { path: p, sha256: f.sha256, size: f.size, contentType: contentTypeFor(provider, f.filename), stage: 1 });
        for (const a of JSON.parse(f.attachments || '[]') as StoredAttachment[]) {
          if (!out.has(p + a.suffix)) out.set(p + a.suffix, { path: p + a.suffix, sha256: a.sha256, size: a.size, contentType: a.contentType, stage: 1 });
        }
      }
    }
    return out;
  }

  /** One sync of one repository (call under its lock: `schedule`). */
  async sync(repo: RepoInfo): Promise<SyncResult> {
    const started = Date.now();
    const provider = getProvider(repo.provider);
    const prefix = `${repo.provider}/${repo.name}/`;
    const manifestKey = `.artifactd/${repo.provider}/${repo.name}.json`;
    const wanted = await this.wanted(repo);
    const held = await this.target.list(prefix);
    const manifest = await this.readManifest(manifestKey);
    const next: Manifest = { files: {} };
    const toWrite: WantedFile[] = [];
    for (const w of wanted.values()) {
      const has = held.get(w.path);
      const known = manifest.files[w.path];
      if (!has || has.size !== w.size || known?.sha256 !== w.sha256) toWrite.push(w);
      else next.files[w.path] = { sha256: w.sha256 };
    }
    const ordered = orderWrites(toWrite, held, provider);
    let written = 0;
    for (const batch of ordered) {
      await parallel(batch, WRITE_CONCURRENCY, async (w) => {
        const body = (await this.blobs.get(blobKey(w.sha256))) as Readable;
        await this.target.put(prefix + w.path, body, { size: w.size, contentType: w.contentType, cacheControl: w.stage === 1 ? IMMUTABLE : REVALIDATE });
        next.files[w.path] = { sha256: w.sha256 };
        written++;
      });
    }
    let deleted = 0;
    let retained = 0;
    const now = Date.now();
    for (const [path, file] of held) {
      if (wanted.has(path)) continue;
      if (this.target.isTemporary(path)) {
        if (now - file.modified > STALE_TEMP_MS) await this.target.delete(prefix + path);
        continue;
      }
      const goneSince = manifest.files[path]?.goneSince ?? now;
      if (now - goneSince >= this.opts.keepSeconds * 1000) {
        await this.target.delete(prefix + path);
        deleted++;
      } else {
        next.files[path] = { sha256: manifest.files[path]?.sha256 ?? '', goneSince };
        retained++;
      }
    }
    if (written || deleted || JSON.stringify(next) !== JSON.stringify(manifest)) {
      const data = Buffer.from(JSON.stringify(next));
      await this.target.put(manifestKey, Readable.from([data]), { size: data.length, contentType: 'application/json', cacheControl: REVALIDATE });
    }
    if (written || deleted) this.log.info('static publish', { repo: `${repo.provider}/${repo.name}`, target: this.target.label, written, deleted, retained, durationMs: Date.now() - started });
    return { written, deleted, retained };
  }

  /**
   * A repository that must not be public (made private, or no longer hosted): everything the
   * manifest says the target holds for it goes at once, without a retention window, since
   * keeping it readable is the leak to avoid.
   */
  async withdraw(repo: RepoInfo): Promise<SyncResult> {
    const prefix = `${repo.provider}/${repo.name}/`;
    const manifestKey = `.artifactd/${repo.provider}/${repo.name}.json`;
    const manifest = await this.target.read(manifestKey);
    if (!manifest) return { written: 0, deleted: 0, retained: 0 };
    const held = await this.target.list(prefix);
    for (const path of held.keys()) await this.target.delete(prefix + path);
    await this.target.delete(manifestKey);
    this.log.info('static publish withdrawn', { repo: `${repo.provider}/${repo.name}`, target: this.target.label, deleted: held.size });
    return { written: 0, deleted: held.size, retained: 0 };
  }

  private async readManifest(key: string): Promise<Manifest> {
    const raw = await this.target.read(key);
    if (!raw) return { files: {} };
    try {
      const m = JSON.parse(raw.toString('utf8')) as Manifest;
      return m && typeof m.files === 'object' ? m : { files: {} };
    } catch {
      // A damaged manifest only costs a full rewrite.
      return { files: {} };
    }
  }

  /** No new syncs; waits for the running ones (they must not outlive the database and locks they use). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.running.values()]);
    this.target.close();
  }
}

/**
 * Batches written one after the other: immutable files; index files at new paths; then
 * replacements, deepest first, each detached signature in a batch before the file it signs.
 */
export function orderWrites(files: WantedFile[], held: Map<string, TargetFile>, provider: Provider): WantedFile[][] {
  const immutable = files.filter((f) => f.stage === 1);
  const fresh = files.filter((f) => f.stage === 2 && !held.has(f.path));
  const replacing = files.filter((f) => f.stage === 2 && held.has(f.path));
  const paths = new Set(replacing.map((f) => f.path));
  const isSignature = (p: string) => [...paths].some((q) => q !== p && p.startsWith(q) && (provider.indexPartners?.(q) ?? []).includes(p));
  const depth = (p: string) => p.split('/').length;
  const levels = new Map<string, WantedFile[]>();
  for (const f of replacing) {
    // Rank: deeper first, and at one depth signatures before the files they sign.
    const key = `${String(1000 - depth(f.path)).padStart(4, '0')}:${isSignature(f.path) ? 0 : 1}`;
    levels.set(key, [...(levels.get(key) ?? []), f]);
  }
  const replaced = [...levels.keys()].sort().map((k) => levels.get(k)!);
  return [immutable, fresh, ...replaced].filter((b) => b.length > 0);
}

async function parallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await fn(items[i++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
