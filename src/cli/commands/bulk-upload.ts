/**
 * `rpcli upload` of several files (a directory, a glob, a list): POST /addpkg/batch with up to
 * BATCH_FILES files per request, `--parallel` requests at a time, each with wait=0; then one
 * POST /api/repos/<p>/<r>/publish per repository, so the indexes are built once at the end
 * instead of after every file (issue 19). A refused file is reported on its own line and the
 * others are kept; the exit code is then that of the first refusal's status.
 */
import type { Ctx } from '../context';
import { CliError, connectionError, exitCodeForStatus, usageError } from '../errors';
import type { LocalFile } from '../files';
import { errorFromResponse, repoPath } from '../http';
import { postMultipart, type FilePart } from '../multipart-upload';
import { Progress } from '../progress';

export interface UploadJob {
  pkg: LocalFile;
  sig?: LocalFile;
}

interface FileResult {
  file: string;
  status: number;
  error?: string;
  provider?: string;
  repo?: string;
  name?: string;
  version?: string;
  arch?: string;
  url?: string;
  published?: boolean;
}

/** Files per request: the server takes up to 1000; 100 keeps each request's temp space and transaction small. */
const BATCH_FILES = 100;
/** ...and bytes per request, so a few large packages do not make one long request. */
const BATCH_BYTES = 64 << 20;

function batchesOf(jobs: UploadJob[]): UploadJob[][] {
  const out: UploadJob[][] = [];
  let cur: UploadJob[] = [];
  let bytes = 0;
  for (const j of jobs) {
    const size = j.pkg.size + (j.sig?.size ?? 0);
    if (cur.length && (cur.length >= BATCH_FILES || bytes + size > BATCH_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(j);
    bytes += size;
  }
  if (cur.length) out.push(cur);
  return out;
}

export function parallelOf(value: string | undefined): number {
  if (value === undefined) return 4;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw usageError(`--parallel must be a whole number from 1 to 64, not "${value}"`);
  return n;
}

export async function bulkUpload(ctx: Ctx, jobs: UploadJob[], query: URLSearchParams, wait: boolean, parallel: number): Promise<void> {
  const api = ctx.api();
  query.set('wait', '0');
  const results: FileResult[] = new Array(jobs.length);
  const batches = batchesOf(jobs);
  let done = 0;
  const report = (r: FileResult, job: UploadJob) => {
    done++;
    if (r.error !== undefined) process.stderr.write(`${job.pkg.path}: ${r.error}\n`);
    else if (ctx.progress) process.stderr.write(`[${String(done).padStart(String(jobs.length).length)}/${jobs.length}] ${r.provider}/${r.repo} ${r.name} ${r.version}${r.arch ? ` (${r.arch})` : ''}\n`);
  };

  const send = async (batch: UploadJob[], offset: number) => {
    const parts: FilePart[] = batch.flatMap(({ pkg, sig }) => [
      { field: 'f', path: pkg.path, filename: pkg.name, size: pkg.size },
      // The server pairs a signature with the package whose name it extends.
      ...(sig ? [{ field: 'sig', path: sig.path, filename: `${pkg.name}.sig`, size: sig.size }] : []),
    ]);
    let res;
    try {
      res = await postMultipart(`${api.server}/addpkg/batch?${query}`, api.authHeaders(), parts, new Progress('', undefined, false));
    } catch (e) {
      throw connectionError(api.server, e) ?? e;
    }
    if (res.status >= 400) {
      // The whole request was refused (token, repository name): every file of it says so.
      const err = errorFromResponse(res.status, res.statusText, res.body, api.cfg);
      process.stderr.write(`${batch[0]!.pkg.path}${batch.length > 1 ? ` and ${batch.length - 1} more` : ''}: ${err.message}\n`);
      batch.forEach((j, k) => {
        results[offset + k] = { file: j.pkg.name, status: res.status, error: err.message };
        done++;
      });
      return;
    } else {
      let answer: FileResult[];
      try {
        answer = (JSON.parse(res.body) as { results: FileResult[] }).results;
      } catch {
        throw new CliError(`the server at ${api.server} did not answer with JSON (is it an artifactd server?)`);
      }
      answer.forEach((r, k) => {
        results[offset + k] = r;
        report(r, batch[k]!);
      });
    }
  };

  const offsets: number[] = [];
  batches.reduce((n, b) => (offsets.push(n), n + b.length), 0);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, batches.length) }, async () => {
      while (next < batches.length) {
        const i = next++;
        await send(batches[i]!, offsets[i]!);
      }
    }),
  );

  const stored = results.filter((r) => r.error === undefined);
  const repos = [...new Set(stored.map((r) => `${r.provider}/${r.repo}`))];
  if (wait) {
    for (const pr of repos) {
      const [provider, repo] = pr.split('/') as [string, string];
      await api.json('POST', `${repoPath(provider, repo)}/publish`);
    }
    for (const r of stored) r.published = true;
  }
  const failed = results.filter((r) => r.error !== undefined);
  if (ctx.out.json) ctx.out.data(results);
  else ctx.out.line(`${wait ? 'published' : 'stored (publishing in the background)'}: ${stored.length} of ${jobs.length} files${repos.length ? ` into ${repos.join(', ')}` : ''}${failed.length ? `; ${failed.length} refused` : ''}`);
  if (failed.length) throw new CliError(`${failed.length} of ${jobs.length} files were refused (listed above)`, exitCodeForStatus(failed[0]!.status));
}
