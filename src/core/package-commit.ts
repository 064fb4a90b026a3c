/**
 * The row side of an upload (step 4 in package-service.ts), for one file or a batch of files
 * of one repository: inside the caller's write transaction, one read of the rows that share a
 * path with the new files, one multi-row insert, one read back, one bump per affected scope
 * and one insert of the held `package.published` events. Per file the cost is a share of a
 * few statements instead of six round trips (issue 19: bulk imports).
 */
import type { EntityManager } from 'typeorm';
import { In } from 'typeorm';
import { FileEntity, type FileRow } from '../db/entities';
import { nameKeyOf } from './catalog';
import type { StoredAttachment } from './entry-renderer';
import { ConflictError, DomainError, VersionExistsError } from './errors';
import type { Events } from './events';
import type { ParsedPackage, Provider, RepoInfo, UploadedFile } from './provider';
import { type Publisher, SeqTargets } from './publisher';
import { hashColumns } from './digests';
import { listingsToBump, partitionsWithFiles } from './listing-scopes';

/** A validated upload whose blob is stored, waiting for its row (PackageService.prepare). */
export interface PreparedUpload {
  provider: Provider;
  repo: RepoInfo;
  file: UploadedFile;
  parsed: ParsedPackage;
  entry: string;
  attachments: StoredAttachment[];
  scopes: string[];
  /** Provider.listingScopes of its partition: bumped only if the partition held no file before. */
  listingScopes: string[];
}

export type CommitOutcome = { row: FileRow } | { error: DomainError };

/** Rows per INSERT / IN list: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 200;

function chunks<T>(xs: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
}

const slot = (path: string, partition: string) => `${partition}\u0000${path}`;

export async function insertPrepared(m: EntityManager, repo: RepoInfo, items: PreparedUpload[], publisher: Publisher, events: Events): Promise<{ outcomes: CommitOutcome[]; targets: SeqTargets }> {
  const files = m.getRepository(FileEntity);
  const overwrite = repo.settings.overwrite === true;
  // Partitions with listing scopes: did each hold a file before? Read under the partitions'
  // scope locks, taken before any other read (src/core/listing-scopes.ts).
  const listing = new Map(items.filter((i) => i.listingScopes.length).map((i) => [i.parsed.partition, i.listingScopes]));
  let heldBefore = new Set<string>();
  if (listing.size) {
    await publisher.lockInTx(m, repo.id, items.flatMap((i) => i.scopes));
    heldBefore = await partitionsWithFiles(m, repo.id, [...listing.keys()]);
  }
  const paths = [...new Set(items.map((i) => i.parsed.path))];
  /** Rows already stored at the new files' paths, then the new files themselves as they are accepted. */
  const atPath = new Map<string, { id?: number; partition: string; sha256: string }[]>();
  for (const part of chunks(paths)) {
    const rows = await files.find({ where: { repoId: repo.id, path: In(part) }, select: { id: true, path: true, partition: true, sha256: true } });
    for (const r of rows) (atPath.get(r.path) ?? atPath.set(r.path, []).get(r.path)!).push({ id: r.id, partition: r.partition, sha256: r.sha256 });
  }

  const outcomes: (CommitOutcome | undefined)[] = new Array(items.length);
  const replaced: number[] = [];
  const accepted: number[] = [];
  items.forEach((item, i) => {
    const { parsed, file } = item;
    const others = atPath.get(parsed.path) ?? [];
    try {
      for (const other of others) {
        if (other.partition === parsed.partition) {
          // A second copy in the same batch clashes like an upload after the first would.
          if (!overwrite || other.id === undefined) throw new VersionExistsError(`${parsed.filename} (${parsed.name} ${parsed.version}) already exists in ${repo.provider}/${repo.name}; versions are immutable (delete it first, or enable overwrite for this repository)`);
          replaced.push(other.id);
        } else if (other.sha256 !== file.hashes.sha256) {
          // apt shares pool/ between dists: one path must always name the same bytes.
          throw new ConflictError(`${parsed.path} already exists in ${repo.provider}/${repo.name} with different content`);
        }
      }
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      outcomes[i] = { error: e };
      return;
    }
    (atPath.get(parsed.path) ?? atPath.set(parsed.path, []).get(parsed.path)!).push({ partition: parsed.partition, sha256: file.hashes.sha256 });
    accepted.push(i);
  });

  for (const part of chunks(replaced)) await files.delete(part);
  const now = Date.now();
  const rows = accepted.map((i) => {
    const { provider, parsed, file, entry, attachments } = items[i]!;
    return {
      repoId: repo.id,
      name: parsed.name,
      nameKey: nameKeyOf(provider, parsed.name),
      version: parsed.version,
      arch: parsed.arch,
      filename: parsed.filename,
      path: parsed.path,
      partition: parsed.partition,
      size: file.size,
      ...hashColumns(file.hashes),
      meta: JSON.stringify(parsed.meta),
      entry,
      indexData: JSON.stringify(parsed.indexData ?? null),
      attachments: JSON.stringify(attachments),
      yanked: null,
      hidden: false,
      createdAt: now,
    };
  });
  for (const part of chunks(rows)) await files.insert(part);

  // Read back by the unique (repo, partition, path): insert identifiers of multi-row inserts differ by driver.
  const stored = new Map<string, FileRow>();
  for (const part of chunks([...new Set(accepted.map((i) => items[i]!.parsed.path))])) {
    for (const r of await files.find({ where: { repoId: repo.id, path: In(part) } })) stored.set(slot(r.path, r.partition), r);
  }
  const inserted: FileRow[] = [];
  for (const i of accepted) {
    const row = stored.get(slot(items[i]!.parsed.path, items[i]!.parsed.partition))!;
    outcomes[i] = { row };
    inserted.push(row);
  }
  const gained = new Set(accepted.map((i) => items[i]!.parsed.partition).filter((p) => !heldBefore.has(p)));
  const scopes = [...new Set([...accepted.flatMap((i) => items[i]!.scopes), ...listingsToBump(listing, (p) => gained.has(p))])];
  // The rows replaced (overwrite) and inserted, for the keys cached by publishes (src/core/key-cache.ts).
  const changed = [...replaced, ...inserted.map((r) => r.id)];
  let targets = new SeqTargets();
  if (scopes.length) targets = await publisher.requestInTx(m, repo.id, scopes, changed);
  else await publisher.recordChangesInTx(m, repo.id, changed);
  // Held until the index scopes above are published, in this transaction: never before, never lost.
  if (inserted.length) await events.emitWhenPublished(m, 'package.published', repo, inserted, targets);
  return { outcomes: outcomes as CommitOutcome[], targets };
}
