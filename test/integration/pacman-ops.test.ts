/**
 * Issue 5, operations through the JSON API as the real pacman sees them: delete one version
 * (DELETE /api/repos/pacman/<repo>/packages/<name>/<version>) and every version
 * (DELETE .../packages/<name>), clean (POST .../clean {keep}), status and list. After each
 * change `pacman -Sy` then `-Si`/`-Ss`/`-F` reflect it; older files stay downloadable after a
 * newer upload until they are deleted or cleaned; deleting an `any` package leaves every
 * architecture's db.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, type TestServer } from '../helpers/server';
import { auth, getJson, upload } from '../helpers/http';
import { makepkg, tmpDir } from '../unit/pacman/helpers';
import { fingerprintOf, pacmanClient, pacmanSkip as skip, readDb, type PacmanClient } from './pacman-tools';

const REPO = 'opsrepo';
let srv: TestServer;
let T: string;
let base: string;
let api: string;
let x86: PacmanClient;
let arm: PacmanClient;
const pkgs: Record<string, string> = {};

const sync = (c: PacmanClient, flag = '-Sy') => c.pacman(flag);

async function call(method: string, p: string, body?: unknown, headers: Record<string, string> = auth()): Promise<{ status: number; body: any }> {
  const r = await fetch(`${api}${p}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function status(p: string): Promise<number> {
  return (await fetch(`${base}/${p}`)).status;
}

async function dbNames(arch: string): Promise<string[]> {
  const r = await fetch(`${base}/${arch}/${REPO}.db`);
  assert.equal(r.status, 200);
  return [...(await readDb(Buffer.from(await r.arrayBuffer()))).keys()].sort();
}

before(async () => {
  if (skip) return;
  T = tmpDir('pacman-ops-');
  srv = await startServer();
  base = `${srv.url}/repo/pacman/${REPO}`;
  api = `${srv.url}/api/repos/pacman/${REPO}`;
  for (const v of ['1.2.3', '1.10.0', '1.11.0']) pkgs[v] = makepkg({ name: 'tool', pkgver: v, arch: 'x86_64' }, T);
  pkgs.keeper = makepkg({ name: 'keeper', pkgver: '5.0', arch: 'any', pkgext: '.pkg.tar.xz' }, T);
  pkgs.shared = makepkg({ name: 'shared-any', pkgver: '0.1', arch: 'any' }, T);
  // Upload order is not version order.
  for (const f of [pkgs['1.11.0']!, pkgs['1.2.3']!, pkgs['1.10.0']!, pkgs.keeper!, pkgs.shared!]) {
    const r = await upload(srv.url, f, { provider: 'pacman', reponame: REPO });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const s = await call('PATCH', '/settings', { arches: ['x86_64', 'aarch64'] });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  const key = await (await fetch(`${base}/pubkey`)).text();
  const fpr = fingerprintOf(key, T);
  x86 = pacmanClient(T, 'x86_64', 'x86_64', [{ name: REPO, server: `${base}/$arch` }]);
  arm = pacmanClient(T, 'aarch64', 'aarch64', [{ name: REPO, server: `${base}/$arch` }]);
  await x86.trust(key, fpr);
  await arm.trust(key, fpr);
});

after(async () => {
  if (skip) return;
  x86.close();
  arm.close();
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

test('status and list report the repository', { skip }, async () => {
  const st = await call('GET', '/status');
  assert.equal(st.status, 200, JSON.stringify(st.body));
  assert.equal(st.body.provider, 'pacman');
  assert.equal(st.body.packages, 3);
  assert.equal(st.body.versions, 5);
  assert.equal(st.body.files, 5);
  const sizes = Object.values(pkgs).reduce((n, f) => n + fs.statSync(f).size, 0);
  assert.equal(st.body.totalSize, sizes);
  assert.deepEqual(st.body.perArch, { any: 2, x86_64: 1 });
  assert.ok(!Number.isNaN(Date.parse(st.body.lastPublished)));

  const list = await getJson(`${api}/packages`);
  assert.equal(list.status, 200);
  const tool = list.body.packages.find((p: { name: string }) => p.name === 'tool');
  assert.equal(tool.latestVersion, '1.11.0-1');
  assert.equal(tool.versions, 3);
  const versions = await getJson(`${api}/packages/tool`);
  assert.deepEqual(versions.body.versions.map((v: { version: string }) => v.version), ['1.11.0-1', '1.10.0-1', '1.2.3-1']);
});

test('pacman sees the newest version; older files stay downloadable', { skip, timeout: 120_000 }, async () => {
  await sync(x86);
  assert.match(await x86.pacman('-Si', 'tool'), /^Version\s*: 1\.11\.0-1$/m);
  for (const v of ['1.2.3', '1.10.0', '1.11.0']) {
    assert.equal(await status(`x86_64/tool-${v}-1-x86_64.pkg.tar.zst`), 200, v);
    assert.equal(await status(`x86_64/tool-${v}-1-x86_64.pkg.tar.zst.sig`), 200, v);
  }
  // An old version can still be installed from its URL (pacman -U), signature checked.
  await x86.pacman('-U', '--noscriptlet', `${base}/x86_64/tool-1.2.3-1-x86_64.pkg.tar.zst`);
  assert.match(await x86.pacman('-Q', 'tool'), /^tool 1\.2\.3-1$/m);
});

test('deleting one version: the db falls back to the next newest, the file is gone', { skip, timeout: 120_000 }, async () => {
  const anon = await call('DELETE', '/packages/tool/1.11.0-1', undefined, {});
  assert.equal(anon.status, 401);
  const d = await call('DELETE', '/packages/tool/1.11.0-1');
  assert.equal(d.status, 200, JSON.stringify(d.body));
  assert.equal(d.body.deleted, 1);
  assert.equal((await call('DELETE', '/packages/tool/1.11.0-1')).status, 404);
  assert.equal(await status('x86_64/tool-1.11.0-1-x86_64.pkg.tar.zst'), 404);
  assert.equal(await status('x86_64/tool-1.11.0-1-x86_64.pkg.tar.zst.sig'), 404);
  assert.equal(await status('x86_64/tool-1.10.0-1-x86_64.pkg.tar.zst'), 200);

  await sync(x86);
  assert.match(await x86.pacman('-Si', 'tool'), /^Version\s*: 1\.10\.0-1$/m);
  assert.match(await x86.pacman('-Qu'), /^tool 1\.2\.3-1 -> 1\.10\.0-1$/m);
});

test('clean keeps the newest N versions (dry run first); the cleaned file is no longer served', { skip, timeout: 120_000 }, async () => {
  const none = await call('POST', '/clean', {});
  assert.equal(none.status, 400);
  assert.match(none.body.error, /keep/);

  const dry = await call('POST', '/clean', { keep: 1, dryRun: true });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  assert.deepEqual(dry.body.removed.map((f: { name: string; version: string }) => `${f.name} ${f.version}`), ['tool 1.2.3-1']);
  assert.equal(await status('x86_64/tool-1.2.3-1-x86_64.pkg.tar.zst'), 200, 'a dry run removes nothing');

  const clean = await call('POST', '/clean', { keep: 1 });
  assert.equal(clean.status, 200, JSON.stringify(clean.body));
  assert.deepEqual(clean.body.removed.map((f: { path: string }) => f.path), ['x86_64/tool-1.2.3-1-x86_64.pkg.tar.zst']);
  assert.equal(await status('x86_64/tool-1.2.3-1-x86_64.pkg.tar.zst'), 404);
  assert.equal(await status('x86_64/tool-1.2.3-1-x86_64.pkg.tar.zst.sig'), 404);
  assert.equal(await status('x86_64/tool-1.10.0-1-x86_64.pkg.tar.zst'), 200);
  const st = await call('GET', '/status');
  assert.equal(st.body.versions, 3);
  assert.equal(st.body.files, 3);

  await sync(x86);
  assert.match(await x86.pacman('-Si', 'tool'), /^Version\s*: 1\.10\.0-1$/m);
  await x86.pacman('-Su', '--noscriptlet');
  assert.match(await x86.pacman('-Q', 'tool'), /^tool 1\.10\.0-1$/m);
});

test('deleting every version removes the package from the db and the files db', { skip, timeout: 120_000 }, async () => {
  await x86.pacman('-Fy');
  assert.match(await x86.pacman('-F', 'usr/share/tool/VERSION'), new RegExp(`owned by ${REPO}/tool 1\\.10\\.0-1`));
  const d = await call('DELETE', '/packages/tool');
  assert.equal(d.status, 200, JSON.stringify(d.body));
  assert.equal(d.body.deleted, 1);
  assert.equal((await call('DELETE', '/packages/tool')).status, 404);
  assert.equal(await status('x86_64/tool-1.10.0-1-x86_64.pkg.tar.zst'), 404);

  await sync(x86);
  const si = await x86.pacmanResult('-Si', 'tool');
  assert.notEqual(si.code, 0);
  assert.match(si.out, /package 'tool' was not found/);
  assert.doesNotMatch(await x86.pacman('-Sl', REPO), /\btool\b/);
  await sync(x86, '-Fy');
  const f = await x86.pacmanResult('-F', 'usr/share/tool/VERSION');
  assert.doesNotMatch(f.out, /owned by/);
  assert.deepEqual(await dbNames('x86_64'), ['keeper-5.0-1', 'shared-any-0.1-1']);
});

test('deleting an any package removes it from every architecture db', { skip, timeout: 120_000 }, async () => {
  await sync(arm);
  assert.match(await arm.pacman('-Si', 'shared-any'), /^Architecture\s*: any$/m);
  const d = await call('DELETE', '/packages/shared-any/0.1-1');
  assert.equal(d.status, 200, JSON.stringify(d.body));
  assert.deepEqual(await dbNames('x86_64'), ['keeper-5.0-1']);
  assert.deepEqual(await dbNames('aarch64'), ['keeper-5.0-1']);
  await sync(arm);
  assert.match((await arm.pacmanResult('-Si', 'shared-any')).out, /was not found/);
  assert.match(await arm.pacman('-Si', 'keeper'), /^Version\s*: 5\.0-1$/m);
  await sync(x86);
  assert.match((await x86.pacmanResult('-Si', 'shared-any')).out, /was not found/);
  const st = await call('GET', '/status');
  assert.equal(st.body.packages, 1);
  assert.deepEqual(st.body.perArch, { any: 1 });
});
