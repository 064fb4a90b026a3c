/**
 * Issue 18 end to end: rpms built in this run by Debian's rpmbuild (x86_64 and noarch, two
 * versions of one name where rpm order is not string order, an epoch, a dependency between two
 * of them, a file whose name has a space and unicode, a source rpm, one signed with rpmsign)
 * uploaded through POST /addpkg, then the real dnf 4.14 (--installroot, --releasever,
 * reposdir holding the served .repo file, repo_gpgcheck=1, skip_if_unavailable=False) and
 * zypper (--root) against the real server. Every dnf check is also run through a proxy that
 * swaps repomd.xml.asc for another key's signature, and must then fail.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server';
import { auth, getJson, upload } from '../helpers/http';
import { gpgKey, rpmbuild, rpmsign, tmpDir, type TestGpgKey } from '../unit/rpm/helpers';
import { dnfClient, dnfSkip as skip, run, tamperProxy, zypper, zypperSkip, type DnfClient, type TamperProxy } from './rpm-tools';

const REPO = 'rpmrepo';
let srv: TestServer;
let proxy: TamperProxy;
let T: string;
let packager: TestGpgKey;
const pkgs: Record<string, string> = {};
let repoFileUrl: string;

const UNICODE_FILE = '/usr/share/hello-tool/read me ü.txt';

before(async () => {
  if (skip) return;
  T = tmpDir('rpm-integ-');
  srv = await startServer();
  proxy = await tamperProxy(srv.url);
  const tool = (version: string, extra: Partial<Parameters<typeof rpmbuild>[0]> = {}) =>
    rpmbuild({
      name: 'hello-tool', version, epoch: 1, arch: 'x86_64',
      preamble: ['Requires: hello-data >= 1.0'],
      files: { '/usr/bin/hello-tool': `#!/bin/sh\necho hello ${version}\n`, [UNICODE_FILE]: `unicode ${version}\n` },
      ...extra,
    }, path.join(T, version));
  for (const v of ['1.9', '1.10', '1.11']) fs.mkdirSync(path.join(T, v));
  const b19 = tool('1.9', { source: true });
  pkgs.tool19 = b19.rpm;
  pkgs.srpm = b19.srpm!;
  pkgs.tool110 = tool('1.10').rpm;
  pkgs.tool111 = tool('1.11').rpm;
  pkgs.data = rpmbuild({ name: 'hello-data', version: '1.0', arch: 'noarch', files: { '/usr/share/hello-data/data.txt': 'data\n' } }, T).rpm;
  packager = gpgKey(T);
  rpmsign(pkgs.data, packager);
  pkgs.el9 = rpmbuild({ name: 'el9-only', version: '3.0', arch: 'noarch' }, T).rpm;
  // The form the README and the UI give: beside the repository (`/repo/rpm/<repo>.repo`).
  repoFileUrl = `${proxy.url}/repo/rpm/${REPO}.repo`;
});

after(async () => {
  if (skip) return;
  await proxy.close();
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

const bytes = async (url: string) => {
  const r = await fetch(url);
  assert.equal(r.status, 200, `${url}: ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
};
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** A dnf client set up from the served .repo file, as `curl -o /etc/yum.repos.d/...` would. */
async function client(name: string, repoFile = repoFileUrl): Promise<DnfClient> {
  const c = dnfClient(T, name);
  c.setRepoFile(`${name}.repo`, (await bytes(repoFile)).toString());
  return c;
}

/**
 * Runs a dnf command twice: first with repomd.xml.asc tampered (it must fail on the signature),
 * then for real (it must succeed). Returns the real run's output.
 */
async function dnfChecked(c: DnfClient, args: string[]): Promise<string> {
  proxy.tamper = true;
  try {
    const bad = await c.dnf(['--refresh', ...args]);
    assert.notEqual(bad.code, 0, `dnf ${args.join(' ')} succeeded with a tampered repomd.xml.asc:\n${bad.out}`);
    assert.match(bad.out, /GPG|signature/i, bad.out);
  } finally {
    proxy.tamper = false;
  }
  const good = await c.dnf(args);
  assert.equal(good.code, 0, `dnf ${args.join(' ')}:\n${good.out}`);
  return good.out;
}

