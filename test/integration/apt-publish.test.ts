/**
 * Issue 4 end to end, publishing side, with the real apt-get over HTTP: a delete
 * republishes only the distributions it touched; apt-get update never fails while packages
 * are uploaded and deleted in a loop; malformed .debs are refused with the reason and
 * leave the published index and the package list as they were.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import zlib from 'node:zlib';
import { startServer, type TestServer } from '../helpers/server';
import { upload, auth, getJson } from '../helpers/http';
import { checkAptDist } from '../helpers/apt-check';
import { aptClient, arArchiveOf, bytes, controlTarGz, dataTarGz, DEBIAN_BINARY, synthDeb, tarArchive, WARN_OR_ERROR, type AptClient, type RunResult } from './apt-tools';

let srv: TestServer;
const repoUrl = (repo: string) => `${srv.url}/repo/apt/${repo}`;

const control = (name: string, version: string, arch = 'amd64', extra = '') =>
  `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\nMaintainer: Test <test@example.org>\n${extra}Description: ${name} ${version}\n`;

async function up(repo: string, name: string, version: string, params: Record<string, string> = {}, arch = 'amd64', s = srv): Promise<void> {
  const r = await upload(s.url, { name: `${name}_${version}_${arch}.deb`, data: synthDeb(control(name, version, arch)) }, { provider: 'apt', reponame: repo, ...params });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function del(repo: string, name: string, version: string, s = srv): Promise<void> {
  const r = await fetch(`${s.url}/api/repos/apt/${repo}/packages/${encodeURIComponent(name)}/${encodeURIComponent(version)}`, { method: 'DELETE', headers: auth() });
  assert.equal(r.status, 200, await r.text());
}

async function clientFor(repo: string, lines: string[], arch = 'amd64'): Promise<AptClient> {
  const keyring = await bytes(`${repoUrl(repo)}/keyring.gpg`);
  return aptClient({ arch, keyring, sources: lines.map((l) => `deb [signed-by=KEYRING] ${repoUrl(repo)} ${l}\n`).join('') });
}

function clean(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.out}`);
  assert.doesNotMatch(r.out, WARN_OR_ERROR, `${what} printed a warning or error:\n${r.out}`);
}

before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.stop();
});

test('a delete republishes only the distribution it was in; the other InRelease keeps its bytes', async () => {
  await up('del', 'p1', '1.0', { dist: 'stable' });
  await up('del', 'p1', '2.0', { dist: 'stable' });
  await up('del', 'p2', '1.0', { dist: 'bookworm', component: 'contrib' });
  const c = await clientFor('del', ['stable main', 'bookworm contrib']);
  clean(await c.update(), 'apt-get update');
  assert.equal(await c.candidate('p1'), '2.0');
  const stableBefore = await bytes(`${repoUrl('del')}/dists/stable/InRelease`);
  const bookwormBefore = await bytes(`${repoUrl('del')}/dists/bookworm/InRelease`);
  const pool2 = `${repoUrl('del')}/pool/main/p/p1/p1_2.0_amd64.deb`;
  assert.equal((await fetch(pool2)).status, 200);

  await del('del', 'p1', '2.0');
  const stableAfter = await bytes(`${repoUrl('del')}/dists/stable/InRelease`);
  assert.ok(!stableAfter.equals(stableBefore), 'stable was republished');
  assert.ok((await bytes(`${repoUrl('del')}/dists/bookworm/InRelease`)).equals(bookwormBefore), 'bookworm was not touched');
  assert.equal((await fetch(pool2)).status, 404);
  const { packages } = await checkAptDist(repoUrl('del'), 'stable', { canonical: true });
  assert.deepEqual(packages, ['p1 1.0 amd64']);
  clean(await c.update(), 'apt-get update after the delete');
  assert.equal(await c.candidate('p1'), '1.0');
  assert.deepEqual(await c.versions('p1'), ['1.0']);
  clean(await c.run('apt-get', ['download', 'p1'], c.dlDir), 'apt-get download');

  // Emptying a distribution leaves a valid, empty, signed index: clients keep updating cleanly.
  await del('del', 'p1', '1.0');
  assert.ok((await bytes(`${repoUrl('del')}/dists/bookworm/InRelease`)).equals(bookwormBefore), 'bookworm still not touched');
  assert.deepEqual((await checkAptDist(repoUrl('del'), 'stable', { canonical: true })).packages, []);
  clean(await c.update(), 'apt-get update of an emptied distribution');
  assert.equal(await c.candidate('p1'), null);
  assert.equal(await c.candidate('p2'), '1.0');
});

interface LoadStats {
  results: { client: number; r: RunResult }[];
  uploads: number;
  deletes: number;
  publishes: number;
}

/**
 * 3 clients (own state dirs; amd64, arm64, amd64) run `apt-get update` back to back while
 * the writer uploads two packages at once (both distributions, both components, amd64,
 * arm64 and all) and deletes the oldest, for `seconds`. Then everything is checked.
 */
