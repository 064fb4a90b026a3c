/**
 * Issue 5: the served sync databases against the reference tool, and bad uploads end to end.
 *
 * - Packages built by the real makepkg (every desc field, epoch, unicode, file names with
 *   spaces, a package without files, zst/xz/gz/uncompressed, a packager-signed one) go through
 *   POST /addpkg; the served package files and their .sig are downloaded and given to the real
 *   `repo-add`; its desc and files entries must equal ours (docs/formats/pacman.md#database-entries: repo-add >= 6.1
 *   leaves out %MD5SUM% and %PGPSIG%, so those two are compared only when it writes them).
 * - The real pacman syncs that db (long entry names: ustar prefix and pax path) and installs.
 * - Hand-made bad archives are answered 400 with the reason, and nothing changes: same db
 *   bytes, same package list, no new blobs, no repository created for a first bad upload.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { startServer, type TestServer } from '../helpers/server';
import { auth, getJson, upload, withoutDownloadStats } from '../helpers/http';
import { PKGINFO_OK, compress, makeTar, makepkg, tmpDir, type TarSpec } from '../unit/pacman/helpers';
import { descFields, fingerprintOf, packagerKey, pacmanClient, pacmanSkip as skip, readDb, type PackagerKey } from './pacman-tools';

const REPO = 'dbrepo';
const LONG_PREFIXED = `long-${'p'.repeat(115)}`;
const LONG_PAX = `long-${'x'.repeat(190)}`;
let srv: TestServer;
let T: string;
let base: string;
let packager: PackagerKey;
const built: string[] = [];

const bytes = async (url: string) => {
  const r = await fetch(url);
  assert.equal(r.status, 200, `${url}: ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
};

before(async () => {
  if (skip) return;
  T = tmpDir('pacman-db-');
  srv = await startServer();
  base = `${srv.url}/repo/pacman/${REPO}`;
  packager = packagerKey(T);
  const rich = [
    `depends=('glibc' 'bash>=5' 'libfoo.so=1-64')`,
    `optdepends=('python: for the scripts' 'perl')`,
    `provides=('rich-virtual=2.5' 'librich.so=3-64')`,
    `conflicts=('rich-old<2')`,
    `replaces=('rich-legacy')`,
    `groups=('art-group' 'second-group')`,
    `backup=('etc/rich.conf')`,
    `makedepends=('make' 'gcc>=12')`,
    `checkdepends=('check')`,
    `license=('MIT' 'Apache-2.0')`,
    `pkgdesc="Rich — ünïcode, <angle> & \\"quotes\\" = signs"`,
  ].join('\n');
  const richFiles = [
    '  mkdir -p "$pkgdir/etc" "$pkgdir/usr/bin" "$pkgdir/usr/share/rich/sub dir"',
    '  echo conf > "$pkgdir/etc/rich.conf"',
    '  printf "#!/bin/sh\\n" > "$pkgdir/usr/bin/rich"; chmod 755 "$pkgdir/usr/bin/rich"',
    '  echo a > "$pkgdir/usr/share/rich/sub dir/file with spaces.txt"',
    '  echo b > "$pkgdir/usr/share/rich/ünïcode-ファイル.txt"',
    '  ln -s rich "$pkgdir/usr/bin/rich-link"',
  ].join('\n');
  built.push(
    makepkg({ name: 'rich', pkgver: '2.5', pkgrel: '2', epoch: '3', arch: 'x86_64', extra: rich, package: richFiles }, T),
    makepkg({ name: 'plain-any', pkgver: '1.0', arch: 'any', pkgext: '.pkg.tar.gz' }, T),
    makepkg({ name: 'xz-tool', pkgver: '1.0+git.r5.gabc_x', pkgrel: '3.1', arch: 'x86_64', pkgext: '.pkg.tar.xz' }, T),
    makepkg({ name: 'tar-tool', pkgver: '0.1', arch: 'x86_64', pkgext: '.pkg.tar' }, T),
    makepkg({ name: 'meta-only', pkgver: '1', arch: 'any', extra: `depends=('plain-any')`, package: '  true' }, T),
    makepkg({ name: 'signed-pkg', pkgver: '4.2', arch: 'x86_64' }, T),
    // db entry names past ustar's 100-byte name field: split into prefix + name, and past
    // prefix + name (a pax path record).
    makepkg({ name: LONG_PREFIXED, pkgver: '1.0', arch: 'x86_64' }, T),
    makepkg({ name: LONG_PAX, pkgver: '1.0', arch: 'any' }, T),
  );
});

after(async () => {
  if (skip) return;
  packager.close();
  await srv.stop();
  fs.rmSync(T, { recursive: true, force: true });
});

test('the db desc and files entries equal what repo-add writes for the same package files', { skip, timeout: 120_000 }, async () => {
  for (const file of built) {
    const signed = file.includes('signed-pkg');
    const extra = signed ? { sig: { name: `${path.basename(file)}.sig`, data: packager.sign(file) } } : undefined;
    const r = await upload(srv.url, file, { provider: 'pacman', reponame: REPO }, { extra });
    assert.equal(r.status, 201, `${path.basename(file)}: ${JSON.stringify(r.body)}`);
  }
  const ours = await readDb(await bytes(`${base}/x86_64/${REPO}.files`));
  const oursDb = await readDb(await bytes(`${base}/x86_64/${REPO}.db`));
  assert.deepEqual([...ours.keys()].sort(), [`${LONG_PREFIXED}-1.0-1`, `${LONG_PAX}-1.0-1`, 'meta-only-1-1', 'plain-any-1.0-1', 'rich-3:2.5-2', 'signed-pkg-4.2-1', 'tar-tool-0.1-1', 'xz-tool-1.0+git.r5.gabc_x-3.1']);
  for (const [dir, e] of ours) assert.equal(oursDb.get(dir)?.desc, e.desc, `${dir}: .db and .files carry the same desc`);

  // Download what the server serves (as pacman would, under $arch), .sig next to each file.
  const dl = path.join(T, 'served');
  fs.mkdirSync(dl);
  const files: string[] = [];
  for (const e of ours.values()) {
    const filename = descFields(e.desc).find(([k]) => k === 'FILENAME')![1][0]!;
    const pkg = await bytes(`${base}/x86_64/${encodeURIComponent(filename)}`);
    const sig = await bytes(`${base}/x86_64/${encodeURIComponent(filename)}.sig`);
    fs.writeFileSync(path.join(dl, filename), pkg);
    fs.writeFileSync(path.join(dl, `${filename}.sig`), sig);
    files.push(path.join(dl, filename));
    const pgpsig = descFields(e.desc).find(([k]) => k === 'PGPSIG');
    assert.deepEqual(pgpsig?.[1], [sig.toString('base64')], `${filename}: %PGPSIG% is the served .sig`);
  }
  // The packager's signature is kept, the others are the repository key's.
  assert.ok(fs.readFileSync(path.join(dl, 'signed-pkg-4.2-1-x86_64.pkg.tar.zst.sig')).equals(fs.readFileSync(`${built[5]}.sig`)));

  const refDir = path.join(T, 'ref');
  fs.mkdirSync(refDir);
  // A UTF-8 locale, as on a packager's machine: in the C locale bsdtar -t prints non-ASCII
  // bytes of file names as octal escapes (`\303\274` for `ü`), not the names in the package.
  execFileSync('repo-add', ['-q', path.join(refDir, 'ref.db.tar.gz'), ...files], { env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const ref = await readDb(fs.readFileSync(path.join(refDir, 'ref.files.tar.gz')));
  assert.deepEqual([...ref.keys()].sort(), [...ours.keys()].sort());
  for (const [dir, r] of ref) {
    const o = ours.get(dir)!;
    const refFields = descFields(r.desc);
    // repo-add >= 6.1 writes neither by default (docs/formats/pacman.md#database-entries); Debian 12's 6.0.2 writes both.
    const refKeys = new Set(refFields.map(([k]) => k));
    const oursFields = descFields(o.desc).filter(([k]) => refKeys.has(k) || (k !== 'MD5SUM' && k !== 'PGPSIG'));
    assert.deepEqual(oursFields, refFields, `${dir}: desc fields`);
    if (refKeys.has('MD5SUM') && refKeys.has('PGPSIG')) assert.equal(o.desc, r.desc, `${dir}: desc bytes`);
    assert.equal(o.files ?? '', r.files ?? '', `${dir}: files entry`);
  }
  // Spot checks that the comparison covered the interesting fields.
  const rich = descFields(ours.get('rich-3:2.5-2')!.desc);
  const field = (k: string) => rich.find(([x]) => x === k)?.[1];
  assert.deepEqual(field('DEPENDS'), ['glibc', 'bash>=5', 'libfoo.so=1-64']);
  assert.deepEqual(field('GROUPS'), ['art-group', 'second-group']);
  assert.deepEqual(field('DESC'), ['Rich — ünïcode, <angle> & "quotes" = signs']);
  assert.match(ours.get('rich-3:2.5-2')!.files!, /^usr\/share\/rich\/sub dir\/file with spaces\.txt$/m);
  assert.match(ours.get('rich-3:2.5-2')!.files!, /^usr\/bin\/rich-link$/m);
});

test('real pacman reads the db, long entry names included', { skip, timeout: 120_000 }, async () => {
  const key = await (await fetch(`${base}/pubkey`)).text();
  const c = pacmanClient(T, 'x86_64', 'x86_64', [{ name: REPO, server: `${base}/$arch` }]);
  try {
    await c.trust(key, fingerprintOf(key, T));
    await c.pacman('-Sy');
    const names = (await c.pacman('-Sl', REPO)).trim().split('\n').map((l) => l.split(' ')[1]).sort();
    assert.deepEqual(names, [LONG_PREFIXED, LONG_PAX, 'meta-only', 'plain-any', 'rich', 'signed-pkg', 'tar-tool', 'xz-tool']);
    assert.match(await c.pacman('-Si', 'rich'), /^Depends On\s*: glibc  bash>=5  libfoo\.so=1-64$/m);
    await c.pacman('-S', '--noscriptlet', '-dd', LONG_PAX, 'meta-only', 'tar-tool', 'xz-tool', 'rich');
    assert.match(await c.pacman('-Q', LONG_PAX), new RegExp(`^${LONG_PAX} 1\\.0-1$`, 'm'));
    assert.ok(fs.existsSync(path.join(c.dir, 'root/usr/share/rich/sub dir/file with spaces.txt')));
    await c.pacman('-Fy');
    assert.match(await c.pacman('-F', 'usr/share/rich/ünïcode-ファイル.txt'), /is owned by dbrepo\/rich 3:2\.5-2/);
    assert.match(await c.pacman('-F', `usr/share/${LONG_PAX}/VERSION`), new RegExp(`is owned by dbrepo/${LONG_PAX} 1\\.0-1`));
  } finally {
    c.close();
  }
});

/** Blob files on disk (the test server stores blobs under DATA_DIR/blobs). */
function blobCount(): number {
  const root = path.join(srv.dataDir, 'blobs');
  if (!fs.existsSync(root)) return 0;
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(root, f)).isFile()).length;
}

