/** `rpcli upload`: one file goes to POST /addpkg, streamed, with a progress bar on a terminal; several go in batches (bulk-upload.ts). */
import { keyValues } from '../args';
import type { Command, Ctx } from '../context';
import { CliError, connectionError, usageError } from '../errors';
import { resolveFiles, type LocalFile } from '../files';
import { errorFromResponse } from '../http';
import { postMultipart, type FilePart } from '../multipart-upload';
import { Progress } from '../progress';
import { bulkUpload, parallelOf } from './bulk-upload';

interface Stored {
  provider: string;
  repo: string;
  name: string;
  version: string;
  arch: string;
  url: string;
  published: boolean;
}

/** `x.pkg.tar.zst.sig` next to `x.pkg.tar.zst` in the same call is that package's detached signature (makepkg --sign). */
function pairSignatures(files: LocalFile[], explicitSig: string | undefined): { pkg: LocalFile; sig?: LocalFile }[] {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const sigs = new Set(files.filter((f) => f.path.endsWith('.sig') && byPath.has(f.path.slice(0, -4))).map((f) => f.path));
  const pkgs = files.filter((f) => !sigs.has(f.path));
  if (explicitSig !== undefined && pkgs.length !== 1) throw usageError('--sig goes with exactly one package file');
  const explicit = explicitSig !== undefined ? resolveFiles([explicitSig])[0] : undefined;
  return pkgs.map((pkg) => ({ pkg, sig: explicit ?? byPath.get(`${pkg.path}.sig`) }));
}

function label(name: string): string {
  return name.length > 32 ? `${name.slice(0, 14)}...${name.slice(-15)}` : name.padEnd(32);
}

export const uploadCommand: Command = {
  name: 'upload',
  summary: 'upload package files (format detected from the bytes unless -y is given)',
  usage: `rpcli upload -r <repo> [-y <provider>] [-p <name>] [-i <version>] [-a key=value]... [--sig <file>] [--no-wait] [--parallel N] (-f <file> | <file|dir|glob>)...

  -y tar|apt|rpm|pacman|pypi|apk   provider (omit: detected from the file)
  -p / -i                      package name and version (required for tar; must match the package otherwise)
  -a key=value                 provider parameters: apt dist=, component=; apk branch=; tar filename=
  --sig <file>                 detached signature to store with a pacman package (x.sig next to x is sent automatically)
  --no-wait                    return once stored (202) instead of after the index is published
  --parallel N                 several files: batch requests in flight at once (default 4)

Several files (a directory stands for every file below it) go up in batches of up to 100 with
one index publish at the end; a refused file is reported on its own line, the others are kept,
and the exit code is then non-zero. A line per file is shown on a terminal only.

Examples:
  rpcli -s http://localhost:8080 upload -y apt -f hello_1.0_amd64.deb -r reponame -p hello -i 1.0 -a dist=trusty
  rpcli upload -r archrepo 'build/*.pkg.tar.zst'
  rpcli upload -y apt -r debs -a dist=bookworm ./pool/
  rpcli upload -y tar -r cpython -p cpython -i 3.8.0b1 cpython-3.8.0b1.tar.gz`,
  options: ['provider', 'repo', 'file', 'name', 'version', 'attr', 'sig', 'no-wait', 'parallel'],

  async run(ctx: Ctx) {
    const v = ctx.values;
    if (!v.repo) throw usageError('upload needs -r <repo>');
    const attrs = keyValues(v.attr, '-a');
    const args = [...(v.file ?? []), ...ctx.args];
    if (args.length === 0) throw usageError('no files to upload: -f <file> or file arguments');
    // Every file is checked before the first byte goes out.
    const jobs = pairSignatures(resolveFiles(args), v.sig);
    const parallel = parallelOf(v.parallel);
    if (jobs.length > 1) {
      const query = new URLSearchParams({ ...attrs, reponame: v.repo });
      if (v.provider) query.set('provider', v.provider);
      if (v.name) query.set('name', v.name);
      if (v.version) query.set('version', v.version);
      return bulkUpload(ctx, jobs, query, !v['no-wait'], parallel);
    }
    const api = ctx.api();
    const results: Stored[] = [];
    for (const { pkg, sig } of jobs) {
      const query = new URLSearchParams({ ...attrs, reponame: v.repo });
      if (v.provider) query.set('provider', v.provider);
      if (v.name) query.set('name', v.name);
      if (v.version) query.set('version', v.version);
      if (v['no-wait']) query.set('wait', '0');
      const parts: FilePart[] = [{ field: 'f', path: pkg.path, filename: pkg.name, size: pkg.size }];
      if (sig) parts.push({ field: 'sig', path: sig.path, filename: sig.name, size: sig.size });
      const progress = new Progress(label(pkg.name), parts.reduce((n, p) => n + p.size, 0), ctx.progress);
      let res;
      try {
        res = await postMultipart(`${api.server}/addpkg?${query}`, api.authHeaders(), parts, progress);
      } catch (e) {
        throw connectionError(api.server, e) ?? e;
      }
      if (res.status >= 400) {
        if (ctx.out.json && results.length) ctx.out.data(results);
        const err = errorFromResponse(res.status, res.statusText, res.body, api.cfg);
        if (jobs.length > 1) err.message = `${pkg.path}: ${err.message}`;
        throw err;
      }
      let stored: Stored;
      try {
        stored = JSON.parse(res.body) as Stored;
      } catch {
        throw new CliError(`the server at ${api.server} did not answer with JSON (is it an artifactd server?)`);
      }
      results.push(stored);
      if (!ctx.out.json) {
        const what = `${stored.name} ${stored.version}${stored.arch ? ` (${stored.arch})` : ''}`;
        ctx.out.line(`${stored.published ? 'published' : 'stored (publishing in the background)'}: ${stored.provider}/${stored.repo} ${what} ${stored.url}`);
      }
    }
    if (ctx.out.json) ctx.out.data(results);
  },
};
