/**
 * Index entries are rendered from stored metadata, not frozen at upload: `parse` returns
 * `indexData`, which is stored with the file, and `Provider.renderEntry` turns it into the
 * entry the publisher concatenates. This module runs the renderer at upload and again for
 * a whole repository (`reindex`: after a rendering fix, or a key import or rotation for
 * formats whose entries carry a repository-key signature), then republishes once.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Database } from '../db/database';
import { bumpRev, FileEntity, type FileRow } from '../db/entities';
import type { BlobStore } from '../storage/blob-store';
import { blobKey } from '../storage/blob-store';
import { sha256Hex } from '../util/hash';
import { In } from 'typeorm';
import { hashColumns, hashesFromColumns, missingDigests } from './digests';
import { hashFile } from '../util/hash-pool';
import type { Attachment, EntryRow, FileHashes, IndexFile, ParsedPackage, Provider, RenderContext, RenderedEntry, RepoInfo, RepoSigner, StoredPackage, UploadedFile } from './provider';
import type { Publisher } from './publisher';

export interface StoredAttachment {
  suffix: string;
  sha256: string;
  size: number;
  contentType: string;
}

export interface ReindexResult {
  /** Files whose entry was rendered again. */
  rendered: number;
  /** Of those, files whose entry or side files changed. */
  changed: number;
  /** Files stored before entries were re-renderable (no index data): left as they are. */
  skipped: number;
  /** Index scopes republished. */
  republished: string[];
}