function pkgTar(pkginfo: string, more: TarSpec[] = [{ name: 'usr/' }, { name: 'usr/x', data: 'x' }]): Promise<Buffer> {
  return makeTar([{ name: '.PKGINFO', data: pkginfo }, ...more]);
}

test('bad uploads are answered 400 with the reason and change nothing', { skip, timeout: 120_000 }, async () => {
  const db = await bytes(`${base}/x86_64/${REPO}.db`);
  const files = await bytes(`${base}/x86_64/${REPO}.files`);
  const list = withoutDownloadStats((await getJson(`${srv.url}/api/repos/pacman/${REPO}/packages`)).body);
  const blobs = blobCount();
  const without = (key: string) => PKGINFO_OK.split('\n').filter((l) => !l.startsWith(`${key} `)).join('\n');
  const withName = (n: string) => PKGINFO_OK.replace('pkgname = handmade', `pkgname = ${n}`);
  const gzTar = async (pkginfo: string, more?: TarSpec[]) => compress(await pkgTar(pkginfo, more), 'gzip');
  const zst = compress(await pkgTar(PKGINFO_OK), 'zstd');
  const good = compress(await pkgTar(PKGINFO_OK), 'gzip');

  const cases: Array<[string, Buffer, RegExp, Record<string, { name: string; data: Buffer }>?]> = [
    ['not a tar', Buffer.from('just some text, not a package\n'.repeat(30)), /neither a tar archive nor zstd\/xz\/gzip/],
    ['unknown compression (lz4)', Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18]), Buffer.alloc(600, 1)]), /neither a tar archive nor zstd\/xz\/gzip/],
    ['bzip2', Buffer.from('BZh91AY&SY' + 'x'.repeat(600)), /bzip2-compressed packages are not supported/],
    ['gzip of text', zlib.gzipSync(Buffer.from('plain text inside gzip '.repeat(40))), /not a valid tar archive/],
    ['truncated zstd', zst.subarray(0, Math.floor(zst.length / 2)), /corrupt|truncated|not a valid tar/],
    ['no .PKGINFO', compress(await makeTar([{ name: 'usr/' }, { name: 'usr/x', data: 'x' }]), 'xz'), /has no \.PKGINFO/],
    ['no pkgname', await gzTar(without('pkgname')), /missing "pkgname"/],
    ['no pkgver', await gzTar(without('pkgver')), /missing "pkgver"/],
    ['no arch', await gzTar(without('arch')), /missing "arch"/],
    ['pkgver without pkgrel', await gzTar(PKGINFO_OK.replace('pkgver = 1.0-1', 'pkgver = 1.0')), /has no pkgrel/],
    ['name starting with a dot', await gzTar(withName('.hidden')), /must not start with "\." or "-"/],
    ['name with a slash', await gzTar(withName('a/b')), /may only contain/],
    ['name with ..', await gzTar(withName('../../etc')), /must not start|may only contain/],
    ['arch with a slash', await gzTar(PKGINFO_OK.replace('arch = any', 'arch = x86/64')), /arch "x86\/64"/],
    ['absolute path', await gzTar(PKGINFO_OK, [{ name: '/etc/passwd', data: 'x' }]), /absolute path/],
    ['.. path', await gzTar(PKGINFO_OK, [{ name: 'usr/../../etc/shadow', data: 'x' }]), /path traversal/],
    ['decompression bomb', await gzTar(PKGINFO_OK, [{ name: 'usr/zeros', data: Buffer.alloc(80 * 1024 * 1024) }]), /expands more than 200 times/],
    ['armored packager signature', good, /ASCII-armored/, { sig: { name: 'x.sig', data: Buffer.from('-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n') } }],
    ['garbage packager signature', good, /not a binary OpenPGP signature/, { sig: { name: 'x.sig', data: Buffer.from('not a signature') } }],
  ];
  for (const [what, data, reason, extra] of cases) {
    const r = await upload(srv.url, { name: 'handmade-1.0-1-any.pkg.tar.gz', data }, { provider: 'pacman', reponame: REPO }, { extra });
    assert.equal(r.status, 400, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.match(String(r.body.error), reason, what);
  }
  // Without provider, a file that is no package at all cannot be detected.
  const undetected = await upload(srv.url, { name: 'x.pkg.tar.zst', data: Buffer.from('nothing') }, { reponame: REPO });
  assert.equal(undetected.status, 400);
  assert.match(String(undetected.body.error), /could not detect the package format/);

  assert.ok((await bytes(`${base}/x86_64/${REPO}.db`)).equals(db), 'db unchanged');
  assert.ok((await bytes(`${base}/x86_64/${REPO}.files`)).equals(files), 'files db unchanged');
  assert.deepEqual(withoutDownloadStats((await getJson(`${srv.url}/api/repos/pacman/${REPO}/packages`)).body), list);
  assert.equal(blobCount(), blobs, 'no blob stored');

  // A bad first upload does not create the repository.
  const fresh = await upload(srv.url, { name: 'x.pkg.tar.gz', data: await gzTar(without('arch')) }, { provider: 'pacman', reponame: 'never-created' });
  assert.equal(fresh.status, 400);
  assert.equal((await getJson(`${srv.url}/api/repos/pacman/never-created`, auth())).status, 404);
  assert.equal((await fetch(`${srv.url}/repo/pacman/never-created/x86_64/never-created.db`, { headers: auth() })).status, 404);

  // Control: the well-formed hand-made archive is accepted.
  const ok = await upload(srv.url, { name: 'handmade-1.0-1-any.pkg.tar.gz', data: good }, { provider: 'pacman', reponame: REPO });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.ok((await readDb(await bytes(`${base}/x86_64/${REPO}.db`))).has('handmade-1.0-1'));
});
