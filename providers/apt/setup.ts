/**
 * Client setup for an apt repository: the deb822 `.sources` file with Signed-By, the key
 * download, the one-line installer and the classic one-line `deb` form. Also the installer
 * script itself, served at dists/<dist>/install.
 */
import type { SetupContext, SetupSnippet } from '../../src/core/provider';
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

/** The script behind `wget -qO- <repoUrl>/dists/<dist>/install | sudo bash`. */
export function installScript(repoName: string, repoUrl: string, dist: string, components: string[]): string {
  const sources = sourcesFile(repoName, repoUrl, dist, components);
  return `#!/bin/sh
# Sets up the APT repository ${JSON.stringify(repoName)} (distribution ${dist}) served by artifactd.
set -eu
REPO_URL=${sq(repoUrl)}
KEYRING=${sq(keyringPath(repoName))}
SOURCES=${sq(sourcesPath(repoName))}
if [ "$(id -u)" -ne 0 ]; then
  echo "This script must run as root: wget -qO- $REPO_URL/dists/${dist}/install | sudo bash" >&2
  exit 1
fi
install -d -m 0755 /etc/apt/keyrings
if command -v curl >/dev/null 2>&1; then
  curl -fsSL "$REPO_URL/keyring.gpg" -o "$KEYRING.tmp"
elif command -v wget >/dev/null 2>&1; then
  wget -qO "$KEYRING.tmp" "$REPO_URL/keyring.gpg"
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
  return [
    {
      title: 'One-line setup (installs the key and the .sources file, then runs apt-get update)',
      language: 'shell',
      code: `wget -qO- ${ctx.repoUrl}/dists/${dist}/install | sudo bash`,
    },
    {
      title: 'Install the signing key',
      language: 'shell',
      code: `sudo install -d -m 0755 /etc/apt/keyrings\nsudo curl -fsSL ${ctx.repoUrl}/keyring.gpg -o ${keyring}`,
    },
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
  ];
}
