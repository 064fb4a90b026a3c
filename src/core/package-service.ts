/**
 * Storing and removing package files. The order of an upload is what makes it safe:
 * 1. the bytes are already in a local temp file, hashed (src/http/multipart.ts);
 * 2. the provider parses and validates them (nothing stored yet: a 4xx loses nothing);
 * 3. the blob goes to its content-addressed key (a crash here leaves an unreferenced blob for `gc`);
 * 4. one transaction inserts the file row and marks the affected index scopes dirty;
 * 5. the publisher builds the indexes; the response waits for that unless `wait=0`.
 */
import { ensureDigests } from './digests';
import type { Database } from '../db/database';
import { isUniqueViolation } from '../db/database';
import { bumpRev, FileEntity, type FileRow } from '../db/entities';
import { allOf, listingsToBump, partitionsWithFiles, scopesOfPartitions } from './listing-scopes';
import { fileView, nameKeyOf, type Catalog, type CatalogFile, type StoredFileView } from './catalog';
import type { BlobStore } from '../storage/blob-store';
import { blobKey } from '../storage/blob-store';
import type { EntryRenderer, StoredAttachment } from './entry-renderer';
import { BadRequestError, DomainError, InvalidPackageError, NotFoundError, VersionExistsError } from './errors';
import type { KeyService } from './keys/key-service';
import { checkPackageToken, checkRelativePath, printable } from './names';
import type { ParsedPackage, Provider, RepoInfo, RepoSigner, UploadedFile } from './provider';
import { providers as allProviders } from './provider-registry';
import { type Publisher, SeqTargets } from './publisher';
import type { RepoService } from './repo-service';
import type { AuditLog } from './audit';
import type { Events } from './events';
import { selectDoomed, type DoomedVersion, type RetentionRules, rulesOf, hasRules } from './retention';
import { insertPrepared, type CommitOutcome, type PreparedUpload } from './package-commit';
import { refuseUploadInto } from './kinds';

export type { StoredAttachment } from './entry-renderer';
export type { CommitOutcome, PreparedUpload } from './package-commit';

export interface UploadRequest {
  provider: Provider;
  repoName: string;
  file: UploadedFile;
  extraFiles: Record<string, UploadedFile>;
  params: Record<string, string>;
  claimedName?: string;
  claimedVersion?: string;
  wait: boolean;
}

// The API view of a file lives with the reads (catalog.ts); re-exported for rpcli's types.
export { fileView, type StoredFileView } from './catalog';

/** Pick the provider from the bytes when the client did not say (formats without `detect` are only used when named). */
export async function detectProvider(file: UploadedFile): Promise<Provider> {
  for (const p of allProviders) {
    if (p.detect && (await p.detect(file).catch(() => false))) return p;
  }
  const named = allProviders.filter((p) => !p.detect).map((p) => p.name);
  throw new BadRequestError(
    `could not detect the package format from the file; pass provider=<${allProviders.map((p) => p.name).join('|')}>${named.length ? ` (${named.join(', ')} must be named)` : ''}`,
  );
}

export class PackageService {
  constructor(
    private readonly db: Database,
    private readonly blobs: BlobStore,
    private readonly publisher: Publisher,
    private readonly keys: KeyService,
    private readonly repos: RepoService,
    private readonly catalog: Catalog,
    private readonly renderer: EntryRenderer,
    private readonly events: Events,
    private readonly audit: AuditLog,
  ) {}

  async upload(req: UploadRequest): Promise<{ view: StoredFileView; targets: SeqTargets; published: boolean }> {
    const prepared = await this.prepare(req);
    const { outcomes, targets } = await this.commit([prepared]);
    const outcome = outcomes[0]!;
    if ('error' in outcome) throw outcome.error;
    await this.retentionAfter(prepared.repo, prepared.provider, [prepared.parsed.name]);
    if (req.wait) {
      await this.publisher.ensurePublished(prepared.repo, targets);
      this.events.wake();
    }
    return { view: fileView(prepared.repo, outcome.row), targets, published: req.wait };
  }

