/** `rpcli download`: stream a package file to disk, checking its sha256 against the API's. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { packageRef, resolveRepo, type Command } from '../context';
import { CliError, EXIT, connectionError, usageError } from '../errors';
import { repoPath } from '../http';
import { Progress, humanSize } from '../progress';
import type { PackageFile, PackageInfo } from './packages';

function pickFiles(info: PackageInfo, version: string | undefined, arch: string | undefined): PackageFile[] {
  let v;
  if (version !== undefined) {
    v = info.versions.find((x) => x.version === version);
    if (!v) throw new CliError(`${info.name} has no version ${version} (versions: ${info.versions.map((x) => x.version).join(', ')})`, EXIT.NOT_FOUND);
  } else {
    // Newest first from the API; a yanked version is only taken when nothing else is left.
    v = info.versions.find((x) => x.files.some((f) => f.yanked === null)) ?? info.versions[0];
  }
  const files = arch === undefined ? v.files : v.files.filter((f) => f.arch === arch);
  if (files.length === 0) throw new CliError(`${info.name} ${v.version} has no file for arch ${arch} (has: ${v.files.map((f) => f.arch || '-').join(', ')})`, EXIT.NOT_FOUND);
  return files;
}

function destinations(files: PackageFile[], output: string | undefined): string[] {
  const isDir = output === undefined || output.endsWith('/') || (fs.existsSync(output) && fs.statSync(output).isDirectory());
  if (isDir) {
    const dir = output ?? '.';
    if (!fs.existsSync(dir)) throw usageError(`directory not found: ${dir}`);
    return files.map((f) => path.join(dir, path.basename(f.filename)));
  }
  if (files.length > 1) throw usageError(`${files.length} files match (${files.map((f) => f.filename).join(', ')}): pass --arch <arch>, or -o <directory>`);
  if (!fs.existsSync(path.dirname(output) || '.')) throw usageError(`directory not found: ${path.dirname(output)}`);
  return [output];
}

export const downloadCommand: Command = {
  name: 'download',
  summary: 'download a package file (newest version unless given), verified by sha256',
  usage: `rpcli download <package> [<version>] -r <repo> [-y <provider>] [--arch <arch>] [-o <file|dir>]
rpcli download -p <package> [-i <version>] -r <repo> ...     the same, with upload's flags

Examples:
  rpcli download hello -r myrepo -y apt -o /tmp/
  rpcli download cpython 3.8.0b1 -r cpython -o cpython.tar.gz
  rpcli download -p hello -i 1.0 -r myrepo --arch arm64 -o .`,
  options: ['repo', 'provider', 'name', 'version', 'output', 'arch'],
  async run(ctx) {
    const { name, version } = packageRef(ctx, 'download', 'optional');
    const { provider, repo } = await resolveRepo(ctx);
    const api = ctx.api();
    const info = await api.json<PackageInfo>('GET', `${repoPath(provider, repo)}/packages/${encodeURIComponent(name)}`);
    const files = pickFiles(info, version, ctx.values.arch);
    const dests = destinations(files, ctx.values.output);
    const done: { path: string; url: string; size: number; sha256: string }[] = [];
    for (const [i, f] of files.entries()) {
      const dest = dests[i];
      // The server the user named, not the URL the server printed (BASE_URL may differ).
      const url = `${api.server}/repo/${encodeURIComponent(provider)}/${encodeURIComponent(repo)}/${f.path.split('/').map(encodeURIComponent).join('/')}`;
      const res = await api.fetch(url, { headers: { Accept: '*/*' } });
      if (!res.body) throw new CliError(`empty response for ${url}`);
      const total = Number(res.headers.get('content-length')) || f.size;
      const progress = new Progress(path.basename(dest).slice(0, 32).padEnd(32), total, ctx.progress);
      const hash = crypto.createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          size += chunk.length;
          progress.add(chunk.length);
          cb(null, chunk);
        },
      });
      const part = `${dest}.part`;
      try {
        await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), meter, fs.createWriteStream(part));
        progress.finish();
        const sha256 = hash.digest('hex');
        if (sha256 !== f.sha256) throw new CliError(`${f.filename}: sha256 mismatch (expected ${f.sha256}, got ${sha256}); nothing written`);
        fs.renameSync(part, dest);
        done.push({ path: dest, url, size, sha256 });
      } catch (e) {
        progress.abort();
        fs.rmSync(part, { force: true });
        throw connectionError(api.server, e) ?? e;
      }
      if (!ctx.out.json) ctx.out.line(`downloaded ${dest} (${humanSize(size)}, sha256 verified)`);
    }
    if (ctx.out.json) ctx.out.data(done);
  },
};
