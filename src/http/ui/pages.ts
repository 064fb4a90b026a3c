/**
 * View models of the UI pages: plain data the templates print (autoescaped). Kept apart
 * from the router so each page's content is one function of (services, request, params).
 */
import type { Request } from 'express';
import { downloadTotals, nameKeyOf, type CatalogFile, type PackageSummary, type SearchHit } from '../../core/catalog';
import { NotFoundError } from '../../core/errors';
import { findProvider } from '../../core/provider-registry';
import type { PackageMeta, Provider, RepoInfo, SetupSnippet } from '../../core/provider';
import type { Services } from '../../services';
import { TokenService } from '../../core/tokens';
import { baseUrl, repoUrl } from '../urls';
import { remoteService } from '../../core/remote/remote-service';
import { hostedMembers } from '../../core/virtual-indexes';
import { cliHelp } from './account-routes';
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

/** The page number asked for (`?page=`, from 1), before it is clamped to the pages there are. */
export function pageNumber(req: Request): number {
  // Capped so the offset it makes stays a whole number SQL takes; far past the end is the last page.
  return Math.min(Math.max(Number.parseInt(String(req.query.page ?? '1'), 10) || 1, 1), 1_000_000);
}

/** Pager of page `page` of `total` items; links keep the other query parameters. */
export function pager<T>(items: T[], total: number, page: number, req: Request, path: string, size = PAGE_SIZE): Pager<T> {
  const pages = Math.max(1, Math.ceil(total / size));
  const link = (p: number) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query)) if (k !== 'page' && typeof v === 'string') q.set(k, v);
    if (p > 1) q.set('page', String(p));
    const qs = q.toString();
    return qs ? `${path}?${qs}` : path;
  };
  return { items, total, page, pages, prev: page > 1 ? link(page - 1) : null, next: page < pages ? link(page + 1) : null };
}

/**
 * One page of a list whose total comes first: `load(offset, limit)` is asked for the
 * requested page and, when that is past the end, once more for the last page.
 */