  /**
   * Steps 2 and 3 of an upload: every check, the parse, the rendered entry and the stored
   * blob, so that what is left is the row insert (`commit`). A bulk import prepares each file
   * this same way, so each is validated exactly as a single upload would be.
   */
  async prepare(req: UploadRequest, known?: RepoInfo): Promise<PreparedUpload> {
    const { provider } = req;
    if (req.file.size === 0) throw new InvalidPackageError('the uploaded file is empty');
    // The repository row is only created once the package is known to be good (or when
    // parsing needs its signing key): a rejected upload leaves nothing behind. `known`: the
    // repository an earlier file of the same batch was prepared for (one lookup per batch).
    let existing = known && known.provider === provider.name && known.name === req.repoName ? known : await this.repos.find(provider.name, req.repoName);
    if (existing !== known) await refuseUploadInto(this.repos, existing);
    const ensureRepo = async () => (existing ??= await this.repos.getOrCreate(provider.name, req.repoName));
    const provisional: RepoInfo = existing ?? { id: 0, provider: provider.name, name: req.repoName, settings: {} };
    const lazySigner: RepoSigner = {
      openpgp: async () => this.keys.signerFor(await ensureRepo()).openpgp(),
      rsa: async () => this.keys.signerFor(await ensureRepo()).rsa(),
    };
    const effective = this.publisher.scopeContext(provisional).repo;
    // The provider may only be known now (detected): compute the digests its index needs that the upload pass did not.
    await ensureDigests(provider, req.file);
    const parsed = await provider.parse({ file: req.file, extraFiles: req.extraFiles, params: req.params, repo: effective });
    this.checkClaims(provider, parsed, req.claimedName, req.claimedVersion);
    checkPackageToken('name', parsed.name);
    checkPackageToken('version', parsed.version);
    checkRelativePath(parsed.path);
    // Rendered before the blob is stored: storing moves the local file the renderer may sign.
    const rendered = await this.renderer.forUpload(provider, parsed, req.file, effective, lazySigner);

    // Blobs first: a row must never point at bytes that are not stored.
    const key = blobKey(req.file.hashes.sha256);
    if (!(await this.blobs.stat(key))) await this.blobs.putFile(key, req.file.localPath);
    const attachments: StoredAttachment[] = [];
    for (const a of rendered.attachments) attachments.push(await this.renderer.storeAttachment(a));

    const repo = await ensureRepo();
    const { scopes, listing } = await scopesOfPartitions(provider, this.publisher.scopeContext(repo), [parsed.partition]);
    return { provider, repo, file: req.file, parsed, entry: rendered.entry, attachments, scopes, listingScopes: listing.get(parsed.partition) ?? [] };
  }

  /**
   * Step 4 for prepared uploads of one repository: one transaction inserts every row that
   * does not clash and bumps each affected scope once, so a batch costs a few round trips,
   * not a few per file. A clash (same file, same path with other bytes) is that file's own
   * outcome; the others go in. If the transaction fails anyway (a concurrent upload of the
   * same file won the unique index), each file is committed on its own to say which.
   */
  async commit(items: PreparedUpload[]): Promise<{ outcomes: CommitOutcome[]; targets: SeqTargets }> {
    if (items.length === 0) return { outcomes: [], targets: new SeqTargets() };
    const { repo } = items[0]!;
    await this.publisher.ensureScopes(repo.id, [...new Set(items.flatMap((i) => [...i.scopes, ...i.listingScopes]))]);
    try {
      return await this.db.write((m) => insertPrepared(m, repo, items, this.publisher, this.events));
    } catch (e) {
      if (items.length === 1) {
        const p = items[0]!.parsed;
        if (isUniqueViolation(e)) throw new VersionExistsError(`${p.filename} (${p.name} ${p.version}) already exists in ${repo.provider}/${repo.name}`);
        throw e;
      }
      const outcomes: CommitOutcome[] = [];
      const targets = new SeqTargets();
      for (const item of items) {
        try {
          const one = await this.commit([item]);
          outcomes.push(one.outcomes[0]!);
          for (const [scope, seq] of one.targets) targets.set(scope, Math.max(seq, targets.get(scope) ?? 0));
          targets.virtuals.push(...one.targets.virtuals);
        } catch (err) {
          if (!(err instanceof DomainError)) throw err;
          outcomes.push({ error: err });
        }
      }
      return { outcomes, targets };
    }
  }

  /** Retention after new uploads: only the uploaded names' rows are read, and nothing at all without rules. */
  async retentionAfter(repo: RepoInfo, provider: Provider, names: string[]): Promise<void> {
    const rules = rulesOf(repo.settings);
    if (!hasRules(rules)) return;
    for (const name of new Set(names)) await this.applyRetention(repo, provider, rules, name);
  }

  private checkClaims(provider: Provider, parsed: ParsedPackage, name?: string, version?: string): void {
    if (!provider.selfDescribing) return;
    if (name && nameKeyOf(provider, name) !== nameKeyOf(provider, parsed.name)) {
      throw new BadRequestError(`name "${printable(name)}" in the request does not match the package's own name "${parsed.name}"`);
    }
    // Equal by the format's own rules (PEP 440: 1.0 == 1.0.0), not only byte for byte.
    if (version && version !== parsed.version && provider.compareVersions(version, parsed.version) !== 0) {
      throw new BadRequestError(`version "${printable(version)}" in the request does not match the package's own version "${parsed.version}"`);
    }
  }

