/** The JSON API: repositories, packages, versions, files; deletes, yanks, retention, keys, tokens. */
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import { BadRequestError, NotFoundError } from '../core/errors';
import { fileView } from '../core/package-service';
import type { Provider, RepoInfo } from '../core/provider';
import { getProvider } from '../core/provider-registry';
import { TokenService } from '../core/tokens';
import type { FileRow } from '../db/entities';
import type { Services } from '../services';
import { asyncRoute } from './middleware';
import { authenticatedJsonBody } from './json-body';
import { repoUrl } from './urls';

export function page(req: Request): { limit: number; offset: number } {
  const limit = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), 1000);
  const offset = Math.max(Number(req.query.offset ?? 0) || 0, 0);
  return { limit, offset };
}

export interface PackageSummary {
  name: string;
  latestVersion: string;
  versions: number;
  files: number;
  arch: string[];
  size: number;
  updatedAt: string;
  description: string;
}

/** Group file rows into packages, newest version by the provider's order. */
export function summarize(provider: Provider, rows: FileRow[]): PackageSummary[] {
  const by = new Map<string, FileRow[]>();
  for (const r of rows) by.set(r.name, [...(by.get(r.name) ?? []), r]);
  return [...by.entries()]
    .map(([name, files]) => {
      const versions = [...new Set(files.map((f) => f.version))].sort((a, b) => provider.compareVersions(a, b));
      const latest = versions[versions.length - 1];
      const latestFile = files.filter((f) => f.version === latest).at(-1)!;
      const meta = JSON.parse(latestFile.meta || '{}') as { description?: string };
      return {
        name,
        latestVersion: latest,
        versions: versions.length,
        files: files.length,
        arch: [...new Set(files.map((f) => f.arch).filter(Boolean))].sort(),
        size: files.reduce((n, f) => n + f.size, 0),
        updatedAt: new Date(Math.max(...files.map((f) => f.createdAt))).toISOString(),
        description: meta.description ?? '',
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function apiRouter(s: Services): Router {
  const r = express.Router();
  r.use(authenticatedJsonBody('1mb'));

  const loadRepo = async (req: Request, role: 'read' | 'write' | 'admin' = 'read'): Promise<{ provider: Provider; repo: RepoInfo }> => {
    const provider = getProvider(String(req.params.provider));
    const repo = await s.repos.authorized(provider.name, String(req.params.repo), req.principal, role, s.config.PUBLIC_READ);
    return { provider, repo };
  };

  const repoSummary = async (req: Request, repo: RepoInfo) => {
    const files = await s.packages.listFiles(repo);
    const scopes = await s.publisher.lastPublished(repo.id);
    return {
      provider: repo.provider,
      name: repo.name,
      url: repoUrl(s, req, repo.provider, repo.name),
      packages: new Set(files.map((f) => f.name)).size,
      files: files.length,
      size: files.reduce((n, f) => n + f.size, 0),
      lastPublished: scopes ? new Date(scopes).toISOString() : null,
      settings: repo.settings,
    };
  };

  r.get('/repos', asyncRoute(async (req, res) => {
    const all = (await s.repos.list()).filter((repo) => (s.config.PUBLIC_READ && repo.settings.private !== true) || TokenService.allows(req.principal, 'read', repo.name));
    const { limit, offset } = page(req);
    res.json({ total: all.length, limit, offset, repos: await Promise.all(all.slice(offset, offset + limit).map((repo) => repoSummary(req, repo))) });
  }));

  r.get('/repos/:provider/:repo', asyncRoute(async (req, res) => {
    const { repo } = await loadRepo(req);
    res.json(await repoSummary(req, repo));
  }));

  r.get('/repos/:provider/:repo/packages', asyncRoute(async (req, res) => {
    const { provider, repo } = await loadRepo(req);
    const q = typeof req.query.q === 'string' ? req.query.q.toLowerCase() : '';
    const all = summarize(provider, await s.packages.listFiles(repo)).filter((p) => !q || p.name.toLowerCase().includes(q) || p.description.toLowerCase().includes(q));
    const { limit, offset } = page(req);
    res.json({ total: all.length, limit, offset, packages: all.slice(offset, offset + limit) });
  }));

  r.get('/repos/:provider/:repo/packages/:name', asyncRoute(async (req, res) => {
    const { provider, repo } = await loadRepo(req);
    const rows = await s.packages.filesOf(repo, provider, String(req.params.name));
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
      total: versions.length,
      limit,
      offset,
      versions: versions.slice(offset, offset + limit).map((v) => ({
        version: v,
        files: rows.filter((f) => f.version === v).map((f) => ({ ...fileView(repo, f), url: `${base}/${f.path.split('/').map(encodeURIComponent).join('/')}`, meta: JSON.parse(f.meta || '{}') })),
      })),
    });
  }));

  r.delete('/repos/:provider/:repo/packages/:name/:version', asyncRoute(async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    const deleted = await s.packages.deleteVersion(repo, provider, String(req.params.name), String(req.params.version));
    res.json({ deleted });
  }));

  r.delete('/repos/:provider/:repo/packages/:name', asyncRoute(async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'admin');
    res.json({ deleted: await s.packages.deleteVersion(repo, provider, String(req.params.name)) });
  }));

  const yankBody = z.object({ reason: z.string().max(1000).optional() }).optional();
  r.post('/repos/:provider/:repo/packages/:name/:version/yank', asyncRoute(async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'write');
    const body = yankBody.safeParse(req.body);
    if (!body.success) throw new BadRequestError('body: {"reason": "<text>"} (optional)');
    res.json({ yanked: await s.packages.setYanked(repo, provider, String(req.params.name), String(req.params.version), body.data?.reason ?? '') });
  }));
  r.delete('/repos/:provider/:repo/packages/:name/:version/yank', asyncRoute(async (req, res) => {
    const { provider, repo } = await loadRepo(req, 'write');
    res.json({ unyanked: await s.packages.setYanked(repo, provider, String(req.params.name), String(req.params.version), null) });
  }));

  return r;
}