export async function sqlPage<T>(req: Request, path: string, load: (p: { limit: number; offset: number }) => Promise<{ total: number; items: T[] }>): Promise<Pager<T>> {
  let page = pageNumber(req);
  let got = await load({ limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
  const pages = Math.max(1, Math.ceil(got.total / PAGE_SIZE));
  if (page > pages) {
    page = pages;
    got = await load({ limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
  }
  return pager(got.items, got.total, page, req, path);
}

/** One page of a list already in memory (search results: exact matching runs before paging). */
export function paginate<T>(all: T[], req: Request, path: string, size = PAGE_SIZE): Pager<T> {
  const page = Math.min(pageNumber(req), Math.max(1, Math.ceil(all.length / size)));
  return pager(all.slice((page - 1) * size, page * size), all.length, page, req, path, size);
}

/**
 * The repository named in a UI URL. An unknown provider is a 404 here (not the API's 400):
 * for a browser it is just a page that does not exist. A repository the visitor may not read
 * answers exactly like a missing one (RepoService.authorized): 401 to anonymous visitors, so
 * the browser prompts for basic auth (the token as password), 404 to signed-in ones.
 */
export async function requireRepo(s: Services, req: Request, providerName: string, repoName: string): Promise<{ provider: Provider; repo: RepoInfo }> {
  const provider = findProvider(providerName);
  if (!provider) throw new NotFoundError(`there is no repository format "${providerName}"`);
  const repo = await s.repos.authorized(provider.name, repoName, req.principal, 'read', s.config.PUBLIC_READ);
  return { provider, repo };
}

export function queryText(req: Request): string {
  const q = req.query.q;
  return typeof q === 'string' ? q.trim().slice(0, 200) : '';
}

export async function homeModel(s: Services, req: Request) {
  const repos = await sqlPage(req, '/', async (p) => {
    const { total, repos: page } = await s.catalog.listRepos(req.principal, p);
    const items = await Promise.all(
      page.map(async ({ repo: r, stats }) => {
        // A remote holds no uploads: its files and size are what it cached.
        const cached = r.kind === 'remote' ? await remoteService(s).cache.stats(r) : null;
        return {
          provider: r.provider,
          providerTitle: findProvider(r.provider)?.title ?? r.provider,
          name: r.name,
          kind: r.kind ?? 'hosted',
          href: uiPath(r.provider, r.name),
          packages: stats.packages,
          files: cached ? cached.files : stats.files,
          size: cached ? cached.size : stats.size,
          lastPublished: await s.publisher.lastPublished(r.id),
          lastUpload: stats.lastUpload,
        };
      }),
    );
    return { total, items };
  });
  return { repos, baseUrl: baseUrl(s, req), cli: cliHelp(s, req) };
}

export async function searchModel(s: Services, req: Request) {
  const q = queryText(req);
  const hits: SearchHit[] = q ? await s.catalog.search(await s.catalog.visibleRepos(req.principal), q) : [];
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

/**
 * A remote repository's part of its page (issue 14): upstream, options, cache figures and the
 * cached files with where each came from and when, paged like the package table (which a
 * remote does not show: it holds no uploads).
 */
async function remoteModel(s: Services, req: Request, provider: Provider, repo: RepoInfo, base: string) {
  const cfg = await remoteService(s).config(repo);
  const cache = await remoteService(s).cache.stats(repo);
  const listing = `/repo/${encodeURIComponent(provider.name)}/${encodeURIComponent(repo.name)}/`;
  const files = await sqlPage(req, base, async (p) => {
    const got = await remoteService(s).cache.list(repo, p);
    return { total: got.total, items: got.files.map((f) => ({ path: f.path, href: listing + f.path.split('/').map(encodeURIComponent).join('/'), kind: f.kind, size: f.size, sha256: f.sha256, origin: f.upstreamUrl, fetchedAt: f.fetchedAt, lastUsedAt: f.lastUsedAt })) };
  });
  const asked = cache.hits + cache.misses;
  return {
    upstream: cfg.upstream,
    options: { metadataTtl: cfg.remote.metadataTtl, offline: cfg.remote.offline, cacheMaxBytes: cfg.remote.cacheMaxBytes, timeoutSeconds: cfg.remote.timeoutSeconds },
    cache: { ...cache, hitRatio: asked ? Math.round((cache.hits / asked) * 100) : null },
    files,
  };
}

export async function repoModel(s: Services, req: Request, providerName: string, repoName: string) {
  const { provider, repo } = await requireRepo(s, req, providerName, repoName);
  const q = queryText(req);
  const base = uiPath(provider.name, repo.name);
  const kind = repo.kind ?? 'hosted';
  const remote = kind === 'remote' ? await remoteModel(s, req, provider, repo, base) : null;
  const members = kind === 'virtual' ? (repo.members ?? []).map((name) => ({ name, href: uiPath(provider.name, name) })) : [];
  const packages = await sqlPage(req, base, async (p) => {
    if (kind === 'virtual') {
      // What the virtual offers from its hosted members; each package links to the member it comes from first.
      const hosted = await hostedMembers(s.db.manager, provider.name, repo.members ?? []);
      const got = await s.catalog.memberPackages(provider, hosted, p, q);
      return { total: got.total, items: got.packages.map((pkg) => ({ ...pkg, href: uiPath(provider.name, pkg.members[0] ?? repo.name, pkg.name) })) };
    }
    const got = await s.catalog.packages(repo, p, q);
    return { total: got.total, items: got.packages.map((pkg: PackageSummary) => ({ ...pkg, href: uiPath(provider.name, repo.name, pkg.name) })) };
  });
  const stats = (await s.catalog.repoStats([repo.id])).get(repo.id) ?? { packages: 0, files: 0, size: 0, downloads: 0, lastDownloadedAt: null };
  return {
    provider: { name: provider.name, title: provider.title },
    kind,
    remote,
    members,
    repo: { name: repo.name, href: base, listing: `/repo/${encodeURIComponent(provider.name)}/${encodeURIComponent(repo.name)}/`, api: `/api/repos/${encodeURIComponent(provider.name)}/${encodeURIComponent(repo.name)}` },
    stats: { packages: stats.packages, files: stats.files, size: stats.size, downloads: stats.downloads, lastDownloadedAt: stats.lastDownloadedAt, lastPublished: await s.publisher.lastPublished(repo.id) },
    q,
    packages,
    plots: { size: `${base}/plots/size.svg`, uploads: `${base}/plots/uploads.svg`, downloads: `${base}/plots/downloads.svg` },
    setup: await setupSnippets(s, req, provider, repo),
    can: { upload: TokenService.allows(req.principal, 'write', repo.name), admin: TokenService.allows(req.principal, 'admin', repo.name) },
  };
}

function metaOf(f: CatalogFile): PackageMeta {
  try {
    return JSON.parse(f.meta || '{}') as PackageMeta;
  } catch {
    return {};
  }
}

export async function packageModel(s: Services, req: Request, providerName: string, repoName: string, name: string) {
  const { provider, repo } = await requireRepo(s, req, providerName, repoName);
  const rows = await s.catalog.filesOf(repo, name);
  if (rows.length === 0) throw new NotFoundError(`there is no package "${name}" in ${provider.name}/${repo.name}`);
  const versions = [...new Set(rows.map((f) => f.version))].sort((a, b) => provider.compareVersions(b, a));
  const filesOfVersion = versions.map((v) => rows.filter((f) => f.version === v));
  const metas = filesOfVersion.map((files) => metaOf(files[files.length - 1]));
  const dependsOf = (meta: PackageMeta) => (Array.isArray(meta.depends) ? meta.depends.filter((d): d is string => typeof d === 'string') : []);
  // Dependency links: one lookup of the named packages by name key, not of every name in the repository.
  const targets = await s.catalog.storedNames(repo, [...new Set(metas.flatMap(dependsOf))]);
  const depLink = (dep: string) => {
    const target = targets.get(nameKeyOf(provider, dep));
    return { name: dep, href: target ? uiPath(provider.name, repo.name, target) : null };
  };
  const installCtx = { repo, repoUrl: repoUrl(s, req, provider.name, repo.name), baseUrl: baseUrl(s, req) };
  const installOf = (f: CatalogFile, newest: boolean) =>
    provider.installCommand?.({ name: f.name, version: f.version, arch: f.arch, filename: f.filename, path: f.path, newest }, installCtx) ?? null;
  const versionViews = versions.map((v, i) => {
    const files = filesOfVersion[i];
    const meta = metas[i];
    const depends = dependsOf(meta);
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
      install: [...new Set(files.map((f) => installOf(f, i === 0)).filter((c): c is string => c !== null))],
      ...downloadTotals(files),
      files: files.map((f) => ({
        downloads: f.downloads ?? 0,
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
  // Long description and file list of one version (the newest, or ?files=<version>): read from its stored indexData.
  const shownIndex = Math.max(0, versions.indexOf(typeof req.query.files === 'string' ? req.query.files : ''));
  const shownFile = filesOfVersion[shownIndex][filesOfVersion[shownIndex].length - 1];
  const details = provider.packageDetails?.(await s.catalog.indexDataOf(repo, shownFile.id)) ?? {};
  return {
    provider: { name: provider.name, title: provider.title },
    repo: { name: repo.name, href: uiPath(provider.name, repo.name) },
    can: { yank: TokenService.allows(req.principal, 'write', repo.name), delete: TokenService.allows(req.principal, 'admin', repo.name) },
    details: { version: versions[shownIndex], arch: shownFile.arch, longDescription: details.longDescription ?? '', files: details.files ?? null },
    name: rows[rows.length - 1].name,
    latest: versionViews[0],
    versions: versionViews,
    ...downloadTotals(rows),
    plot: `${uiPath(provider.name, repo.name)}/plots/downloads.svg?package=${encodeURIComponent(rows[rows.length - 1].name)}`,
    api: `/api/repos/${encodeURIComponent(provider.name)}/${encodeURIComponent(repo.name)}/packages/${encodeURIComponent(name)}`,
  };
}
