/**
 * The pull-through cache behind every remote repository, whatever its format (the provider's
 * `remote` hooks say what a path is upstream):
 * - index files are fetched, transformed by the provider and kept; trusted for `metadataTtl`,
 *   then fetched again; when the upstream is down the cached copy is served stale;
 * - package files are fetched on their first request, streamed to that client while they are
 *   written to a temporary file and hashed, checked against the sha256 the cached index names
 *   (mismatch: nothing is kept), stored as content-addressed blobs and served from the store
 *   afterwards;
 * - concurrent first requests share one upstream fetch: in-process through a map of running
 *   fetches, across instances through the database lock (src/core/locks.ts) and a re-check of
 *   the cache once it is held.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Request, Response } from 'express';
import { In } from 'typeorm';
import { RemoteLinkEntity, RemoteObjectEntity, type RemoteObjectRow } from '../../db/remote-entities';
import { contentTypeFor } from '../../http/content-types';
import { sendBlob } from '../../http/send-blob';
import type { Services } from '../../services';
import { blobKey } from '../../storage/blob-store';
import { DomainError, NotFoundError } from '../errors';
import type { RemoteContext, RemoteTarget, ServedIndexFile, TransformedIndex } from '../kind-contract';
import { loadKindConfig, type KindConfig } from '../kinds';
import type { Provider, RepoInfo } from '../provider';
import { blobLock, RemoteCache } from './cache';
import { readBounded, shown, timedChunks, upstreamGet, UpstreamError, UpstreamNotFound, type UpstreamOptions } from './upstream';

/** PyPI's whole project list is ~30 MB of HTML; an index larger than this is not one. */
const MAX_INDEX_BYTES = 256 << 20;
/** After a checksum mismatch the same file is refused without asking the upstream again for this long. */
const BAD_FILE_SECONDS = 30;
const CHUNK = 400;
/** How long a request waits for another instance's fetch of the same file (REQUEST_TIMEOUT_SECONDS' default). */
const FILL_LOCK_SECONDS = 6 * 3600;


interface IndexHit {
  row: RemoteObjectRow;
  stale: boolean;
  reason?: string;
}

export class RemoteService {
  private readonly running = new Map<string, Promise<unknown>>();
  private readonly badFiles = new Map<string, { until: number; error: UpstreamError }>();
  /** Counters, last-use times, eviction, stats and listings (src/core/remote/cache.ts). */
  readonly cache: RemoteCache;

  constructor(private readonly s: Services) {
    this.cache = new RemoteCache(s);
  }

  async config(repo: RepoInfo): Promise<KindConfig> {
    return loadKindConfig(this.s.db.manager, repo.id, this.s.config.MASTER_KEY);
  }

  private ctx(repo: RepoInfo, cfg: KindConfig): RemoteContext {
    return { upstream: cfg.upstream ?? '', repoName: repo.name };
  }

  private opts(cfg: KindConfig): UpstreamOptions {
    return { upstream: cfg.upstream ?? '', auth: cfg.auth, timeoutSeconds: cfg.remote.timeoutSeconds };
  }


  /** Serve `path` of a remote repository. False: the format has nothing at this path upstream. */
  async serve(provider: Provider, repo: RepoInfo, relPath: string, req: Request, res: Response): Promise<boolean> {
    const cfg = await this.config(repo);
    const target = provider.remote?.target(relPath, this.ctx(repo, cfg));
    if (!target) return false;
    if (target.kind === 'index') {
      const hit = await this.index(provider, repo, cfg, relPath, target);
      if (!hit) return false;
      if (hit.stale) {
        // RFC 7234 warn-codes 110/111: what pip/apt users see in a proxy's answer when it could not revalidate.
        res.setHeader('Warning', `111 artifactd "Revalidation Failed: ${(hit.reason ?? 'upstream unavailable').replace(/["\\\r\n]/g, ' ').slice(0, 200)}"`);
        res.setHeader('X-Cache', 'STALE');
      }
      await sendBlob(req, res, this.s.blobs, { sha256: hit.row.sha256, size: hit.row.size, contentType: hit.row.contentType, lastModified: new Date(hit.row.fetchedAt), cacheControl: 'no-cache' }, false);
      return true;
    }
    return this.servePackage(provider, repo, cfg, relPath, target, req, res);
  }

