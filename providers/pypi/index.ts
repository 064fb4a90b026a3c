/**
 * The `pypi` provider: a PEP 503/691 simple repository for pip and uv, fed by /addpkg and by
 * twine's legacy upload API. Facts: docs/formats/pypi.md; where silent, PyPI (warehouse).
 */
import { z } from 'zod';
import type { Provider } from '../../src/core/provider';
import { detect } from './detect';
import { renderEntry, type PypiIndexData } from './entry';
import { buildIndex, projectScope, ROOT_SCOPE } from './index-builder';
import { normalizeName } from './names';
import { parseUpload } from './parse';
import { pypiRemote, pypiVirtual } from './remote';
import { rewrite } from './rewrite';
import { pypiInstallCommand, setup } from './setup';
import { twineUpload } from './twine-routes';
import { compareVersionStrings } from './version';

/** Optional `sha256_digest` (twine sends it): checked against the received bytes. Unknown keys are dropped. */
const uploadParams = z
  .object({ sha256_digest: z.string().regex(/^[0-9a-fA-F]{64}$/, 'sha256_digest must be 64 hexadecimal digits').optional() })
  .transform((p): Record<string, string> => (p.sha256_digest ? { sha256_digest: p.sha256_digest.toLowerCase() } : {}));

export const pypiProvider: Provider = {
  name: 'pypi',
  title: 'PyPI (pip, uv, twine)',
  uploadParams,
  selfDescribing: true,
  // PEP 592: a yanked file stays on its project page, marked, so `==` pins still install it.
  capabilities: { yank: 'listed', entriesSignedByRepoKey: false },
  settings: { schema: {}, inIndex: [] },
  detect,
  parse: parseUpload,
  async renderEntry(pkg) {
    const data = pkg.indexData as PypiIndexData;
    return { entry: renderEntry({ filename: pkg.filename, sha256: pkg.hashes.sha256, size: pkg.size, requiresPython: data.requiresPython, metadataSha256: data.metadataSha256 }) };
  },
  // A file changes its project's page; the project list only changes when a project appears or disappears.
  scopesFor: async (partition) => [projectScope(partition)],
  listingScopes: async () => [ROOT_SCOPE],
  buildIndex,
  compareVersions: compareVersionStrings,
  normalizeName,
  rewrite,
  uploadEndpoints: [twineUpload],
  setup,
  installCommand: pypiInstallCommand,
  // The project's long description (often its README), as PyPI shows it, as text.
  packageDetails: (indexData) => {
    const d = (indexData as PypiIndexData | null)?.description;
    return d ? { longDescription: d } : {};
  },
  remote: pypiRemote,
  virtual: pypiVirtual,
};

export default pypiProvider;
