/**
 * Issue 5 end to end: packages built in this run by Debian's real makepkg (as an unprivileged
 * user), uploaded through POST /addpkg (provider=pacman and provider omitted) to the real
 * server, and the real pacman 6.0.2 (isolated: own --config --dbpath --root --cachedir
 * --gpgdir --hookdir --logfile) syncing with `SigLevel = Required DatabaseRequired` after
 * trusting the key served at GET /repo/pacman/<repo>/pubkey with pacman-key (--init, --add,
 * --lsign-key). Covers -Sy, -Ss, -Si (newest by vercmp), -S into the temp root, -Fy/-F, `any`
 * packages from x86_64 and aarch64 configs, -Syu after a newer upload, a packager-signed
 * package served with its exact .sig and checked by pacman, and a private repository read with
 * a read token in the Server URL.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer, type TestServer } from '../helpers/server';
import { auth, getJson, upload } from '../helpers/http';
import { makepkg, tmpDir } from '../unit/pacman/helpers';
import { getHtml, snippets } from './ui-html';
import { fingerprintOf, pacmanClient, pacmanSkip as skip, packagerKey, readDb, requests, type PackagerKey, type PacmanClient } from './pacman-tools';

const REPO = 'artrepo';
const logLines: string[] = [];
let srv: TestServer;
let T: string;
let base: string;
let repoKey: string;
let repoFpr: string;
let packager: PackagerKey;
const clients: PacmanClient[] = [];
let readToken: string;
const pkgs: Record<string, string> = {};

async function put(file: string, query: Record<string, string>, opts: Parameters<typeof upload>[3] = {}) {
  return upload(srv.url, file, query, opts);
}

function client(name: string, arch: string, server = `${base}/$arch`, repo = REPO): PacmanClient {
  const c = pacmanClient(T, name, arch, [{ name: repo, server }]);
  clients.push(c);
  return c;
}

const sync = (c: PacmanClient, flag = '-Sy') => c.pacman(flag);

const served = () => requests(logLines);
const bytes = async (url: string) => {
  const r = await fetch(url);
  assert.equal(r.status, 200, `${url}: ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
};
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

const helloBin = '  mkdir -p "$pkgdir/usr/bin"; printf "#!/bin/sh\\necho hello $pkgver\\n" > "$pkgdir/usr/bin/hello-art"; chmod 755 "$pkgdir/usr/bin/hello-art"';

before(async () => {
  if (skip) return;
  T = tmpDir('pacman-integ-');
  srv = await startServer({ logLines });
  base = `${srv.url}/repo/pacman/${REPO}`;
  pkgs.hello110 = makepkg({ name: 'hello-art', pkgver: '1.10.0', arch: 'x86_64', pkgext: '.pkg.tar.zst', package: helloBin }, T);
  pkgs.hello123 = makepkg({ name: 'hello-art', pkgver: '1.2.3', arch: 'x86_64', pkgext: '.pkg.tar.xz', package: helloBin }, T);
  pkgs.hello111 = makepkg({ name: 'hello-art', pkgver: '1.11.0', arch: 'x86_64', package: helloBin }, T);
  pkgs.anytool = makepkg({ name: 'anytool', pkgver: '2.0', epoch: '1', arch: 'any', pkgext: '.pkg.tar.gz' }, T);
  pkgs.signed = makepkg({ name: 'signed-tool', pkgver: '0.9', arch: 'x86_64', extra: 'depends=(\'anytool>=1:2.0\')' }, T);
  packager = packagerKey(T);
});

after(async () => {
  if (skip) return;
  for (const c of clients) c.close();
  packager.close();
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

test('makepkg packages upload with provider=pacman and with provider omitted', { skip }, async () => {
  let r = await put(pkgs.hello110!, { provider: 'pacman', reponame: REPO });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.provider, 'pacman');
  assert.equal(r.body.name, 'hello-art');
  assert.equal(r.body.version, '1.10.0-1');
  assert.equal(r.body.arch, 'x86_64');
  assert.equal(r.body.path, 'x86_64/hello-art-1.10.0-1-x86_64.pkg.tar.zst');
  assert.equal(r.body.sha256, sha256(fs.readFileSync(pkgs.hello110!)));

  // Older version second, no provider: detected from the bytes.
  r = await put(pkgs.hello123!, { reponame: REPO });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.provider, 'pacman');
  assert.equal(r.body.path, 'x86_64/hello-art-1.2.3-1-x86_64.pkg.tar.xz');

  r = await put(pkgs.anytool!, { reponame: REPO });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.provider, 'pacman');
  assert.equal(r.body.version, '1:2.0-1');
  assert.equal(r.body.path, 'any/anytool-1:2.0-1-any.pkg.tar.gz');

  // The same package again is a conflict, not a silent replacement.
  r = await put(pkgs.hello110!, { provider: 'pacman', reponame: REPO });
  assert.equal(r.status, 409, JSON.stringify(r.body));
});

test('the pubkey route serves the repository key that signs the db', { skip }, async () => {
  const res = await fetch(`${base}/pubkey`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^application\/pgp-keys/);
  repoKey = await res.text();
  assert.match(repoKey, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  repoFpr = fingerprintOf(repoKey, T);
  const keys = await getJson(`${srv.url}/api/repos/pacman/${REPO}/keys`);
  assert.equal(keys.status, 200);
  const active = keys.body.keys.filter((k: { kind: string; active: boolean }) => k.kind === 'openpgp' && k.active);
  assert.equal(active.length, 1);
  assert.equal(active[0].fingerprint.toUpperCase(), repoFpr);
  assert.equal((await fetch(`${srv.url}/repo/pacman/no-such-repo/pubkey`, { headers: auth() })).status, 404);
});

test('pacman -Sy, -Ss and -Si with signatures required: the newest by vercmp is listed', { skip, timeout: 180_000 }, async () => {
  const c = client('x86_64', 'x86_64');
  await c.trust(repoKey, repoFpr);
  await sync(c);
  const got = served();
  for (const p of [`x86_64/${REPO}.db`, `x86_64/${REPO}.db.sig`]) {
    assert.ok(got.some((r) => r.path === `/repo/pacman/${REPO}/${p}` && r.status === 200), `pacman fetched ${p}`);
  }
  assert.match(await c.pacman('-Ss', 'hello'), new RegExp(`^${REPO}/hello-art 1\\.10\\.0-1\\n\\s+Test package hello-art`, 'm'));
  // Uploaded 1.10.0 first, then 1.2.3: vercmp says 1.10.0 is newer, so the db keeps it.
  const si = await c.pacman('-Si', 'hello-art');
  assert.match(si, /^Version\s*: 1\.10\.0-1$/m);
  assert.match(si, /^Architecture\s*: x86_64$/m);
  assert.match(si, /^Validated By\s*: .*Signature/m);
  assert.match(await c.pacman('-Si', 'anytool'), /^Version\s*: 1:2\.0-1$/m);
  assert.doesNotMatch(await c.pacman('-Sl', REPO), /1\.2\.3/);
});

test('pacman -S installs into the temporary root; the any package comes from $arch (fallback) with its .sig', { skip, timeout: 180_000 }, async () => {
  const c = clients[0]!;
  await c.pacman('-S', '--noscriptlet', '-dd', 'hello-art', 'anytool');
  const root = path.join(c.dir, 'root');
  assert.equal(fs.readFileSync(path.join(root, 'usr/bin/hello-art'), 'utf8'), '#!/bin/sh\necho hello 1.10.0\n');
  assert.equal(fs.readFileSync(path.join(root, 'usr/share/anytool/VERSION'), 'utf8'), '2.0\n');
  assert.match(await c.pacman('-Q'), /^anytool 1:2\.0-1\nhello-art 1\.10\.0-1$/m);
  const ok = (p: string) => served().some((r) => r.path === `/repo/pacman/${REPO}/${p}` && r.status === 200);
  for (const p of ['x86_64/hello-art-1.10.0-1-x86_64.pkg.tar.zst', 'x86_64/hello-art-1.10.0-1-x86_64.pkg.tar.zst.sig',
    'x86_64/anytool-1:2.0-1-any.pkg.tar.gz', 'x86_64/anytool-1:2.0-1-any.pkg.tar.gz.sig']) {
    assert.ok(ok(p), `pacman downloaded ${p}`);
  }
  // The `any` package's .sig under $arch is the one stored under any/.
  const underArch = await bytes(`${base}/x86_64/anytool-1:2.0-1-any.pkg.tar.gz.sig`);
  assert.ok(underArch.equals(await bytes(`${base}/any/anytool-1:2.0-1-any.pkg.tar.gz.sig`)));
  assert.ok((await bytes(`${base}/x86_64/anytool-1%3A2.0-1-any.pkg.tar.gz`)).equals(fs.readFileSync(pkgs.anytool!)));
});

test('pacman -Fy and -F find the owner of a file', { skip, timeout: 180_000 }, async () => {
  const c = clients[0]!;
  await c.pacman('-Fy');
  assert.ok(served().some((r) => r.path === `/repo/pacman/${REPO}/x86_64/${REPO}.files.sig` && r.status === 200));
  assert.match(await c.pacman('-F', 'usr/bin/hello-art'), new RegExp(`usr/bin/hello-art is owned by ${REPO}/hello-art 1\\.10\\.0-1`));
  assert.match(await c.pacman('-F', 'usr/share/anytool/VERSION'), new RegExp(`is owned by ${REPO}/anytool 1:2\\.0-1`));
  assert.match(await c.pacman('-Fl', 'hello-art'), /^hello-art usr\/bin\/hello-art$/m);
});

test('an any package is found from an aarch64 config once the repository serves aarch64', { skip, timeout: 180_000 }, async () => {
  const c = client('aarch64', 'aarch64');
  await c.trust(repoKey, repoFpr);
  // No aarch64 db yet: the repository holds only x86_64 and any packages.
  const before = await c.pacmanResult('-Sy');
  assert.notEqual(before.code, 0, before.out);
  assert.match(before.out, /failed to (synchronize|retrieve)/);

  const r = await fetch(`${srv.url}/api/repos/pacman/${REPO}/settings`, {
    method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ arches: ['x86_64', 'aarch64'] }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  assert.ok(((await r.json()) as { republished: string[] }).republished.includes('aarch64'));

  await sync(c);
  const si = await c.pacman('-Si', 'anytool');
  assert.match(si, /^Version\s*: 1:2\.0-1$/m);
  assert.match(si, /^Architecture\s*: any$/m);
  // The x86_64 package is not in the aarch64 db.
  const missing = await c.pacmanResult('-Si', 'hello-art');
  assert.notEqual(missing.code, 0);
  assert.match(missing.out, /package 'hello-art' was not found/);
  await c.pacman('-S', '--noscriptlet', '-dd', 'anytool');
  assert.ok(fs.existsSync(path.join(c.dir, 'root/usr/share/anytool/VERSION')));
  assert.ok(served().some((x) => x.path === `/repo/pacman/${REPO}/aarch64/anytool-1:2.0-1-any.pkg.tar.gz.sig` && x.status === 200));
});

test('-Syu sees an upgrade after a newer upload; the older file stays downloadable', { skip, timeout: 180_000 }, async () => {
  const c = clients[0]!;
  const r = await put(pkgs.hello111!, { provider: 'pacman', reponame: REPO });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await sync(c);
  assert.match(await c.pacman('-Qu'), /^hello-art 1\.10\.0-1 -> 1\.11\.0-1$/m);
  await c.pacman('-Syu', '--noscriptlet');
  assert.match(await c.pacman('-Q', 'hello-art'), /^hello-art 1\.11\.0-1$/m);
  assert.equal(fs.readFileSync(path.join(c.dir, 'root/usr/bin/hello-art'), 'utf8'), '#!/bin/sh\necho hello 1.11.0\n');
  // Older files (not in the db any more) are still served, with their signatures.
  for (const [file, local] of [['hello-art-1.10.0-1-x86_64.pkg.tar.zst', pkgs.hello110!], ['hello-art-1.2.3-1-x86_64.pkg.tar.xz', pkgs.hello123!]] as const) {
    assert.ok((await bytes(`${base}/x86_64/${file}`)).equals(fs.readFileSync(local)), file);
    assert.ok((await bytes(`${base}/x86_64/${file}.sig`)).length > 0);
  }
  // A further -Syu has nothing to do.
  assert.match(await sync(c, '-Syu'), /there is nothing to do/);
});

test('a package uploaded with a packager signature is served with that exact .sig, and pacman checks it', { skip, timeout: 180_000 }, async () => {
  const sig = packager.sign(pkgs.signed!);
  const r = await put(pkgs.signed!, { provider: 'pacman', reponame: REPO }, { extra: { sig: { name: `${path.basename(pkgs.signed!)}.sig`, data: sig } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const file = 'signed-tool-0.9-1-x86_64.pkg.tar.zst';
  assert.ok((await bytes(`${base}/x86_64/${file}.sig`)).equals(sig), 'the .sig is the packager\'s, byte for byte');
  const db = await readDb(await bytes(`${base}/x86_64/${REPO}.db`));
  assert.match(db.get('signed-tool-0.9-1')!.desc, new RegExp(`%PGPSIG%\\n${sig.toString('base64').replace(/[+/]/g, '\\$&')}\\n`));

  const c = clients[0]!;
  await sync(c);
  // The packager's key in the keyring but not locally signed: the package signature is not trusted.
  const keyFile = path.join(c.dir, 'packager.asc');
  fs.writeFileSync(keyFile, packager.armoredPublic);
  await c.key('--add', keyFile);
  const refused = await c.pacmanResult('-S', '--noscriptlet', 'signed-tool');
  assert.notEqual(refused.code, 0, refused.out);
  assert.match(refused.out, /signature from "Test Packager <packager@example.org>" is unknown trust/);
  assert.ok(!fs.existsSync(path.join(c.dir, 'root/usr/share/signed-tool')));
  // Trusted: installs (its dependency anytool is already installed).
  await c.key('--lsign-key', packager.fingerprint);
  await c.pacman('-S', '--noscriptlet', 'signed-tool');
  assert.equal(fs.readFileSync(path.join(c.dir, 'root/usr/share/signed-tool/VERSION'), 'utf8'), '0.9\n');
});

test('a private repository is read by pacman with a read token in the Server URL', { skip, timeout: 180_000 }, async () => {
  const PRIV = 'privrepo';
  let r = await put(pkgs.anytool!, { provider: 'pacman', reponame: PRIV });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const patch = await fetch(`${srv.url}/api/repos/pacman/${PRIV}/settings`, {
    method: 'PATCH', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ private: true }),
  });
  assert.equal(patch.status, 200);
  const tok = await fetch(`${srv.url}/api/tokens`, {
    method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'pacman-reader', role: 'read', repoPattern: PRIV }),
  });
  assert.equal(tok.status, 201);
  const token = ((await tok.json()) as { token: string }).token;
  readToken = token;
  const privBase = `${srv.url}/repo/pacman/${PRIV}`;

  // The key itself needs the token too (curl -u reader:TOKEN .../pubkey).
  assert.equal((await fetch(`${privBase}/pubkey`)).status, 401);
  const keyRes = await fetch(`${privBase}/pubkey`, { headers: { Authorization: `Basic ${Buffer.from(`reader:${token}`).toString('base64')}` } });
  assert.equal(keyRes.status, 200);
  const key = await keyRes.text();
  const fpr = fingerprintOf(key, T);
  assert.notEqual(fpr, repoFpr, 'each repository has its own key');

  const anon = client('priv-anon', 'x86_64', `${privBase}/$arch`, PRIV);
  await anon.trust(key, fpr);
  const denied = await anon.pacmanResult('-Sy');
  assert.notEqual(denied.code, 0, denied.out);
  assert.match(denied.out, /401|failed to (synchronize|retrieve)/);

  const withToken = `${srv.url.replace('http://', `http://reader:${token}@`)}/repo/pacman/${PRIV}/$arch`;
  const c = client('priv', 'x86_64', withToken, PRIV);
  await c.trust(key, fpr);
  await c.pacman('-Sy');
  assert.match(await c.pacman('-Si', 'anytool'), /^Repository\s*: privrepo$/m);
  await c.pacman('-S', '--noscriptlet', 'anytool');
  assert.ok(fs.existsSync(path.join(c.dir, 'root/usr/share/anytool/VERSION')));

  const mine = served().filter((x) => x.path.startsWith(`/repo/pacman/${PRIV}/x86_64/`));
  assert.ok(mine.some((x) => x.status === 401));
  assert.ok(mine.some((x) => x.path.endsWith('.pkg.tar.gz') && x.status === 200));
  r = await put(pkgs.hello123!, { provider: 'pacman', reponame: PRIV }, { token });
  assert.equal(r.status, 403, 'a read token cannot upload');
});

/**
 * Runs the setup snippets of a repository page as a user pastes them, with only what the
 * sandbox needs: `sudo pacman-key` / `sudo pacman` become the isolated client's commands,
 * the pacman.conf section goes into the client's own config, <TOKEN> gets the real token.
 */
