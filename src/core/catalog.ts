/**
 * Every read of package files (and of repositories with their totals) outside publishing:
 * the JSON API, the web UI, the admin status, and package-service's deletes, yanks and
 * retention. One read rule (`canRead`), one light row type (`CatalogFile`: no pre-rendered
 * index entry, no attachments; entries can be MBs, pacman file lists) and one API view
 * (`fileView`). Totals are SQL aggregates and lists page in SQL; only where a format's own
 * version order is needed are the light rows of the packages on one page loaded.
 * The publisher's `loadEntries` and served-paths.ts keep their own queries (hot paths).
 */
import { In, type SelectQueryBuilder } from 'typeorm';
import type { Database } from '../db/database';
import { FileEntity, RepoEntity, type FileRow, type RepoRow } from '../db/entities';
import type { Provider, RepoInfo } from './provider';
import { canReadRepo } from './repo-service';
import { findProvider } from './provider-registry';
import { toRepoInfo } from './repo-service';
import type { Principal } from './tokens';
import { matches, nameKeyOf, summarize, type CatalogFile, type Page, type PackageSummary, type RepoStats, type RepoStatus, type SearchHit } from './catalog-views';

// The shapes and pure helpers live beside this file; importers keep one entry point.
export * from './catalog-views';

const LIGHT_COLUMNS = {
  id: true, repoId: true, name: true, nameKey: true, version: true, arch: true, filename: true, path: true,
  partition: true, size: true, sha256: true, meta: true, yanked: true, hidden: true, createdAt: true,
  downloads: true, lastDownloadedAt: true,
} as const;

/**
 * LIMIT/OFFSET are written into the SQL as numbers: whole, and below what both databases
 * take (`OFFSET 1e+30` or `1.5` is a syntax error). Past the end is simply an empty page.
 */
function sqlPage(page: Page): Page {
  const whole = (n: number, min: number, max: number) => Math.min(Math.max(Number.isFinite(n) ? Math.floor(n) : min, min), max);
  return { limit: whole(page.limit, 1, 1000), offset: whole(page.offset, 0, 2 ** 31 - 1) };
}

/** MySQL and SQLite both cap bound parameters: IN lists go in chunks. */
const CHUNK = 500;
const num = (v: unknown) => Number(v ?? 0);