  /** Delete rows, republish the scopes they were in, wait for it. */
  async deleteFiles(repo: RepoInfo, provider: Provider, rows: CatalogFile[]): Promise<number> {
    if (rows.length === 0) return 0;
    const touched = await scopesOfPartitions(provider, this.publisher.scopeContext(repo), rows.map((r) => r.partition));
    await this.publisher.ensureScopes(repo.id, allOf(touched));
    const targets = await this.db.write(async (m) => {
      // Listing scopes: under the partitions' scope locks, which partitions this leaves empty (src/core/listing-scopes.ts).
      if (touched.listing.size) await this.publisher.lockInTx(m, repo.id, touched.scopes);
      await m.getRepository(FileEntity).delete(rows.map((r) => r.id));
      await this.events.emit('package.deleted', repo, rows, undefined, m);
      const held = touched.listing.size ? await partitionsWithFiles(m, repo.id, [...touched.listing.keys()]) : new Set<string>();
      return this.publisher.requestInTx(m, repo.id, [...touched.scopes, ...listingsToBump(touched.listing, (p) => !held.has(p))], rows.map((r) => r.id));
    });
    this.events.wake();
    await this.publisher.ensurePublished(repo, targets);
    return rows.length;
  }

  async deleteVersion(repo: RepoInfo, provider: Provider, name: string, version?: string): Promise<number> {
    const rows = version === undefined ? await this.catalog.filesOf(repo, name) : await this.catalog.versionFiles(repo, name, version);
    if (rows.length === 0) throw new NotFoundError(`${name}${version ? ` ${version}` : ''} is not in ${repo.provider}/${repo.name}`);
    return this.deleteFiles(repo, provider, rows);
  }

  /**
   * Yank (PEP 592 for PyPI: stays listed, marked; elsewhere: leaves the index, file stays
   * downloadable by URL). `reason` null un-yanks.
   */
  async setYanked(repo: RepoInfo, provider: Provider, name: string, version: string, reason: string | null): Promise<number> {
    const rows = await this.catalog.versionFiles(repo, name, version);
    if (rows.length === 0) throw new NotFoundError(`${name} ${version} is not in ${repo.provider}/${repo.name}`);
    // A yank neither adds nor removes a file: listing scopes stay as they are.
    const { scopes } = await scopesOfPartitions(provider, this.publisher.scopeContext(repo), rows.map((r) => r.partition));
    await this.publisher.ensureScopes(repo.id, scopes);
    const listed = provider.capabilities.yank === 'listed';
    const targets = await this.db.write(async (m) => {
      await m.getRepository(FileEntity).update(
        rows.map((r) => r.id),
        listed ? { yanked: reason, rev: bumpRev } : { yanked: reason, hidden: reason !== null, rev: bumpRev },
      );
      await this.events.emit(reason === null ? 'package.unyanked' : 'package.yanked', repo, rows, reason === null ? undefined : { reason }, m);
      return this.publisher.requestInTx(m, repo.id, scopes, rows.map((r) => r.id));
    });
    this.events.wake();
    await this.publisher.ensurePublished(repo, targets);
    return rows.length;
  }

  /**
   * Apply retention rules (src/core/retention.ts) to every package, or to `onlyName` alone
   * (after an upload only that package's rows are read); returns what went (or would go).
   * Each deleted version is in the audit log (`retention.delete`) and fires `package.deleted`.
   */
  async applyRetention(repo: RepoInfo, provider: Provider, rules: RetentionRules, onlyName?: string, dryRun = false): Promise<(StoredFileView & { reason: string })[]> {
    const rows = onlyName === undefined ? await this.catalog.allFiles(repo) : await this.catalog.filesOf(repo, onlyName);
    const doomed: DoomedVersion[] = selectDoomed(provider, rows, rules);
    if (!dryRun && doomed.length) {
      await this.deleteFiles(repo, provider, doomed.flatMap((d) => d.files));
      for (const d of doomed) {
        await this.audit.record({ action: 'retention.delete', provider: repo.provider, repo: repo.name, target: `${d.name} ${d.version}`, status: 200, detail: `${d.files.length} file(s): ${d.reason}` });
      }
    }
    return doomed.flatMap((d) => d.files.map((f) => ({ ...fileView(repo, f), reason: d.reason })));
  }
}
