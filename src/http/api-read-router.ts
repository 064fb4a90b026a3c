/**
 * Read API additions next to api-router.ts: one version's files, search across repositories,
 * and the OpenAPI document describing every /api route.
 */
import express, { type Request, type Router } from 'express';
import { BadRequestError, NotFoundError } from '../core/errors';
import { downloadTotals, fileView } from '../core/catalog';
import { getProvider } from '../core/provider-registry';
import type { Services } from '../services';
import { page } from './paging';
import { openApiDocument } from './openapi';
import { uiPath } from './ui/format';
import { baseUrl, repoUrl } from './urls';

export function apiReadRouter(s: Services): Router {
  const r = express.Router();

  r.get('/openapi.json', (req, res) => {
    res.json(openApiDocument(baseUrl(s, req)));
  });

  r.get('/search', async (req, res) => {
    const q = typeof req.query.q === 'string' ? req.query.q.trim() : '';
    if (!q) throw new BadRequestError('search needs a query: /api/search?q=<text>');
    if (q.length > 200) throw new BadRequestError('the search query is longer than 200 characters');
    // Exact matching needs each candidate's newest description, so the page is cut after it.
    const hits = await s.catalog.search(await s.catalog.visibleRepos(req.principal), q);
    const { limit, offset } = page(req);
    const base = baseUrl(s, req);
    res.json({
      q,
      total: hits.length,
      limit,
      offset,
      results: hits.slice(offset, offset + limit).map((h) => ({
        ...h,
        api: `${base}/api/repos/${encodeURIComponent(h.provider)}/${encodeURIComponent(h.repo)}/packages/${encodeURIComponent(h.name)}`,
        page: `${base}${uiPath(h.provider, h.repo, h.name)}`,
      })),
    });
  });

  r.get('/repos/:provider/:repo/packages/:name/versions/:version', async (req: Request, res) => {
    const provider = getProvider(String(req.params.provider));
    const repo = await s.repos.authorized(provider.name, String(req.params.repo), req.principal, 'read', s.config.PUBLIC_READ);
    const name = String(req.params.name);
    const version = String(req.params.version);
    const rows = await s.catalog.versionFiles(repo, name, version);
    if (rows.length === 0) throw new NotFoundError(`${name} ${version} is not in ${provider.name}/${repo.name}`);
    const root = repoUrl(s, req, provider.name, repo.name);
    res.json({
      provider: provider.name,
      repo: repo.name,
      name: rows[0].name,
      version,
      ...downloadTotals(rows),
      files: rows.map((f) => ({ ...fileView(repo, f), url: `${root}/${f.path.split('/').map(encodeURIComponent).join('/')}`, meta: JSON.parse(f.meta || '{}') })),
    });
  });

  return r;
}
