/**
 * The served primary/filelists/other against Debian's createrepo_c 0.17.3 run over the same
 * files in the same layout (docs/formats/rpm.md#dependency-flags, #primary-filelists-other):
 * both are parsed with Python's ElementTree and compared field by field per package (not byte
 * for byte): dependency kinds with flags, epoch, ver, rel and pre; rpmlib(), own-file and
 * self-provided requires dropped; primary files; file types (dir, ghost); changelog capped at
 * the newest 10, oldest first; header-range; sizes; source rpms as arch src.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { startServer, type TestServer } from '../helpers/server';
import { upload } from '../helpers/http';
import { gpgKey, haveRpmTools, rpmbuild, rpmsign, tmpDir } from '../unit/rpm/helpers';
import { createrepoSkip, normalizedRepodata, repomdLocations } from './rpm-tools';

const skip = createrepoSkip || (!haveRpmTools && 'rpmbuild is not installed');
const REPO = 'compare';
let srv: TestServer;
let T: string;
const built: string[] = [];

before(async () => {
  if (skip) return;
  T = tmpDir('rpm-createrepo-');
  srv = await startServer();
  const changelog = Array.from({ length: 12 }, (_, i) => ({ date: `Mon Jan ${String(20 - i).padStart(2, '0')} 2025`.replace('Mon', ['Mon', 'Sun', 'Sat', 'Fri', 'Thu', 'Wed', 'Tue'][i % 7]), author: `Dev ${i} <dev${i}@example.org> - 1.0-${12 - i}`, text: `- change ${12 - i} & <more>` }));
  const rich = rpmbuild(
    {
      name: 'rich-deps', version: '2.0', release: '5.fc40', epoch: 3, arch: 'x86_64',
      preamble: [
        'Requires: hello-data >= 1.0', 'Requires: (hello-data >= 1.0 or hello-doc)', 'Requires(pre): /bin/sh', 'Requires(post): coreutils',
        'Requires: /usr/bin/rich-deps', 'Requires: rich-deps-virtual = 3:2.0-5.fc40', 'Provides: rich-deps-virtual = 3:2.0-5.fc40', 'Requires: libfoo.so.1()(64bit)',
        'Conflicts: rich-old < 2:1.0-1', 'Obsoletes: rich-legacy <= 1.5', 'Recommends: hello-doc', 'Suggests: hello-extras > 0.1',
        'Supplements: hello-tool', 'Enhances: hello-data',
      ],
      files: { '/usr/bin/rich-deps': '#!/bin/sh\n', '/etc/rich-deps.conf': 'x\n', '/usr/share/rich-deps/space and ünïcode.txt': 'u\n', '/usr/lib/rich-deps/plugin.so': 'p' },
      dirs: ['/usr/share/rich-deps/empty'],
      changelog: changelog.map((c, i) => ({ ...c, date: new Date(Date.UTC(2025, 0, 20 - i)).toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+).*$/, '$1 $3 $2 $4') })),
      source: true,
    },
    T,
  );
  built.push(rich.rpm, rich.srpm!);
  const data = rpmbuild({ name: 'hello-data', version: '1.0', arch: 'noarch' }, T).rpm;
  rpmsign(data, gpgKey(T));
  built.push(data);
  for (const f of built) {
    const r = await upload(srv.url, f, { reponame: REPO });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
});

after(async () => {
  if (skip) return;
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

async function get(url: string): Promise<Buffer> {
  const r = await fetch(url);
  assert.equal(r.status, 200, url);
  return Buffer.from(await r.arrayBuffer());
}

test('served primary, filelists and other carry what createrepo_c writes for the same files', { skip }, async () => {
  const base = `${srv.url}/repo/rpm/${REPO}`;
  const repomd = (await get(`${base}/repodata/repomd.xml`)).toString();
  const served = path.join(T, 'served');
  fs.mkdirSync(served);
  const locs = repomdLocations(repomd);
  assert.deepEqual(Object.keys(locs).sort(), ['filelists', 'other', 'primary']);
  const servedFiles: Record<string, string> = {};
  for (const [type, href] of Object.entries(locs)) {
    assert.match(href, new RegExp(`^repodata/[0-9a-f]{64}-${type}\\.xml\\.gz$`));
    servedFiles[type] = path.join(served, `${type}.xml.gz`);
    fs.writeFileSync(servedFiles[type], await get(`${base}/${href}`));
  }
  // createrepo_c over the downloaded packages, laid out as served (so locations agree).
  const mirror = path.join(T, 'mirror');
  const primaryXml = zlib.gunzipSync(fs.readFileSync(servedFiles.primary)).toString();
  for (const m of primaryXml.matchAll(/<location href="([^"]+)"/g)) {
    const dest = path.join(mirror, m[1]);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, await get(`${base}/${m[1].split('/').map(encodeURIComponent).join('/')}`));
  }
  execFileSync('createrepo_c', ['--quiet', mirror]);
  const theirs = repomdLocations(fs.readFileSync(path.join(mirror, 'repodata/repomd.xml'), 'utf8'));
  const expected = normalizedRepodata(...(['primary', 'filelists', 'other'].map((t) => path.join(mirror, theirs[t])) as [string, string, string]));
  const actual = normalizedRepodata(servedFiles.primary, servedFiles.filelists, servedFiles.other);
  assert.equal(Object.keys(actual).length, built.length);
  assert.deepEqual(actual, expected);
  // The comparison covers what it claims to.
  const rich = Object.values(actual).find((p) => p.name === 'rich-deps' && p.arch === 'x86_64')!;
  assert.ok((rich.requires as string[]).some((r) => r.includes('"pre": "1"')), 'a pre="1" require');
  assert.ok((rich.requires as string[]).some((r) => r.includes('(hello-data >= 1.0 or hello-doc)')), 'a rich dependency');
  assert.equal((rich.other as { changelog: unknown[] }).changelog.length, 10);
  assert.ok((rich.filelists as { files: string[] }).files.includes('dir /usr/share/rich-deps/empty'));
  assert.ok(Object.values(actual).some((p) => p.arch === 'src'));
});
