/**
 * rpm versions with `^` (a snapshot after the base version, `1.0^git1` > `1.0`) and `+`
 * (`2.0+deb`), built with rpmbuild, uploaded, then fetched by the real dnf and zypper through a
 * recording proxy. The two clients write these characters differently in the package's request
 * path (seen with Debian 12's dnf 4.14: `%5e` and `%2b`, lower-case escapes; zypper 1.14:
 * `%5E` and a literal `+`): the server must serve the file either way. `rpm -K` verifies each
 * downloaded file, and its bytes are the uploaded ones.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server';
import { getJson, upload } from '../helpers/http';
import { rpmbuild, tmpDir } from '../unit/rpm/helpers';
import { dnfClient, dnfSkip as skip, run, tamperProxy, zypper, zypperSkip, type TamperProxy } from './rpm-tools';

const REPO = 'rpmvers';
let srv: TestServer;
let proxy: TamperProxy;
let T: string;
const pkgs: Record<string, string> = {};

before(async () => {
  if (skip) return;
  T = tmpDir('rpm-vers-');
  srv = await startServer();
  // The proxy changes nothing here (tamper stays off): it records the paths each client sends.
  proxy = await tamperProxy(srv.url);
  for (const [key, version] of [['base', '1.0'], ['caret', '1.0^git1'], ['plus', '2.0+deb']] as const) {
    const d = path.join(T, key);
    fs.mkdirSync(d);
    const name = key === 'plus' ? 'plus-tool' : 'caret-tool';
    pkgs[key] = rpmbuild({ name, version, arch: 'noarch', files: { [`/usr/share/${name}/VERSION`]: `${version}\n` } }, d).rpm;
  }
});

after(async () => {
  if (skip) return;
  await proxy.close();
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

const sha256 = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** `rpm -K` in its own root (no keys needed: these packages carry digests only). */
async function rpmK(file: string): Promise<void> {
  const root = fs.mkdtempSync(path.join(T, 'rpmk-'));
  const r = await run('rpm', ['--root', root, '-K', file]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /digests OK/, r.out);
}

/** The package file requests a client sent since `from`, decoded (`+` stays `+` in a path). */
const packageRequests = (from: number) =>
  proxy.requests.slice(from).map((u) => decodeURIComponent(u.split('?')[0]!)).filter((u) => u.endsWith('.rpm'));

test('versions with ^ and + upload; the newest is by rpm order (1.0^git1 after 1.0)', { skip }, async () => {
  for (const key of ['caret', 'base', 'plus']) {
    const r = await upload(srv.url, pkgs[key]!, { reponame: REPO });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const caret = await getJson(`${srv.url}/api/repos/rpm/${REPO}/packages/caret-tool`);
  assert.equal(caret.status, 200);
  assert.equal(caret.body.latestVersion, '1.0^git1-1');
  const plus = await getJson(`${srv.url}/api/repos/rpm/${REPO}/packages/plus-tool`);
  assert.equal(plus.body.latestVersion, '2.0+deb-1');
  // Direct download, both spellings of the path.
  for (const p of ['Packages/c/caret-tool-1.0^git1-1.noarch.rpm', 'Packages/c/caret-tool-1.0%5Egit1-1.noarch.rpm', 'Packages/p/plus-tool-2.0+deb-1.noarch.rpm', 'Packages/p/plus-tool-2.0%2Bdeb-1.noarch.rpm']) {
    assert.equal((await fetch(`${srv.url}/repo/rpm/${REPO}/${p}`)).status, 200, p);
  }
});

test('dnf downloads both packages; rpm -K verifies them', { skip }, async () => {
  const c = dnfClient(T, 'dnf');
  c.setRepoFile(`${REPO}.repo`, await (await fetch(`${proxy.url}/repo/rpm/${REPO}.repo`)).text());
  const list = await c.dnf(['list', '--available', 'caret-tool', 'plus-tool']);
  assert.equal(list.code, 0, list.out);
  assert.match(list.out, /caret-tool\.noarch\s+1\.0\^git1-1\s/);
  assert.match(list.out, /plus-tool\.noarch\s+2\.0\+deb-1\s/);
  const from = proxy.requests.length;
  const out = path.join(T, 'dnf-downloads');
  const r = await c.dnf(['install', '--downloadonly', `--downloaddir=${out}`, 'caret-tool', 'plus-tool']);
  assert.equal(r.code, 0, r.out);
  const sent = packageRequests(from);
  assert.deepEqual(sent.sort(), [`/repo/rpm/${REPO}/Packages/c/caret-tool-1.0^git1-1.noarch.rpm`, `/repo/rpm/${REPO}/Packages/p/plus-tool-2.0+deb-1.noarch.rpm`]);
  for (const [key, file] of [['caret', 'caret-tool-1.0^git1-1.noarch.rpm'], ['plus', 'plus-tool-2.0+deb-1.noarch.rpm']]) {
    const got = path.join(out, file);
    assert.equal(sha256(got), sha256(pkgs[key]!), file);
    await rpmK(got);
  }
});

test('zypper downloads both packages; rpm -K verifies them', { skip: skip || zypperSkip }, async () => {
  const root = path.join(T, 'zypper-root');
  fs.mkdirSync(root);
  assert.equal((await zypper(root, ['addrepo', `${proxy.url}/repo/rpm/${REPO}.repo`])).code, 0);
  const refresh = await zypper(root, ['--gpg-auto-import-keys', 'refresh']);
  assert.equal(refresh.code, 0, refresh.out);
  const from = proxy.requests.length;
  const r = await zypper(root, ['install', '--download-only', 'caret-tool', 'plus-tool']);
  assert.equal(r.code, 0, r.out);
  const sent = packageRequests(from);
  assert.deepEqual([...new Set(sent)].sort(), [`/repo/rpm/${REPO}/Packages/c/caret-tool-1.0^git1-1.noarch.rpm`, `/repo/rpm/${REPO}/Packages/p/plus-tool-2.0+deb-1.noarch.rpm`]);
  for (const [key, dir, file] of [['caret', 'c', 'caret-tool-1.0^git1-1.noarch.rpm'], ['plus', 'p', 'plus-tool-2.0+deb-1.noarch.rpm']]) {
    const got = path.join(root, 'var/cache/zypp/packages', REPO, 'Packages', dir, file);
    assert.equal(sha256(got), sha256(pkgs[key]!), file);
    await rpmK(got);
  }
});
