/**
 * Which digests a package file gets. sha256 always; the others only when the provider's index
 * names them (`Provider.digests`, src/core/provider.ts). The `files` table keeps one column per
 * digest; one not computed is stored as '' (rows from before `digests` have all four), and
 * read back as absent.
 */
import type { DigestAlgorithm } from '../util/digest-types';
import { hashFile } from '../util/hash-pool';
import type { FileHashes, Provider, UploadedFile } from './provider';

export type HashColumns = { sha256: string; sha512: string; sha1: string; md5: string };

/** The digests `provider` needs that `hashes` lacks. */
export function missingDigests(provider: Provider, hashes: FileHashes): DigestAlgorithm[] {
  return (provider.digests ?? []).filter((a) => !hashes[a]);
}

/** Completes `file.hashes` with what the provider needs, hashing the temp file in a worker (the provider was not known while the body streamed in). */
export async function ensureDigests(provider: Provider, file: UploadedFile): Promise<void> {
  const missing = missingDigests(provider, file.hashes);
  if (missing.length === 0) return;
  const { digests } = await hashFile(file.localPath, missing);
  file.hashes = { ...file.hashes, ...digests };
}

export function hashColumns(h: FileHashes): HashColumns {
  return { sha256: h.sha256, sha512: h.sha512 ?? '', sha1: h.sha1 ?? '', md5: h.md5 ?? '' };
}

export function hashesFromColumns(r: { sha256?: unknown; sha512?: unknown; sha1?: unknown; md5?: unknown }): FileHashes {
  const h: FileHashes = { sha256: String(r.sha256) };
  for (const a of ['sha512', 'sha1', 'md5'] as const) {
    const v = r[a];
    if (typeof v === 'string' && v !== '') h[a] = v;
  }
  return h;
}