async function publishUnderLoad(s: TestServer, log: string[], seconds: number): Promise<void> {
  const REPO = 'load';
  const base = `${s.url}/repo/apt/${REPO}`;
  await up(REPO, 'base', '1.0', { dist: 'stable' }, 'amd64', s);
  await up(REPO, 'base-all', '1.0', { dist: 'stable', component: 'contrib' }, 'all', s);
  await up(REPO, 'other', '1.0', { dist: 'testing' }, 'amd64', s);
  const keyring = await bytes(`${base}/keyring.gpg`);
  const sources = ['stable main contrib', 'testing main'].map((l) => `deb [signed-by=KEYRING] ${base} ${l}\n`).join('');
  const clients = ['amd64', 'arm64', 'amd64'].map((arch) => aptClient({ arch, keyring, sources }));
  const firstLog = log.length;
  const deadline = Date.now() + seconds * 1000;
  const stats: LoadStats = { results: [], uploads: 0, deletes: 0, publishes: 0 };

  const updater = async (i: number) => {
    while (Date.now() < deadline) stats.results.push({ client: i, r: await clients[i].update() });
  };
  const live: { name: string; version: string; arch: string }[] = [];
  const writer = async () => {
    for (let i = 1; Date.now() < deadline; i++) {
      // Two uploads at once (coalesced publishes), into both distributions and both components.
      const batch = [
        { name: `pkg${i % 5}`, version: `1.${i}`, dist: 'stable', component: i % 2 ? 'main' : 'contrib', arch: i % 3 ? 'amd64' : 'all' },
        { name: `tst${i % 3}`, version: `0.${i}`, dist: 'testing', component: 'main', arch: 'arm64' },
      ];
      await Promise.all(batch.map((b) => up(REPO, b.name, b.version, { dist: b.dist, component: b.component }, b.arch, s)));
      stats.uploads += batch.length;
      live.push(...batch);
      while (live.length > 6) {
        const old = live.shift()!;
        await del(REPO, old.name, old.version, s);
        stats.deletes++;
      }
    }
  };
  await Promise.all([writer(), ...clients.map((_, i) => updater(i))]);
  const entries = log.slice(firstLog).map((l) => JSON.parse(l) as { msg: string; path?: string; status?: number });
  stats.publishes = entries.filter((l) => l.msg === 'publish').length;

  const failed = stats.results.filter(({ r }) => r.code !== 0 || WARN_OR_ERROR.test(r.out) || /Hash Sum mismatch|unexpected size/i.test(r.out));
  const missing = entries.filter((l) => l.msg === 'request' && l.status === 404).map((l) => l.path);
  assert.deepEqual(
    failed.map(({ client, r }) => `client ${client}: exit ${r.code}\n${r.out}`),
    [],
    `${failed.length} of ${stats.results.length} updates failed (${stats.publishes} publishes; 404s: ${missing.join(' ')})`,
  );
  // The loop did exercise what it claims to.
  assert.ok(stats.uploads >= 10 && stats.deletes >= 4, `uploads ${stats.uploads}, deletes ${stats.deletes}`);
  for (let i = 0; i < clients.length; i++) assert.ok(stats.results.filter((x) => x.client === i).length >= 2, `client ${i} ran`);
  const fetched = stats.results.filter(({ r }) => /^Get:\d+ \S+ (stable|testing)\/\S+ \S+ Packages/m.test(r.out)).length;
  assert.ok(fetched >= 2, `updates fetched changed Packages files (${fetched})`);
  // apt fetched Packages by hash (immune to a publish between InRelease and Packages), never by canonical name.
  const reqs = entries.filter((l) => l.msg === 'request' && l.path?.startsWith(`/repo/apt/${REPO}/dists/`));
  assert.ok(reqs.some((l) => /\/by-hash\/SHA512\//.test(l.path!)));
  assert.deepEqual(reqs.filter((l) => /\/Packages(\.gz|\.xz)?$/.test(l.path!)).map((l) => l.path), []);
  // Everything answered 200, except 304s for an unchanged Release: Last-Modified moves forward by at
  // least a second per generation (src/core/publisher.ts), so a 304 there is never stale.
  assert.deepEqual(reqs.filter((l) => l.status !== 200 && !(l.status === 304 && /\/dists\/[^/]+\/(InRelease|Release|Release\.gpg)$/.test(l.path!))).map((l) => `${l.status} ${l.path}`), []);

  // After the storm: consistent, and apt sees exactly the live set.
  for (const dist of ['stable', 'testing']) await checkAptDist(base, dist, { canonical: true });
  const c = clients[0];
  clean(await c.update(), 'final apt-get update');
  for (const p of live.filter((x) => x.arch !== 'arm64')) assert.ok((await c.versions(p.name)).includes(p.version), `${p.name} ${p.version} visible`);
  assert.equal(await c.candidate('base'), '1.0');
  assert.equal(await c.candidate('pkg0'), live.find((x) => x.name === 'pkg0')?.version ?? null);
}

const LOAD_SECONDS = Number(process.env.APT_LOAD_SECONDS ?? 20);

test('publish under load: apt-get update never fails while packages are uploaded and deleted (default retention)', async () => {
  // Several publishes a second per distribution: generations younger than
  // KEEP_GENERATIONS_SECONDS stay, so every client's by-hash files outlive its update.
  const log: string[] = [];
  const s = await startServer({ logLines: log });
  try {
    await publishUnderLoad(s, log, LOAD_SECONDS);
  } finally {
    await s.stop();
  }
});

/** A tar-less gzip stream of `size` zero bytes: tiny compressed, huge decompressed. */
const zeros = (size: number) => zlib.gzipSync(Buffer.alloc(size), { level: 9 });

test('malformed .debs: 400 with the reason; the index and the package list are unchanged', async () => {
  const REPO = 'strict';
  await up(REPO, 'good', '1.0');
  const inRelease = await bytes(`${repoUrl(REPO)}/dists/stable/InRelease`);
  const listing = async () => (await getJson(`${srv.url}/api/repos/apt/${REPO}/packages?limit=1000`)).body;
  const before = await listing();
  const ctl = controlTarGz(control('bad', '1.0'));
  const data = dataTarGz();
  const xzBomb = execFileSync('xz', ['-9', '-c'], { input: Buffer.alloc(80 << 20), maxBuffer: 1 << 30 });
  const cases: { what: string; data: Buffer; reason: RegExp }[] = [
    { what: 'not an ar archive', data: Buffer.from('PK\x03\x04 this is a zip, not a deb\n'), reason: /not an ar archive/ },
    { what: 'empty file', data: Buffer.alloc(0), reason: /empty|not an ar archive/ },
    { what: 'data.tar before control.tar', data: arArchiveOf([DEBIAN_BINARY, { name: 'data.tar.gz', data }, { name: 'control.tar.gz', data: ctl }]), reason: /wrong ar member order/ },
    { what: 'control.tar before debian-binary', data: arArchiveOf([{ name: 'control.tar.gz', data: ctl }, DEBIAN_BINARY, { name: 'data.tar.gz', data }]), reason: /debian-binary/ },
    { what: 'no control member', data: arArchiveOf([DEBIAN_BINARY]), reason: /no control\.tar member/ },
    { what: 'no data member', data: arArchiveOf([DEBIAN_BINARY, { name: 'control.tar.gz', data: ctl }]), reason: /no data\.tar member/ },
    { what: 'control.tar without ./control', data: arArchiveOf([DEBIAN_BINARY, { name: 'control.tar.gz', data: zlib.gzipSync(tarArchive([{ name: './md5sums', data: Buffer.from('x') }])) }, { name: 'data.tar.gz', data }]), reason: /no \.\/control file/ },
    { what: 'control without Package', data: synthDeb('Version: 1.0\nArchitecture: amd64\nDescription: x\n'), reason: /no Package field/ },
    { what: 'control without Version', data: synthDeb('Package: bad\nArchitecture: amd64\nDescription: x\n'), reason: /no Version field/ },
    { what: 'control without Architecture', data: synthDeb('Package: bad\nVersion: 1.0\nDescription: x\n'), reason: /no Architecture field/ },
    { what: 'invalid version (no leading digit)', data: synthDeb(control('bad', 'v1.0')), reason: /invalid Debian version "v1\.0"/ },
    { what: 'invalid version (bad character)', data: synthDeb(control('bad', '1.0_rc1')), reason: /invalid Debian version "1\.0_rc1"/ },
    { what: 'invalid version (empty revision)', data: synthDeb(control('bad', '1.0-')), reason: /invalid Debian version "1\.0-"/ },
    { what: 'corrupt gzip control member', data: arArchiveOf([DEBIAN_BINARY, { name: 'control.tar.gz', data: Buffer.concat([ctl.subarray(0, 12), Buffer.alloc(200, 0xa5)]) }, { name: 'data.tar.gz', data }]), reason: /control\.tar\.gz: gzip data is corrupt/ },
    { what: 'control member named .xz holding gzip', data: arArchiveOf([DEBIAN_BINARY, { name: 'control.tar.xz', data: ctl }, { name: 'data.tar.gz', data }]), reason: /named for xz but its content looks like gzip/ },
    { what: 'gzip bomb in control.tar.gz', data: arArchiveOf([DEBIAN_BINARY, { name: 'control.tar.gz', data: zeros(100 << 20) }, { name: 'data.tar.gz', data }]), reason: /control\.tar\.gz expands beyond/ },
    { what: 'xz bomb in control.tar.xz', data: arArchiveOf([DEBIAN_BINARY, { name: 'control.tar.xz', data: xzBomb }, { name: 'data.tar.gz', data }]), reason: /control\.tar\.xz expands beyond/ },
    { what: 'truncated data member', data: arArchiveOf([DEBIAN_BINARY, { name: 'control.tar.gz', data: ctl }, { name: 'data.tar.gz', data }]).subarray(0, -40), reason: /truncated/ },
  ];
  for (const c of cases) {
    const r = await upload(srv.url, { name: 'bad_1.0_amd64.deb', data: c.data }, { provider: 'apt', reponame: REPO });
    assert.equal(r.status, 400, `${c.what}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.match(String(r.body.error), c.reason, `${c.what}: ${r.body.error}`);
    assert.ok((await bytes(`${repoUrl(REPO)}/dists/stable/InRelease`)).equals(inRelease), `${c.what}: InRelease unchanged`);
  }
  // Without provider=apt a non-deb is not taken for one.
  const nd = await upload(srv.url, { name: 'x.deb', data: Buffer.from('not a deb') }, { reponame: REPO });
  assert.equal(nd.status, 400);
  assert.deepEqual(await listing(), before);
  assert.equal((await getJson(`${srv.url}/api/repos/apt/${REPO}/packages/bad`)).status, 404);
  // The same well-formed control is accepted, so the refusals above were about the damage.
  const ok = await upload(srv.url, { name: 'bad_1.0_amd64.deb', data: synthDeb(control('bad', '1.0')) }, { provider: 'apt', reponame: REPO });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
});
