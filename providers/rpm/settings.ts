/**
 * rpm repository settings. Package files are never rewritten (signing changes their sha256,
 * docs/formats/rpm.md#package-signatures), so the repository key signs repomd.xml only: the
 * served `.repo` file has `repo_gpgcheck=1` and, by default, `gpgcheck=0`; with
 * repo_gpgcheck the signed repomd -> primary checksum -> package sha256 chain already
 * authenticates every package. `gpgcheck: true` makes clients also check the packagers'
 * signatures inside the rpms, with the keys at `packageKeys` (URLs) added to `gpgkey=`.
 * Neither shows in repodata, so changing one republishes nothing.
 */
import { z } from 'zod';
import type { ProviderSettings } from '../../src/core/provider';

export const rpmSettings: ProviderSettings = {
  schema: {
    gpgcheck: z.boolean(),
    packageKeys: z.array(z.string().url().regex(/^https?:\/\/[^\s]+$/, 'an http(s) URL without spaces').max(1000)).max(16),
  },
  inIndex: [],
};
