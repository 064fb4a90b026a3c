/**
 * Publishing: the stored pages of one scope. Scopes are `root` (the project list) and
 * `project/<normalized>` (one project's files); each page is stored once in both
 * serialisations and picked per request by `rewrite` (content negotiation).
 */
import type { EntryRow, IndexFile, PublishContext } from '../../src/core/provider';
import { readEntry } from './entry';
import { isNormalizedName } from './names';
import { HTML_TYPE, JSON_TYPE, type PageFile, type ProjectPage, renderProjectHtml, renderProjectJson, renderRootHtml, renderRootJson } from './render';
import { compareVersionStrings } from './version';

export const ROOT_SCOPE = 'root';
export const projectScope = (normalized: string) => `project/${normalized}`;

/**
 * File URLs are root-relative (`/repo/pypi/<repo>/files/...`): the same stored page is served
 * at `<repo>/<name>/` and at `<repo>/simple/<name>/`, where a relative URL would resolve to two
 * different places, and an absolute one would tie the page to one BASE_URL.
 */
export function fileUrl(repoName: string, path: string): string {
  return `/repo/pypi/${encodeURIComponent(repoName)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

export function pageFile(row: EntryRow, repoName: string): PageFile {
  const stored = readEntry(row.entry, row.filename);
  return {
    ...stored,
    url: fileUrl(repoName, row.path),
    // EntryRow.yanked: null = not yanked, '' = yanked without a reason
    yanked: row.yanked === null ? false : row.yanked === '' ? true : row.yanked,
    'upload-time': row.createdAt.toISOString(),
  };
}

/** Files ordered by version (PEP 440), then file name: stable output for identical input. */
export function projectPage(normalized: string, rows: EntryRow[], repoName: string): ProjectPage {
  // Sort the distinct versions once, then the rows by their version's rank.
  const versions = [...new Set(rows.map((r) => r.version))].sort(compareVersionStrings);
  const rank = new Map(versions.map((v, i) => [v, i]));
  const sorted = [...rows].sort((a, b) => rank.get(a.version)! - rank.get(b.version)! || (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
  return { name: normalized, versions, files: sorted.map((r) => pageFile(r, repoName)) };
}

export async function buildIndex(ctx: PublishContext): Promise<IndexFile[]> {
  if (ctx.scope === ROOT_SCOPE) {
    // Every upload republishes the root (a new project must appear, a deleted one go), so it
    // is built from the distinct partitions (one index-only query) rather than from every
    // stored row of the repository. The names listed are therefore the normalized ones;
    // PEP 503/691 only ask for the project's name, and installers never read this page.
    const projects = (await ctx.partitions()).map((normalized) => ({ name: normalized, normalized }));
    return [
      { path: 'simple/index.html', data: Buffer.from(renderRootHtml(projects)), contentType: HTML_TYPE },
      { path: 'simple/index.json', data: Buffer.from(renderRootJson(projects)), contentType: JSON_TYPE },
    ];
  }
  const normalized = ctx.scope.startsWith('project/') ? ctx.scope.slice('project/'.length) : '';
  if (!isNormalizedName(normalized)) throw new Error(`pypi: unknown index scope "${ctx.scope}"`);
  const rows = await ctx.entries([normalized]);
  // A project without files does not exist for clients: publish nothing, so its page 404s
  // like PyPI's does, instead of an empty page that makes pip say "no versions".
  if (rows.length === 0) return [];
  const page = projectPage(normalized, rows, ctx.repo.name);
  return [
    { path: `simple/${normalized}/index.html`, data: Buffer.from(renderProjectHtml(page)), contentType: HTML_TYPE },
    { path: `simple/${normalized}/index.json`, data: Buffer.from(renderProjectJson(page)), contentType: JSON_TYPE },
  ];
}
