/**
 * Client setup for an apt repository: the deb822 `.sources` file with Signed-By, the key
 * download, the one-line installer and the classic one-line `deb` form. Also the installer
 * script itself, served at dists/<dist>/install.
 */
import type { InstallTarget, PackageDetails, SetupContext, SetupSnippet } from '../../src/core/provider';
import { shellQuote } from '../../src/util/shell';
import { DEFAULT_COMPONENT, DEFAULT_DIST, splitPartition } from './params';

/** apt only reads sources.list.d files whose names are letters, digits, '_', '-' and '.'. */
export function fileStem(repoName: string): string {
  return repoName.replace(/[^A-Za-z0-9_.-]/g, '-') || 'artifactd';
}

export function keyringPath(repoName: string): string {
  return `/etc/apt/keyrings/${fileStem(repoName)}.gpg`;
}

export function sourcesPath(repoName: string): string {
  return `/etc/apt/sources.list.d/${fileStem(repoName)}.sources`;
}

/** Credentials for a private repository (apt_auth.conf(5)). */
export function authConfPath(repoName: string): string {
  return `/etc/apt/auth.conf.d/${fileStem(repoName)}.conf`;
}

/**
 * The auth.conf entry for a read token. The machine keeps the URL's scheme: without one,
 * apt only applies an entry to https (apt_auth.conf(5)), and the path prefix limits the
 * token to this repository.
 */
export function authConf(repoUrl: string, token: string): string {
  return `machine ${repoUrl}\nlogin token\npassword ${token}\n`;
}

/** Distributions and their components, from partitions `<dist>/<component>`. */
export function distComponents(partitions: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const p of partitions) {
    const s = splitPartition(p);
    if (!s) continue;
    if (!map.has(s.dist)) map.set(s.dist, []);
    const comps = map.get(s.dist)!;
    if (!comps.includes(s.component)) comps.push(s.component);
  }
  for (const comps of map.values()) comps.sort();
  return map;
}

export function componentsOf(partitions: string[], dist: string): string[] {
  return distComponents(partitions).get(dist) ?? [DEFAULT_COMPONENT];
}

export function sourcesFile(repoName: string, repoUrl: string, dist: string, components: string[]): string {
  return [
    'Types: deb',
    `URIs: ${repoUrl}`,
    `Suites: ${dist}`,
    `Components: ${components.join(' ')}`,
    `Signed-By: ${keyringPath(repoName)}`,
    '',
  ].join('\n');
}

/** POSIX shell single-quoting. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The script behind `wget -qO- <repoUrl>/dists/<dist>/install | sudo bash`. For a private
 * repository the read token comes from the environment (ARTIFACTD_TOKEN), never from the
 * URL or the command line: it is written to /etc/apt/auth.conf.d/<repo>.conf (mode 0600)
 * and sent to the server from a config file, not as an argument other users could see.
 */
export function installScript(repoName: string, repoUrl: string, dist: string, components: string[]): string {
  const sources = sourcesFile(repoName, repoUrl, dist, components);
  return `#!/bin/sh
# Sets up the APT repository ${JSON.stringify(repoName)} (distribution ${dist}) served by artifactd.
# Private repository: run it with the read token in ARTIFACTD_TOKEN, e.g.
#   curl -fsSL -u token:TOKEN ${repoUrl}/dists/${dist}/install | sudo ARTIFACTD_TOKEN=TOKEN sh
set -eu
REPO_URL=${sq(repoUrl)}
KEYRING=${sq(keyringPath(repoName))}
SOURCES=${sq(sourcesPath(repoName))}
AUTH=${sq(authConfPath(repoName))}
TOKEN="\${ARTIFACTD_TOKEN:-}"
if [ "$(id -u)" -ne 0 ]; then
  echo "This script must run as root: wget -qO- $REPO_URL/dists/${dist}/install | sudo bash" >&2
  exit 1
fi
case "$TOKEN" in
  *[!A-Za-z0-9._~+/=-]*) echo "ARTIFACTD_TOKEN contains characters a token never has" >&2; exit 1 ;;
esac
install -d -m 0755 /etc/apt/keyrings
if [ -n "$TOKEN" ]; then
  install -d -m 0755 /etc/apt/auth.conf.d
  (umask 077; printf 'machine %s\\nlogin token\\npassword %s\\n' "$REPO_URL" "$TOKEN" > "$AUTH.tmp")
  mv "$AUTH.tmp" "$AUTH"
fi
if command -v curl >/dev/null 2>&1; then
  if [ -n "$TOKEN" ]; then
    printf 'header = "Authorization: Bearer %s"\\n' "$TOKEN" | curl -fsSL -K - "$REPO_URL/keyring.gpg" -o "$KEYRING.tmp"
  else
    curl -fsSL "$REPO_URL/keyring.gpg" -o "$KEYRING.tmp"
  fi
elif command -v wget >/dev/null 2>&1; then
  if [ -n "$TOKEN" ]; then
    WGETRC=$(mktemp)
    printf 'header = Authorization: Bearer %s\\n' "$TOKEN" > "$WGETRC"
    WGETRC="$WGETRC" wget -qO "$KEYRING.tmp" "$REPO_URL/keyring.gpg" || { rm -f "$WGETRC"; exit 1; }
    rm -f "$WGETRC"
  else
    wget -qO "$KEYRING.tmp" "$REPO_URL/keyring.gpg"
  fi
else
  echo "Neither curl nor wget is installed." >&2
  exit 1
fi
chmod 0644 "$KEYRING.tmp"
mv "$KEYRING.tmp" "$KEYRING"
printf '%s' ${sq(sources)} > "$SOURCES"
chmod 0644 "$SOURCES"
apt-get update
`;
}

