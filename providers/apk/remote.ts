/**
 * apk remote repositories (issue 14). The upstream is one branch URL, as a line of Alpine's
 * /etc/apk/repositories (`https://dl-cdn.alpinelinux.org/alpine/v3.20/main`). The remote keeps
 * the hosted layout, `<branch>/<arch>/...`, where `<branch>` is the upstream path's last
 * segment or last two (`main` or `v3.20/main`), so the client line is
 * `<repoUrl>/main` (or `<repoUrl>/v3.20/main`), just as for a hosted repository:
 *
 *   <branch>/<arch>/APKINDEX.tar.gz   ->  <upstream>/<arch>/APKINDEX.tar.gz   (index)
 *   <branch>/<arch>/<P>-<V>.apk       ->  <upstream>/<arch>/<P>-<V>.apk       (package)
 *
 * (Alpine keeps noarch packages in every architecture directory, which is where apk asks.)
 * APKINDEX.tar.gz is passed through byte for byte: it is signed upstream and apk checks it
 * with the upstream's key in /etc/apk/keys; nothing is re-signed. Packages are cached on first
 * fetch without a sha256 link: the index's `C:` is the SHA-1 of the package's control gzip
 * member, not of the file (docs/formats/apk.md#package-checksum), and apk itself checks it on
 * download.
 */
import { InvalidPackageError } from '../../src/core/errors';
import type { RemoteSupport, RemoteTarget } from '../../src/core/kind-contract';
import { isValidBranch } from './layout';
import { ARCH_RE } from './pkginfo';

const enc = encodeURIComponent;

function upstreamSegments(upstream: string): string[] {
  return new URL(upstream).pathname.split('/').filter((s) => s !== '');
}

/** Whether a request's `<branch>` names the upstream: its last path segment, or last two. */
function namesUpstream(branch: string, upstream: string): boolean {
  const segs = upstreamSegments(upstream);
  return branch === segs.slice(-1).join('/') || (segs.length >= 2 && branch === segs.slice(-2).join('/'));
}

/** One path segment a file can have: no separators, no control characters, not `.`/`..`. */
function safeFile(name: string): boolean {
  return name.length > 0 && name.length <= 255 && name !== '.' && name !== '..' && !/[/\\\u0000-\u001f\u007f]/.test(name);
}

export const apkRemote: RemoteSupport = {
  checkUpstream(url) {
    const u = new URL(url);
    if (u.search) throw new Error('an apk upstream has no query string');
    const last = upstreamSegments(url).at(-1);
    if (!last || !isValidBranch(last)) {
      throw new Error('an apk upstream is a branch URL such as https://dl-cdn.alpinelinux.org/alpine/v3.20/main (its last path segment is the branch served here)');
    }
  },

  target(path, ctx): RemoteTarget | null {
    const parts = path.split('/');
    if (parts.length < 3) return null;
    const file = parts.at(-1)!;
    const arch = parts.at(-2)!;
    const branch = parts.slice(0, -2).join('/');
    if (!ARCH_RE.test(arch) || !isValidBranch(branch) || !namesUpstream(branch, ctx.upstream)) return null;
    const url = `${ctx.upstream.replace(/\/+$/, '')}/${enc(arch)}/${enc(file)}`;
    if (file === 'APKINDEX.tar.gz') return { kind: 'index', source: path, url };
    if (file.endsWith('.apk') && safeFile(file)) return { kind: 'package', url };
    return null;
  },

  transformIndex(fetched) {
    // Not gzip: an error page or a captive portal, never something to keep as the index.
    if (fetched.body.length < 2 || fetched.body[0] !== 0x1f || fetched.body[1] !== 0x8b) throw new InvalidPackageError('APKINDEX.tar.gz is not gzip data');
    return { files: [{ path: fetched.path, data: fetched.body, contentType: 'application/gzip' }], links: [] };
  },
};
