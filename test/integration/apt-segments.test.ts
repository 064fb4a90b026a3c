/**
 * Segmented Packages.gz / Packages.xz (docs/formats/apt.md#segmented-compression) read by
 * the real apt-get: a server whose threshold is 0 and whose segments hold 2 package names on
 * average, so even a small distribution's indexes are many xz blocks and deflate runs. Each
 * compression is read on its own (Acquire::CompressionTypes::Order, checked against the
 * by-hash URL apt fetched), then apt-cache show and apt-get download.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server';
import { upload } from '../helpers/http';
import { buildDeb, controlText, tmpDir } from '../unit/apt/helpers';
import { aptClient, bytes, WARN_OR_ERROR, type AptClient, type RunResult } from './apt-tools';

let srv: TestServer;
const work = tmpDir('apt-seg-int-');
fs.chmodSync(work, 0o755);
const REPO = 'segs';
const repoUrl = () => `${srv.url}/repo/apt/${REPO}`;
const debs = new Map<string, string>();

function deb(name: string, version: string, arch = 'amd64'): string {
  const f = buildDeb(work, controlText({ Package: name, Version: version, Architecture: arch, Maintainer: 'T <t@example.org>', Description: `${name} test package` }), 'gzip');
  debs.set(`${name}_${version}`, f);
  return f;
}

async function up(file: string): Promise<void> {
  const r = await upload(srv.url, file, { reponame: REPO, dist: 'stable' });
  assert.equal(r.status, 201, `upload ${path.basename(file)}: ${JSON.stringify(r.body)}`);
}

function clean(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.out}`);
  assert.doesNotMatch(r.out, WARN_OR_ERROR, `${what} printed a warning or error:\n${r.out}`);
}

/** SHA512 Release lists per path. */
async function releaseSha512(): Promise<Map<string, string>> {
  const release = (await bytes(`${repoUrl()}/dists/stable/Release`)).toString();
  const out = new Map<string, string>();
  for (const m of release.slice(release.indexOf('\nSHA512:')).matchAll(/^ ([0-9a-f]{128}) +\d+ (\S+)$/gm)) out.set(m[2]!, m[1]!);
  return out;
}

async function client(): Promise<AptClient> {
  const keyring = await bytes(`${repoUrl()}/keyring.gpg`);
  return aptClient({ keyring, sources: `deb [signed-by=KEYRING] ${repoUrl()} stable main\n` });
}

before(async () => {
  srv = await startServer({ env: { APT_SEGMENT_ABOVE_BYTES: '0', APT_SEGMENT_PACKAGES: '2' } });
  for (let i = 0; i < 24; i++) await up(deb(`seg${String(i).padStart(2, '0')}`, '1.0-1', i % 6 === 0 ? 'all' : 'amd64'));
  await up(deb('seg05', '2.0-1'));
});
after(async () => {
  await srv.stop();
});

test('the served Packages.xz is one stream of several blocks and the plain Packages is not published', async () => {
  const xz = await bytes(`${repoUrl()}/dists/stable/main/binary-amd64/Packages.xz`);
  const f = path.join(work, 'served.xz');
  fs.writeFileSync(f, xz);
  const totals = execFileSync('xz', ['--robot', '--list', f]).toString().split('\n').find((l) => l.startsWith('totals'))!.split('\t');
  assert.equal(totals[1], '1', 'one xz stream');
  assert.ok(Number(totals[2]) >= 4, `several blocks (${totals[2]})`);
  assert.equal((await fetch(`${repoUrl()}/dists/stable/main/binary-amd64/Packages`)).status, 404);
  // Release lists it all the same (apt skips an index whose uncompressed name it lacks), with the digests of the decompressed bytes.
  const plain = execFileSync('xz', ['-dc', f]);
  assert.equal((await releaseSha512()).get('main/binary-amd64/Packages'), crypto.createHash('sha512').update(plain).digest('hex'));
});

for (const kind of ['xz', 'gz'] as const) {
  test(`apt-get update reads the segmented Packages.${kind}; apt-cache show and apt-get download work`, async () => {
    const c = await client();
    const u = await c.run('apt-get', ['update', '-o', `Acquire::CompressionTypes::Order::=${kind}`, '-o', 'Debug::Acquire::http=1']);
    clean(u, 'apt-get update');
    // The file apt fetched is the one asked for: by-hash names are the SHA512 Release lists.
    const wanted = (await releaseSha512()).get(`main/binary-amd64/Packages.${kind}`)!;
    assert.match(u.out, new RegExp(`by-hash/SHA512/${wanted}`), `apt fetched Packages.${kind}:\n${u.out}`);
    // Every package of every segment, not only the first one's.
    const names = (await c.run('apt-cache', ['pkgnames', 'seg'])).out.split('\n').filter(Boolean).sort();
    assert.deepEqual(names, Array.from({ length: 24 }, (_, i) => `seg${String(i).padStart(2, '0')}`));
    assert.equal(await c.candidate('seg05'), '2.0-1');
    assert.deepEqual(await c.versions('seg05'), ['2.0-1', '1.0-1']);
    const show = await c.run('apt-cache', ['show', 'seg23']);
    assert.match(show.out, /^Package: seg23$/m);
    const d = await c.run('apt-get', ['download', 'seg23', 'seg12'], c.dlDir);
    clean(d, 'apt-get download');
    const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    assert.equal(sha(path.join(c.dlDir, 'seg23_1.0-1_amd64.deb')), sha(debs.get('seg23_1.0-1')!));
    assert.equal(sha(path.join(c.dlDir, 'seg12_1.0-1_all.deb')), sha(debs.get('seg12_1.0-1')!));
  });
}

test('one more upload: the next apt-get update sees it, the other segments unchanged', async () => {
  const c = await client();
  clean(await c.update(), 'apt-get update');
  const before = await bytes(`${repoUrl()}/dists/stable/main/binary-amd64/Packages.xz`);
  await up(deb('seg11a', '1.0-1'));
  const afterXz = await bytes(`${repoUrl()}/dists/stable/main/binary-amd64/Packages.xz`);
  assert.ok(!before.equals(afterXz));
  clean(await c.update(), 'apt-get update');
  assert.equal(await c.candidate('seg11a'), '1.0-1');
  // The xz blocks before and after the new package are shared byte for byte (only one or two differ).
  const blocks = (b: Buffer) => {
    const f = path.join(work, `b-${crypto.randomUUID()}.xz`);
    fs.writeFileSync(f, b);
    return execFileSync('xz', ['--robot', '--list', '--verbose', f]).toString().split('\n').filter((l) => l.startsWith('block')).map((l) => l.split('\t').slice(6, 8).join(' '));
  };
  const a = blocks(before);
  const b = blocks(afterXz);
  assert.ok(b.length >= a.length && b.length <= a.length + 1, `${a.length} -> ${b.length} blocks`);
  const unchanged = b.filter((x) => a.includes(x)).length;
  assert.ok(unchanged >= b.length - 2, `blocks (compressed and plain sizes) kept: ${unchanged} of ${b.length}`);
});
