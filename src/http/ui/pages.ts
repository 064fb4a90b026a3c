/**
 * View models of the UI pages: plain data the templates print (autoescaped). Kept apart
 * from the router so each page's content is one function of (services, request, params).
 */
import type { Request } from 'express';
import { NotFoundError } from '../../core/errors';
import { findProvider } from '../../core/provider-registry';
import type { PackageMeta, Provider, RepoInfo, SetupSnippet } from '../../core/provider';
import type { FileRow } from '../../db/entities';
import type { Services } from '../../services';
import { summarize, type PackageSummary } from '../api-router';
import { baseUrl, repoUrl } from '../urls';
import { distinctNames, lightFiles, matches, packageFiles, repoStats, requireRepo, search, visibleRepos, type SearchHit } from './catalog';
import { filePath, licenseText, safeHttpUrl, uiPath } from './format';

export const PAGE_SIZE = 50;

export interface Pager<T> {
  items: T[];
  total: number;
  page: number;
  pages: number;
  prev: string | null;
  next: string | null;
}

/** One page of `all`; links keep the other query parameters. */
export function paginate<T>(all: T[], req: Request, path: string, size = PAGE_SIZE): Pager<T> {
  const pages = Math.max(1, Math.ceil(all.length / size));
  const page = Math.min(Math.max(Number.parseInt(String(req.query.page ?? '1'), 10) || 1, 1), pages);
  const link = (p: number) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query)) if (k !== 'page' && typeof v === 'string') q.set(k, v);
    if (p > 1) q.set('page', String(p));
    const qs = q.toString();
    return qs ? `${path}?${qs}` : path;
  };
  return { items: all.slice((page - 1) * size, page * size), total: all.length, page, pages, prev: page > 1 ? link(page - 1) : null, next: page < pages ? link(page + 1) : null };
}

export function queryText(req: Request): string {
  const q = req.query.q;
  return typeof q === 'string' ? q.trim().slice(0, 200) : '';
}

export async function homeModel(s: Services, req: Request) {
  const repos = await visibleRepos(s, req);
  const stats = await repoStats(s, repos.map((r) => r.id));
  const rows = await Promise.all(
    repos.map(async (r) => {
      const st = stats.get(r.id);
      const last = await s.publisher.lastPublished(r.id);
      return {
        provider: r.provider,
        providerTitle: findProvider(r.provider)?.title ?? r.provider,
        name: r.name,
        href: uiPath(r.provider, r.name),
        packages: st?.packages ?? 0,
        files: st?.files ?? 0,
        size: st?.size ?? 0,
        lastPublished: last,
        lastUpload: st?.lastUpload ?? null,
      };
    }),
  );
  return { repos: rows, baseUrl: baseUrl(s, req) };
}

export async function searchModel(s: Services, req: Request) {
  const q = queryText(req);
  const hits: SearchHit[] = q ? await search(s, await visibleRepos(s, req), q) : [];
  const results = paginate(hits.map((h) => ({ ...h, href: uiPath(h.provider, h.repo, h.name), repoHref: uiPath(h.provider, h.repo) })), req, '/search');
  return { q, results };
}

async function setupSnippets(s: Services, req: Request, provider: Provider, repo: RepoInfo): Promise<{ snippets: SetupSnippet[]; error: string | null }> {
  const ctx = s.publisher.scopeContext(repo);
  try {
    const snippets = await provider.setup({
      repo: ctx.repo,
      repoUrl: repoUrl(s, req, provider.name, repo.name),
      baseUrl: baseUrl(s, req),
      signer: s.keys.signerFor(repo),
      partitions: await ctx.partitions(),
    });
    return { snippets, error: null };
  } catch (e) {
    req.log.error('setup snippets failed', { repo: `${provider.name}/${repo.name}`, error: (e as Error)?.stack ?? String(e) });
    return { snippets: [], error: 'The setup instructions could not be generated; the server log has the details.' };
  }
}

export async function repoModel(s: Services, req: Request, providerName: string, repoName: string) {
  const { provider, repo } = await requireRepo(s, req, providerName, repoName);
  const files = await lightFiles(s, repo.id);
  const q = queryText(req);
  const all = summarize(provider, files);
  const base = uiPath(provider.name, repo.name);
  const shown = q ? all.filter((p) => matches(p, q)) : all;
  const packages = paginate(shown.map((p: PackageSummary) => ({ ...p, href: uiPath(provider.name, repo.name, p.name) })), req, base);
  return {
    provider: { name: provider.name, title: provider.title },
    repo: { name: repo.name, href: base, listing: `/repo/${encodeURIComponent(provider.name)}/${encodeURIComponent(repo.name)}/`, api: `/api/repos/${encodeURIComponent(provider.name)}/${encodeURIComponent(repo.name)}` },
    stats: { packages: all.length, files: files.length, size: files.reduce((n, f) => n + f.size, 0), lastPublished: await s.publisher.lastPublished(repo.id) },
    q,
    packages,
    plots: { size: `${base}/plots/size.svg`, uploads: `${base}/plots/uploads.svg` },
    setup: await setupSnippets(s, req, provider, repo),
  };
}

function metaOf(f: FileRow): PackageMeta {
  try {
    return JSON.parse(f.meta || '{}') as PackageMeta;
  } catch {
    return {};
  }
}

export async function packageModel(s: Services, req: Request, providerName: string, repoName: string, name: string) {
  const { provider, repo } = await requireRepo(s, req, providerName, repoName);
  const rows = await packageFiles(s, provider, repo, name);
  if (rows.length === 0) throw new NotFoundError(`there is no package "${name}" in ${provider.name}/${repo.name}`);
  const names = await distinctNames(s, repo.id);
  const same = provider.namesMatch ?? ((a: string, b: string) => a === b);
  const depLink = (dep: string) => {
    const target = names.find((n) => same(n, dep));
    return { name: dep, href: target ? uiPath(provider.name, repo.name, target) : null };
  };
  const versions = [...new Set(rows.map((f) => f.version))].sort((a, b) => provider.compareVersions(b, a));
  const versionViews = versions.map((v, i) => {
    const files = rows.filter((f) => f.version === v);
    const meta = metaOf(files[files.length - 1]);
    const depends = Array.isArray(meta.depends) ? meta.depends.filter((d): d is string => typeof d === 'string') : [];
    return {
      version: v,
      anchor: `v-${i}`,
      newest: i === 0,
      description: typeof meta.description === 'string' ? meta.description : '',
      license: licenseText(meta.license),
      url: typeof meta.url === 'string' ? meta.url : '',
      urlHref: safeHttpUrl(meta.url),
      depends: depends.map(depLink),
      // A version is shown as yanked/hidden when all its files are.
      yanked: files.every((f) => f.yanked !== null) ? (files.find((f) => f.yanked)?.yanked ?? '') : null,
      hidden: files.every((f) => f.hidden),
      files: files.map((f) => ({
        filename: f.filename,
        arch: f.arch,
        size: f.size,
        sha256: f.sha256,
        uploadedAt: f.createdAt,
        href: filePath(provider.name, repo.name, f.path),
        yanked: f.yanked,
        hidden: f.hidden,
      })),
    };
  });
  return {
    provider: { name: provider.name, title: provider.title },
    repo: { name: repo.name, href: uiPath(provider.name, repo.name) },
    name: rows[rows.length - 1].name,
    latest: versionViews[0],
    versions: versionViews,
    api: `/api/repos/${encodeURIComponent(provider.name)}/${encodeURIComponent(repo.name)}/packages/${encodeURIComponent(name)}`,
  };
}
