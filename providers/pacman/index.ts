/**
 * The `pacman` provider: Arch Linux package repositories that pacman syncs with signatures
 * required. Facts: docs/formats/pacman.md (and docs/formats/http.md).
 *
 * Layout served under /repo/pacman/<repo>/ (client: `Server = <repoUrl>/$arch`):
 *   <arch>/<pkgname>-<pkgver>-<arch>.pkg.tar.<ext>[.sig]   package files (`any` ones under any/)
 *   <arch>/<repo>.db[.tar.gz][.sig], <arch>/<repo>.files[.tar.gz][.sig]
 *   pubkey                                                  armored repository key
 */
import { z } from 'zod';
import type { Provider, ParsedPackage, RenderContext, RenderedEntry, ScopeContext, StoredPackage, UploadInput } from '../../src/core/provider';
import { listSetting } from '../../src/core/settings';
import { EXTENSION } from './archive';
import { detectPacman } from './detect';
import { encodeEntry, renderDesc, renderFiles } from './entry';
import { ANY_ARCH, buildArchIndex } from './index-builder';
import { DEFAULT_PARSE_LIMITS, readPackage, type ParseLimits } from './parse';
import { bareName, type PkgInfo } from './pkginfo';
import { pacmanRemote } from './remote';
import { pacmanRoutes } from './routes';
import { pacmanInstallCommand, pacmanPackageDetails, pacmanSetup } from './setup';
import { pacmanSettings } from './settings';
import { isSignedBy, readPackagerSignature, signWithRepoKey } from './signature';
import { vercmp } from './vercmp';

/** Architecture a repository serves when its settings name none (the core fills in PACMAN_ARCHES). */
export const DEFAULT_ARCH = 'x86_64';

/** Extensions makepkg knows for PKGEXT; pacman itself ignores file names (docs/formats/pacman.md#package-file). */
const KNOWN_EXTENSIONS = ['', '.zst', '.xz', '.gz', '.bz2', '.lz4', '.lzo', '.lrz', '.Z'];
const ARCH_SEGMENT = /^[A-Za-z0-9_]+$/;

/**
 * `<pkgname>-<pkgver>-<arch>.pkg.tar.<ext>` with the extension of the detected compression;
 * the client's own name is kept when it is exactly that pattern with a known extension.
 */
export function packageFilename(info: PkgInfo, compression: keyof typeof EXTENSION, clientFilename: string): string {
  const stem = `${info.pkgname}-${info.pkgver}-${info.arch}.pkg.tar`;
  if (clientFilename.startsWith(stem) && KNOWN_EXTENSIONS.includes(clientFilename.slice(stem.length))) return clientFilename;
  return `${stem}${EXTENSION[compression]}`;
}

/** What a db entry is rendered from: .PKGINFO, the payload's file list, and who signed the package. */
interface PacmanIndexData {
  info: PkgInfo;
  files: string[];
  /** `packager`: the uploaded `sig` is kept as is; `repository`: signed with the repository key (again after a rotation). */
  signedBy: 'packager' | 'repository';
}

/**
 * The package's detached signature: the packager's, or the repository key's. A stored repository
 * signature is reused while the key that made it is still the active one, and made again with
 * the new key after an import or rotation (so `SigLevel = Required` keeps installing old uploads).
 */
async function packageSignature(data: PacmanIndexData, ctx: RenderContext): Promise<{ signature: Buffer; made: boolean }> {
  const stored = await ctx.attachment('.sig');
  if (data.signedBy === 'packager') {
    if (!stored) throw new Error('pacman: the packager signature of a stored package is missing');
    return { signature: stored, made: false };
  }
  const key = await ctx.signer.openpgp();
  if (stored && (await isSignedBy(stored, key.fingerprint))) return { signature: stored, made: false };
  return { signature: await signWithRepoKey(ctx.signer, await ctx.localFile()), made: true };
}

async function renderEntry(pkg: StoredPackage, ctx: RenderContext): Promise<RenderedEntry> {
  const data = pkg.indexData as PacmanIndexData;
  const { signature, made } = await packageSignature(data, ctx);
  const desc = renderDesc(data.info, { filename: pkg.filename, csize: pkg.size, md5: pkg.hashes.md5, sha256: pkg.hashes.sha256, signature });
  return {
    entry: encodeEntry({ desc, files: renderFiles(data.files) }),
    attachments: made ? [{ suffix: '.sig', data: signature, contentType: 'application/pgp-signature' }] : [],
  };
}

export interface PacmanProviderOptions {
  limits?: Partial<ParseLimits>;
}