/** LIKE pattern for a literal substring, '!' as the escape character (same syntax in SQLite, MySQL and PostgreSQL). */
function likePattern(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

export class Catalog {
  constructor(
    private readonly db: Database,
    private readonly publicRead: boolean,
  ) {}

  // ---- the read rule -------------------------------------------------------------------

  /**
   * PUBLIC_READ and not `private`, or a token with (at least) read on this repository: the one
   * rule (`canReadRepo`); a request for a repository it denies answers like a missing one
   * (`RepoService.authorized`).
   */
  canRead(principal: Principal | undefined, repo: RepoInfo): boolean {
    return canReadRepo(this.publicRead, principal, repo);
  }

  /**
   * `canRead` as SQL over `repos r`, so repository lists page in the database. Token
   * patterns are repository-name characters and `*` (TokenService.create), matched case-
   * sensitively like the JS glob: GLOB on SQLite, a binary LIKE on MySQL, LIKE on PostgreSQL
   * (case-sensitive there under every deterministic collation).
   */
  private whereReadable(qb: SelectQueryBuilder<RepoRow>, principal: Principal | undefined): SelectQueryBuilder<RepoRow> {
    if (principal && principal.repoPattern === '*') return qb;
    const kind = this.db.kind;
    const ors: string[] = [];
    const params: Record<string, string> = {};
    if (this.publicRead) {
      // `settings` is JSON text; `private` is a boolean when set (settings schema).
      ors.push(
        kind === 'mysql'
          ? "COALESCE(JSON_CONTAINS(r.settings, 'true', '$.private'), 0) = 0"
          : kind === 'postgres'
            ? "COALESCE(CAST(r.settings AS jsonb) -> 'private' = CAST('true' AS jsonb), false) = false"
            : "COALESCE(json_type(r.settings, '$.private'), '') <> 'true'",
      );
    }
    if (principal) {
      if (kind === 'sqlite') {
        ors.push('r.name GLOB :pattern');
        params.pattern = principal.repoPattern;
      } else {
        ors.push(kind === 'mysql' ? "CAST(r.name AS BINARY) LIKE :pattern ESCAPE '!'" : "r.name LIKE :pattern ESCAPE '!'");
        params.pattern = principal.repoPattern.replace(/[!%_]/g, (c) => `!${c}`).replace(/\*/g, '%');
      }
    }
    return qb.where(ors.length ? `(${ors.join(' OR ')})` : '1 = 0', params);
  }

  // ---- repositories --------------------------------------------------------------------

  /** Every repository `principal` may read, by provider and name. */
  async visibleRepos(principal: Principal | undefined): Promise<RepoInfo[]> {
    const qb = this.whereReadable(this.db.manager.getRepository(RepoEntity).createQueryBuilder('r'), principal);
    return (await qb.orderBy('r.provider', 'ASC').addOrderBy('r.name', 'ASC').getMany()).map(toRepoInfo);
  }

  /** One page of the readable repositories with their totals: three queries, whatever the repository sizes. */
  async listRepos(principal: Principal | undefined, asked: Page): Promise<{ total: number; repos: { repo: RepoInfo; stats: RepoStats }[] }> {
    const page = sqlPage(asked);
    const base = () => this.whereReadable(this.db.manager.getRepository(RepoEntity).createQueryBuilder('r'), principal);
    const total = await base().getCount();
    const rows = await base().orderBy('r.provider', 'ASC').addOrderBy('r.name', 'ASC').limit(page.limit).offset(page.offset).getMany();
    const stats = await this.repoStats(rows.map((r) => r.id));
    const empty: RepoStats = { packages: 0, files: 0, size: 0, lastUpload: null, downloads: 0, lastDownloadedAt: null };
    return { total, repos: rows.map((r) => ({ repo: toRepoInfo(r), stats: stats.get(r.id) ?? empty })) };
  }

  /** Totals per repository id, one aggregate query. */
  async repoStats(repoIds: number[]): Promise<Map<number, RepoStats>> {
    const out = new Map<number, RepoStats>();
    for (let i = 0; i < repoIds.length; i += CHUNK) {
      const rows = (await this.files()
        .select('f.repo_id', 'repoId')
        .addSelect('COUNT(DISTINCT f.name_key)', 'packages')
        .addSelect('COUNT(*)', 'files')
        .addSelect('SUM(f.size)', 'size')
        .addSelect('MAX(f.created_at)', 'lastUpload')
        .addSelect('SUM(f.downloads)', 'downloads')
        .addSelect('MAX(f.last_downloaded_at)', 'lastDownloadedAt')
        .where('f.repo_id IN (:...ids)', { ids: repoIds.slice(i, i + CHUNK) })
        .groupBy('f.repo_id')
        .getRawMany()) as Record<string, unknown>[];
      for (const r of rows) {
        out.set(num(r.repoId), {
          packages: num(r.packages), files: num(r.files), size: num(r.size), lastUpload: r.lastUpload === null ? null : num(r.lastUpload),
          downloads: num(r.downloads), lastDownloadedAt: r.lastDownloadedAt === null || r.lastDownloadedAt === undefined ? null : num(r.lastDownloadedAt),
        });
      }
    }
    return out;
  }

  /** The admin status figures, by aggregate queries. */
  async status(repo: RepoInfo): Promise<RepoStatus> {
    const totals = (await this.files()
      .select('COUNT(DISTINCT f.name_key)', 'packages')
      .addSelect('COUNT(*)', 'files')
      .addSelect('SUM(f.size)', 'size')
      .addSelect('SUM(CASE WHEN f.yanked IS NULL THEN 0 ELSE 1 END)', 'yanked')
      .where('f.repo_id = :id', { id: repo.id })
      .getRawOne()) as Record<string, unknown>;
    // COUNT(DISTINCT a, b) is MySQL only: count the distinct pairs in a derived table.
    // createParameter: `?` on SQLite and MySQL, `$1` on PostgreSQL.
    const versions = (await this.db.manager.query(
      `SELECT COUNT(*) AS n FROM (SELECT DISTINCT name_key, version FROM files WHERE repo_id = ${this.db.ds.driver.createParameter('id', 0)}) v`,
      [repo.id],
    )) as { n: unknown }[];
    // Packages per architecture (distinct names), as pacman's and apt's per-arch indexes count them.
    const arches = (await this.files()
      .select('f.arch', 'arch')
      .addSelect('COUNT(DISTINCT f.name_key)', 'packages')
      .where("f.repo_id = :id AND f.arch <> ''", { id: repo.id })
      .groupBy('f.arch')
      .getRawMany()) as { arch: string; packages: unknown }[];
    return {
      packages: num(totals.packages),
      versions: num(versions[0]?.n),
      files: num(totals.files),
      totalSize: num(totals.size),
      perArch: Object.fromEntries(arches.map((a) => [a.arch, num(a.packages)]).sort(([a], [b]) => String(a).localeCompare(String(b)))),
      yanked: num(totals.yanked),
    };
  }

  // ---- files -----------------------------------------------------------------------------

  /** Light rows of one package (every spelling of its name), oldest first: one indexed lookup by (repo_id, name_key). */
  async filesOf(repo: RepoInfo, name: string): Promise<CatalogFile[]> {
    return this.filesOfKeys(repo.id, [nameKeyOf(this.providerOf(repo), name)]);
  }

  /** The stored `indexData` of one file (package pages: long description, file list), null when none. Not in the light rows: it can be MBs. */
  async indexDataOf(repo: RepoInfo, fileId: number): Promise<unknown> {
    const row = await this.db.manager.getRepository(FileEntity).findOne({ select: { id: true, indexData: true }, where: { repoId: repo.id, id: fileId } });
    if (!row?.indexData) return null;
    return JSON.parse(row.indexData) as unknown;
  }

  /** Files of one version: the exact spelling, else a version equal by the format's order (PEP 440 1.0 == 1.0.0). */
  async versionFiles(repo: RepoInfo, name: string, version: string): Promise<CatalogFile[]> {
    const rows = await this.filesOf(repo, name);
    const exact = rows.filter((r) => r.version === version);
    if (exact.length) return exact;
    const provider = this.providerOf(repo);
    return rows.filter((r) => provider.compareVersions(r.version, version) === 0);
  }

  /** Light rows of a whole repository ordered by package then id (retention over every package). */
  async allFiles(repo: RepoInfo): Promise<CatalogFile[]> {
    return this.db.manager.getRepository(FileEntity).find({ select: LIGHT_COLUMNS, where: { repoId: repo.id }, order: { nameKey: 'ASC', id: 'ASC' } });
  }


  /** Upload time and size of every file: what the plots draw, two columns per row. */
  async uploads(repo: RepoInfo): Promise<{ createdAt: number; size: number }[]> {
    const rows = (await this.files().select('f.created_at', 'createdAt').addSelect('f.size', 'size').where('f.repo_id = :id', { id: repo.id }).orderBy('f.created_at', 'ASC').getRawMany()) as Record<string, unknown>[];
    return rows.map((r) => ({ createdAt: num(r.createdAt), size: num(r.size) }));
  }

  /** Which of `names` are packages of this repository: name key -> the stored name (dependency links). */
  async storedNames(repo: RepoInfo, names: string[]): Promise<Map<string, string>> {
    const provider = this.providerOf(repo);
    const keys = [...new Set(names.map((n) => nameKeyOf(provider, n)))];
    const out = new Map<string, string>();
    for (let i = 0; i < keys.length; i += CHUNK) {
      const rows = (await this.files()
        .select('f.name_key', 'nameKey')
        .addSelect('MAX(f.name)', 'name')
        .where('f.repo_id = :id AND f.name_key IN (:...keys)', { id: repo.id, keys: keys.slice(i, i + CHUNK) })
        .groupBy('f.name_key')
        .getRawMany()) as { nameKey: string; name: string }[];
      for (const r of rows) out.set(r.nameKey, r.name);
    }
    return out;
  }

  /**
   * One page of a repository's packages, by name key. Without `q` the page is cut in SQL
   * and only its packages' light rows are loaded (the newest version needs the format's
   * order). With `q` the database narrows the candidates and the exact match (name or the
   * newest version's description) runs on their light rows, so the page is cut after it.
   */
  async packages(repo: RepoInfo, asked: Page, q = ''): Promise<{ total: number; packages: PackageSummary[] }> {
    const page = sqlPage(asked);
    const provider = this.providerOf(repo);
    if (q) {
      const keys = (await this.candidateKeys([repo.id], q)).get(repo.id) ?? [];
      const hits = summarize(provider, await this.filesOfKeys(repo.id, keys.sort())).filter((p) => matches(p, q));
      return { total: hits.length, packages: hits.slice(page.offset, page.offset + page.limit) };
    }
    const total = num(((await this.files().select('COUNT(DISTINCT f.name_key)', 'n').where('f.repo_id = :id', { id: repo.id }).getRawOne()) as { n: unknown }).n);
    const keys = ((await this.files()
      .select('f.name_key', 'nameKey')
      .distinct(true)
      .where('f.repo_id = :id', { id: repo.id })
      .orderBy('f.name_key', 'ASC')
      .limit(page.limit)
      .offset(page.offset)
      .getRawMany()) as { nameKey: string }[]).map((r) => r.nameKey);
    return { total, packages: summarize(provider, await this.filesOfKeys(repo.id, keys)) };
  }

  /**
   * One page of what a virtual repository offers from its hosted `members` (in the virtual's
   * order), by name key. A name+version+arch that an earlier member holds hides a later
   * member's files of it: the rule the merged indexes follow (src/core/virtual-indexes.ts).
   * Each package names the members its shown files come from, first the one to link to.
   * Remote members store no file rows: their own pages list what they cached.
   */
  async memberPackages(provider: Provider, members: { id: number; name: string }[], asked: Page, q = ''): Promise<{ total: number; packages: (PackageSummary & { members: string[] })[] }> {
    const page = sqlPage(asked);
    const ids = members.map((m) => m.id);
    if (ids.length === 0) return { total: 0, packages: [] };
    const summarizeMembers = async (keys: string[]) => {
      const order = new Map(ids.map((id, i) => [id, i]));
      const rows = (await this.filesOfKeys(ids, keys)).sort((a, b) => order.get(a.repoId)! - order.get(b.repoId)!);
      const seen = new Set<string>();
      const shown = rows.filter((r) => {
        const k = `${r.nameKey}\0${r.version}\0${r.arch}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
      const rank = new Map(keys.map((k, i) => [k, i]));
      shown.sort((a, b) => rank.get(a.nameKey)! - rank.get(b.nameKey)! || order.get(a.repoId)! - order.get(b.repoId)! || a.id - b.id);
      const from = new Map<string, string[]>();
      for (const r of shown) {
        const names = from.get(r.nameKey) ?? from.set(r.nameKey, []).get(r.nameKey)!;
        const name = members[order.get(r.repoId)!].name;
        if (!names.includes(name)) names.push(name);
      }
      // summarize keeps first-seen key order: the i-th summary is the i-th distinct key of `shown`.
      const shownKeys = [...new Set(shown.map((r) => r.nameKey))];
      return summarize(provider, shown).map((p, i) => ({ ...p, members: from.get(shownKeys[i]) ?? [] }));
    };
    if (q) {
      const keys = [...new Set([...(await this.candidateKeys(ids, q)).values()].flat())].sort();
      const hits = (await summarizeMembers(keys)).filter((p) => matches(p, q));
      return { total: hits.length, packages: hits.slice(page.offset, page.offset + page.limit) };
    }
    const total = num(((await this.files().select('COUNT(DISTINCT f.name_key)', 'n').where('f.repo_id IN (:...ids)', { ids }).getRawOne()) as { n: unknown }).n);
    const keys = ((await this.files()
      .select('f.name_key', 'nameKey')
      .distinct(true)
      .where('f.repo_id IN (:...ids)', { ids })
      .orderBy('f.name_key', 'ASC')
      .limit(page.limit)
      .offset(page.offset)
      .getRawMany()) as { nameKey: string }[]).map((r) => r.nameKey);
    return { total, packages: await summarizeMembers(keys) };
  }

  /**
   * Packages whose name or newest description contains `q`, across `repos`. The database
   * narrows the candidates (name, or the JSON `meta` text as JSON.stringify writes it); the
   * exact test runs on their light rows. Exact names first, then prefixes, then other name
   * matches, then description-only matches.
   */
  async search(repos: RepoInfo[], q: string): Promise<SearchHit[]> {
    const needle = q.toLowerCase();
    if (!needle || repos.length === 0) return [];
    const byId = new Map(repos.map((r) => [r.id, r]));
    const hits: SearchHit[] = [];
    for (const [repoId, keys] of await this.candidateKeys([...byId.keys()], q)) {
      const repo = byId.get(repoId)!;
      for (const p of summarize(this.providerOf(repo), await this.filesOfKeys(repoId, keys))) {
        if (matches(p, q)) hits.push({ ...p, provider: repo.provider, repo: repo.name });
      }
    }
    const rank = (h: SearchHit) => {
      const n = h.name.toLowerCase();
      return n === needle ? 0 : n.startsWith(needle) ? 1 : n.includes(needle) ? 2 : 3;
    };
    return hits.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name) || a.provider.localeCompare(b.provider) || a.repo.localeCompare(b.repo));
  }

  /**
   * Name keys per repository whose name or meta text may contain `q`. SQLite's LOWER() folds
   * ASCII only, so a query with other characters skips the narrowing rather than miss a match.
   */
  private async candidateKeys(repoIds: number[], q: string): Promise<Map<number, string[]>> {
    const needle = q.toLowerCase();
    const out = new Map<number, string[]>();
    for (let i = 0; i < repoIds.length; i += CHUNK) {
      const qb = this.files()
        .select('f.repo_id', 'repoId')
        .addSelect('f.name_key', 'nameKey')
        .distinct(true)
        .where('f.repo_id IN (:...ids)', { ids: repoIds.slice(i, i + CHUNK) });
      // eslint-disable-next-line no-control-regex
      if (/^[\x20-\x7e]*$/.test(needle)) {
        qb.andWhere("(LOWER(f.name) LIKE :n ESCAPE '!' OR LOWER(f.meta) LIKE :m ESCAPE '!')", {
          n: likePattern(needle),
          m: likePattern(JSON.stringify(needle).slice(1, -1)),
        });
      }
      for (const c of (await qb.getRawMany()) as { repoId: unknown; nameKey: string }[]) {
        const id = num(c.repoId);
        (out.get(id) ?? out.set(id, []).get(id)!).push(c.nameKey);
      }
    }
    return out;
  }

  /** Light rows of the given name keys, grouped in the order of `keys`, oldest first within a key. */
  private async filesOfKeys(repoId: number | number[], keys: string[]): Promise<CatalogFile[]> {
    const rows: CatalogFile[] = [];
    const repos = Array.isArray(repoId) ? In(repoId) : repoId;
    for (let i = 0; i < keys.length; i += CHUNK) {
      rows.push(...(await this.db.manager.getRepository(FileEntity).find({ select: LIGHT_COLUMNS, where: { repoId: repos, nameKey: In(keys.slice(i, i + CHUNK)) }, order: { id: 'ASC' } })));
    }
    // The order of `keys` is the SQL page order; keep it whatever the collation sorts.
    const rank = new Map(keys.map((k, i) => [k, i]));
    return rows.sort((a, b) => (rank.get(a.nameKey) ?? 0) - (rank.get(b.nameKey) ?? 0) || a.id - b.id);
  }

  private files(): SelectQueryBuilder<FileRow> {
    return this.db.manager.getRepository(FileEntity).createQueryBuilder('f');
  }

  private providerOf(repo: RepoInfo): Provider {
    const p = findProvider(repo.provider);
    if (!p) throw new Error(`repository ${repo.provider}/${repo.name} has no provider`);
    return p;
  }
}