  /** The bytes a remote serves at an index path (virtual merges), or null when the upstream has none. */
  async indexBytes(provider: Provider, repo: RepoInfo, relPath: string): Promise<Buffer | null> {
    const cfg = await this.config(repo);
    const target = provider.remote?.target(relPath, this.ctx(repo, cfg));
    if (!target || target.kind !== 'index') return null;
    const hit = await this.index(provider, repo, cfg, relPath, target).catch((e) => {
      if (e instanceof NotFoundError || e instanceof UpstreamNotFound) return null;
      throw e;
    });
    if (!hit) return null;
    const chunks: Buffer[] = [];
    for await (const c of await this.s.blobs.get(blobKey(hit.row.sha256))) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private objects() {
    return this.s.db.manager.getRepository(RemoteObjectEntity);
  }

  // ---- index files ------------------------------------------------------------------------

  private async index(provider: Provider, repo: RepoInfo, cfg: KindConfig, relPath: string, target: Extract<RemoteTarget, { kind: 'index' }>): Promise<IndexHit | null> {
    const cached = await this.objects().findOne({ where: { repoId: repo.id, path: relPath } });
    const fresh = (row: RemoteObjectRow | null) => !!row && Date.now() - row.fetchedAt < cfg.remote.metadataTtl * 1000;
    if (cached && (fresh(cached) || cfg.remote.offline)) {
      this.cache.count(repo.id, 'hits');
      this.cache.touch(cached.id);
      return { row: cached, stale: false };
    }
    if (cfg.remote.offline) throw new UpstreamError(`${repo.provider}/${repo.name} is offline and has no cached copy of ${relPath}`, 'upstream_offline');
    try {
      await this.once(`index:${repo.id}:${target.source}`, () =>
        this.s.locks.withLock(`remote:${repo.id}:${target.source}`, async () => {
          // Another request (or instance) may have fetched it while this one waited for the lock.
          if (fresh(await this.objects().findOne({ where: { repoId: repo.id, path: relPath } }))) return;
          await this.refreshIndex(provider, repo, cfg, relPath, target);
        }),
      );
    } catch (e) {
      if (e instanceof UpstreamNotFound) throw new NotFoundError(`${relPath} is not in ${repo.provider}/${repo.name}: ${e.message}`);
      if (cached && e instanceof DomainError && (e.status === 502 || e.status === 504)) {
        this.s.log.warn('remote: upstream failed, serving the cached index stale', { repo: `${repo.provider}/${repo.name}`, path: relPath, fetchedAt: new Date(cached.fetchedAt).toISOString(), error: e.message });
        this.cache.count(repo.id, 'hits');
        return { row: cached, stale: true, reason: e.message };
      }
      throw e;
    }
    const row = await this.objects().findOne({ where: { repoId: repo.id, path: relPath } });
    return row ? { row, stale: false } : null;
  }

  private async refreshIndex(provider: Provider, repo: RepoInfo, cfg: KindConfig, relPath: string, target: Extract<RemoteTarget, { kind: 'index' }>): Promise<void> {
    const started = Date.now();
    const up = await upstreamGet(target.url, this.opts(cfg), target.accept);
    const body = await readBounded(up, MAX_INDEX_BYTES);
    const fetched = { path: relPath, source: target.source, url: up.url, contentType: up.contentType, body };
    // Companions (detached signatures) come from the same refresh, so they always match the index.
    const companions: ServedIndexFile[] = [];
    for (const c of target.companions ?? []) {
      try {
        const cu = await upstreamGet(c.url, this.opts(cfg));
        companions.push({ path: c.path, data: await readBounded(cu, MAX_INDEX_BYTES), contentType: contentTypeFor(provider, path.posix.basename(c.path)) });
      } catch (e) {
        if (!(e instanceof UpstreamNotFound)) throw e;
      }
    }
    let out: TransformedIndex;
    try {
      // Awaited: reading an index (a compressed tar) may take streams.
      // A request for a companion fetched the file it accompanies, whose path is then `source`.
      const mainPath = target.companions?.some((c) => c.path === relPath) ? target.source : relPath;
      out = provider.remote?.transformIndex ? await provider.remote.transformIndex(fetched, this.ctx(repo, cfg)) : { files: [{ path: mainPath, data: body, contentType: up.contentType }], links: [] };
    } catch (e) {
      throw new UpstreamError(`the upstream's ${shown(up.url)} could not be read: ${(e as Error).message}`, 'upstream_bad_index');
    }
    out = { ...out, files: [...out.files.filter((f) => !companions.some((c) => c.path === f.path)), ...companions] };
    for (const f of out.files) {
      const sha = sha256(f.data);
      if (!(await this.s.blobs.stat(blobKey(sha)))) await this.s.blobs.putBuffer(blobKey(sha), f.data, f.contentType);
    }
    const now = Date.now();
    await this.s.db.write(async (m) => {
      const objects = m.getRepository(RemoteObjectEntity);
      const links = m.getRepository(RemoteLinkEntity);
      await objects.delete({ repoId: repo.id, source: target.source, kind: 'index' });
      const paths = out.files.map((f) => f.path);
      for (let i = 0; i < paths.length; i += CHUNK) await objects.delete({ repoId: repo.id, path: In(paths.slice(i, i + CHUNK)) });
      for (const f of out.files) {
        await objects.insert({ repoId: repo.id, path: f.path, kind: 'index', sha256: sha256(f.data), size: f.data.length, contentType: f.contentType, upstreamUrl: up.url, source: target.source, fetchedAt: now, lastUsedAt: now });
      }
      // The links of this index replace its previous ones (and any other index's for the same paths).
      await links.delete({ repoId: repo.id, source: target.source });
      const unique = [...new Map(out.links.map((l) => [l.path, l])).values()];
      for (let i = 0; i < unique.length; i += CHUNK) {
        const part = unique.slice(i, i + CHUNK);
        await links.delete({ repoId: repo.id, path: In(part.map((l) => l.path)) });
        await links.insert(part.map((l) => ({ repoId: repo.id, path: l.path, source: target.source, upstreamUrl: l.url, sha256: l.sha256 ?? null })));
      }
    });
    this.cache.count(repo.id, 'misses');
    this.s.log.info('remote: index fetched', { repo: `${repo.provider}/${repo.name}`, path: relPath, url: shown(up.url), bytes: body.length, files: out.files.length, links: out.links.length, durationMs: Date.now() - started });
  }

  // ---- package files ----------------------------------------------------------------------

  /** A cached package file with the expected bytes (by path, or by hash from another path). */
  private async cachedPackage(repoId: number, relPath: string, expected: string | null): Promise<RemoteObjectRow | null> {
    const atPath = await this.objects().findOne({ where: { repoId, path: relPath } });
    if (atPath && (!expected || atPath.sha256 === expected)) return atPath;
    if (!expected) return null;
    return this.objects().findOne({ where: { repoId, sha256: expected } });
  }

  private async servePackage(provider: Provider, repo: RepoInfo, cfg: KindConfig, relPath: string, target: Extract<RemoteTarget, { kind: 'package' }>, req: Request, res: Response): Promise<boolean> {
    const link = await this.s.db.manager.getRepository(RemoteLinkEntity).findOne({ where: { repoId: repo.id, path: relPath } });
    const expected = link?.sha256 ?? null;
    const url = link?.upstreamUrl ?? target.url;
    const send = async (row: RemoteObjectRow) => {
      // The LRU clock: recorded in memory on every hit, written in the next batch (flush).
      this.cache.touch(row.id);
      res.setHeader('X-Cache', 'HIT');
      const filename = path.posix.basename(relPath);
      await sendBlob(req, res, this.s.blobs, { sha256: row.sha256, size: row.size, contentType: contentTypeFor(provider, filename), lastModified: new Date(row.fetchedAt), redirectable: true, filename, cacheControl: 'public, max-age=31536000, immutable' }, this.s.config.S3_REDIRECT === 'presigned');
    };
    const hit = await this.cachedPackage(repo.id, relPath, expected);
    if (hit) {
      this.cache.count(repo.id, 'hits');
      await send(hit);
      return true;
    }
    if (!url) return false;
    if (cfg.remote.offline) throw new UpstreamError(`${repo.provider}/${repo.name} is offline and has no cached copy of ${relPath}`, 'upstream_offline');
    const key = `pkg:${repo.id}:${relPath}`;
    const bad = this.badFiles.get(key);
    if (bad && bad.until > Date.now()) throw bad.error;
    const runningFill = this.running.get(key);
    if (runningFill) {
      // Another request of this process is fetching it: wait, then serve from the store.
      await runningFill;
      const row = await this.cachedPackage(repo.id, relPath, expected);
      if (!row) throw new UpstreamError(`fetching ${relPath} from the upstream failed`);
      this.cache.count(repo.id, 'hits');
      await send(row);
      return true;
    }
    let streamed = false;
    const fill = this.once(key, () =>
      this.s.locks.withLock(`remote:${repo.id}:${relPath}`, async () => {
        const again = await this.cachedPackage(repo.id, relPath, expected);
        if (again) return again;
        streamed = req.method === 'GET';
        return this.fetchPackage(provider, repo, cfg, relPath, url, expected, streamed ? res : null);
        // The holder streams a whole file (GiBs to a slow client), and never stalls longer than
        // timeoutSeconds per chunk: waiters on other instances wait as long as a request may last.
      }, FILL_LOCK_SECONDS),
    );
    let row: RemoteObjectRow;
    try {
      row = await fill;
    } catch (e) {
      if (res.headersSent) {
        // The client already has a 200 and part of the body: breaking the connection is the only
        // way to tell it; it never receives the last chunk, so it never holds a complete wrong file.
        res.destroy();
        return true;
      }
      throw e;
    }
    if (!streamed) {
      this.cache.count(repo.id, 'hits');
      await send(row);
    }
    return true;
  }

  /** Fetch, hash, verify and store one package file, writing it to `res` (when given) as it arrives. */
  private async fetchPackage(provider: Provider, repo: RepoInfo, cfg: KindConfig, relPath: string, url: string, expected: string | null, res: Response | null): Promise<RemoteObjectRow> {
    const started = Date.now();
    const up = await upstreamGet(url, this.opts(cfg));
    fs.mkdirSync(this.s.tmpDir, { recursive: true });
    const tmp = path.join(this.s.tmpDir, `remote-${crypto.randomBytes(8).toString('hex')}`);
    const out = fs.createWriteStream(tmp);
    const hash = crypto.createHash('sha256');
    let size = 0;
    let clientOk = !!res;
    if (res) {
      const filename = path.posix.basename(relPath);
      res.status(200);
      res.setHeader('Content-Type', contentTypeFor(provider, filename));
      if (up.length !== null) res.setHeader('Content-Length', String(up.length));
      res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      res.setHeader('X-Cache', 'MISS');
      res.flushHeaders();
    }
    // The newest chunk is held back until the bytes are verified: a client whose download turns
    // out not to match the index's sha256 never receives the complete file.
    let held: Buffer | null = null;
    try {
      for await (const chunk of timedChunks(up)) {
        hash.update(chunk);
        size += chunk.length;
        if (!out.write(chunk)) await once(out, 'drain');
        if (held && clientOk) clientOk = await writeTo(res!, held);
        held = chunk;
      }
      out.end();
      await once(out, 'close');
      if (up.length !== null && size !== up.length) throw new UpstreamError(`the upstream sent ${size} of the ${up.length} bytes of ${shown(up.url)}`);
      const actual = hash.digest('hex');
      if (expected && actual !== expected) {
        const err = new UpstreamError(`the upstream's ${shown(up.url)} has sha256 ${actual}, but the upstream's index says ${expected}; nothing was kept`, 'upstream_checksum_mismatch', { expected, actual });
        this.badFiles.set(`pkg:${repo.id}:${relPath}`, { until: Date.now() + BAD_FILE_SECONDS * 1000, error: err });
        this.s.log.warn('remote: checksum mismatch, file refused', { repo: `${repo.provider}/${repo.name}`, path: relPath, url: shown(up.url), expected, actual });
        throw err;
      }
      const key = blobKey(actual);
      // Under the blob's lock, as eviction's "is it referenced? delete" is: an eviction elsewhere
      // (another repository, another instance) never deletes the blob between this stat and the row.
      const row = await this.s.locks.withLock(blobLock(actual), async () => {
        if (!(await this.s.blobs.stat(key))) await this.s.blobs.putFile(key, tmp);
        const now = Date.now();
        return this.s.db.write(async (m) => {
          const objects = m.getRepository(RemoteObjectEntity);
          await objects.delete({ repoId: repo.id, path: relPath });
          await objects.insert({ repoId: repo.id, path: relPath, kind: 'package', sha256: actual, size, contentType: contentTypeFor(provider, path.posix.basename(relPath)), upstreamUrl: up.url, source: relPath, fetchedAt: now, lastUsedAt: now });
          return objects.findOneByOrFail({ repoId: repo.id, path: relPath });
        });
      });
      this.cache.count(repo.id, 'misses');
      this.s.log.info('remote: file fetched', { repo: `${repo.provider}/${repo.name}`, path: relPath, url: shown(up.url), bytes: size, verified: !!expected, durationMs: Date.now() - started });
      if (res && clientOk) {
        if (held) await writeTo(res, held);
        res.end();
      }
      if (cfg.remote.cacheMaxBytes !== null) await this.cache.evict(repo, cfg.remote.cacheMaxBytes, row.id);
      return row;
    } catch (e) {
      up.abort();
      out.destroy();
      throw e;
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  // ---- cache size, eviction, counters, listing -----------------------------------------

  /** Run `fn` once per key at a time in this process; concurrent callers share its result. */
  private once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key) as Promise<T> | undefined;
    if (existing) return existing;
    const p = fn().finally(() => this.running.delete(key));
    this.running.set(key, p);
    p.catch(() => undefined);
    return p;
  }
}

function sha256(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Write with backpressure; false once the client has gone (the fetch still completes for the cache). */
async function writeTo(res: Response, chunk: Buffer): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(chunk)) return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

const services = new WeakMap<Services, RemoteService>();
/** The one RemoteService of a Services instance (it batches counters in memory). */
export function remoteService(s: Services): RemoteService {
  let r = services.get(s);
  if (!r) services.set(s, (r = new RemoteService(s)));
  return r;
}
