/**
 * Static publishing (issue 15) end to end: the server writes every generation to a directory
 * served by nginx and to an s3rver bucket (website index document, anonymous path-style GETs),
 * and real clients read only the static copies while uploads keep publishing new generations:
 * apt-get update/download (signed InRelease, by-hash), pip install, pacman -Sy/-S (SigLevel
 * Required DatabaseRequired), dnf makecache/install --downloadonly (repo_gpgcheck), and the
 * independent apk index reader + openssl. Then: a missing or damaged target file is repaired by
 * the next sync, and a deleted package leaves the targets only after the retention window.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, PutBucketWebsiteCommand, S3Client } from '@aws-sdk/client-s3';
import { startServer, ADMIN_TOKEN, type TestServer } from '../helpers/server';
import { upload, auth } from '../helpers/http';
import { startS3rver, type S3rverHandle } from '../helpers/s3';
import { startStaticNginx, type StaticNginx } from '../helpers/static-nginx';
import { eventually } from '../helpers/eventually';
import { buildDeb, controlText, tmpDir } from '../unit/apt/helpers';
import { aptClient, bytes, WARN_OR_ERROR, type RunResult } from './apt-tools';
import { makeWheel, metadataText } from '../unit/pypi/helpers';
import { makeVenv, pip, run as runPy } from './pypi-tools';
import { makepkg } from '../unit/pacman/helpers';
import { fingerprintOf, pacmanClient, pacmanSkip } from './pacman-tools';
import { rpmbuild } from '../unit/rpm/helpers';
import { dnfClient, dnfSkip } from './rpm-tools';
import { buildApk, pkginfoFor } from '../unit/apk/apk-builder';
import { opensslVerify, packageChecksum, readIndex } from '../unit/apk/apk-index-reader';

const KEEP_SECONDS = 6;
let srv: TestServer;
let s3: S3rverHandle;
let nginx: StaticNginx;
let s3Base: string;
const work = tmpDir('static-pub-');
fs.chmodSync(work, 0o755);
const staticDir = path.join(work, 'static');

/** The two static copies, each at `<base>/repo/<provider>/<repo>` like the server's own URLs. */
const bases = () => [
  { name: 'nginx', url: nginx.url },
  { name: 's3', url: s3Base },
];

/**
 * Every package is built before the server starts: a build (makepkg, rpmbuild, dpkg-deb,
 * python) blocks this process, the in-process server's too, and a keep-alive connection that
 * went idle past its timeout meanwhile is closed under the next request ("fetch failed" in the
 * test, not a server answer; it happened under load).
 */
let fx: ReturnType<typeof fixtures>;
const deb = (name: string, version: string) =>
  buildDeb(work, controlText({ Package: name, Version: version, Architecture: 'amd64', Maintainer: 'T <t@example.org>', Description: `${name} test` }), 'gzip');
const helloBin = '  mkdir -p "$pkgdir/usr/bin"; printf "#!/bin/sh\\necho hi\\n" > "$pkgdir/usr/bin/hello-static"; chmod 755 "$pkgdir/usr/bin/hello-static"';
function fixtures() {
  const rpmFillers = path.join(work, 'rpm-fillers');
  fs.mkdirSync(rpmFillers, { recursive: true });
  return {
    hello: deb('hello', '1.0-1'),
    debFillers: Array.from({ length: 40 }, (_, i) => deb('filler', `1.${i}-1`)),
    gone: deb('gone', '1.0-1'),
    secret: [deb('secret', '1.0-1'), deb('secret', '1.1-1')] as const,
    wheel: makeWheel(work, 'static_demo-1.2-py3-none-any.whl', metadataText('static-demo', '1.2')),
    wheelFillers: Array.from({ length: 40 }, (_, n) => makeWheel(work, `static_filler-0.${n}-py3-none-any.whl`, metadataText('static-filler', `0.${n}`))),
    pacman: pacmanSkip
      ? null
      : {
          hello: makepkg({ name: 'hello-static', pkgver: '1.0', arch: 'x86_64', package: helloBin }, work),
          any: makepkg({ name: 'any-static', pkgver: '2.0', arch: 'any' }, work),
          fillers: Array.from({ length: 12 }, (_, i) => makepkg({ name: 'filler-static', pkgver: `1.${i}`, arch: 'x86_64' }, work)),
        },
    rpm: dnfSkip
      ? null
      : {
          tool: rpmbuild({ name: 'static-tool', version: '1.0', arch: 'noarch', files: { '/usr/share/static-tool/a.txt': 'a\n' } }, work).rpm,
          fillers: Array.from({ length: 6 }, (_, i) => rpmbuild({ name: 'static-filler', version: `1.${i}`, arch: 'noarch' }, fs.mkdtempSync(path.join(rpmFillers, 'f-'))).rpm),
        },
  };
}

