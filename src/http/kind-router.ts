/**
 * Remote and virtual repositories in the JSON API (issue 14): `PUT /api/repos/{provider}/{repo}`
 * creates or changes one (admin), `GET .../cache` lists what a remote cached, with where each
 * file came from and when. `kindSummary` is the kind's part of every repository view.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { BadRequestError } from '../core/errors';
import { mergesEntries } from '../core/kind-contract';
import { configureKind, kindBody, kindView, loadKindConfig } from '../core/kinds';
import type { RepoInfo } from '../core/provider';
import { getProvider } from '../core/provider-registry';
import { remoteService } from '../core/remote/remote-service';
import { toRepoInfo } from '../core/repo-service';
import { TokenService } from '../core/tokens';
import { checkRepoName } from '../core/names';
import type { Services } from '../services';
import { page } from './paging';

function parseBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const reasons = r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
  throw new BadRequestError(`invalid ${what}: ${reasons.join('; ')}`, { reasons });
}

/** `type` for every repository; upstream, options and cache figures for remotes; members for virtuals. */
export async function kindSummary(s: Services, repo: RepoInfo): Promise<Record<string, unknown>> {
  const type = repo.kind ?? 'hosted';
  if (type === 'hosted') return { type };
  const view = kindView(await loadKindConfig(s.db.manager, repo.id, s.config.MASTER_KEY));
  if (type === 'remote') return { type, ...view, cache: await remoteService(s).cache.stats(repo) };
  return { type, ...view };
}

export function kindRouter(s: Services): Router {
  const r = express.Router();
  r.use(express.json({ limit: '1mb' }));

  r.put('/repos/:provider/:repo', async (req, res) => {
    const provider = getProvider(String(req.params.provider));
    const name = String(req.params.repo);
    TokenService.require(req.principal, 'admin', name);
    checkRepoName(name);
    const body = parseBody(kindBody, req.body, `${provider.name} repository`);
    const { row, created } = await configureKind(s.db, s.config.MASTER_KEY, provider, name, body, async (m, created) => s.repos.onCreated?.(m, created));
    const repo = toRepoInfo(row);
    // A merging virtual (apt, pacman, apk, rpm) publishes its own signed indexes: built now
    // from its (new) members; afterwards each member's publish marks it (virtual-indexes.ts).
    if (repo.kind === 'virtual' && mergesEntries(provider.virtual)) await s.publisher.republishAll(repo);
    // A lowered limit applies now, not at the next fetch.
    if (body.type === 'remote' && body.cacheMaxBytes !== null && !created) await remoteService(s).cache.evict(repo, body.cacheMaxBytes, null);
    res.status(created ? 201 : 200).json({ provider: repo.provider, name: repo.name, ...(await kindSummary(s, repo)) });
  });

  r.get('/repos/:provider/:repo/cache', async (req, res) => {
    const provider = getProvider(String(req.params.provider));
    const repo = await s.repos.authorized(provider.name, String(req.params.repo), req.principal, 'read', s.config.PUBLIC_READ);
    if (repo.kind !== 'remote') throw new BadRequestError(`${provider.name}/${repo.name} is a ${repo.kind ?? 'hosted'} repository; only remote repositories have a cache`);
    const { limit, offset } = page(req);
    const { total, files } = await remoteService(s).cache.list(repo, { limit, offset });
    res.json({
      total, limit, offset,
      files: files.map((f) => ({ path: f.path, kind: f.kind, size: f.size, sha256: f.sha256, contentType: f.contentType, origin: f.upstreamUrl, fetchedAt: new Date(f.fetchedAt).toISOString(), lastUsedAt: new Date(f.lastUsedAt).toISOString() })),
    });
  });

  return r;
}
