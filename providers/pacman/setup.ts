/**
 * Client setup shown in the UI/README: trust the repository key (pacman-key --add and
 * --lsign-key, needed for SigLevel's default TrustedOnly, docs/formats/pacman.md#signatures), then the
 * pacman.conf section. `$arch` is expanded by pacman from its Architecture option (docs/formats/pacman.md#repository-layout).
 * For a private repository the read token goes into the key download and the Server URL.
 */
import type { InstallContext, InstallTarget, PackageDetails, SetupContext, SetupSnippet } from '../../src/core/provider';
import { shellQuote } from '../../src/util/shell';

/** `scheme://token:<TOKEN>@host/...`: pacman (libcurl) sends basic auth from the Server URL. */
function withToken(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)/i, '$1token:<TOKEN>@');
}

/** A remote passes the upstream's signed dbs through: its sections are the upstream's repository names. */
function remoteSetup(ctx: SetupContext): SetupSnippet[] {
  const server = `Server = ${ctx.repo.settings.private === true ? withToken(ctx.repoUrl) : ctx.repoUrl}/$arch`;
  return [
    {
      title: "Add the upstream's repositories to /etc/pacman.conf (one section per upstream $repo; everything stays signed by the upstream, so keep trusting its keys, e.g. archlinux-keyring)",
      language: 'ini',
      code: ['[core]', server, '', '[extra]', server].join('\n'),
    },
    { title: 'Sync and install', language: 'shell', code: ['sudo pacman -Sy', 'sudo pacman -S <package>'].join('\n') },
  ];
}

export async function pacmanSetup(ctx: SetupContext): Promise<SetupSnippet[]> {
  if (ctx.repo.kind === 'remote') return remoteSetup(ctx);
  const pgp = await ctx.signer.openpgp();
  const fpr = pgp.fingerprint.toUpperCase();
  const name = ctx.repo.name;
  // A private repository needs a read token for the key and for every pacman download.
  const priv = ctx.repo.settings.private === true;
  return [
    {
      title: 'Trust the repository signing key',
      language: 'shell',
      code: [
        `curl -fsSL ${priv ? '-u token:<TOKEN> ' : ''}${ctx.repoUrl}/pubkey | sudo pacman-key --add -`,
        `sudo pacman-key --lsign-key ${fpr}`,
      ].join('\n'),
    },
    {
      title: priv
        ? 'Add the repository to /etc/pacman.conf (the file is world-readable: use a token that can only read this repository)'
        : 'Add the repository to /etc/pacman.conf',
      language: 'ini',
      code: [`[${name}]`, 'SigLevel = Required', `Server = ${priv ? withToken(ctx.repoUrl) : ctx.repoUrl}/$arch`].join('\n'),
    },
    {
      title: 'Sync and install',
      language: 'shell',
      code: [`sudo pacman -Sy`, `sudo pacman -S ${name}/<package>`].join('\n'),
    },
  ];
}

/**
 * `pacman -S repo/name` installs the version the repository's db lists, which is always
 * the newest (docs/formats/pacman.md); an older version is installed from its file URL.
 */
export function pacmanInstallCommand(pkg: InstallTarget, ctx: InstallContext): string {
  if (pkg.newest) return `sudo pacman -S ${shellQuote(`${ctx.repo.name}/${pkg.name}`)}`;
  return `sudo pacman -U ${shellQuote(`${ctx.repoUrl}/${pkg.path.split('/').map(encodeURIComponent).join('/')}`)}`;
}

/** The file list pacman's .files database carries (%FILES%), kept from the package at upload. */
export function pacmanPackageDetails(indexData: unknown): PackageDetails {
  const files = (indexData as { files?: unknown } | null)?.files;
  return Array.isArray(files) ? { files: files.filter((f): f is string => typeof f === 'string') } : {};
}
