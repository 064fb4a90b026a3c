/**
 * Providers own their settings (src/core/settings.ts merges them): server-wide defaults come
 * from each format's environment variables and replace the built-in ones (PACMAN_ARCHES=aarch64
 * publishes no x86_64 db), a settings PATCH is validated by the core's and the format's schemas
 * together, and content types come from the format that stores the file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, type TestServer } from '../helpers/server';
import { auth, upload } from '../helpers/http';
import { makepkg, tmpDir } from '../unit/pacman/helpers';
import { pacmanSkip } from './pacman-tools';
import { synthDeb } from './apt-tools';

let srv: TestServer;
let T: string;

before(async () => {
  T = tmpDir('provider-settings-');
  srv = await startServer({ env: { PACMAN_ARCHES: 'aarch64', APT_ARCHES: 'riscv64' } });
});

after(async () => {
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

const patch = (path: string, body: unknown) =>
  fetch(`${srv.url}/api/repos/${path}/settings`, { method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

test('PACMAN_ARCHES=aarch64: an any package is published for aarch64 only', { skip: pacmanSkip }, async () => {
  const pkg = makepkg({ name: 'anyonly', pkgver: '1.0', arch: 'any' }, T);
  const r = await upload(srv.url, pkg, { provider: 'pacman', reponame: 'arm' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal((await fetch(`${srv.url}/repo/pacman/arm/aarch64/arm.db`)).status, 200);
  assert.equal((await fetch(`${srv.url}/repo/pacman/arm/x86_64/arm.db`)).status, 404);
  // A repository setting replaces the server-wide default.
  const set = await patch('pacman/arm', { arches: ['x86_64'] });
  assert.equal(set.status, 200, await set.clone().text());
  assert.deepEqual(((await set.json()) as { republished: string[] }).republished, ['aarch64', 'x86_64']);
  assert.equal((await fetch(`${srv.url}/repo/pacman/arm/x86_64/arm.db`)).status, 200);
});

test('APT_ARCHES sets Release Architectures; .deb files are served as Debian packages', async () => {
  const data = synthDeb('Package: plain\nVersion: 1.0\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: plain\n');
  const r = await upload(srv.url, { name: 'plain_1.0_all.deb', data }, { provider: 'apt', reponame: 'rv' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const release = await (await fetch(`${srv.url}/repo/apt/rv/dists/stable/Release`)).text();
  assert.match(release, /^Architectures: riscv64$/m);
  const deb = await fetch(`${srv.url}/repo/apt/rv/${r.body.path}`);
  assert.equal(deb.headers.get('content-type'), 'application/vnd.debian.binary-package');
});

test('a settings PATCH takes the core settings and the format\'s own, nothing else', async () => {
  const data = synthDeb('Package: other\nVersion: 1.0\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: other\n');
  assert.equal((await upload(srv.url, { name: 'other_1.0_amd64.deb', data }, { provider: 'apt', reponame: 'settings' })).status, 201);
  const ok = await patch('apt/settings', { validDays: 7, origin: 'ACME', keep: 3 });
  assert.equal(ok.status, 200, await ok.clone().text());
  const body = (await ok.json()) as { settings: Record<string, unknown>; republished: string[] };
  assert.deepEqual(body.settings, { validDays: 7, origin: 'ACME', keep: 3 });
  assert.deepEqual(body.republished, ['dists/stable']);
  assert.match(await (await fetch(`${srv.url}/repo/apt/settings/dists/stable/Release`)).text(), /^Origin: ACME$/m);
  // A setting another format has is not one of apt's.
  const foreign = await patch('apt/settings', { branch: 'main' });
  assert.equal(foreign.status, 400);
  assert.match(((await foreign.json()) as { error: string }).error, /branch/);
  // The format's schema validates the value.
  const bad = await patch('apt/settings', { arches: ['AMD64!'] });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /arches\.0: an architecture name/);
  // tar has no arches; a core setting is fine; null removes it.
  assert.equal((await upload(srv.url, { name: 'a.txt', data: Buffer.from('a') }, { provider: 'tar', reponame: 'files', name: 'a', version: '1' })).status, 201);
  assert.equal((await patch('tar/files', { arches: ['x86_64'] })).status, 400);
  assert.equal((await patch('tar/files', { private: true })).status, 200);
  const cleared = (await (await patch('tar/files', { private: null })).json()) as { settings: Record<string, unknown> };
  assert.deepEqual(cleared.settings, {});
});

test('a bad format variable stops the boot with its name', async () => {
  const { loadConfig } = await import('../../src/config/schema');
  assert.throws(() => loadConfig({ APK_ARCHES: 'x86_64,not/valid' }), /APK_ARCHES\.1: an apk architecture name/);
});
