/** Browsing and changing packages: list, info, delete, yank, unyank. */
import { noMoreArgs, packageRef, resolveRepo, type Command, type Ctx } from '../context';
import { repoPath } from '../http';
import { when } from '../output';
import { humanSize } from '../progress';

interface RepoSummary {
  provider: string;
  name: string;
  packages: number;
  files: number;
  size: number;
  lastPublished: string | null;
  url: string;
}

/** The API's shapes: type-only imports, so the CLI shares the server's definitions without loading it. */
type PackageSummary = import('../../http/api-router').PackageSummary;

export type PackageFile = import('../../core/package-service').StoredFileView & { url: string };

export interface PackageInfo {
  name: string;
  provider: string;
  repo: string;
  latestVersion: string;
  downloads: number;
  lastDownloadedAt: string | null;
  versions: { version: string; downloads: number; lastDownloadedAt: string | null; files: PackageFile[] }[];
}

const pkgPath = (provider: string, repo: string, ...parts: string[]) => `${repoPath(provider, repo)}/packages/${parts.map(encodeURIComponent).join('/')}`;

/** Every page of a paged listing (the API caps a page at 1000). */
async function allPages<T>(ctx: Ctx, path: string, key: string): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await ctx.api().json<Record<string, unknown> & { total: number }>('GET', `${path}${path.includes('?') ? '&' : '?'}limit=1000&offset=${offset}`);
    out.push(...((page[key] as T[]) ?? []));
    if (out.length >= page.total || ((page[key] as T[]) ?? []).length === 0) return out;
  }
}

export const listCommand: Command = {
  name: 'list',
  summary: 'list repositories, or the packages of one repository',
  usage: `rpcli list                      repositories this token can see
rpcli list <repo> [-y <provider>] packages of a repository (also: -r <repo>)`,
  options: ['repo', 'provider'],
  async run(ctx) {
    noMoreArgs(ctx, 1);
    if (!ctx.values.repo && ctx.args.length === 0) {
      const repos = await allPages<RepoSummary>(ctx, '/api/repos', 'repos');
      if (ctx.out.json) return ctx.out.data({ repos });
      if (repos.length === 0) return ctx.out.note('no repositories yet');
      ctx.out.table([['PROVIDER', 'REPO', 'PACKAGES', 'FILES', 'SIZE', 'LAST PUBLISHED'], ...repos.map((r) => [r.provider, r.name, String(r.packages), String(r.files), humanSize(r.size), when(r.lastPublished)])]);
      return;
    }
    const { provider, repo } = await resolveRepo(ctx, ctx.args[0]);
    const packages = await allPages<PackageSummary>(ctx, `${repoPath(provider, repo)}/packages`, 'packages');
    if (ctx.out.json) return ctx.out.data({ provider, repo, packages });
    if (packages.length === 0) return ctx.out.note(`${provider}/${repo} has no packages`);
    ctx.out.table([['NAME', 'LATEST', 'VERSIONS', 'ARCH', 'SIZE', 'UPDATED'], ...packages.map((p) => [p.name, p.latestVersion, String(p.versions), p.arch.join(',') || '-', humanSize(p.size), when(p.updatedAt)])]);
  },
};

export const infoCommand: Command = {
  name: 'info',
  summary: 'show one package: versions, files, checksums, URLs',
  usage: 'rpcli info <package> -r <repo> [-y <provider>]     (or -p <package>)',
  options: ['repo', 'provider', 'name'],
  async run(ctx) {
    const { name } = packageRef(ctx, 'info', 'none');
    const { provider, repo } = await resolveRepo(ctx);
    const info = await ctx.api().json<PackageInfo>('GET', pkgPath(provider, repo, name));
    if (ctx.out.json) return ctx.out.data(info);
    const downloads = (n: number, last: string | null) => `${n} download${n === 1 ? '' : 's'}${last ? `, last ${when(last)}` : ''}`;
    ctx.out.line(`${info.name} in ${info.provider}/${info.repo}, latest ${info.latestVersion}, ${downloads(info.downloads, info.lastDownloadedAt)}`);
    for (const v of info.versions) {
      ctx.out.line(`  ${v.version} (${downloads(v.downloads, v.lastDownloadedAt)})`);
      for (const f of v.files) {
        const flags = [f.arch, humanSize(f.size), `${f.downloads} download${f.downloads === 1 ? '' : 's'}`, f.yanked !== null ? `yanked${f.yanked ? `: ${f.yanked}` : ''}` : ''].filter(Boolean).join(', ');
        ctx.out.line(`    ${f.filename} (${flags})`);
        ctx.out.line(`      sha256 ${f.sha256}`);
        ctx.out.line(`      ${f.url}`);
      }
    }
  },
};

export const deleteCommand: Command = {
  name: 'delete',
  summary: 'delete one version of a package, or every version (admin)',
  usage: `rpcli delete <package> <version> -r <repo> [-y <provider>]   one version (all its files)
rpcli delete <package> -r <repo> [-y <provider>]             every version
rpcli delete -p <package> [-i <version>] -r <repo> ...        the same, with upload's flags`,
  options: ['repo', 'provider', 'name', 'version'],
  async run(ctx) {
    const { name, version } = packageRef(ctx, 'delete', 'optional');
    const { provider, repo } = await resolveRepo(ctx);
    const res = await ctx.api().json<{ deleted: number }>('DELETE', version === undefined ? pkgPath(provider, repo, name) : pkgPath(provider, repo, name, version));
    if (ctx.out.json) return ctx.out.data({ provider, repo, name, version: version ?? null, ...res });
    ctx.out.line(`deleted ${name}${version ? ` ${version}` : ' (every version)'} from ${provider}/${repo}: ${res.deleted} file(s)`);
  },
};

function yankCommand(undo: boolean): Command {
  const name = undo ? 'unyank' : 'yank';
  return {
    name,
    summary: undo ? 'undo a yank' : 'yank a version (PyPI: PEP 592 mark; other formats: leaves the index, file stays downloadable)',
    usage: `rpcli ${name} <package> <version> -r <repo> [-y <provider>]${undo ? '' : ' [--reason <text>]'}
rpcli ${name} -p <package> -i <version> -r <repo> ...   the same, with upload's flags`,
    options: undo ? ['repo', 'provider', 'name', 'version'] : ['repo', 'provider', 'name', 'version', 'reason'],
    async run(ctx) {
      const ref = packageRef(ctx, name, 'required');
      const pkg = ref.name;
      const version = ref.version!;
      const { provider, repo } = await resolveRepo(ctx);
      const path = `${pkgPath(provider, repo, pkg, version)}/yank`;
      const res = undo ? await ctx.api().json('DELETE', path) : await ctx.api().json('POST', path, { reason: ctx.values.reason ?? '' });
      if (ctx.out.json) return ctx.out.data({ provider, repo, name: pkg, version, ...res });
      ctx.out.line(`${undo ? 'unyanked' : 'yanked'} ${pkg} ${version} in ${provider}/${repo}`);
    },
  };
}

export const yank = yankCommand(false);
export const unyank = yankCommand(true);
