/**
 * The `rpm` provider: binary and source .rpm packages published as signed rpm-md repositories
 * that dnf/yum and zypper read (repodata/repomd.xml + .asc, checksum-named primary, filelists
 * and other). Facts: docs/formats/rpm.md (and docs/formats/http.md). See layout.ts for the paths.
 *
 * Uploaded files are stored and served byte for byte: a packager's signature inside the rpm
 * stays valid (`rpm -K`), and the sha256 in primary.xml is the uploaded file's.
 */
import type { ParsedPackage, Provider, StoredPackage, UploadedFile, UploadInput } from '../../src/core/provider';
import { readHead } from '../../src/util/files';
import { renderRpmEntry } from './entry';
import { buildRpmIndex } from './index-builder';
import { baseOf, dataFileRequest, requestedDataPath, groupOf, packagePath, partitionOf, scopeOf, uploadParams } from './layout';
import { DEFAULT_METADATA_LIMITS, evrString, readMetadata, rpmFilename, type MetadataLimits, type RpmIndexData } from './metadata';
import { DEFAULT_RPM_LIMITS, LEAD_SIZE, looksLikeRpm, readLayout, verifyDigests, type RpmParseLimits } from './parse';
import { rpmRoutes } from './routes';
import { rpmSettings } from './settings';
import { rpmInstallCommand, rpmPackageDetails, rpmSetup } from './setup';
import { compareEvr } from './version';

async function detect(file: UploadedFile): Promise<boolean> {
  return looksLikeRpm(await readHead(file.localPath, LEAD_SIZE + 4));
}

/** Bare names of what the package needs, for links in the UI (no rpmlib(), files or rich deps). */
function dependsOf(d: RpmIndexData): string[] {
  return [...new Set(d.deps.requires.map((r) => r.name).filter((n) => !n.startsWith('rpmlib(') && !n.startsWith('/') && !n.startsWith('(')))];
}

export interface RpmProviderOptions {
  limits?: Partial<RpmParseLimits>;
  metadata?: Partial<MetadataLimits>;
}

export function createRpmProvider(options: RpmProviderOptions = {}): Provider {
  const limits: RpmParseLimits = { ...DEFAULT_RPM_LIMITS, ...options.limits };
  const metaLimits: MetadataLimits = { ...DEFAULT_METADATA_LIMITS, ...options.metadata };
  return {
    name: 'rpm',
    title: 'RPM (dnf, yum, zypper)',
    uploadParams,
    selfDescribing: true,
    capabilities: { yank: 'hidden', entriesSignedByRepoKey: false },
    settings: rpmSettings,
    contentTypes: { '.rpm': 'application/x-rpm' },
    detect,

    async parse(input: UploadInput): Promise<ParsedPackage> {
      const { file } = input;
      const group = (uploadParams.parse(input.params) as { group: string }).group;
      const layout = await readLayout(file.localPath, file.size, limits);
      const data = readMetadata(layout, metaLimits);
      await verifyDigests(file.localPath, file.size, layout);
      const filename = rpmFilename(data);
      return {
        name: data.name,
        version: evrString(data),
        arch: data.arch,
        filename,
        path: packagePath(group, data.name, filename),
        partition: partitionOf(group),
        meta: {
          description: data.summary,
          summary: data.summary,
          longDescription: data.description,
          license: data.license,
          url: data.url,
          depends: dependsOf(data),
          epoch: data.epoch,
          release: data.release,
          vendor: data.vendor,
          packager: data.packager,
          group: group || undefined,
          rpmGroup: data.group,
          buildTime: data.buildTime,
          installedSize: data.installedSize,
          sourceRpm: data.sourceRpm || undefined,
          provides: data.deps.provides.map((p) => p.name),
          files: data.files.length,
        },
        indexData: data,
        attachments: [],
      };
    },

    async renderEntry(pkg: StoredPackage) {
      const data = pkg.indexData as RpmIndexData;
      const base = baseOf(groupOf(pkg.partition));
      return { entry: renderRpmEntry(data, { href: pkg.path.slice(base.length), size: pkg.size, hashes: pkg.hashes }) };
    },

    // One repodata per group: noarch and every arch together, as createrepo_c makes it (dnf and zypper filter by arch).
    async scopesFor(partition: string) {
      return [scopeOf(groupOf(partition))];
    },

    buildIndex: buildRpmIndex,
    // `/repo/rpm/<repo>.repo`, beside the repository, as dnf and zypper users expect to paste it.
    siblingSuffixes: ['.repo'],
    // dnf fetches repomd.xml then repomd.xml.asc; zypper the other way round.
    indexPartners: (path) => (path.endsWith('/repomd.xml') || path === 'repodata/repomd.xml' ? [`${path}.asc`] : path.endsWith('repomd.xml.asc') ? [path.slice(0, -'.asc'.length)] : []),
    compareVersions: compareEvr,

    rewrite(req) {
      const stored = dataFileRequest(req.path);
      return stored ? { path: stored } : null;
    },

    // A plain file server has no rewrite: the data files are written where dnf asks for them.
    staticPath: requestedDataPath,

    routes: rpmRoutes,
    // Virtual repositories publish their own merged index, signed with their own key (src/core/kind-contract.ts).
    virtual: { mergeBy: 'entries', remoteMembers: false },
    setup: rpmSetup,
    installCommand: rpmInstallCommand,
    packageDetails: rpmPackageDetails,
  };
}

export const rpmProvider: Provider = createRpmProvider();
export default rpmProvider;
