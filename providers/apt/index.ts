/**
 * The `apt` provider: binary .deb packages published as a signed Debian repository
 * (dists/<dist>/{InRelease,Release,Release.gpg}, <component>/binary-<arch>/Packages*,
 * pool/<component>/<prefix>/<source>/<file>.deb). Format facts: docs/formats/apt.md.
 */
import type { Provider, ParsedPackage, UploadedFile } from '../../src/core/provider';
import { readHead } from '../../src/util/files';
import { AR_MAGIC, parseArHeader } from './ar';
import { Control, type ControlField } from './control';
import { debFilename, debMeta, poolPath, renderStanza } from './entry';
import { buildAptIndex } from './index-builder';
import { partitionOf, scopeOf, splitPartition, uploadParams } from './params';
import { readDeb } from './parse';
import { aptRoutes } from './routes';
import { aptSettings } from './settings';
import { aptInstallCommand, aptPackageDetails, aptSetup } from './setup';
import { aptRemote } from './remote';
import { compareDebianVersions } from './version';

/** What a stanza is rendered from: the control file's fields as the package had them. */
interface AptIndexData {
  control: ControlField[];
}

async function detect(file: UploadedFile): Promise<boolean> {
  const head = await readHead(file.localPath, AR_MAGIC.length + 60);
  if (head.length < AR_MAGIC.length + 60 || !head.subarray(0, AR_MAGIC.length).equals(AR_MAGIC)) return false;
  try {
    return parseArHeader(head.subarray(AR_MAGIC.length), AR_MAGIC.length, 'file').name === 'debian-binary';
  } catch {
    return false;
  }
}

export const aptProvider: Provider = {
  name: 'apt',
  title: 'APT (Debian, Ubuntu)',
  uploadParams,
  selfDescribing: true,
  // Packages stanzas carry MD5sum, SHA1, SHA256 and SHA512 (dpkg-scanpackages writes all four;
  // apt uses the strongest it knows, older tools read MD5sum).
  digests: ['md5', 'sha1', 'sha512'],
  // Stanzas are stored rendered (`entry`): the index build needs no meta.
  capabilities: { yank: 'hidden', entriesSignedByRepoKey: false, indexReadsMeta: false, indexReadsHashes: false },
  settings: aptSettings,
  contentTypes: { '.deb': 'application/vnd.debian.binary-package' },
  detect,

  async parse(input): Promise<ParsedPackage> {
    const { file } = input;
    const { dist, component } = uploadParams.parse(input.params);
    const deb = await readDeb(file.localPath, file.size);
    const path = poolPath(component, deb);
    return {
      name: deb.name,
      version: deb.version,
      arch: deb.arch,
      filename: debFilename(deb),
      path,
      partition: partitionOf(dist, component),
      meta: debMeta(deb),
      indexData: { control: deb.control.fields.map((f) => ({ name: f.name, value: f.value })) },
      attachments: [],
    };
  },

  async renderEntry(pkg) {
    const data = pkg.indexData as AptIndexData;
    return { entry: renderStanza(new Control(data.control), pkg.path, pkg.size, pkg.hashes) };
  },

  async scopesFor(partition) {
    const p = splitPartition(partition);
    return p ? [scopeOf(p.dist)] : [];
  },

  buildIndex: buildAptIndex,
  // InRelease carries its signature; clients of the older pair fetch Release then Release.gpg.
  indexPartners: (path) => (path.endsWith('/Release') ? [`${path}.gpg`] : path.endsWith('/Release.gpg') ? [path.slice(0, -'.gpg'.length)] : []),
  compareVersions: compareDebianVersions,
  routes: aptRoutes,
  // Virtual repositories publish their own merged index, signed with their own key (src/core/kind-contract.ts).
  virtual: { mergeBy: 'entries', remoteMembers: false },
  setup: aptSetup,
  installCommand: aptInstallCommand,
  packageDetails: aptPackageDetails,
  remote: aptRemote,
};

export default aptProvider;