export function createPacmanProvider(options: PacmanProviderOptions = {}): Provider {
  const limits: ParseLimits = { ...DEFAULT_PARSE_LIMITS, ...options.limits };
  return {
    name: 'pacman',
    title: 'pacman (Arch Linux)',
    // No parameters: name, version and arch come from .PKGINFO. Unknown keys are stripped.
    uploadParams: z.object({}) as unknown as z.ZodType<Record<string, string>>,
    // The packager's detached signature (makepkg --sign writes <file>.sig).
    uploadFileFields: ['sig'],
    selfDescribing: true,
    // %MD5SUM% beside %SHA256SUM% in desc, as repo-add 6.0 writes it.
    digests: ['md5'],
    capabilities: { yank: 'hidden', entriesSignedByRepoKey: true },
    settings: pacmanSettings,

    detect: detectPacman,

    async parse(input: UploadInput): Promise<ParsedPackage> {
      const { file } = input;
      // Cheap checks first: a bad packager signature fails before the package is read.
      const packagerSig = input.extraFiles.sig ? await readPackagerSignature(input.extraFiles.sig) : undefined;
      const { info, files, compression } = await readPackage(file.localPath, file.size, limits);
      const filename = packageFilename(info, compression, file.clientFilename);
      const s = info.single;
      return {
        name: info.pkgname,
        version: info.pkgver,
        arch: info.arch,
        filename,
        path: `${info.arch}/${filename}`,
        partition: info.arch,
        meta: {
          description: s.pkgdesc,
          url: s.url,
          license: info.lists.license,
          depends: [...new Set(info.lists.depend.map(bareName))],
          packager: s.packager,
          builddate: s.builddate ? Number(s.builddate) : undefined,
          isize: s.size ? Number(s.size) : undefined,
          base: s.pkgbase,
          groups: info.lists.group,
          provides: info.lists.provides,
          conflicts: info.lists.conflict,
          replaces: info.lists.replaces,
          optdepends: info.lists.optdepend,
          files: files.length,
          signedBy: packagerSig ? 'packager' : 'repository',
        },
        indexData: { info, files, signedBy: packagerSig ? 'packager' : 'repository' } satisfies PacmanIndexData,
        attachments: packagerSig ? [{ suffix: '.sig', data: packagerSig, contentType: 'application/pgp-signature' }] : [],
      };
    },

    renderEntry,

    async scopesFor(partition: string, ctx: ScopeContext): Promise<string[]> {
      if (partition !== ANY_ARCH) return [partition];
      // `any` packages are in every architecture's db (docs/formats/pacman.md#architecture-any): the configured ones and those with packages.
      const configured = Array.isArray(ctx.repo.settings.arches) ? listSetting(ctx.repo, 'arches', ARCH_SEGMENT) : [DEFAULT_ARCH];
      const arches = new Set<string>(configured.filter((a) => a !== ANY_ARCH));
      for (const p of await ctx.partitions()) if (p !== ANY_ARCH) arches.add(p);
      return [...arches].sort();
    },

    buildIndex: buildArchIndex,

    compareVersions: vercmp,

    // pacman downloads `<repo>.db` and then `<repo>.db.sig` (and the same for .files).
    indexPartners: (path) => (path.endsWith('.sig') ? [path.slice(0, -'.sig'.length)] : [`${path}.sig`]),

    fallbackPaths(path: string): string[] {
      // `Server = .../$arch` asks for any packages under the client's arch directory.
      const slash = path.indexOf('/');
      if (slash < 0) return [];
      const arch = path.slice(0, slash);
      const rest = path.slice(slash + 1);
      if (arch === ANY_ARCH || !ARCH_SEGMENT.test(arch) || rest === '' || rest.includes('/')) return [];
      return [`${ANY_ARCH}/${rest}`];
    },

    // A static copy has no fallbackPaths: an `any` package is also written under each arch directory.
    staticAliases(path, scopes) {
      const rest = path.startsWith(`${ANY_ARCH}/`) ? path.slice(ANY_ARCH.length + 1) : '';
      if (!rest || rest.includes('/')) return [];
      return scopes.filter((a) => a !== ANY_ARCH && ARCH_SEGMENT.test(a)).map((a) => `${a}/${rest}`);
    },

    routes: pacmanRoutes,
    remote: pacmanRemote,
    // Virtual repositories publish their own merged index, signed with their own key (src/core/kind-contract.ts).
    virtual: { mergeBy: 'entries', remoteMembers: false },

    setup: pacmanSetup,
    installCommand: pacmanInstallCommand,
    packageDetails: pacmanPackageDetails,
  };
}

export const pacmanProvider: Provider = createPacmanProvider();
export default pacmanProvider;
