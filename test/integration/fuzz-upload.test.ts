/**
 * HTTP-level mutation fuzzing: seeded mutants of valid packages of every format posted to
 * /addpkg (with and without `provider`, so detection is fuzzed too). Every answer must come
 * within PER_REQUEST_MS and be a 2xx or a 4xx JSON `{error, code}`; a poller checks
 * throughout that /healthz keeps answering within HEALTH_MS, i.e. no input blocks the server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mutants, prng } from '../helpers/fuzz';
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
// The bug this guards against stalled the server for 17 s; on a loaded 2-core CI machine, with the
// mutations made in this same process, an honest answer can take over a second.
const HEALTH_MS = 3000;

let s: TestServer;
let stopPoller: () => Promise<number>;
before(async () => {
  s = await startServer();
  let running = true;
  let slowest = 0;
  const loop = (async () => {
    while (running) {
      const t0 = Date.now();
      const res = await fetch(`${s.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      assert.equal(res.status, 200);
      slowest = Math.max(slowest, Date.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  stopPoller = async () => {
    running = false;
    await loop;
    return slowest;
  };
});
after(async () => {
  await s.stop();
});

const hex = (n: number, seed: number) => {
  const r = prng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256))).toString('hex');
};

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
  const deb = fs.readFileSync(buildDeb(tmpDir(), controlText({ Package: 'fz', Version: '1.0', Architecture: 'amd64', Maintainer: 'F <f@example.org>', Description: 'fuzz' }), 'zstd'));
  await fuzzHttp('deb', deb, 'fz_1.0_amd64.deb', 'apt', SEED + 11);
});

test('mutated pacman packages (zstd)', async () => {
  const tarball = await makeTar([{ name: '.PKGINFO', data: PKGINFO_OK }, { name: 'usr/' }, { name: 'usr/share/handmade', data: hex(2000, SEED) }]);
  await fuzzHttp('pacman', compress(tarball, 'zstd'), 'handmade-1.0-1-any.pkg.tar.zst', 'pacman', SEED + 12);
});

test('mutated apk packages', async () => {
  const apk = buildApk({ pkginfo: pkginfoFor('fz', '1.0-r0', 'x86_64'), files: [{ name: 'usr/', type: 'dir' }, { name: 'usr/fz', content: hex(2000, SEED) }] }).bytes;
  await fuzzHttp('apk', apk, 'fz-1.0-r0.apk', 'apk', SEED + 13);
});

test('mutated wheels', async () => {
  const whl = fs.readFileSync(makeWheel(tmpDir(), 'fz-1.0-py3-none-any.whl', metadataText('fz', '1.0')));
  await fuzzHttp('wheel', whl, 'fz-1.0-py3-none-any.whl', 'pypi', SEED + 14);
});

test('mutated rpms (rpmbuild-made)', { skip: haveRpmTools ? false : 'rpmbuild is not installed' }, async () => {
  const rpm = rpmbuild({ name: 'fz', version: '1.0', arch: 'x86_64', files: { '/usr/share/fz/data': hex(1500, SEED) } }, tmpDir()).rpm;
  await fuzzHttp('rpm', fs.readFileSync(rpm), 'fz-1.0-1.x86_64.rpm', 'rpm', SEED + 15);
});

test('/healthz answered within 3 s throughout (the zstd bomb stalled it 17 s)', async () => {
  const slowest = await stopPoller();
  assert.ok(slowest < HEALTH_MS, `slowest /healthz: ${slowest} ms`);
});