before(async () => {
  fx = fixtures();
  s3 = await startS3rver();
  // Bucket `repo`, path-style: `http://host/repo/<provider>/<repo>/...` are the server's URL paths,
  // so root-relative links (PyPI pages) resolve. The website configuration makes `<dir>/` answer
  // `<dir>/index.html`, as S3 website hosting does (pip asks for `simple/<project>/`).
  const bucketUrl = new URL(s3.url('repo'));
  s3Base = `${bucketUrl.protocol}//${bucketUrl.host}`;
  const client = new S3Client({ endpoint: s3Base, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  await client.send(new CreateBucketCommand({ Bucket: 'repo' }));
  await client.send(new PutBucketWebsiteCommand({ Bucket: 'repo', WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }));
  client.destroy();
  fs.mkdirSync(staticDir);
  srv = await startServer({
    env: { STATIC_PUBLISH_DIR: staticDir, STATIC_PUBLISH_S3_URL: s3.url('repo'), STATIC_PUBLISH_SWEEP_SECONDS: '1', KEEP_GENERATIONS_SECONDS: String(KEEP_SECONDS) },
  });
  nginx = await startStaticNginx(staticDir, work);
});

after(async () => {
  await nginx?.stop();
  await srv?.stop();
  await s3?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function up(file: string | { name: string; data: Buffer }, query: Record<string, string>): Promise<Record<string, unknown>> {
  const r = await upload(srv.url, file, query);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** Wait until every target holds what the server publishes now. */
const synced = () => srv.services.staticPublish.syncAll();

/**
 * Run `clients` while `publish(i)` keeps making new generations of the same repository (each
 * flip syncs the targets in the background), then check at least one publish happened meanwhile.
 */
async function whilePublishing(publish: (i: number) => Promise<unknown>, clients: () => Promise<void>): Promise<void> {
  let stop = false;
  let count = 0;
  const loop = (async () => {
    while (!stop) await publish(count++);
  })();
  try {
    await clients();
  } finally {
    stop = true;
    await loop;
  }
  assert.ok(count >= 1, 'no generation was published while the clients ran');
}

/**
 * pacman and dnf fetch an index and then its detached signature: a sync replacing both between
 * the two requests gives them a mismatched pair, which they report as a bad signature (the
 * window the README names). One such failure may happen under continuous publishing; the next
 * run must succeed.
 */
async function atMostOneSignatureMiss<T extends { code: number | null; out: string }>(what: string, attempt: () => Promise<T>, signatureError: RegExp): Promise<T> {
  const first = await attempt();
  if (first.code === 0) return first;
  assert.match(first.out, signatureError, `${what} failed, and not on the documented signature window:\n${first.out}`);
  const second = await attempt();
  assert.equal(second.code, 0, `${what} failed twice:\n${second.out}`);
  return second;
}

function clean(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.out}`);
  assert.doesNotMatch(r.out, WARN_OR_ERROR, `${what} printed a warning or error:\n${r.out}`);
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

test('apt-get update and download read the static copies (nginx, S3) while uploads publish', async () => {
  const hello = fx.hello;
  await up(hello, { reponame: 'deb', dist: 'stable' });
  await synced();
  const keyring = await bytes(`${srv.url}/repo/apt/deb/keyring.gpg`);
  const fillers = fx.debFillers;
  await whilePublishing(
    (i) => (i < fillers.length ? up(fillers[i]!, { reponame: 'deb', dist: 'stable' }) : new Promise((r) => setTimeout(r, 200))),
    async () => {
      for (const b of bases()) {
        for (let round = 0; round < 1; round++) {
          const c = aptClient({ keyring, sources: `deb [signed-by=KEYRING] ${b.url}/repo/apt/deb stable main\n` });
          clean(await c.update(), `apt-get update (${b.name})`);
          const d = await c.run('apt-get', ['download', 'hello'], c.dlDir);
          clean(d, `apt-get download (${b.name})`);
          assert.equal(sha256(fs.readFileSync(path.join(c.dlDir, 'hello_1.0-1_amd64.deb'))), sha256(fs.readFileSync(hello)));
        }
      }
    },
  );
  // The by-hash files make the replacement of Packages safe; they are in both copies.
  const release = (await bytes(`${nginx.url}/repo/apt/deb/dists/stable/InRelease`)).toString();
  assert.match(release, /Acquire-By-Hash: yes/);
  await synced();
  assert.ok(fs.readdirSync(path.join(staticDir, 'apt/deb/dists/stable/main/binary-amd64/by-hash/SHA256')).length >= 2);
});

test('pip installs from the static simple/ index (nginx directory index, S3 website index document)', async () => {
  await up(fx.wheel, { reponame: 'py', provider: 'pypi' });
  await synced();
  await whilePublishing(
    (i) => (i < fx.wheelFillers.length ? up(fx.wheelFillers[i]!, { reponame: 'py', provider: 'pypi' }) : new Promise((r) => setTimeout(r, 200))),
    async () => {
      for (const b of bases()) {
        const venv = await makeVenv(path.join(work, `venv-${b.name}`));
        const r = await pip(venv, 'install', ['--no-cache-dir', '--index-url', `${b.url}/repo/pypi/py/simple/`, 'static-demo'], path.join(work, `home-${b.name}`));
        assert.equal(r.code, 0, `pip install (${b.name}):\n${r.out}`);
        assert.equal((await runPy(venv, ['-c', 'import static_demo; print(static_demo.VERSION)'])).out, '1.2\n');
      }
    },
  );
});

test('pacman -Sy/-S with SigLevel Required DatabaseRequired from the static copies; any/ packages under $arch', { skip: pacmanSkip }, async () => {
  const pkgs = fx.pacman!;
  await up(pkgs.hello, { reponame: 'arch' });
  await up(pkgs.any, { reponame: 'arch' });
  const key = await (await fetch(`${srv.url}/repo/pacman/arch/pubkey`)).text();
  const fpr = fingerprintOf(key, work);
  await synced();
  const fillers = pkgs.fillers;
  await whilePublishing(
    (i) => (i < fillers.length ? up(fillers[i]!, { reponame: 'arch' }) : new Promise((r) => setTimeout(r, 200))),
    async () => {
      for (const b of bases()) {
        const c = pacmanClient(work, `static-${b.name}`, 'x86_64', [{ name: 'arch', server: `${b.url}/repo/pacman/arch/$arch` }]);
        try {
          await c.trust(key, fpr);
          await atMostOneSignatureMiss(`pacman -Sy (${b.name})`, () => c.pacmanResult('-Sy'), /PGP signature|signature from .* is invalid/);
          await c.pacman('-S', 'hello-static', 'any-static');
          assert.ok(fs.existsSync(path.join(c.dir, 'root/usr/bin/hello-static')));
        } finally {
          c.close();
        }
      }
    },
  );
});

test('dnf makecache and install --downloadonly with repo_gpgcheck from the static copies', { skip: dnfSkip }, async () => {
  await up(fx.rpm!.tool, { reponame: 'el', provider: 'rpm' });
  await synced();
  const fillers = fx.rpm!.fillers;
  await whilePublishing(
    (i) => (i < fillers.length ? up(fillers[i]!, { reponame: 'el', provider: 'rpm' }) : new Promise((r) => setTimeout(r, 200))),
    async () => {
      for (const b of bases()) {
        const c = dnfClient(work, `static-${b.name}`);
        c.setRepoFile('el.repo', `[el]\nname=el\nbaseurl=${b.url}/repo/rpm/el\nenabled=1\nrepo_gpgcheck=1\ngpgcheck=0\ngpgkey=${srv.url}/repo/rpm/el/pubkey\n`);
        await atMostOneSignatureMiss(`dnf makecache (${b.name})`, () => c.dnf(['makecache']), /repomd\.xml GPG signature verification error/);
        const dl = path.join(work, `dnf-dl-${b.name}`);
        const inst = await c.dnf(['install', '--downloadonly', `--downloaddir=${dl}`, 'static-tool']);
        assert.equal(inst.code, 0, `dnf install --downloadonly (${b.name}):\n${inst.out}`);
        assert.ok(fs.readdirSync(dl).some((f) => f.startsWith('static-tool-1.0')), fs.readdirSync(dl).join(','));
      }
    },
  );
});

test('apk: the static APKINDEX verifies with openssl, and every record resolves to its package (noarch under each arch)', async () => {
  const pkgs = new Map<string, Buffer>();
  for (const [name, arch] of [['apk-static', 'x86_64'], ['apk-noarch', 'noarch']] as const) {
    const data = buildApk({ pkginfo: pkginfoFor(name, '1.0-r0', arch, [['depend', 'musl']]) }).bytes;
    pkgs.set(name, data);
    await up({ name: `${name}.apk`, data }, { reponame: 'alp', provider: 'apk' });
  }
  await synced();
  const keys = (await (await fetch(`${srv.url}/repo/apk/alp/keys/`, { headers: { Accept: 'application/json' } })).json()) as { entries: { name: string; url: string }[] };
  const pems = new Map<string, string>();
  for (const k of keys.entries) pems.set(k.name, await (await fetch(k.url)).text());
  for (const b of bases()) {
    const base = `${b.url}/repo/apk/alp`;
    const branch = 'main';
    const idx = readIndex(await bytes(`${base}/${branch}/x86_64/APKINDEX.tar.gz`));
    assert.ok(idx.signatures.length >= 1);
    for (const sig of idx.signatures) assert.ok(opensslVerify(pems.get(sig.keyName)!, sig.signature, idx.unsigned).ok, `${b.name}: signature`);
    const names = idx.records.map((r) => r.get('P')).sort();
    assert.deepEqual(names, ['apk-noarch', 'apk-static']);
    for (const r of idx.records) {
      // apk builds the URL from the index's own arch directory: `<branch>/<arch>/<P>-<V>.apk`.
      const file = await bytes(`${base}/${branch}/x86_64/${r.get('P')}-${r.get('V')}.apk`);
      assert.equal(packageChecksum(file), r.get('C'), `${b.name}: ${r.get('P')}`);
      assert.ok(file.equals(pkgs.get(r.get('P')!)!));
    }
  }
});

test('a missing or damaged target file is repaired by the next sync; a deleted package leaves only after the retention window', async () => {
  await up(fx.gone, { reponame: 'deb', dist: 'stable' });
  await synced();
  const pool = fs.readdirSync(path.join(staticDir, 'apt/deb/pool/main/g/gone'));
  assert.equal(pool.length, 1);
  const rel = `apt/deb/pool/main/g/gone/${pool[0]}`;
  const served = await bytes(`${srv.url}/repo/${rel}`);
  // A crash or an operator removed a file and truncated another: the periodic sweep repairs both.
  fs.rmSync(path.join(staticDir, rel));
  fs.writeFileSync(path.join(staticDir, 'apt/deb/dists/stable/InRelease'), 'trunc');
  const repaired = await eventually(() => fs.existsSync(path.join(staticDir, rel)) && fs.readFileSync(path.join(staticDir, 'apt/deb/dists/stable/InRelease')).length > 5, { ms: 20_000, every: 200 });
  assert.ok(repaired, 'the sweep rewrote the missing and the damaged file');
  assert.ok(fs.readFileSync(path.join(staticDir, rel)).equals(served));
  assert.ok((await bytes(`${nginx.url}/repo/apt/deb/dists/stable/InRelease`)).equals(await bytes(`${srv.url}/repo/apt/deb/dists/stable/InRelease`)));

  const del = await fetch(`${srv.url}/api/repos/apt/deb/packages/gone`, { method: 'DELETE', headers: auth(ADMIN_TOKEN) });
  assert.ok(del.ok, `delete: ${del.status}`);
  const deletedAt = Date.now();
  await synced();
  // Gone from the index at once, still downloadable from both copies within the window.
  assert.doesNotMatch((await bytes(`${nginx.url}/repo/apt/deb/dists/stable/main/binary-amd64/Packages`)).toString(), /Package: gone/);
  assert.equal((await fetch(`${nginx.url}/repo/${rel}`)).status, 200);
  assert.equal((await fetch(`${s3Base}/repo/${rel}`)).status, 200);
  const gone = await eventually(async () => (await fetch(`${nginx.url}/repo/${rel}`)).status === 404 && (await fetch(`${s3Base}/repo/${rel}`)).status === 404, { ms: (KEEP_SECONDS + 20) * 1000, every: 250 });
  assert.ok(gone, 'the deleted package left both targets');
  assert.ok(Date.now() - deletedAt >= KEEP_SECONDS * 1000, 'not before the retention window');
  // The bookkeeping is not served.
  assert.equal((await fetch(`${nginx.url}/repo/.artifactd/apt/deb.json`)).status, 403);
});

test('a repository made private is withdrawn from the static copies at once, and not published again', async () => {
  await up(fx.secret[0], { reponame: 'hidden', dist: 'stable' });
  await synced();
  assert.equal((await fetch(`${nginx.url}/repo/apt/hidden/dists/stable/InRelease`)).status, 200);
  const r = await fetch(`${srv.url}/api/repos/apt/hidden/settings`, { method: 'PATCH', headers: { ...auth(ADMIN_TOKEN), 'Content-Type': 'application/json' }, body: JSON.stringify({ private: true }) });
  assert.ok(r.ok, `settings: ${r.status}`);
  await synced();
  assert.equal(fs.existsSync(path.join(staticDir, 'apt/hidden')), false);
  assert.equal((await fetch(`${s3Base}/repo/apt/hidden/dists/stable/InRelease`)).status, 404);
  await up(fx.secret[1], { reponame: 'hidden', dist: 'stable' });
  await synced();
  assert.equal(fs.existsSync(path.join(staticDir, 'apt/hidden')), false);
  assert.equal((await fetch(`${nginx.url}/repo/apt/hidden/dists/stable/InRelease`)).status, 404);
});
