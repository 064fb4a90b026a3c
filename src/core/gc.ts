/**
 * Garbage collection: blobs no file, attachment or retained index generation references.
 * Safe while uploads run: an upload stores its blob *before* its row commits, so a blob
 * younger than the grace period is never collected even when nothing references it yet.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Services } from '../services';

export interface GcResult {
  scanned: number;
  deleted: number;
  deletedBytes: number;
  kept: number;
  tempFilesDeleted: number;
  dryRun: boolean;
}

export async function runGc(s: Services, opts: { dryRun?: boolean; graceSeconds?: number } = {}): Promise<GcResult> {
  const grace = (opts.graceSeconds ?? 3600) * 1000;
  const dryRun = opts.dryRun ?? false;
  const started = Date.now();
  const referenced = await s.paths.referencedBlobs();
  const result: GcResult = { scanned: 0, deleted: 0, deletedBytes: 0, kept: 0, tempFilesDeleted: 0, dryRun };
  const candidates: { key: string; sha: string; size: number }[] = [];
  for await (const b of s.blobs.list('blobs/sha256/')) {
    result.scanned++;
    const sha = b.key.split('/').pop() ?? '';
    if (referenced.has(sha) || started - b.lastModified.getTime() < grace) result.kept++;
    else candidates.push({ key: b.key, sha, size: b.size });
  }
  // Re-check just before deleting: an upload may have re-used an old blob since the scan began.
  const stillReferenced = candidates.length ? await s.paths.referencedBlobs() : referenced;
  for (const c of candidates) {
    if (stillReferenced.has(c.sha)) {
      result.kept++;
      continue;
    }
    if (!dryRun) await s.blobs.delete(c.key);
    result.deleted++;
    result.deletedBytes += c.size;
  }
  // Upload temp files a crash left behind.
  const entries = await fs.readdir(s.tmpDir).catch(() => [] as string[]);
  for (const e of entries) {
    const full = path.join(s.tmpDir, e);
    const st = await fs.stat(full).catch(() => null);
    if (st && started - st.mtimeMs > Math.max(grace, 6 * 3600 * 1000)) {
      if (!dryRun) await fs.rm(full, { force: true });
      result.tempFilesDeleted++;
    }
  }
  s.log.info('gc', { ...result, durationMs: Date.now() - started });
  return result;
}