async function runPageSnippets(repo: string, pkg: string, token?: string): Promise<PacmanClient> {
  const page = await getHtml(`${srv.url}/ui/pacman/${repo}`, auth());
  assert.equal(page.status, 200);
  const sn = snippets(page.html);
  const find = (title: RegExp) => {
    const hit = [...sn].find(([t]) => title.test(t));
    assert.ok(hit, `no snippet ${title} among ${[...sn.keys()].join(' | ')}`);
    return token ? hit[1].replaceAll('<TOKEN>', token) : hit[1];
  };
  const c = client(`snippets-${repo}`, 'x86_64');
  fs.writeFileSync(c.conf, `[options]\nArchitecture = x86_64\n\n${find(/pacman\.conf/)}\n`);
  await c.key('--init');
  const keyCmd = find(/signing key/).replaceAll('sudo pacman-key', `pacman-key --gpgdir ${c.gpgdir} --config ${c.conf}`);
  await promisify(execFile)('sh', ['-ec', keyCmd], { env: { ...process.env, LANG: 'C' }, timeout: 120_000 });
  for (const line of find(/Sync and install/).split('\n')) {
    const args = line.replace(/^sudo pacman /, '').replace('<package>', pkg).split(' ');
    if (args[0] === '-S') args.push('--noscriptlet');
    await c.pacman(...args);
  }
  return c;
}

