/**
 * An independent consistency check of a published apt dist, as a client would do it:
 * InRelease verifies with gpgv against the served keyring; every index file listed in
 * Release has the listed size and SHA256; every Packages stanza's Filename downloads
 * with its Size and SHA256. Returns the (Package, Version, Architecture) triples listed.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

async function bytes(url: string): Promise<Buffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

export function parseStanzas(text: string): Record<string, string>[] {
  return text
    .split(/\n\n+/)
    .filter((s) => s.trim())
    .map((s) => {
      const out: Record<string, string> = {};
      let last = '';
      for (const line of s.split('\n')) {
        if (/^\s/.test(line) && last) out[last] += '\n' + line;
        else {
          const i = line.indexOf(':');
          last = line.slice(0, i);
          out[last] = line.slice(i + 1).trim();
        }
      }
      return out;
    });
}

/**
 * Index files are fetched by hash, as apt does with Acquire-By-Hash: that is what makes a
 * client immune to a publish that happens between its InRelease and its Packages fetch.
 * `canonical` also compares the canonical paths (only meaningful while nothing publishes).
 */
export async function checkAptDist(repoUrl: string, dist: string, opts: { canonical?: boolean } = {}): Promise<{ packages: string[]; release: Record<string, string> }> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aptcheck-'));
  try {
    const keyring = path.join(tmp, 'key.gpg');
    fs.writeFileSync(keyring, await bytes(`${repoUrl}/keyring.gpg`));
    const inrelease = await bytes(`${repoUrl}/dists/${dist}/InRelease`);
    fs.writeFileSync(path.join(tmp, 'InRelease'), inrelease);
    // gpgv exits non-zero on a bad or missing signature; --output gives the signed text exactly.
    execFileSync('gpgv', ['--keyring', keyring, '--output', path.join(tmp, 'Release'), path.join(tmp, 'InRelease')], { stdio: 'pipe' });
    const releaseText = fs.readFileSync(path.join(tmp, 'Release'), 'utf8');
    const release = parseStanzas(releaseText)[0];
    const listed = release.SHA256.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => l.split(/\s+/));
    const packages = new Set<string>();
    for (const [sha, size, rel] of listed) {
      const data = await bytes(`${repoUrl}/dists/${dist}/${path.dirname(rel)}/by-hash/SHA256/${sha}`);
      if (data.length !== Number(size)) throw new Error(`${rel}: size ${data.length} != Release ${size}`);
      if (crypto.createHash('sha256').update(data).digest('hex') !== sha) throw new Error(`${rel}: sha256 differs from Release`);
      if (opts.canonical && !(await bytes(`${repoUrl}/dists/${dist}/${rel}`)).equals(data)) throw new Error(`${rel}: canonical file differs from its by-hash copy`);
      if (!rel.endsWith('/Packages.gz')) continue;
      for (const st of parseStanzas(zlib.gunzipSync(data).toString('utf8'))) {
        const deb = await bytes(`${repoUrl}/${st.Filename.split('/').map(encodeURIComponent).join('/')}`);
        if (deb.length !== Number(st.Size)) throw new Error(`${st.Filename}: size differs from Packages`);
        if (crypto.createHash('sha256').update(deb).digest('hex') !== st.SHA256) throw new Error(`${st.Filename}: sha256 differs from Packages`);
        packages.add(`${st.Package} ${st.Version} ${st.Architecture}`);
      }
    }
    return { packages: [...packages].sort(), release };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
