/**
 * Read-side queries shared by the web UI and the read JSON API: which repositories a request
 * may see, per-repository totals, light file rows (no pre-rendered index entries, which can be
 * large: pacman file lists, apt stanzas) and search over package names and descriptions.
 */
import type { Request } from 'express';
import { In } from 'typeorm';
import { NotFoundError } from '../../core/errors';
import type { Provider, RepoInfo } from '../../core/provider';
import { findProvider } from '../../core/provider-registry';
import { canReadRepo } from '../../core/repo-service';
import { FileEntity, type FileRow } from '../../db/entities';
import type { Services } from '../../services';
import { summarize, type PackageSummary } from '../api-router';

/** The columns the UI and API need; `entry` and `attachments` stay in the database. */
const LIGHT_COLUMNS = {
  id: true, repoId: true, name: true, version: true, arch: true, filename: true, path: true,
  partition: true, size: true, sha256: true, meta: true, yanked: true, hidden: true, createdAt: true,
} as const;

export function canRead(s: Services, req: Request, repo: RepoInfo): boolean {
  return canReadRepo(s.config.PUBLIC_READ, req.principal, repo);
}

export async function visibleRepos(s: Services, req: Request): Promise<RepoInfo[]> {
  return (await s.repos.list()).filter((r) => canRead(s, req, r));
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

export interface RepoStats {
  packages: number;
  files: number;
  size: number;
  lastUpload: number | null;
}

/** Totals per repository id, one aggregate query. */
export async function repoStats(s: Services, repoIds: number[]): Promise<Map<number, RepoStats>> {
  const out = new Map<number, RepoStats>();
  if (repoIds.length === 0) return out;
  const rows = (await s.db.manager
    .getRepository(FileEntity)
    .createQueryBuilder('f')
    .select('f.repo_id', 'repoId')
    .addSelect('COUNT(DISTINCT f.name)', 'packages')
    .addSelect('COUNT(*)', 'files')
    .addSelect('SUM(f.size)', 'size')
    .addSelect('MAX(f.created_at)', 'lastUpload')
    .where('f.repo_id IN (:...ids)', { ids: repoIds })
    .groupBy('f.repo_id')
    .getRawMany()) as { repoId: number | string; packages: number | string; files: number | string; size: number | string | null; lastUpload: number | string | null }[];
  for (const r of rows) {
    out.set(Number(r.repoId), { packages: Number(r.packages), files: Number(r.files), size: Number(r.size ?? 0), lastUpload: r.lastUpload === null ? null : Number(r.lastUpload) });
  }
  return out;
}

/** File rows of a repository (optionally only some package names), oldest first, without index entries. */
export async function lightFiles(s: Services, repoId: number, names?: string[]): Promise<FileRow[]> {
  const repo = s.db.manager.getRepository(FileEntity);
  if (!names) return repo.find({ select: LIGHT_COLUMNS, where: { repoId }, order: { id: 'ASC' } });
  const out: FileRow[] = [];
  // Chunked: MySQL and SQLite both cap the number of bound parameters.
  for (let i = 0; i < names.length; i += 500) {
    out.push(...(await repo.find({ select: LIGHT_COLUMNS, where: { repoId, name: In(names.slice(i, i + 500)) }, order: { id: 'ASC' } })));
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Files of one package, with the provider's name matching (PyPI normalizes names). */
export async function packageFiles(s: Services, provider: Provider, repo: RepoInfo, name: string): Promise<FileRow[]> {
  if (!provider.namesMatch) return lightFiles(s, repo.id, [name]);
  const names = (await distinctNames(s, repo.id)).filter((n) => provider.namesMatch!(n, name));
  return names.length ? lightFiles(s, repo.id, names) : [];
}

export async function distinctNames(s: Services, repoId: number): Promise<string[]> {
  const rows = (await s.db.manager
    .getRepository(FileEntity)
    .createQueryBuilder('f')
    .select('DISTINCT f.name', 'name')
    .where('f.repo_id = :repoId', { repoId })
    .getRawMany()) as { name: string }[];
  return rows.map((r) => r.name).sort();
}

/** Case-insensitive substring match on a package's name or (newest) description. */
export function matches(p: PackageSummary, q: string): boolean {
  const needle = q.toLowerCase();
  return p.name.toLowerCase().includes(needle) || p.description.toLowerCase().includes(needle);
}

export interface SearchHit extends PackageSummary {
  provider: string;
  repo: string;
}

/** LIKE pattern for a literal substring, '!' as the escape character (same syntax in SQLite and MySQL). */
function likePattern(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/**
 * Packages whose name or description contains `q`, across the given repositories. The
 * database narrows the candidates (name, or the JSON `meta` text in the form JSON.stringify
 * writes it); the exact test then runs on the parsed rows. SQLite's LOWER() folds ASCII only,
 * so a query with other letters skips the narrowing rather than miss a match.
 */
export async function search(s: Services, repos: RepoInfo[], q: string): Promise<SearchHit[]> {
  const needle = q.toLowerCase();
  if (!needle || repos.length === 0) return [];
  const byId = new Map(repos.map((r) => [r.id, r]));
  const qb = s.db.manager
    .getRepository(FileEntity)
    .createQueryBuilder('f')
    .select('f.repo_id', 'repoId')
    .addSelect('f.name', 'name')
    .distinct(true)
    .where('f.repo_id IN (:...ids)', { ids: [...byId.keys()] });
  // eslint-disable-next-line no-control-regex
  if (/^[\x20-\x7e]*$/.test(needle)) {
    qb.andWhere("(LOWER(f.name) LIKE :n ESCAPE '!' OR LOWER(f.meta) LIKE :m ESCAPE '!')", {
      n: likePattern(needle),
      m: likePattern(JSON.stringify(needle).slice(1, -1)),
    });
  }
  const candidates = (await qb.getRawMany()) as { repoId: number | string; name: string }[];
  const namesByRepo = new Map<number, string[]>();
  for (const c of candidates) namesByRepo.set(Number(c.repoId), [...(namesByRepo.get(Number(c.repoId)) ?? []), c.name]);
  const hits: SearchHit[] = [];
  for (const [repoId, names] of namesByRepo) {
    const repo = byId.get(repoId);
    const provider = repo && findProvider(repo.provider);
    if (!repo || !provider) continue;
    for (const p of summarize(provider, await lightFiles(s, repoId, names))) {
      if (matches(p, q)) hits.push({ ...p, provider: repo.provider, repo: repo.name });
    }
  }
  // Exact names first, then name prefixes, then other name matches, then description-only matches.
  const rank = (h: SearchHit) => {
    const n = h.name.toLowerCase();
    return n === needle ? 0 : n.startsWith(needle) ? 1 : n.includes(needle) ? 2 : 3;
  };
  return hits.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name) || a.provider.localeCompare(b.provider) || a.repo.localeCompare(b.repo));
}