/** Attachments of `rendered` replace those of `parsed` with the same suffix. */
function mergeAttachments<T extends { suffix: string }>(base: T[], replacements: T[]): T[] {
  const replaced = new Set(replacements.map((a) => a.suffix));
  return [...base.filter((a) => !replaced.has(a.suffix)), ...replacements];
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The entry of a package being uploaded, and every side file to store with it (also what
 * unit tests and benchmarks use to get a provider's entry without a server).
 */
export async function renderUpload(provider: Provider, parsed: ParsedPackage, file: UploadedFile, repo: RepoInfo, signer: RepoSigner): Promise<{ entry: string; attachments: Attachment[] }> {
  // Rendered from the JSON round trip of indexData, exactly as a later reindex will see it.
  const pkg: StoredPackage = { ...parsed, size: file.size, hashes: file.hashes, indexData: JSON.parse(JSON.stringify(parsed.indexData ?? null)) };
  const ctx: RenderContext = {
    repo,
    signer,
    attachment: async (suffix) => parsed.attachments.find((a) => a.suffix === suffix)?.data ?? null,
    localFile: async () => file.localPath,
  };
  const rendered = await provider.renderEntry(pkg, ctx);
  return { entry: rendered.entry, attachments: mergeAttachments(parsed.attachments, rendered.attachments ?? []) };
}

export class EntryRenderer {
  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    private readonly publisher: Publisher,
    private readonly signerFor: (repo: RepoInfo) => RepoSigner,
    private readonly tmpDir: string,
  ) {}

  forUpload = renderUpload;

  /** Render every entry of the repository again from its stored index data, then republish once. */
  async reindex(provider: Provider, stored: RepoInfo): Promise<ReindexResult> {
    const repo = this.publisher.scopeContext(stored).repo;
    const signer = this.signerFor(repo);
    const files = this.db.manager.getRepository(FileEntity);
    const result: ReindexResult = { rendered: 0, changed: 0, skipped: 0, republished: [] };
    // In id order, a batch at a time: a repository of 100,000 files is never held at once.
    for (let after = 0; ; ) {
      const rows = await files
        .createQueryBuilder('f')
        .where('f.repo_id = :repoId AND f.id > :after', { repoId: repo.id, after })
        .orderBy('f.id', 'ASC')
        .limit(200)
        .getMany();
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.id;
      for (const row of rows) {
        if (row.indexData === null) {
          result.skipped++;
          continue;
        }
        const rendered = await this.renderStored(provider, repo, signer, row);
        result.rendered++;
        if (await this.save(row, rendered)) result.changed++;
      }
    }
    result.republished = await this.publisher.republishAll(repo);
    return result;
  }

  /**
   * Members' entries rendered again for a merging virtual repository with the virtual's own
   * signer (formats whose entries carry a repository-key signature: pacman's %PGPSIG%), so a
   * client trusting only the virtual's key installs repository-signed packages. `own(path)`:
   * a side file the virtual already published (its current generation), preferred to the
   * member's, so an unchanged package is not signed again. Returns the entries and every side
   * file the virtual serves for them (published with the index, like the index itself).
   */
  async renderForVirtual(provider: Provider, virtual: RepoInfo, rows: EntryRow[], own: (path: string) => Promise<{ data: Buffer; contentType: string } | null>): Promise<{ rows: EntryRow[]; sideFiles: IndexFile[] }> {
    const signer = this.signerFor(virtual);
    const out: EntryRow[] = [];
    const sideFiles: IndexFile[] = [];
    const files = this.db.manager.getRepository(FileEntity);
    for (let i = 0; i < rows.length; i += 200) {
      const batch = rows.slice(i, i + 200);
      const stored = new Map((await files.find({ where: { id: In(batch.map((r) => r.id)) } })).map((f) => [f.id, f]));
      for (const row of batch) {
        const file = stored.get(row.id);
        // No index data (stored before entries were re-renderable): the member's entry as it is.
        if (!file || file.indexData === null) {
          out.push(row);
          continue;
        }
        const reused = new Map<string, { data: Buffer; contentType: string }>();
        const rendered = await this.renderStored(provider, virtual, signer, file, async (suffix) => {
          const mine = await own(`${row.path}${suffix}`);
          if (mine) reused.set(suffix, mine);
          return mine?.data ?? null;
        });
        const made = new Map((rendered.attachments ?? []).map((a) => [a.suffix, a]));
        for (const [suffix, f] of reused) if (!made.has(suffix)) sideFiles.push({ path: `${row.path}${suffix}`, data: f.data, contentType: f.contentType });
        for (const a of made.values()) sideFiles.push({ path: `${row.path}${a.suffix}`, data: a.data, contentType: a.contentType });
        out.push({ ...row, entry: rendered.entry });
      }
    }
    return { rows: out, sideFiles };
  }

  private async renderStored(provider: Provider, repo: RepoInfo, signer: RepoSigner, row: FileRow, preferred?: (suffix: string) => Promise<Buffer | null>): Promise<RenderedEntry> {
    const stored = JSON.parse(row.attachments || '[]') as StoredAttachment[];
    let local: string | undefined;
    const ctx: RenderContext = {
      repo,
      signer,
      attachment: async (suffix) => {
        const mine = preferred ? await preferred(suffix) : null;
        if (mine) return mine;
        const a = stored.find((x) => x.suffix === suffix);
        return a ? readAll(await this.blobs.get(blobKey(a.sha256))) : null;
      },
      localFile: async () => {
        if (local) return local;
        fs.mkdirSync(this.tmpDir, { recursive: true });
        const target = path.join(this.tmpDir, `reindex-${crypto.randomBytes(8).toString('hex')}`);
        await pipeline(await this.blobs.get(blobKey(row.sha256)), fs.createWriteStream(target, { mode: 0o600 }));
        return (local = target);
      },
    };
    try {
      const pkg: StoredPackage = {
        name: row.name,
        version: row.version,
        arch: row.arch,
        filename: row.filename,
        path: row.path,
        partition: row.partition,
        size: row.size,
        hashes: await this.completeHashes(provider, row, ctx),
        indexData: JSON.parse(row.indexData!),
      };
      return await provider.renderEntry(pkg, ctx);
    } finally {
      if (local) fs.rmSync(local, { force: true });
    }
  }

  /**
   * The row's digests, with any the provider now needs but the row lacks (it was stored while
   * the provider declared fewer) computed from the stored blob once and saved.
   */
  private async completeHashes(provider: Provider, row: FileRow, ctx: RenderContext): Promise<FileHashes> {
    const hashes = hashesFromColumns(row);
    const missing = missingDigests(provider, hashes);
    if (missing.length === 0) return hashes;
    const { digests } = await hashFile(await ctx.localFile(), missing);
    const completed = { ...hashes, ...digests };
    // Also reached for a member's row during a virtual's build (renderForVirtual): the change is
    // the member's, recorded for the keys its publishes cache (src/core/key-cache.ts).
    await this.publisher.ensureChanges(row.repoId);
    await this.db.write(async (m) => {
      await m.getRepository(FileEntity).update({ id: row.id }, { ...hashColumns(completed), rev: bumpRev });
      await this.publisher.recordChangesInTx(m, row.repoId, [row.id]);
    });
    return completed;
  }

  /** Store a re-rendered entry and its new side files; whether anything changed. */
  private async save(row: FileRow, rendered: RenderedEntry): Promise<boolean> {
    const made: StoredAttachment[] = [];
    for (const a of rendered.attachments ?? []) made.push(await this.storeAttachment(a));
    const before = JSON.parse(row.attachments || '[]') as StoredAttachment[];
    const attachments = JSON.stringify(mergeAttachments(before, made));
    if (rendered.entry === row.entry && attachments === row.attachments) return false;
    await this.publisher.ensureChanges(row.repoId);
    await this.db.write(async (m) => {
      await m.getRepository(FileEntity).update({ id: row.id }, { entry: rendered.entry, attachments, rev: bumpRev });
      this.db.repoChanged(m, row.repoId); // cached file rows (read-cache.ts) hold the attachments
      // Recorded at once, not only by the republish that follows: a publish running meanwhile caches keys too.
      await this.publisher.recordChangesInTx(m, row.repoId, [row.id]);
    });
    return true;
  }

  /** Side files are content-addressed blobs like everything else. */
  async storeAttachment(a: Attachment): Promise<StoredAttachment> {
    const sha256 = sha256Hex(a.data);
    const key = blobKey(sha256);
    if (!(await this.blobs.stat(key))) await this.blobs.putBuffer(key, a.data, a.contentType);
    return { suffix: a.suffix, sha256, size: a.data.length, contentType: a.contentType };
  }
}
