/**
 * POST /addpkg/batch: many package files in one multipart request (issue 19, bulk imports).
 * Each file goes through the same checks as POST /addpkg (uploadRequestFor + prepare), then
 * the good ones of a repository are inserted in one transaction with one publish request for
 * their scopes. A bad file gets its own status and message in `results`; the others are kept.
 * Extra file fields (pacman `sig`) belong to the package whose file name they extend:
 * `foo.pkg.tar.zst.sig` is the signature of `foo.pkg.tar.zst`, as makepkg names them.
 */
import type { Request, Response } from 'express';
import { BadRequestError, DomainError } from '../core/errors';
import { checkRepoName } from '../core/names';
import { fileView, type CommitOutcome, type PreparedUpload } from '../core/package-service';
import type { UploadedFile } from '../core/provider';
import { providers } from '../core/provider-registry';
import type { SeqTargets } from '../core/publisher';
import { TokenService } from '../core/tokens';
import type { Services } from '../services';
import { receiveMultipart } from './multipart';
import { noteAudit } from './ops-middleware';
import { storedAnswer, uploadRequestFor } from './upload-handler';

/** Package files per request: bounds one request's temp space and transaction. */
export const MAX_BATCH_FILES = 1000;

type FileResult = { file: string; status: number } & ({ error: string; code: string } | Record<string, unknown>);

const ANY_FORMAT_DIGESTS = [...new Set(providers.flatMap((p) => p.digests ?? []))];
const EXTRA_FIELDS = [...new Set(providers.flatMap((p) => p.uploadFileFields ?? []))];

/** Each extra file to its package by name; one that names no package in the request makes the request malformed. */
function pairExtras(pkgs: UploadedFile[], lists: Record<string, UploadedFile[]>): Record<string, UploadedFile>[] {
  const byName = new Map(pkgs.map((f, i) => [f.clientFilename, i]));
  const out = pkgs.map(() => ({}) as Record<string, UploadedFile>);
  for (const field of EXTRA_FIELDS) {
    for (const extra of lists[field] ?? []) {
      const owner = extra.clientFilename.endsWith(`.${field}`) ? byName.get(extra.clientFilename.slice(0, -field.length - 1)) : undefined;
      if (owner === undefined) throw new BadRequestError(`the ${field} file "${extra.clientFilename}" names no package file of this request (send foo.${field} with foo)`);
      if (out[owner]![field]) throw new BadRequestError(`more than one ${field} file for "${pkgs[owner]!.clientFilename}"`);
      out[owner]![field] = extra;
    }
  }
  return out;
}

export async function handleBatchUpload(s: Services, req: Request, res: Response): Promise<void> {
  TokenService.require(req.principal, 'write');
  const query = Object.fromEntries(Object.entries(req.query).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  if (query.reponame) TokenService.require(req.principal, 'write', checkRepoName(query.reponame));
  const upload = await receiveMultipart(req, {
    tmpDir: s.tmpDir,
    maxFileSize: s.config.MAX_UPLOAD_SIZE,
    fileFields: ['f', ...EXTRA_FIELDS],
    repeatableFileFields: ['f', ...EXTRA_FIELDS],
    maxFiles: MAX_BATCH_FILES * (1 + EXTRA_FIELDS.length),
    // The digests are taken in the receiving pass, in the hashing worker: `?provider=`'s, or (the format is
    // detected per file) every format's, rather than a second read of each file once its format is known.
    digests: providers.find((p) => p.name === query.provider)?.digests ?? ANY_FORMAT_DIGESTS,
  });
  try {
    const fields = { ...upload.fields, ...query };
    const pkgs = upload.fileLists.f ?? [];
    if (pkgs.length === 0) throw new BadRequestError('no files in field "f" (curl -F f=@a.deb -F f=@b.deb)');
    if (pkgs.length > MAX_BATCH_FILES) throw new BadRequestError(`at most ${MAX_BATCH_FILES} package files per batch; got ${pkgs.length}`);
    checkRepoName(fields.reponame);
    const extras = pairExtras(pkgs, upload.fileLists);
    const wait = fields.wait !== '0' && fields.wait !== 'false';

    const results: FileResult[] = new Array(pkgs.length);
    const refuse = (i: number, e: unknown) => {
      if (!(e instanceof DomainError)) throw e;
      results[i] = { file: pkgs[i]!.clientFilename, status: e.status, error: e.message, code: e.code };
    };
    // Prepared uploads by repository (a detected format may differ from file to file).
    const groups = new Map<number, { items: PreparedUpload[]; index: number[] }>();
    let lastRepo: PreparedUpload['repo'] | undefined;
    for (const [i, file] of pkgs.entries()) {
      try {
        const request = await uploadRequestFor(s, req, { fields, file, extraFiles: extras[i]!, wait: false });
        const prepared = await s.packages.prepare(request, lastRepo);
        lastRepo = prepared.repo;
        const g = groups.get(prepared.repo.id) ?? groups.set(prepared.repo.id, { items: [], index: [] }).get(prepared.repo.id)!;
        g.items.push(prepared);
        g.index.push(i);
      } catch (e) {
        refuse(i, e);
      }
    }
    const pending: { items: PreparedUpload[]; targets: SeqTargets }[] = [];
    for (const { items, index } of groups.values()) {
      const { outcomes, targets } = await s.packages.commit(items);
      outcomes.forEach((o: CommitOutcome, k) => {
        const i = index[k]!;
        if ('error' in o) return refuse(i, o.error);
        const item = items[k]!;
        results[i] = { file: pkgs[i]!.clientFilename, status: wait ? 201 : 202, ...storedAnswer(s, req, item.provider, fileView(item.repo, o.row), wait) };
      });
      const names = outcomes.flatMap((o, k) => ('row' in o ? [items[k]!.parsed.name] : []));
      await s.packages.retentionAfter(items[0]!.repo, items[0]!.provider, names);
      pending.push({ items, targets });
    }
    if (wait) for (const { items, targets } of pending) await s.publisher.ensurePublished(items[0]!.repo, targets);
    s.events.wake();

    const failed = results.filter((r) => 'error' in r).length;
    noteAudit(res, { target: `${pkgs.length} file(s), ${failed} refused` });
    res.status(failed ? 207 : wait ? 201 : 202).json({ stored: pkgs.length - failed, failed, published: wait, results });
  } finally {
    await upload.cleanup();
  }
}
