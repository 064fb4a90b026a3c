/**
 * The `apk` provider: Alpine Linux v2 packages and signed APKINDEX.tar.gz indexes
 * (docs/formats/apk.md). Files live at `<branch>/<arch>/<name>-<version>.apk`; noarch
 * packages at `<branch>/noarch/...`, listed in every architecture's index and served from
 * each architecture directory through fallbackPaths.
 */
import type { Provider, ScopeContext, SetupContext, SetupSnippet } from '../../src/core/provider';
import { z } from 'zod';
import { archesSchema, envList } from '../../src/core/settings';
import { readHead } from '../../src/util/files';
import { sniffCompression } from '../../src/util/compression';
import { packageMeta, renderEntry } from './entry';
import { buildApkIndex } from './index-builder';
import { configuredArches, DEFAULT_ARCHES, NOARCH, scopeOf, splitScope, uploadParams } from './layout';
import { looksLikeApk, parseApkFile, type ApkPackage } from './parse';
import { ARCH_RE } from './pkginfo';
import { apkInstallCommand } from './install';
import { apkRemote } from './remote';
import { apkRoutes } from './routes';
import { compareApkVersions } from './version';

/** What an APKINDEX record is rendered from: .PKGINFO (as key/values pairs) and the C: checksum. */
interface ApkIndexData {
  pkginfo: [string, string[]][];
  checksum: ApkPackage['checksum'];
}

/** Architecture indexes a noarch package of `branch` belongs to. */
function branchArches(branch: string, partitions: string[], ctx: ScopeContext): string[] {
  const present = partitions.map(splitScope).filter((s) => s?.branch === branch && s.arch !== NOARCH).map((s) => s!.arch);
  return [...new Set([...present, ...configuredArches(ctx.repo)])].sort();
}

function branchesOf(partitions: string[]): string[] {
  const branches = [...new Set(partitions.map(splitScope).filter((s) => s !== undefined).map((s) => s.branch))].sort();
  return branches.length ? branches : ['main'];
}

export const apkProvider: Provider = {
  name: 'apk',
  title: 'apk (Alpine Linux)',
  uploadParams,
  selfDescribing: true,
  capabilities: { yank: 'hidden', entriesSignedByRepoKey: false },
  settings: {
    schema: { arches: archesSchema(ARCH_RE, 'x86_64 or aarch64') },
    // APKINDEX carries the description (DESCRIPTION member) and one index per architecture.
    inIndex: ['arches', 'description'],
    env: [{ variable: 'APK_ARCHES', setting: 'arches', default: DEFAULT_ARCHES.join(','), schema: envList(z.string().regex(ARCH_RE, 'an apk architecture name such as x86_64')) }],
  },

  async detect(file) {
    if (sniffCompression(await readHead(file.localPath, 6)) !== 'gzip') return false;
    return looksLikeApk(file.localPath, file.size);
  },

  async parse(input) {
    const pkg = await parseApkFile(input.file.localPath, input.file.size);
    const branch = input.params.branch ?? 'main';
    const filename = `${pkg.name}-${pkg.version}.apk`;
    const partition = scopeOf(branch, pkg.arch);
    return {
      name: pkg.name,
      version: pkg.version,
      arch: pkg.arch,
      filename,
      path: `${partition}/${filename}`,
      partition,
      meta: packageMeta(pkg),
      indexData: { pkginfo: [...pkg.pkginfo], checksum: pkg.checksum } satisfies ApkIndexData,
      attachments: [],
    };
  },

  async renderEntry(pkg) {
    const data = pkg.indexData as ApkIndexData;
    return { entry: renderEntry({ pkginfo: new Map(data.pkginfo), checksum: data.checksum, name: pkg.name, version: pkg.version, arch: pkg.arch, size: pkg.size }) };
  },

  async scopesFor(partition, ctx) {
    const s = splitScope(partition);
    if (!s) return [];
    const present = await ctx.partitions();
    const arches = branchArches(s.branch, present, ctx).map((arch) => scopeOf(s.branch, arch));
    if (s.arch === NOARCH) return arches;
    // An architecture's own index. While the branch has no noarch package, the branch's other
    // architectures that hold nothing get their (empty, signed) index published too: apk on
    // such a machine must read an empty index, not a 404 that makes `apk update` fail. With
    // a noarch package present those indexes were already built for it.
    if (present.includes(scopeOf(s.branch, NOARCH))) return [partition];
    const empty = arches.filter((scope) => scope !== partition && !present.includes(scope));
    return [partition, ...empty];
  },

  buildIndex: buildApkIndex,

  compareVersions: compareApkVersions,

  fallbackPaths(path) {
    // <branch>/<arch>/<file>.apk may be a noarch package stored under <branch>/noarch/.
    const parts = path.split('/');
    if (parts.length < 3 || !path.endsWith('.apk')) return [];
    const file = parts[parts.length - 1]!;
    const s = splitScope(parts.slice(0, -1).join('/'));
    if (!s || s.arch === NOARCH) return [];
    return [`${scopeOf(s.branch, NOARCH)}/${file}`];
  },

  // A static copy has no fallbackPaths: a noarch package is also written under each arch of its branch.
  staticAliases(path, scopes) {
    const slash = path.lastIndexOf('/');
    const s = slash > 0 ? splitScope(path.slice(0, slash)) : undefined;
    if (!s || s.arch !== NOARCH || !path.endsWith('.apk')) return [];
    const file = path.slice(slash + 1);
    return scopes.filter((scope) => splitScope(scope)?.branch === s.branch && splitScope(scope)?.arch !== NOARCH).map((scope) => `${scope}/${file}`);
  },

  routes: apkRoutes,
  remote: apkRemote,
  // Virtual repositories publish their own merged index, signed with their own key (src/core/kind-contract.ts).
  virtual: { mergeBy: 'entries', remoteMembers: false },
  installCommand: apkInstallCommand,

  async setup(ctx: SetupContext): Promise<SetupSnippet[]> {
    if (ctx.repo.kind === 'remote') {
      // The upstream's APKINDEX passes through: apk checks it with the upstream's keys (alpine-keys).
      const code = `echo "${ctx.repoUrl}/<branch>" >> /etc/apk/repositories   # <branch>: the upstream URL's last segment (main) or last two (v3.20/main)\napk update\n`;
      return [{ title: "Alpine Linux (apk), signed by the upstream: keep its keys in /etc/apk/keys", language: 'shell', code }];
    }
    const keys = await ctx.signer.rsa();
    const lines = [
      ...keys.map((k) => `wget -O /etc/apk/keys/${k.keyName} ${ctx.repoUrl}/keys/${k.keyName}`),
      ...branchesOf(ctx.partitions).map((b) => `echo "${ctx.repoUrl}/${b}" >> /etc/apk/repositories`),
      'apk update',
    ];
    return [{ title: 'Alpine Linux (apk)', language: 'shell', code: lines.join('\n') + '\n' }];
  },
};

export default apkProvider;
