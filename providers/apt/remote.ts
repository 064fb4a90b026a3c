/**
 * apt remote repositories (issue 14). The upstream is an archive root (`http://deb.debian.org/debian`
 * style). `dists/<suite>/InRelease`, `Release` and `Release.gpg` are passed through byte for
 * byte: clients verify them with the upstream's key, this server never re-signs. Every index
 * a Release names (its SHA256 section, and the by-hash names when `Acquire-By-Hash: yes`) is
 * linked to that sha256, so it is fetched, verified and served by the hashes of the Release
 * this server holds, never newer bytes than the Release a client read. `pool/` files are
 * cached on first fetch. Format: https://wiki.debian.org/DebianRepository/Format
 */
import type { RemoteLink, RemoteSupport } from '../../src/core/kind-contract';

const RELEASE = /^dists\/(.+)\/(InRelease|Release|Release\.gpg)$/;

function join(upstream: string, path: string): string {
  return `${upstream.replace(/\/+$/, '')}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** The SHA256 section of a Release (or the signed text of an InRelease): name -> sha256. */
export function releaseHashes(text: string): { byHash: boolean; files: { name: string; sha256: string }[] } {
  const files: { name: string; sha256: string }[] = [];
  let inSha = false;
  let byHash = false;
  for (const line of text.split('\n')) {
    if (/^Acquire-By-Hash:\s*yes\s*$/i.test(line)) byHash = true;
    if (/^\S/.test(line)) inSha = /^SHA256:\s*$/.test(line);
    else if (inSha) {
      const m = /^\s+([0-9a-f]{64})\s+\d+\s+(\S+)\s*$/.exec(line);
      if (m && !m[2]!.includes('..')) files.push({ sha256: m[1]!, name: m[2]! });
    }
    if (line.startsWith('-----BEGIN PGP SIGNATURE-----')) break;
  }
  return { byHash, files };
}

export const aptRemote: RemoteSupport = {
  target(path, ctx) {
    if (RELEASE.test(path)) return { kind: 'index', source: path, url: join(ctx.upstream, path) };
    // Other dists/ files change with each Release: only by the hashes of the cached one.
    if (path.startsWith('dists/')) return { kind: 'package', url: null };
    if (path.startsWith('pool/')) return { kind: 'package', url: join(ctx.upstream, path) };
    return null;
  },
  transformIndex(fetched, ctx) {
    const files = [{ path: fetched.path, data: fetched.body, contentType: fetched.path.endsWith('.gpg') ? 'application/pgp-signature' : 'text/plain; charset=utf-8' }];
    const m = RELEASE.exec(fetched.path)!;
    if (m[2] === 'Release.gpg') return { files, links: [] };
    const suite = `dists/${m[1]}`;
    const { byHash, files: named } = releaseHashes(fetched.body.toString('utf8'));
    const links: RemoteLink[] = [];
    for (const f of named) {
      const path = `${suite}/${f.name}`;
      links.push({ path, url: join(ctx.upstream, path), sha256: f.sha256 });
      if (byHash) {
        const dir = f.name.includes('/') ? f.name.slice(0, f.name.lastIndexOf('/')) : '';
        const hashed = `${suite}/${dir ? `${dir}/` : ''}by-hash/SHA256/${f.sha256}`;
        links.push({ path: hashed, url: join(ctx.upstream, hashed), sha256: f.sha256 });
      }
    }
    return { files, links };
  },
};