test('the setup snippets of the repository pages work as pasted (public, and private with a read token)', { skip, timeout: 180_000 }, async () => {
  const pub = await runPageSnippets(REPO, 'anytool');
  assert.ok(fs.existsSync(path.join(pub.dir, 'root/usr/share/anytool/VERSION')));
  assert.match(fs.readFileSync(pub.conf, 'utf8'), new RegExp(`^Server = ${base.replace(/[.]/g, '\\.')}/\\$arch$`, 'm'));
  const priv = await runPageSnippets('privrepo', 'anytool', readToken);
  assert.ok(fs.existsSync(path.join(priv.dir, 'root/usr/share/anytool/VERSION')));
  assert.match(fs.readFileSync(priv.conf, 'utf8'), /^Server = http:\/\/token:ad_[\w-]+@127\.0\.0\.1:\d+\/repo\/pacman\/privrepo\/\$arch$/m);
});

test('a db republished in the same second as the one pacman holds reaches pacman -Sy', { skip, timeout: 120_000 }, async () => {
  // pacman revalidates <repo>.db with If-Modified-Since (whole seconds) only: upload, sync,
  // upload and sync again within one second must still show the second upload.
  const c = clients[0]!;
  const pkgA = makepkg({ name: 'same-second-a', pkgver: '1', arch: 'x86_64' }, T);
  const pkgB = makepkg({ name: 'same-second-b', pkgver: '1', arch: 'x86_64' }, T);
  // Start right after a second boundary so that the steps usually fit in one second.
  while (Date.now() % 1000 > 50) await new Promise((r) => setTimeout(r, 2));
  assert.equal((await put(pkgA, { provider: 'pacman', reponame: REPO })).status, 201);
  await c.pacman('-Sy');
  assert.equal((await put(pkgB, { provider: 'pacman', reponame: REPO })).status, 201);
  await c.pacman('-Sy');
  assert.match(await c.pacman('-Si', 'same-second-b'), /^Name\s*: same-second-b$/m);
});
