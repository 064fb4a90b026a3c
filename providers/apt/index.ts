/**
 * The `apt` provider: binary .deb packages published as a signed Debian repository
 * (dists/<dist>/{InRelease,Release,Release.gpg}, <component>/binary-<arch>/Packages*,
 * pool/<component>/<prefix>/<source>/<file>.deb). Format facts: docs/formats/apt.md.
 */
import type { Provider, ParsedPackage, UploadedFile } from '../../src/core/provider';
import { readHead } from '../../src/util/files';
import { AR_MAGIC, parseArHeader } from './ar';
import { debFilename, debMeta, poolPath, renderStanza } from './entry';
import { buildAptIndex } from './index-builder';
import { partitionOf, scopeOf, splitPartition, uploadParams } from './params';
import { readDeb } from './parse';
import { aptRoutes } from './routes';
import { aptSetup } from './setup';
import { compareDebianVersions } from './version';

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
      entry: renderStanza(deb.control, path, file.size, file.hashes),
      attachments: [],
    };
  },

  async scopesFor(partition) {
    const p = splitPartition(partition);
    return p ? [scopeOf(p.dist)] : [];
  },

  buildIndex: buildAptIndex,
  compareVersions: compareDebianVersions,
  routes: (router) => aptRoutes(router),
  setup: aptSetup,
};

export default aptProvider;
