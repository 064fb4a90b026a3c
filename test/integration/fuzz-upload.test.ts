/**
 * HTTP-level mutation fuzzing: seeded mutants of valid packages of every format posted to
 * /addpkg (with and without `provider`, so detection is fuzzed too). Every answer must come
 * within PER_REQUEST_MS and be a 2xx or a 4xx JSON `{error, code}`; a poller checks
 * throughout that /healthz keeps answering within HEALTH_MS and that the event loop is never
 * blocked that long, i.e. no input blocks the server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mutants, prng } from '../helpers/fuzz';
import { watchHealth } from '../helpers/health-watch';
import { auth } from '../helpers/http';
import { startServer, type TestServer } from '../helpers/server';
import { buildDeb, controlText, tmpDir } from '../unit/apt/helpers';
import { buildApk, pkginfoFor } from '../unit/apk/apk-builder';
import { compress, makeTar, PKGINFO_OK } from '../unit/pacman/helpers';
import { makeWheel, metadataText } from '../unit/pypi/helpers';
import { haveRpmTools, rpmbuild } from '../unit/rpm/helpers';

const COUNT = Number(process.env.FUZZ_HTTP_COUNT ?? 60);
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const PER_REQUEST_MS = 10_000;
// The bound: /healthz answers within a second during any upload (the zstd bomb stalled
// it 17 s). With the fixtures built before the poller starts, the slowest answer measured on the
// shared 2-core machine (load average 17-20 from other work) was 0.48-0.62 s, the event loop's
// own worst delay 0.40-0.44 s. As in upload-hardening.test.ts: the event loop (what the server
// controls) gets the second; the round trip, which also carries the machine's load
// (CI runs two test files at once), a margin.
const LOOP_MS = 1000;
const HEALTH_MS = 2000;

const hex = (n: number, seed: number) => {
  const r = prng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256))).toString('hex');
};

let s: TestServer;
let watcher: ReturnType<typeof watchHealth>;
/**
 * Every fixture is built before the poller starts: the builders run dpkg-deb, zstd and
 * rpmbuild synchronously in this process, where the server lives, and would otherwise be
 * measured as the server's stall.
 */
const fixtures: Record<string, Buffer> = {};
before(async () => {
  fixtures.deb = fs.readFileSync(buildDeb(tmpDir(), controlText({ Package: 'fz', Version: '1.0', Architecture: 'amd64', Maintainer: 'F <f@example.org>', Description: 'fuzz' }), 'zstd'));
  const tarball = await makeTar([{ name: '.PKGINFO', data: PKGINFO_OK }, { name: 'usr/' }, { name: 'usr/share/handmade', data: hex(2000, SEED) }]);
  fixtures.pacman = compress(tarball, 'zstd');
  fixtures.apk = buildApk({ pkginfo: pkginfoFor('fz', '1.0-r0', 'x86_64'), files: [{ name: 'usr/', type: 'dir' }, { name: 'usr/fz', content: hex(2000, SEED) }] }).bytes;
  fixtures.wheel = fs.readFileSync(makeWheel(tmpDir(), 'fz-1.0-py3-none-any.whl', metadataText('fz', '1.0')));
  if (haveRpmTools) fixtures.rpm = fs.readFileSync(rpmbuild({ name: 'fz', version: '1.0', arch: 'x86_64', files: { '/usr/share/fz/data': hex(1500, SEED) } }, tmpDir()).rpm);
  s = await startServer();
  watcher = watchHealth(s.url);
});
after(async () => {
  await s.stop();
});

async function post(data: Buffer, filename: string, query: Record<string, string>): Promise<{ status: number; text: string }> {
  const form = new FormData();
  form.append('f', new Blob([data]), filename);
  const res = await fetch(`${s.url}/addpkg?${new URLSearchParams({ ...query, wait: '0' })}`, { method: 'POST', body: form, headers: auth(), signal: AbortSignal.timeout(PER_REQUEST_MS) });
  return { status: res.status, text: await res.text() };
}

async function fuzzHttp(name: string, valid: Buffer, filename: string, provider: string, seed: number): Promise<void> {
  const first = await post(valid, filename, { provider, reponame: `fz-${name}` });
  assert.ok(first.status === 201 || first.status === 202, `the valid ${name} fixture is accepted: ${first.status} ${first.text}`);
  const bad: string[] = [];
  for (const [i, m] of mutants(valid, COUNT, seed).entries()) {
    const query: Record<string, string> = i % 4 === 3 ? { reponame: `fz-${name}` } : { provider, reponame: `fz-${name}` };
    const what = `${name} seed ${seed} #${i} (${m.how})${query.provider ? '' : ' detect'}`;
    let r: { status: number; text: string };
    try {
      r = await post(m.bytes, filename, query);
    } catch (e) {
      bad.push(`${what}: ${(e as Error).message}`);
      continue;
    }
    if (r.status >= 200 && r.status < 300) continue;
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(r.text);
    } catch {
      body = undefined;
    }
    const ok = r.status >= 400 && r.status < 500 && typeof body?.error === 'string' && typeof body?.code === 'string';
    if (!ok) bad.push(`${what}: ${r.status} ${r.text.slice(0, 200)}`);
  }
  assert.deepEqual(bad, []);
}

test('mutated .debs (zstd members)', async () => {
  await fuzzHttp('deb', fixtures.deb!, 'fz_1.0_amd64.deb', 'apt', SEED + 11);
});

test('mutated pacman packages (zstd)', async () => {
  await fuzzHttp('pacman', fixtures.pacman!, 'handmade-1.0-1-any.pkg.tar.zst', 'pacman', SEED + 12);
});

test('mutated apk packages', async () => {
  await fuzzHttp('apk', fixtures.apk!, 'fz-1.0-r0.apk', 'apk', SEED + 13);
});

test('mutated wheels', async () => {
  await fuzzHttp('wheel', fixtures.wheel!, 'fz-1.0-py3-none-any.whl', 'pypi', SEED + 14);
});

test('mutated rpms (rpmbuild-made)', { skip: haveRpmTools ? false : 'rpmbuild is not installed' }, async () => {
  await fuzzHttp('rpm', fixtures.rpm!, 'fz-1.0-1.x86_64.rpm', 'rpm', SEED + 15);
});

test('/healthz answered throughout, the event loop never blocked a second (the zstd bomb stalled it 17 s)', async () => {
  const { healthMs, loopMs } = await watcher.stop();
  assert.ok(healthMs < HEALTH_MS, `slowest /healthz: ${healthMs} ms (event loop delayed at most ${loopMs.toFixed(0)} ms)`);
  assert.ok(loopMs < LOOP_MS, `the event loop was blocked ${loopMs.toFixed(0)} ms`);
});