function primaryDist(partitions: string[]): string {
  const dists = [...distComponents(partitions).keys()].sort();
  return dists.includes(DEFAULT_DIST) || dists.length === 0 ? DEFAULT_DIST : dists[0];
}

export async function aptSetup(ctx: SetupContext): Promise<SetupSnippet[]> {
  const dist = primaryDist(ctx.partitions);
  const comps = componentsOf(ctx.partitions, dist);
  const keyring = keyringPath(ctx.repo.name);
  // A private repository needs a read token for the key, the installer and apt itself.
  const priv = ctx.repo.settings.private === true;
  const snippets: SetupSnippet[] = [
    {
      title: 'One-line setup (installs the key and the .sources file, then runs apt-get update)',
      language: 'shell',
      code: priv
        ? `curl -fsSL -u token:<TOKEN> ${ctx.repoUrl}/dists/${dist}/install | sudo ARTIFACTD_TOKEN=<TOKEN> sh`
        : `wget -qO- ${ctx.repoUrl}/dists/${dist}/install | sudo bash`,
    },
    {
      title: 'Install the signing key',
      language: 'shell',
      code: `sudo install -d -m 0755 /etc/apt/keyrings\nsudo curl -fsSL ${priv ? '-u token:<TOKEN> ' : ''}${ctx.repoUrl}/keyring.gpg -o ${keyring}`,
    },
  ];
  if (priv) {
    snippets.push({
      title: `${authConfPath(ctx.repo.name)} (mode 0600: the read token for apt)`,
      language: 'ini',
      code: authConf(ctx.repoUrl, '<TOKEN>'),
    });
  }
  snippets.push(
    {
      title: sourcesPath(ctx.repo.name),
      language: 'ini',
      code: sourcesFile(ctx.repo.name, ctx.repoUrl, dist, comps),
    },
    {
      title: 'Or as a one-line sources.list entry',
      language: 'shell',
      code: `deb [signed-by=${keyring}] ${ctx.repoUrl} ${dist} ${comps.join(' ')}`,
    },
  );
  return snippets;
}

/** `apt-get install name=version` pins the exact version (apt-get(8), "install"). */
export function aptInstallCommand(pkg: InstallTarget): string {
  return `sudo apt-get install ${shellQuote(`${pkg.name}=${pkg.version}`)}`;
}

/**
 * The extended description: a Description field's lines after the synopsis, where a line
 * of just "." is an empty line (Debian Policy 5.6.13).
 */
export function aptPackageDetails(indexData: unknown): PackageDetails {
  const control = (indexData as { control?: { name: string; value: string }[] } | null)?.control ?? [];
  const description = control.find((f) => f.name.toLowerCase() === 'description')?.value ?? '';
  const long = description.split('\n').slice(1).map((l) => (l.trim() === '.' ? '' : l)).join('\n').trim();
  // A .deb's file list lives in data.tar, which the index does not carry (and parse does not keep).
  return long ? { longDescription: long } : {};
}