test('rpmbuild packages upload with provider=rpm and detected from their bytes; bad input is a 400', { skip }, async () => {
  // 1.10 before 1.9: the newest must come from rpm order, not upload order or string order.
  for (const [f, q] of [[pkgs.tool110, { provider: 'rpm' }], [pkgs.tool19, {}], [pkgs.data, {}], [pkgs.srpm, { provider: 'rpm' }]] as const) {
    const r = await upload(srv.url, f, { reponame: REPO, ...q });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.provider, 'rpm');
  }
  const el9 = await upload(srv.url, pkgs.el9, { reponame: REPO, group: 'el9' });
  assert.equal(el9.status, 201, JSON.stringify(el9.body));
  assert.equal(el9.body.path, 'el9/Packages/e/el9-only-3.0-1.noarch.rpm');
  const src = await getJson(`${srv.url}/api/repos/rpm/${REPO}/packages/hello-tool`);
  assert.ok(JSON.stringify(src.body).includes('"src"'), 'the source rpm is listed as arch src');

  const broken = Buffer.from(fs.readFileSync(pkgs.tool111));
  broken[broken.length - 30] ^= 0xff;
  const bad = await upload(srv.url, { name: 'broken.rpm', data: broken }, { reponame: REPO });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'invalid_package');
  assert.match(String(bad.body.error), /payload digest mismatch/);
  const badGroup = await upload(srv.url, pkgs.tool111, { reponame: REPO, group: '../x' });
  assert.equal(badGroup.status, 400);
  assert.match(String(badGroup.body.error), /group/);
  const list = await getJson(`${srv.url}/api/repos/rpm/${REPO}/packages/hello-tool`);
  assert.ok(!JSON.stringify(list.body).includes('1.11'), 'nothing of the refused uploads is stored');
});

test('served packages are the uploaded bytes: the packager signature still verifies with rpm -K', { skip }, async () => {
  const served = await bytes(`${srv.url}/repo/rpm/${REPO}/Packages/h/hello-data-1.0-1.noarch.rpm`);
  assert.equal(sha256(served), sha256(fs.readFileSync(pkgs.data)));
  const file = path.join(T, 'downloaded.rpm');
  fs.writeFileSync(file, served);
  const rpmRoot = path.join(T, 'rpmk-root');
  fs.mkdirSync(rpmRoot);
  const nokey = await run('rpm', ['--root', rpmRoot, '-K', file]);
  assert.notEqual(nokey.code, 0, 'without the packager key the signature is not OK');
  assert.equal((await run('rpm', ['--root', rpmRoot, '--import', packager.publicKeyFile])).code, 0);
  const ok = await run('rpm', ['--root', rpmRoot, '-K', file]);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /digests signatures OK/);
});

