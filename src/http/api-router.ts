/** The JSON API: repositories, packages, versions, files; deletes, yanks, retention, keys, tokens. */
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import { BadRequestError, NotFoundError } from '../core/errors';
import { downloadTotals, fileView, type RepoStats } from '../core/catalog';
import type { Provider, RepoInfo } from '../core/provider';
import { getProvider } from '../core/provider-registry';
import { TokenService } from '../core/tokens';
import type { Services } from '../services';
import { repoUrl } from './urls';
import { kindSummary } from './kind-router';
import { page } from './paging';


// rpcli imports the list item type from here.
export type { PackageSummary } from '../core/catalog';

export function apiRouter(s: Services): Router {
  const r = express.Router();

  const loadRepo = async (req: Request, role: 'read' | 'write' | 'admin' = 'read'): Promise<{ provider: Provider; repo: RepoInfo }> => {
    const provider = getProvider(String(req.params.provider));
    const repo = await s.repos.authorized(provider.name, String(req.params.repo), req.principal, role, s.config.PUBLIC_READ);
    return { provider, repo };
  };

  const repoSummary = async (req: Request, repo: RepoInfo, stats: RepoStats) => {
    const last = await s.publisher.lastPublished(repo.id);
    return {
      provider: repo.provider,
      name: repo.name,
      url: repoUrl(s, req, repo.provider, repo.name),
      packages: stats.packages,
      files: stats.files,
      size: stats.size,
      downloads: stats.downloads,
      lastDownloadedAt: stats.lastDownloadedAt ? new Date(stats.lastDownloadedAt).toISOString() : null,
      lastPublished: last ? new Date(last).toISOString() : null,
      settings: repo.settings,
      ...(await kindSummary(s, repo)),
    };
  };

  r.get('/repos', async (req, res) => {
    const { limit, offset } = page(req);
    const { total, repos } = await s.catalog.listRepos(req.principal, { limit, offset });
    res.json({ total, limit, offset, repos: await Promise.all(repos.map(({ repo, stats }) => repoSummary(req, repo, stats))) });
  });

  r.get('/repos/:provider/:repo', async (req, res) => {
    const { repo } = await loadRepo(req);
    const stats = (await s.catalog.repoStats([repo.id])).get(repo.id) ?? { packages: 0, files: 0, size: 0, lastUpload: null, downloads: 0, lastDownloadedAt: null };
    res.json(await repoSummary(req, repo, stats));
  });

  r.get('/repos/:provider/:repo/packages', async (req, res) => {
    const { repo } = await loadRepo(req);
    const q = typeof req.query.q === 'string' ? req.query.q.trim() : '';
    const { limit, offset } = page(req);
    const { total, packages } = await s.catalog.packages(repo, { limit, offset }, q);
    res.json({ total, limit, offset, packages });
  });

  r.get('/repos/:provider/:repo/packages/:name', async (req, res) => {
    const { provider, repo } = await loadRepo(req);
    // The version order is the format's own: the light rows of this one package are sorted here.
    const rows = await s.catalog.filesOf(repo, String(req.params.name));
    if (rows.length === 0) throw new NotFoundError(`no package "${req.params.name}" in ${provider.name}/${repo.name}`);
    const base = repoUrl(s, req, provider.name, repo.name);
    const versions = [...new Set(rows.map((f) => f.version))].sort((a, b) => provider.compareVersions(b, a));
    // Versions are paginated newest first (limit/offset), like every other list in the API.
    const { limit, offset } = page(req);
    res.json({
      name: rows[0].name,
      provider: provider.name,
      repo: repo.name,
      latestVersion: versions[0],
      ...downloadTotals(rows),
      total: versions.length,
      limit,
      offset,
      versions: versions.slice(offset, offset + limit).map((v) => ({
        version: v,
        ...downloadTotals(rows.filter((f) => f.version === v)),
        files: rows.filter((f) => f.version === v).map((f) => ({ ...fileView(repo, f), url: `${base}/${f.path.split('/').map(encodeURIComponent).join('/')}`, meta: JSON.parse(f.meta || '{}') })),
      })),
    });
  });

  r.delete('/repos/:provider/:repo/packages/:name/:version', async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    const deleted = await s.packages.deleteVersion(repo, provider, String(req.params.name), String(req.params.version));
    res.json({ deleted });
  });

  r.delete('/repos/:provider/:repo/packages/:name', async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    res.json({ deleted: await s.packages.deleteVersion(repo, provider, String(req.params.name)) });
  });

  const yankBody = z.object({ reason: z.string().max(1000).optional() }).optional();
  r.post('/repos/:provider/:repo/packages/:name/:version/yank', async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'write');
    const body = yankBody.safeParse(req.body);
    if (!body.success) throw new BadRequestError('body: {"reason": "<text>"} (optional)');
    res.json({ yanked: await s.packages.setYanked(repo, provider, String(req.params.name), String(req.params.version), body.data?.reason ?? '') });
  });
  r.delete('/repos/:provider/:repo/packages/:name/:version/yank', async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'write');
    res.json({ unyanked: await s.packages.setYanked(repo, provider, String(req.params.name), String(req.params.version), null) });
  });

  return r;
}
