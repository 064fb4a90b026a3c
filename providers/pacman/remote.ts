/**
 * pacman remote repositories (issue 14). The upstream is a mirrorlist `Server =` URL with
 * `$arch` and usually `$repo` (`https://geo.mirror.pkgbuild.com/$repo/os/$arch`). A client
 * points at the remote like at a hosted repository, `Server = <repoUrl>/$arch`, so a request
 * `<arch>/<db>.db` names both: `$arch` is the first segment and `$repo` the db's name (the
 * pacman.conf section). One remote can thus serve `[core]` and `[extra]` of one mirror.
 *
 * - `<db>.db`, `<db>.files` (and the `.db.tar.gz`/`.tar.zst`... names repo-add links them to)
 *   are passed through byte for byte: they are signed upstream and the client checks them
 *   with the upstream's key; nothing is re-signed. Each `.sig` is fetched in the same refresh
 *   as the file it signs (a companion), so the two always match.
 * - Package files (`*.pkg.tar.*`) and their `.sig` are reachable through the links a cached
 *   `<db>.db` made: each `%FILENAME%` at `<arch>/<file>`, with the db's `%SHA256SUM%` so the
 *   core verifies the bytes (mismatch: 502, nothing kept), and `<file>.sig` with the sha256 of
 *   `%PGPSIG%` when the db embeds one. pacman always syncs the db before it downloads.
 */
import type { RemoteLink, RemoteSupport, RemoteTarget, TransformedIndex } from '../../src/core/kind-contract';
import { readSyncDb } from './sync-db';
import crypto from 'node:crypto';

const ARCH = '[A-Za-z0-9_]{1,64}';
/** `<arch>/<db>.(db|files)[.tar[.<ext>]][.sig]`; pacman repository names are pacman.conf section names. */
const DB_PATH = new RegExp(`^(${ARCH})/([A-Za-z0-9_@+][A-Za-z0-9._@+-]{0,127})\\.(db|files)((?:\\.tar(?:\\.[A-Za-z0-9]{1,4})?)?)(\\.sig)?$`);
/** Any other file of an architecture directory: `%FILENAME%` is normally `*.pkg.tar.*`, but pacman does not care. */
const FILE_PATH = new RegExp(`^${ARCH}/[^/]+$`);

const enc = encodeURIComponent;

/** The upstream directory of one pacman repository and architecture. */
export function upstreamDir(upstream: string, repo: string, arch: string): string {
  return upstream.replaceAll('$repo', enc(repo)).replaceAll('$arch', enc(arch)).replace(/\/+$/, '');
}

function contentType(file: string): string {
  if (file.endsWith('.sig')) return 'application/pgp-signature';
  if (file.endsWith('.gz')) return 'application/gzip';
  if (file.endsWith('.zst')) return 'application/zstd';
  if (file.endsWith('.xz')) return 'application/x-xz';
  return 'application/octet-stream';
}

export const pacmanRemote: RemoteSupport = {
  checkUpstream(url) {
    if (!url.includes('$arch')) {
      throw new Error('a pacman upstream is a mirrorlist Server URL with $arch (and usually $repo), e.g. https://geo.mirror.pkgbuild.com/$repo/os/$arch; this one has no $arch');
    }
    if (new URL(url).search) throw new Error('a pacman upstream has no query string');
  },

  target(path, ctx): RemoteTarget | null {
    // Only what a cached db links (with its sha256): never a guess at which $repo a file is in.
    const m = DB_PATH.exec(path);
    if (!m) return FILE_PATH.test(path) ? { kind: 'package', url: null } : null;
    const [, arch, repo, kind, tarExt] = m as unknown as [string, string, string, string, string];
    const file = `${repo}.${kind}${tarExt}`;
    const dir = upstreamDir(ctx.upstream, repo, arch);
    // The file and its signature share one source: asking for either refreshes both.
    return { kind: 'index', source: `${arch}/${file}`, url: `${dir}/${enc(file)}`, companions: [{ path: `${arch}/${file}.sig`, url: `${dir}/${enc(file)}.sig` }] };
  },

  async transformIndex(fetched, ctx): Promise<TransformedIndex> {
    // `source` is the db itself, also when the request that caused the fetch was for its .sig.
    const m = DB_PATH.exec(fetched.source)!;
    const [, arch, repo, kind] = m as unknown as [string, string, string, string];
    const files = [{ path: fetched.source, data: fetched.body, contentType: contentType(fetched.source) }];
    // The .files db repeats every desc: the .db's links are enough (pacman -S always reads the .db).
    if (kind !== 'db') return { files, links: [] };
    const dir = upstreamDir(ctx.upstream, repo, arch);
    const links: RemoteLink[] = [];
    for (const p of await readSyncDb(fetched.body)) {
      const url = `${dir}/${enc(p.filename)}`;
      links.push({ path: `${arch}/${p.filename}`, url, sha256: p.sha256 });
      links.push({ path: `${arch}/${p.filename}.sig`, url: `${url}.sig`, sha256: p.signature ? crypto.createHash('sha256').update(p.signature).digest('hex') : null });
    }
    return { files, links };
  },
};
