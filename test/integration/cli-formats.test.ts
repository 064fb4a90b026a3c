/**
 * Issue 9 with the real formats: the seed's apt upload line with a .deb built by
 * `dpkg-deb --build`, format auto-detection for apt/pacman/pypi/apk, pacman packager
 * signatures, status per arch, and key show/rotate/import checked with gpgv (the
 * verifier apt uses) against the InRelease the server publishes.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { getJson } from '../helpers/http';
import { findProvider } from '../../src/core/provider-registry';
import { makepkg } from '../unit/pacman/helpers';
import { makeWheel, metadataText } from '../unit/pypi/helpers';
import { buildApk, pkginfoFor } from '../unit/apk/apk-builder';
import { rpcli, oneErrorLine } from './cli-run';

let srv: TestServer;
let dir: string;
let env: Record<string, string>;

/** A .deb made by dpkg-deb itself. */
function buildDeb(name: string, version: string, arch = 'amd64'): string {
  const root = fs.mkdtempSync(path.join(dir, 'deb-'));
  fs.mkdirSync(path.join(root, 'DEBIAN'));
  fs.writeFileSync(
    path.join(root, 'DEBIAN', 'control'),
    `Package: ${name}\nVersion: ${version}\nArchitecture: ${arch}\nMaintainer: Test <test@example.org>\nDescription: test package ${name}\n`,
  );
  fs.mkdirSync(path.join(root, 'usr/share/doc', name), { recursive: true });
  fs.writeFileSync(path.join(root, 'usr/share/doc', name, 'README'), `${name} ${version}\n`);
  const out = path.join(dir, `${name}_${version}_${arch}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '--build', root, out], { stdio: 'pipe' });
  return out;
}

async function bytes(url: string): Promise<Buffer> {
  const r = await fetch(url);
  assert.equal(r.status, 200, `GET ${url}`);
  return Buffer.from(await r.arrayBuffer());
}

/** gpgv's verdict on a signed file, with a keyring made from an armored public key. */
async function gpgvAccepts(armoredPublic: string, files: Record<string, Buffer>, args: string[]): Promise<boolean> {
  const tmp = fs.mkdtempSync(path.join(dir, 'gpgv-'));
  const key = await openpgp.readKey({ armoredKey: armoredPublic });
  fs.writeFileSync(path.join(tmp, 'keyring.gpg'), key.toPublic().write());
  for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(tmp, n), b);
  const r = spawnSync('gpgv', ['--keyring', path.join(tmp, 'keyring.gpg'), ...args], { cwd: tmp, encoding: 'utf8' });
  return r.status === 0;
}

interface KeyInfo {
  kind: string;
  fingerprint: string;
  publicKey: string;
  active: boolean;
}

async function keys(repo: string, provider: string): Promise<KeyInfo[]> {
  const r = await rpcli(['key', 'show', '-r', repo, '-y', provider, '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).keys;
}

const activePgp = (ks: KeyInfo[]) => ks.filter((k) => k.kind === 'openpgp' && k.active);

before(async () => {
  for (const p of ['apt', 'pacman', 'pypi', 'apk']) assert.ok(findProvider(p), `provider ${p} is registered`);
  srv = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpcli-formats-'));
  fs.chmodSync(dir, 0o755);
  env = { RPCLI_SERVER: srv.url, RPCLI_TOKEN: ADMIN_TOKEN };
});
after(async () => {
  await srv.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('apt', () => {
  test("the seed's exact upload line publishes a signed dist apt's gpgv accepts", async () => {
    const deb = buildDeb('hello', '1.0');
    // The seed line, verbatim apart from the real URL and file: the token comes from the environment.
    const r = await rpcli(['-s', srv.url, 'upload', '-y', 'apt', '-f', deb, '-r', 'reponame', '-p', 'hello', '-i', '1.0', '-a', 'dist=trusty'], { env: { RPCLI_TOKEN: ADMIN_TOKEN } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^published: apt\/reponame hello 1\.0 \(amd64\) /);
    const base = `${srv.url}/repo/apt/reponame`;
    const packages = (await bytes(`${base}/dists/trusty/main/binary-amd64/Packages`)).toString();
    assert.match(packages, /^Package: hello\nVersion: 1\.0\n/m);
    const [key] = activePgp(await keys('reponame', 'apt'));
    assert.ok(await gpgvAccepts(key.publicKey, { InRelease: await bytes(`${base}/dists/trusty/InRelease`) }, ['InRelease']));
  });

  test('a name in the request that contradicts the package: exit 1 with the server message', async () => {
    const deb = buildDeb('hello', '1.0.1');
    const r = await rpcli(['upload', '-y', 'apt', '-r', 'reponame', '-p', 'goodbye', '-a', 'dist=trusty', deb], { env });
    assert.equal(r.code, 1);
    assert.match(oneErrorLine(r), /name "goodbye" in the request does not match the package's own name "hello"/);
  });

  test('yank removes a version from Packages, the file stays downloadable; unyank restores it', async () => {
    const up = await rpcli(['upload', '--json', '-r', 'reponame', '-a', 'dist=trusty', buildDeb('hello', '1.1')], { env });
    assert.equal(up.code, 0, up.stderr);
    const url = JSON.parse(up.stdout)[0].url as string;
    const pk = () => bytes(`${srv.url}/repo/apt/reponame/dists/trusty/main/binary-amd64/Packages`).then((b) => b.toString());
    assert.match(await pk(), /^Version: 1\.1$/m);
    assert.equal((await rpcli(['yank', 'hello', '1.1', '-r', 'reponame'], { env })).code, 0);
    const after = await pk();
    assert.doesNotMatch(after, /^Version: 1\.1$/m);
    assert.match(after, /^Version: 1\.0$/m);
    assert.equal((await fetch(url)).status, 200);
    assert.equal((await rpcli(['unyank', 'hello', '1.1', '-r', 'reponame'], { env })).code, 0);
    assert.match(await pk(), /^Version: 1\.1$/m);
  });

  test('settings origin/label republish a Release that still verifies', async () => {
    const r = await rpcli(['settings', '-r', 'reponame', '-y', 'apt', 'origin=ACME Corp', 'label=acme', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).republished.length >= 1);
    const inrelease = await bytes(`${srv.url}/repo/apt/reponame/dists/trusty/InRelease`);
    assert.match(inrelease.toString(), /^Origin: ACME Corp$/m);
    assert.match(inrelease.toString(), /^Label: acme$/m);
    const [key] = activePgp(await keys('reponame', 'apt'));
    assert.ok(await gpgvAccepts(key.publicKey, { InRelease: inrelease }, ['InRelease']));
  });

  test('key rotate re-signs the indexes: gpgv accepts the new key and rejects the old one', async () => {
    const [old] = activePgp(await keys('reponame', 'apt'));
    const r = await rpcli(['key', 'rotate', '-r', 'reponame', '-y', 'apt', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).republished.some((s: string) => s.endsWith('trusty')), r.stdout);
    const now = activePgp(await keys('reponame', 'apt'));
    assert.equal(now.length, 1);
    assert.notEqual(now[0].fingerprint, old.fingerprint);
    const inrelease = await bytes(`${srv.url}/repo/apt/reponame/dists/trusty/InRelease`);
    assert.ok(await gpgvAccepts(now[0].publicKey, { InRelease: inrelease }, ['InRelease']));
    assert.ok(!(await gpgvAccepts(old.publicKey, { InRelease: inrelease }, ['InRelease'])));
  });

  test('key import: the imported key signs from then on', async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'Imported', email: 'imported@example.org' }], format: 'armored' });
    const file = path.join(dir, 'imported.asc');
    fs.writeFileSync(file, privateKey);
    const fpr = (await openpgp.readKey({ armoredKey: publicKey })).getFingerprint().toUpperCase();
    const r = await rpcli(['key', 'import', file, '-r', 'reponame', '-y', 'apt'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`imported ${fpr}`, 'i'));
    const inrelease = await bytes(`${srv.url}/repo/apt/reponame/dists/trusty/InRelease`);
    assert.ok(await gpgvAccepts(publicKey, { InRelease: inrelease }, ['InRelease']));
    assert.equal(activePgp(await keys('reponame', 'apt'))[0].fingerprint.toUpperCase(), fpr);
    // The shown key is public only.
    const shown = await rpcli(['key', 'show', '-r', 'reponame', '-y', 'apt'], { env });
    assert.match(shown.stdout, /BEGIN PGP PUBLIC KEY BLOCK/);
    assert.doesNotMatch(shown.stdout, /PRIVATE/);
    const bad = await rpcli(['key', 'import', buildDeb('notakey', '1'), '-r', 'reponame', '-y', 'apt'], { env });
    assert.equal(bad.code, 1);
    assert.match(oneErrorLine(bad), /cannot import key/);
  });
});

describe('format auto-detection (no -y)', () => {
  test('apt, pacman, pypi and apk files are each recognised and stored under their provider', async () => {
    const apk = path.join(dir, 'hello-apk-1.0-r0.apk');
    fs.writeFileSync(apk, buildApk({ pkginfo: pkginfoFor('hello-apk', '1.0-r0', 'x86_64') }).bytes);
    const files: [string, string, string][] = [
      ['apt', buildDeb('autodeb', '2.0'), 'autodeb'],
      ['pacman', makepkg({ name: 'autopac', pkgver: '3.0', arch: 'x86_64' }, dir), 'autopac'],
      ['pypi', makeWheel(dir, 'autopy-4.0-py3-none-any.whl', metadataText('autopy', '4.0')), 'autopy'],
      ['apk', apk, 'hello-apk'],
    ];
    for (const [provider, file, name] of files) {
      const r = await rpcli(['upload', '--json', '-r', 'auto', file], { env });
      assert.equal(r.code, 0, `${provider}: ${r.stderr}`);
      const stored = JSON.parse(r.stdout)[0];
      assert.equal(stored.provider, provider);
      assert.equal(stored.name, name);
      assert.equal((await getJson(`${srv.url}/api/repos/${provider}/auto/packages/${name}`)).status, 200);
    }
    // The same repository name under four providers: repo commands then need -y.
    const amb = await rpcli(['status', '-r', 'auto'], { env });
    assert.equal(amb.code, 2);
    assert.match(oneErrorLine(amb), /exists for several providers \(apk, apt, pacman, pypi\): pass -y/);
  });
});

describe('pacman', () => {
  test("a packager's .sig next to the package is sent with it, not uploaded as a package", async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'pac-'));
    fs.chmodSync(sub, 0o755);
    const pkg = makepkg({ name: 'signed', pkgver: '1.0', arch: 'x86_64' }, sub);
    const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'Packager', email: 'p@example.org' }], format: 'object' });
    const sig = Buffer.from(await openpgp.sign({ message: await openpgp.createMessage({ binary: fs.readFileSync(pkg) }), signingKeys: privateKey, detached: true, format: 'binary' }));
    fs.writeFileSync(`${pkg}.sig`, sig);
    const r = await rpcli(['upload', '--json', '-r', 'archsig', path.join(sub, '*')], { env });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.length, 1);
    const served = await bytes(`${out[0].url}.sig`);
    assert.ok(served.equals(sig), 'the packager signature is served as is');
    assert.ok(await gpgvAccepts(publicKey.armor(), { 'p.sig': served, p: fs.readFileSync(pkg) }, ['p.sig', 'p']));
  });

  test('status: packages per arch, every scope published, last publish time', async () => {
    for (const spec of [{ name: 'one', pkgver: '1.0', arch: 'x86_64' }, { name: 'one', pkgver: '1.1', arch: 'x86_64' }, { name: 'two', pkgver: '2.0', arch: 'any' }, { name: 'three', pkgver: '1', arch: 'aarch64' }]) {
      const r = await rpcli(['upload', '-r', 'archstat', makepkg(spec, dir)], { env });
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await rpcli(['status', '-r', 'archstat', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.packages, 3);
    assert.equal(s.versions, 4);
    assert.equal(s.files, 4);
    const sizes = fs.readdirSync(dir).filter((f) => /^(one|two|three)-.*\.pkg\.tar\.zst$/.test(f)).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    assert.equal(s.totalSize, sizes);
    assert.deepEqual(s.perArch, { aarch64: 1, any: 1, x86_64: 1 });
    assert.deepEqual(s.scopes.map((x: { scope: string }) => x.scope), ['aarch64', 'x86_64']);
    for (const sc of s.scopes) assert.ok(sc.publishedSeq >= sc.requestedSeq && sc.publishedAt);
    assert.ok(Date.now() - Date.parse(s.lastPublished) < 120_000);
    // clean keeps the newest by vercmp; the db then lists only it.
    const c = await rpcli(['clean', '-r', 'archstat', '--keep', '1', '--json'], { env });
    assert.deepEqual(JSON.parse(c.stdout).removed.map((f: { name: string; version: string }) => `${f.name} ${f.version}`), ['one 1.0-1']);
  });
});

describe('pypi and apk', () => {
  test('pypi yank is PEP 592: the file stays listed, marked yanked with the reason', async () => {
    const whl = makeWheel(dir, 'yankme-1.0-py3-none-any.whl', metadataText('yankme', '1.0'));
    assert.equal((await rpcli(['upload', '-r', 'pyrepo', whl], { env })).code, 0);
    assert.equal((await rpcli(['yank', 'yankme', '1.0', '-r', 'pyrepo', '--reason', 'CVE-1'], { env })).code, 0);
    const page = await getJson(`${srv.url}/repo/pypi/pyrepo/simple/yankme/`, { Accept: 'application/vnd.pypi.simple.v1+json' });
    assert.equal(page.status, 200);
    assert.equal(page.body.files[0].yanked, 'CVE-1');
  });

  test('apk rsa rotation: both keys sign the APKINDEX until --retire', async () => {
    const apk = path.join(dir, 'rot-1.0-r0.apk');
    fs.writeFileSync(apk, buildApk({ pkginfo: pkginfoFor('rot', '1.0-r0', 'x86_64') }).bytes);
    assert.equal((await rpcli(['upload', '-r', 'alpine', '-a', 'branch=main', apk], { env })).code, 0);
    const signers = async () => {
      const idx = path.join(dir, 'APKINDEX.tar.gz');
      fs.writeFileSync(idx, await bytes(`${srv.url}/repo/apk/alpine/main/x86_64/APKINDEX.tar.gz`));
      // GNU tar reads the concatenated gzip members as one archive, as apk does.
      return execFileSync('tar', ['-tzf', idx], { encoding: 'utf8' }).split('\n').filter((n) => n.startsWith('.SIGN.RSA'));
    };
    assert.equal((await signers()).length, 1);
    const r = await rpcli(['key', 'rotate', '--kind', 'rsa', '-r', 'alpine', '-y', 'apk', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).keys.filter((k: KeyInfo) => k.kind === 'rsa' && k.active).length, 2);
    assert.equal((await signers()).length, 2);
    assert.equal((await rpcli(['key', 'rotate', '--kind', 'rsa', '--retire', '-r', 'alpine', '-y', 'apk'], { env })).code, 0);
    assert.equal((await signers()).length, 1);
  });
});
