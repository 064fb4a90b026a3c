/**
 * Client setup for an rpm repository: the `.repo` file (served by routes.ts and shown in the
 * UI), dnf/yum and zypper commands. Facts: docs/formats/rpm.md#repo-files. The baseurl names
 * no `$releasever`/`$basearch`: one repodata holds every architecture (dnf and zypper pick
 * theirs), and Debian has no `$releasever` at all.
 */
import type { InstallTarget, PackageDetails, RepoInfo, SetupContext, SetupSnippet } from '../../src/core/provider';
import { shellQuote } from '../../src/util/shell';
import type { RpmIndexData } from './metadata';
import { ROOT_PARTITION } from './layout';

/** dnf repository ids: letters, digits, `-_.:` (libdnf's ConfigParser); `+` becomes `_`. */
export function repoId(repoName: string, group: string): string {
  return (group ? `${repoName}-${group}` : repoName).replace(/[^A-Za-z0-9_.:-]/g, '_');
}

/** Path of the `.repo` file under the repository root. */
export function repoFilePath(repoName: string, group: string): string {
  return group ? `${group}/${repoName}-${group}.repo` : `${repoName}.repo`;
}

function packageKeys(repo: RepoInfo): string[] {
  const v = repo.settings.packageKeys;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * The `.repo` file. gpgcheck is always written: left out, Debian's dnf.conf (`gpgcheck=True`)
 * would refuse the unsigned packages most repositories hold. A private repository gets
 * `username`/`password` lines (dnf and zypper send them as HTTP basic auth) with a placeholder.
 */
export function repoFile(repo: RepoInfo, repoUrl: string, group: string): string {
  const gpgcheck = repo.settings.gpgcheck === true;
  const keys = [`${repoUrl}/pubkey`, ...(gpgcheck ? packageKeys(repo) : [])];
  const lines = [
    `[${repoId(repo.name, group)}]`,
    `name=${repo.name}${group ? ` (${group})` : ''} - artifactd`,
    `baseurl=${repoUrl}${group ? `/${group}` : ''}`,
    'type=rpm-md',
    'enabled=1',
    'repo_gpgcheck=1',
    `gpgcheck=${gpgcheck ? 1 : 0}`,
    `gpgkey=${keys.join(' ')}`,
  ];
  if (repo.settings.private === true) lines.push('username=token', 'password=<READ_TOKEN>');
  return lines.join('\n') + '\n';
}

export async function rpmSetup(ctx: SetupContext): Promise<SetupSnippet[]> {
  const groups = ctx.partitions.filter((p) => p !== ROOT_PARTITION).sort();
  const group = ctx.partitions.includes(ROOT_PARTITION) || groups.length === 0 ? '' : groups[0];
  const id = repoId(ctx.repo.name, group);
  // The root's `.repo` beside the repository (`/repo/rpm/<repo>.repo`), a group's inside it.
  const url = group ? `${ctx.repoUrl}/${repoFilePath(ctx.repo.name, group)}` : `${ctx.repoUrl}.repo`;
  const fpr = (await ctx.signer.openpgp()).fingerprint;
  const priv = ctx.repo.settings.private === true;
  const curlAuth = priv ? '-u token:<READ_TOKEN> ' : '';
  const snippets: SetupSnippet[] = [
    {
      title: `dnf / yum: /etc/yum.repos.d/${id}.repo${priv ? ' (then replace <READ_TOKEN> in it; keep it mode 0600)' : ''}`,
      language: 'shell',
      code: `sudo curl -fsSL ${curlAuth}${url} -o /etc/yum.repos.d/${id}.repo\n# or: sudo dnf config-manager --add-repo ${url}\nsudo dnf makecache   # accept the key ${fpr}\nsudo dnf install <package>`,
    },
    {
      title: 'zypper (openSUSE, SLES)',
      language: 'shell',
      code: `sudo zypper addrepo ${priv ? `'${ctx.repoUrl.replace('://', '://token:<READ_TOKEN>@')}${group ? `/${group}` : ''}' ${id}` : url}\nsudo zypper --gpg-auto-import-keys refresh   # key ${fpr}\nsudo zypper install <package>`,
    },
    { title: `${id}.repo`, language: 'ini', code: repoFile(ctx.repo, ctx.repoUrl, group) },
  ];
  if (groups.length > (group ? 1 : 0)) {
    snippets.push({
      title: 'Other groups of this repository (one repodata/ each)',
      language: 'shell',
      code: groups.filter((g) => g !== group).map((g) => `sudo curl -fsSL ${curlAuth}${ctx.repoUrl}/${repoFilePath(ctx.repo.name, g)} -o /etc/yum.repos.d/${repoId(ctx.repo.name, g)}.repo`).join('\n'),
    });
  }
  return snippets;
}

/**
 * `dnf install name-[epoch:]version-release` names exactly this build (dnf's NEVRA forms);
 * a source rpm is fetched with `dnf download --source`.
 */
export function rpmInstallCommand(pkg: InstallTarget): string {
  if (pkg.arch === 'src') return `dnf download --source ${shellQuote(`${pkg.name}-${pkg.version}`)}`;
  return `sudo dnf install ${shellQuote(`${pkg.name}-${pkg.version}`)}`;
}

/** The description and the file list, both stored at upload (primary.xml and filelists.xml need them). */
export function rpmPackageDetails(indexData: unknown): PackageDetails {
  const data = indexData as Partial<RpmIndexData> | null;
  return {
    ...(data?.description ? { longDescription: data.description } : {}),
    ...(Array.isArray(data?.files) ? { files: data.files.map((f) => f.path) } : {}),
  };
}