test('HEAD repomd.xml, the .asc, the .key, /pubkey and the .repo file', { skip }, async () => {
  const base = `${srv.url}/repo/rpm/${REPO}`;
  const head = await fetch(`${base}/repodata/repomd.xml`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(Number(head.headers.get('content-length')), (await bytes(`${base}/repodata/repomd.xml`)).length);
  assert.match((await bytes(`${base}/repodata/repomd.xml.asc`)).toString(), /^-----BEGIN PGP SIGNATURE-----/);
  const key = (await bytes(`${base}/repodata/repomd.xml.key`)).toString();
  assert.equal(key, (await bytes(`${base}/pubkey`)).toString());
  const repo = (await bytes(`${base}/${REPO}.repo`)).toString();
  assert.equal((await bytes(`${base}.repo`)).toString(), repo, '/repo/rpm/<repo>.repo is the same file');
  assert.match(repo, new RegExp(`^\\[${REPO}\\]\nname=.*\nbaseurl=${base}\n`));
  assert.match(repo, /\nrepo_gpgcheck=1\n/);
  assert.match(repo, /\ngpgcheck=0\n/);
  assert.match(repo, new RegExp(`\ngpgkey=${base}/pubkey\n`));
  assert.equal((await fetch(`${base}/other.repo`)).status, 404);
  assert.match((await bytes(`${base}/el9/${REPO}-el9.repo`)).toString(), new RegExp(`baseurl=${base}/el9\n`));
  assert.equal((await fetch(`${base}/el8/${REPO}-el8.repo`)).status, 404);
  // The UI repository page shows the dnf and zypper snippets with the real URLs.
  const ui = await (await fetch(`${srv.url}/ui/rpm/${REPO}`)).text();
  assert.ok(ui.includes(`${base}.repo -o /etc/yum.repos.d/${REPO}.repo`), 'dnf snippet');
  assert.ok(ui.includes(`zypper addrepo ${base}.repo`), 'zypper snippet');
});

test('dnf makecache and list --available show the newest version by rpm order', { skip }, async () => {
  const c = await client('list');
  await dnfChecked(c, ['makecache']);
  const out = await dnfChecked(c, ['list', '--available', 'hello-tool']);
  assert.match(out, /hello-tool\.x86_64\s+1:1\.10-1\s+rpmrepo/);
  assert.doesNotMatch(out, /hello-tool\.x86_64\s+1:1\.9-1/);
  assert.match(out, /hello-tool\.src\s+1:1\.9-1/, 'the source rpm is listed as arch src');
  const all = await dnfChecked(c, ['list', '--available', '--showduplicates', 'hello-tool']);
  assert.match(all, /1:1\.9-1/);
  assert.match(all, /1:1\.10-1/);
});

test('dnf install resolves the dependency from the repository; repoquery --requires matches', { skip }, async () => {
  const c = await client('install');
  const rq = await dnfChecked(c, ['repoquery', '--requires', 'hello-tool-1:1.10-1.x86_64']);
  assert.match(rq, /^hello-data >= 1\.0$/m);
  const files = await dnfChecked(c, ['repoquery', '-l', 'hello-tool-1:1.10-1.x86_64']);
  assert.ok(files.includes(UNICODE_FILE), files);
  await dnfChecked(c, ['install', 'hello-tool']);
  assert.equal(fs.readFileSync(path.join(c.root, UNICODE_FILE), 'utf8'), 'unicode 1.10\n');
  assert.ok(fs.existsSync(path.join(c.root, 'usr/share/hello-data/data.txt')), 'hello-data came in as a dependency');
});

test('dnf --refresh after a new upload sees it; a group has its own repodata', { skip }, async () => {
  const c = await client('refresh');
  await dnfChecked(c, ['makecache']);
  assert.equal((await upload(srv.url, pkgs.tool111, { reponame: REPO })).status, 201);
  const out = await dnfChecked(c, ['--refresh', 'list', '--available', 'hello-tool']);
  assert.match(out, /1:1\.11-1/);

  const g = await client('group', `${proxy.url}/repo/rpm/${REPO}/el9/${REPO}-el9.repo`);
  const el9 = await dnfChecked(g, ['list', '--available']);
  assert.match(el9, /el9-only\.noarch\s+3\.0-1/);
  assert.doesNotMatch(el9, /hello-tool/);
});

test('dnf without the repository key fails', { skip }, async () => {
  const c = dnfClient(T, 'nokey');
  const repo = (await bytes(repoFileUrl)).toString().replace(/^gpgkey=.*$/m, `gpgkey=${proxy.url}/otherkey`);
  c.setRepoFile('nokey.repo', repo);
  const r = await c.dnf(['makecache']);
  assert.notEqual(r.code, 0, r.out);
  assert.match(r.out, /GPG|signature/i);
});

test('yank and delete take a version out of the served primary.xml', { skip }, async () => {
  const y = await fetch(`${srv.url}/api/repos/rpm/${REPO}/packages/hello-tool/${encodeURIComponent('1:1.11-1')}/yank`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(y.status, 200, await y.text());
  const c = await client('yank');
  const out = await dnfChecked(c, ['list', '--available', '--showduplicates', 'hello-tool']);
  assert.doesNotMatch(out, /1:1\.11-1/);
  assert.match(out, /1:1\.10-1/);
  const d = await fetch(`${srv.url}/api/repos/rpm/${REPO}/packages/hello-tool/1:1.9-1`, { method: 'DELETE', headers: auth() });
  assert.equal(d.status, 200, await d.text());
  const after = await dnfChecked(c, ['--refresh', 'list', '--available', '--showduplicates', 'hello-tool']);
  assert.doesNotMatch(after, /1:1\.9-1/);
});

test('zypper: addrepo with the .repo URL, --gpg-auto-import-keys refresh, install --download-only', { skip: skip || zypperSkip }, async () => {
  const root = path.join(T, 'zypper-root');
  fs.mkdirSync(root);
  const add = await zypper(root, ['addrepo', repoFileUrl]);
  assert.equal(add.code, 0, add.out);
  proxy.tamper = true;
  const bad = await zypper(root, ['--gpg-auto-import-keys', 'refresh']);
  proxy.tamper = false;
  assert.notEqual(bad.code, 0, `zypper refresh accepted a tampered repomd.xml.asc:\n${bad.out}`);
  const refresh = await zypper(root, ['--gpg-auto-import-keys', 'refresh', '--force']);
  assert.equal(refresh.code, 0, refresh.out);
  const install = await zypper(root, ['install', '--download-only', 'hello-tool']);
  assert.equal(install.code, 0, install.out);
  const cache = path.join(root, 'var/cache/zypp/packages', REPO, 'Packages/h');
  assert.equal(sha256(fs.readFileSync(path.join(cache, 'hello-tool-1.10-1.x86_64.rpm'))), sha256(fs.readFileSync(pkgs.tool110)));
  assert.equal(sha256(fs.readFileSync(path.join(cache, 'hello-data-1.0-1.noarch.rpm'))), sha256(fs.readFileSync(pkgs.data)));
});
