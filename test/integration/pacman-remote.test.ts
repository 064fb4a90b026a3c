/**
 * Issue 14, pacman: a remote repository of a real upstream made in this run (makepkg packages
 * signed with a throwaway packager key, `repo-add -s` signing the db with the same key, laid
 * out like an Arch mirror `<root>/$repo/os/$arch/`), served by python3 -m http.server on
 * 127.0.0.1. The real pacman (SigLevel Required DatabaseRequired) trusts only the *upstream's*
 * key and syncs, installs and reads the files db through the remote; then again with the
 * upstream stopped. A package whose bytes do not match the db's %SHA256SUM% is refused (502)
 * and never cached.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ADMIN_TOKEN, startServer, type TestServer } from '../helpers/server';
import { testDbKind } from '../helpers/test-db';
import { auth, getJson } from '../helpers/http';
import { getHtml, snippets } from './ui-html';
import { startStaticUpstream, type StaticUpstream } from '../helpers/static-upstream';
import { makepkg, tmpDir } from '../unit/pacman/helpers';
import { pacmanClient, pacmanSkip as skip, packagerKey, type PackagerKey, type PacmanClient } from './pacman-tools';

const REMOTE = 'archmirror';
let T: string;
let mirror: string;
let osDir: string;
let upstream: StaticUpstream;
let srv: TestServer;
let packager: PackagerKey;
const clients: PacmanClient[] = [];
const files: Record<string, string> = {};

const base = () => `${srv.url}/repo/pacman/${REMOTE}`;
const put = (body: unknown) =>
  fetch(`${srv.url}/api/repos/pacman/${REMOTE}`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const bytes = async (url: string) => {
  const r = await fetch(url);
  assert.equal(r.status, 200, `${url}: ${r.status}`);
  return { data: Buffer.from(await r.arrayBuffer()), headers: r.headers };
};
const fetchedUpstream = (name: string) => upstream.requests().filter((p) => p === `/core/os/x86_64/${name}`).length;

function client(name: string): PacmanClient {
  const c = pacmanClient(T, name, 'x86_64', [{ name: 'core', server: `${base()}/$arch` }]);
  clients.push(c);
  return c;
}

before(async () => {
  if (skip) return;
  T = tmpDir('pacman-remote-');
  mirror = path.join(T, 'mirror');
  osDir = path.join(mirror, 'core', 'os', 'x86_64');
  fs.mkdirSync(osDir, { recursive: true });
  packager = packagerKey(T, 'Upstream Mirror <mirror@example.org>');
  files.hello = makepkg({ name: 'hello-remote', pkgver: '1.0', arch: 'x86_64', package: '  mkdir -p "$pkgdir/usr/bin"; printf "#!/bin/sh\\necho remote\\n" > "$pkgdir/usr/bin/hello-remote"; chmod 755 "$pkgdir/usr/bin/hello-remote"' }, T);
  files.any = makepkg({ name: 'anyremote', pkgver: '2.1', arch: 'any', pkgext: '.pkg.tar.gz' }, T);
  files.tampered = makepkg({ name: 'tampered', pkgver: '0.1', arch: 'x86_64' }, T);
  for (const f of Object.values(files)) {
    const dest = path.join(osDir, path.basename(f));
    fs.copyFileSync(f, dest);
    packager.sign(dest);
  }
  // repo-add -s signs core.db.tar.gz and core.files.tar.gz (6.0.2 also embeds each .sig as %PGPSIG%).
  execFileSync('repo-add', ['-q', '-s', '-k', packager.fingerprint, path.join(osDir, 'core.db.tar.gz'), ...Object.values(files).map((f) => path.join(osDir, path.basename(f)))], {
    env: { ...process.env, GNUPGHOME: packager.home, LANG: 'C', LC_ALL: 'C' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // A second repository of the mirror, [extra], holding the same `any` package file (as Arch
  // mirrors do, a file name is in one place whatever repository lists it).
  const extraDir = path.join(mirror, 'extra', 'os', 'x86_64');
  fs.mkdirSync(extraDir, { recursive: true });
  for (const f of [path.basename(files.any!), `${path.basename(files.any!)}.sig`]) fs.copyFileSync(path.join(osDir, f), path.join(extraDir, f));
  execFileSync('repo-add', ['-q', '-s', '-k', packager.fingerprint, path.join(extraDir, 'extra.db.tar.gz'), path.join(extraDir, path.basename(files.any!))], {
    env: { ...process.env, GNUPGHOME: packager.home, LANG: 'C', LC_ALL: 'C' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // A "db" that is an error page.
  fs.mkdirSync(path.join(mirror, 'broken', 'os', 'x86_64'), { recursive: true });
  fs.writeFileSync(path.join(mirror, 'broken', 'os', 'x86_64', 'broken.db'), '<html>maintenance</html>\n');
  // The upstream now serves other bytes than its (signed) db names for one package.
  const t = path.join(osDir, path.basename(files.tampered));
  const data = fs.readFileSync(t);
  data[data.length - 1] ^= 0xff;
  fs.writeFileSync(t, data);
  upstream = await startStaticUpstream(mirror);
  srv = await startServer({ s3: testDbKind() !== 'sqlite' }); // MariaDB and PostgreSQL passes: blobs on s3rver (issue 14: SQLite and MariaDB+S3)
});

after(async () => {
  if (skip) return;
  for (const c of clients) c.close();
  packager?.close();
  await upstream?.stop();
  await srv?.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

test('an upstream without $arch is refused, saying so; one with $repo and $arch is a remote', { skip }, async () => {
  const bad = await put({ type: 'remote', upstream: `${upstream.url}/core/os/x86_64` });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /\$arch/);
  // TTL 0: every db request asks the upstream, so the stale path is taken once it is stopped.
  const ok = await put({ type: 'remote', upstream: `${upstream.url}/$repo/os/$arch`, metadataTtl: 0 });
  assert.equal(ok.status, 201, await ok.text());
  // Our own key signs nothing here: the pubkey route says to trust the upstream's.
  assert.equal((await fetch(`${base()}/pubkey`)).status, 404);
});

test('core.db, core.files and their .sig are the upstream\'s bytes', { skip }, async () => {
  for (const [served, file] of [
    ['core.db', 'core.db.tar.gz'],
    ['core.db.sig', 'core.db.tar.gz.sig'],
    ['core.db.tar.gz', 'core.db.tar.gz'],
    ['core.files', 'core.files.tar.gz'],
    ['core.files.sig', 'core.files.tar.gz.sig'],
  ]) {
    const got = await bytes(`${base()}/x86_64/${served}`);
    assert.ok(got.data.equals(fs.readFileSync(path.join(osDir, file))), `${served} byte for byte`);
  }
  assert.equal((await fetch(`${base()}/x86_64/nothere.db`)).status, 404);
  const broken = await getJson(`${base()}/x86_64/broken.db`);
  assert.equal(broken.status, 502);
  assert.equal(broken.body.code, 'upstream_bad_index');
  assert.match(broken.body.error, /sync database/);
  // A file no cached db names is not fetched (its $repo, and its sha256, are unknown).
  assert.equal((await fetch(`${base()}/x86_64/unlisted-1-1-x86_64.pkg.tar.zst`)).status, 404);
});

test('pacman -Sy, -S and -Fy through the remote with only the upstream\'s key; each package fetched once', { skip, timeout: 180_000 }, async () => {
  for (const name of ['first', 'second']) {
    const c = client(name);
    await c.trust(packager.armoredPublic, packager.fingerprint);
    await c.pacman('-Sy');
    await c.pacman('-S', 'hello-remote', 'anyremote');
    assert.ok(fs.existsSync(path.join(c.dir, 'root', 'usr', 'bin', 'hello-remote')));
    assert.ok(fs.existsSync(path.join(c.dir, 'root', 'usr', 'share', 'anyremote', 'VERSION')));
    await c.pacman('-Fy');
    assert.match(await c.pacman('-F', 'usr/bin/hello-remote'), /core\/hello-remote 1\.0-1/);
  }
  for (const f of [files.hello!, files.any!]) {
    const name = path.basename(f);
    assert.equal(fetchedUpstream(name), 1, `${name} fetched from the upstream once`);
    const served = await bytes(`${base()}/x86_64/${name}`);
    assert.ok(served.data.equals(fs.readFileSync(f)));
    assert.ok((await bytes(`${base()}/x86_64/${name}.sig`)).data.equals(fs.readFileSync(path.join(osDir, `${name}.sig`))));
  }
});

test('the setup snippet of the remote\'s page: [core] and [extra] of one mirror through one remote', { skip, timeout: 120_000 }, async () => {
  const page = await getHtml(`${srv.url}/ui/pacman/${REMOTE}`, auth());
  assert.equal(page.status, 200);
  const sn = snippets(page.html);
  const conf = [...sn].find(([title]) => /pacman\.conf/.test(title))?.[1];
  assert.ok(conf, `no pacman.conf snippet among ${[...sn.keys()].join(' | ')}`);
  // Nothing here is signed by this server's key, so the page does not offer it.
  assert.ok(![...sn.values()].some((code) => code.includes('/pubkey')));
  const c = pacmanClient(T, 'snippet', 'x86_64', conf);
  clients.push(c);
  await c.trust(packager.armoredPublic, packager.fingerprint);
  await c.pacman('-Sy');
  await c.pacman('-S', 'extra/anyremote', 'core/hello-remote');
  assert.ok(fs.existsSync(path.join(c.dir, 'root', 'usr', 'share', 'anyremote', 'VERSION')));
  assert.ok((await bytes(`${base()}/x86_64/extra.db`)).data.equals(fs.readFileSync(path.join(mirror, 'extra', 'os', 'x86_64', 'extra.db.tar.gz'))));
});

test('a package whose bytes differ from the db\'s %SHA256SUM%: pacman fails, 502, nothing cached', { skip, timeout: 120_000 }, async () => {
  const c = client('tamper');
  await c.trust(packager.armoredPublic, packager.fingerprint);
  await c.pacman('-Sy');
  const r = await c.pacmanResult('-S', 'tampered');
  assert.notEqual(r.code, 0, r.out);
  assert.ok(!fs.existsSync(path.join(c.dir, 'root', 'usr', 'share', 'tampered')));
  const name = path.basename(files.tampered!);
  const again = await getJson(`${base()}/x86_64/${name}`);
  assert.equal(again.status, 502);
  assert.equal(again.body.code, 'upstream_checksum_mismatch');
  const cache = await getJson(`${srv.url}/api/repos/pacman/${REMOTE}/cache?limit=100`);
  assert.equal(cache.status, 200);
  const paths = (cache.body.files as Array<{ path: string }>).map((f) => f.path);
  assert.ok(paths.includes(`x86_64/${path.basename(files.hello!)}`));
  assert.ok(!paths.includes(`x86_64/${name}`), `nothing kept for ${name}: ${paths.join(', ')}`);
});

test('with the upstream stopped: the cached db is served stale and pacman syncs and installs from the cache', { skip, timeout: 180_000 }, async () => {
  await upstream.stop();
  const db = await bytes(`${base()}/x86_64/core.db`);
  assert.ok(db.data.equals(fs.readFileSync(path.join(osDir, 'core.db.tar.gz'))));
  assert.equal(db.headers.get('x-cache'), 'STALE');
  assert.match(db.headers.get('warning') ?? '', /^111 /);
  const c = client('offline');
  await c.trust(packager.armoredPublic, packager.fingerprint);
  await c.pacman('-Sy');
  await c.pacman('-S', 'hello-remote', 'anyremote');
  assert.ok(fs.existsSync(path.join(c.dir, 'root', 'usr', 'bin', 'hello-remote')));
});
