/**
 * Parsing real packages built by Debian's makepkg (zst, xz, gz, plain tar) and comparing the
 * rendered `desc`/`files` entries with what the real `repo-add` (pacman 6.0.2) writes for the
 * same package files and signatures. Debian's repo-add writes %MD5SUM% and, when `<pkg>.sig`
 * exists, %PGPSIG%, so with the .sig in place the entries must be byte-identical.
 */
import { parseRendered } from '../../helpers/provider';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as openpgp from 'openpgp';
import { pacmanProvider } from '../../../providers/pacman';
import { decodeEntry } from '../../../providers/pacman/entry';
import { makeSigner, makepkg, tmpDir, uploaded, uploadInput, type TestSigner } from './helpers';

const RICH_EXTRA = [
  `depends=('bash>=5' 'glibc' 'libfoo.so=1-64')`,
  `optdepends=('python: for the helper scripts' 'perl')`,
  `makedepends=('gcc')`,
  `checkdepends=('check')`,
  `provides=('hello-art=1.10.0' 'libhello.so=1-64')`,
  `conflicts=('hello-old<1.0')`,
  `replaces=('hello-ancient')`,
  `groups=('artgrp' 'test-group')`,
  `backup=('etc/hello.conf')`,
  `license=('MIT' 'GPL-2.0-or-later')`,
].join('\n');

const RICH_PACKAGE = [
  '  mkdir -p "$pkgdir/usr/bin" "$pkgdir/etc" "$pkgdir/usr/share/hello/Sub Dir" "$pkgdir/usr/share/émoji"',
  '  echo "echo hi" > "$pkgdir/usr/bin/hello"; chmod 755 "$pkgdir/usr/bin/hello"',
  '  echo x > "$pkgdir/etc/hello.conf"',
  '  echo y > "$pkgdir/usr/share/hello/Sub Dir/B file"; echo z > "$pkgdir/usr/share/hello/a_file"',
  '  echo e > "$pkgdir/usr/share/émoji/é.txt"; ln -s ../bin/hello "$pkgdir/usr/share/hello/link"',
].join('\n');

let out: string;
let signer: TestSigner;
const built: Record<string, string> = {};

before(() => {
  out = tmpDir();
  built.zst = makepkg({ name: 'hello-art', pkgver: '1.10.0', arch: 'any', pkgext: '.pkg.tar.zst', extra: RICH_EXTRA, package: RICH_PACKAGE }, out);
  built.xz = makepkg({ name: 'xzpkg', pkgver: '2.0', arch: 'x86_64', pkgext: '.pkg.tar.xz' }, out);
  built.gz = makepkg({ name: 'gzpkg', pkgver: '3.1', epoch: '2', arch: 'aarch64', pkgext: '.pkg.tar.gz' }, out);
  built.tar = makepkg({ name: 'plainpkg', pkgver: '0.1', pkgrel: '3', arch: 'any', pkgext: '.pkg.tar' }, out);
  built.meta = makepkg({ name: 'metapkg', pkgver: '1', arch: 'any', pkgext: '.pkg.tar.gz', extra: `depends=('hello-art')`, package: '  :' }, out);
});

before(async () => {
  signer = await makeSigner();
});
after(() => fs.rmSync(out, { recursive: true, force: true }));

/** What repo-add 6.0.2 writes for this package file (with its .sig next to it). */
function repoAddEntry(pkgFile: string, sig: Buffer, dirName: string): { desc: string; files: string } {
  const dir = tmpDir('pacman-repoadd-');
  const copy = path.join(dir, path.basename(pkgFile));
  fs.copyFileSync(pkgFile, copy);
  fs.writeFileSync(`${copy}.sig`, sig);
  execFileSync('repo-add', ['-q', path.join(dir, 'ref.db.tar.gz'), copy], { stdio: ['ignore', 'ignore', 'pipe'] });
  const read = (db: string, member: string) => execFileSync('bsdtar', ['-xOf', path.join(dir, db), `${dirName}/${member}`]).toString('utf8');
  const result = { desc: read('ref.db.tar.gz', 'desc'), files: read('ref.files.tar.gz', 'files') };
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

for (const kind of ['zst', 'xz', 'gz', 'tar', 'meta']) {
  test(`makepkg ${kind} package: desc and files equal repo-add's`, async () => {
    const file = uploaded(built[kind]!);
    const parsed = await parseRendered(pacmanProvider, uploadInput(file, signer));
    const pkginfo = execFileSync('bsdtar', ['-xOf', file.localPath, '.PKGINFO']).toString();
    const field = (k: string) => new RegExp(`^${k} = (.*)$`, 'm').exec(pkginfo)?.[1];
    assert.equal(parsed.name, field('pkgname'));
    assert.equal(parsed.version, field('pkgver'));
    assert.equal(parsed.arch, field('arch'));
    // makepkg's own file name is exactly the canonical one: kept as is.
    assert.equal(parsed.filename, path.basename(file.localPath));
    assert.equal(parsed.path, `${parsed.arch}/${parsed.filename}`);
    assert.equal(parsed.partition, parsed.arch);

    const sig = parsed.attachments.find((a) => a.suffix === '.sig');
    assert.ok(sig, 'a .sig attachment');
    assert.equal(sig.contentType, 'application/pgp-signature');
    // The repository signature verifies over the package bytes.
    const verified = await openpgp.verify({
      message: await openpgp.createMessage({ binary: fs.readFileSync(file.localPath) }),
      signature: await openpgp.readSignature({ binarySignature: sig.data }),
      verificationKeys: await openpgp.readKey({ armoredKey: signer.pgp.publicKeyArmored }),
    });
    await verified.signatures[0]!.verified;

    const ours = decodeEntry(parsed.entry);
    const ref = repoAddEntry(file.localPath, sig.data, `${parsed.name}-${parsed.version}`);
    assert.equal(ours.desc, ref.desc);
    assert.equal(ours.files, ref.files);
    assert.equal(parsed.meta.files, ref.files.split('\n').length - 2);
  });
}

test('rich package: meta holds the display fields, depends are bare names', async () => {
  const parsed = await parseRendered(pacmanProvider, uploadInput(uploaded(built.zst!), signer));
  assert.equal(parsed.meta.description, 'Test package hello-art');
  assert.deepEqual(parsed.meta.license, ['MIT', 'GPL-2.0-or-later']);
  assert.deepEqual(parsed.meta.depends, ['bash', 'glibc', 'libfoo.so']);
  assert.deepEqual(parsed.meta.groups, ['artgrp', 'test-group']);
  assert.equal(parsed.meta.url, 'https://example.org/hello-art');
  assert.equal(typeof parsed.meta.builddate, 'number');
});

test('file name: generated from .PKGINFO and the detected compression, not the upload name', async () => {
  const xz = built.xz!;
  // A misleading upload name is replaced by the canonical one with the real compression.
  const renamed = await parseRendered(pacmanProvider, uploadInput(uploaded(xz, 'whatever.pkg.tar.zst'), signer));
  assert.equal(renamed.filename, 'xzpkg-2.0-1-x86_64.pkg.tar.xz');
  assert.equal(renamed.path, 'x86_64/xzpkg-2.0-1-x86_64.pkg.tar.xz');
  const noName = await parseRendered(pacmanProvider, uploadInput(uploaded(xz, ''), signer));
  assert.equal(noName.filename, 'xzpkg-2.0-1-x86_64.pkg.tar.xz');
  // Exactly the pattern with another known extension: the client's name is kept (pacman ignores it).
  const kept = await parseRendered(pacmanProvider, uploadInput(uploaded(xz, 'xzpkg-2.0-1-x86_64.pkg.tar.zst'), signer));
  assert.equal(kept.filename, 'xzpkg-2.0-1-x86_64.pkg.tar.zst');
  const gz = await parseRendered(pacmanProvider, uploadInput(uploaded(built.gz!, 'x'), signer));
  assert.equal(gz.filename, 'gzpkg-2:3.1-1-aarch64.pkg.tar.gz');
  assert.equal(gz.version, '2:3.1-1');
});

test('packager signature: kept byte for byte, no repository signing', async () => {
  const packager = await makeSigner();
  const dir = out;
  const sigData = await packager.pgp.detachSign(fs.readFileSync(built.xz!), false);
  const sigPath = path.join(dir, 'p.sig');
  fs.writeFileSync(sigPath, sigData);
  const parsed = await parseRendered(pacmanProvider, uploadInput(uploaded(built.xz!), signer, { sig: uploaded(sigPath) }));
  assert.deepEqual(parsed.attachments.map((a) => a.suffix), ['.sig']);
  assert.ok(parsed.attachments[0]!.data.equals(sigData));
  const before = signer.calls.detachSignFile;
  await parseRendered(pacmanProvider, uploadInput(uploaded(built.xz!), signer, { sig: uploaded(sigPath) }));
  assert.equal(signer.calls.detachSignFile, before);
  assert.match(decodeEntry(parsed.entry).desc, new RegExp(`%PGPSIG%\\n${sigData.toString('base64').replace(/[+/]/g, '\\$&')}\\n\\n`));
  assert.equal(parsed.meta.signedBy, 'packager');
});

test('packager signature: armored, oversized or not a signature is rejected', async () => {
  const dir = out;
  const pkg = uploaded(built.xz!);
  const armored = path.join(dir, 'a.sig');
  fs.writeFileSync(armored, await signer.pgp.detachSign(fs.readFileSync(built.xz!), true));
  await assert.rejects(parseRendered(pacmanProvider, uploadInput(pkg, signer, { sig: uploaded(armored) })), /ASCII-armored/);
  const big = path.join(dir, 'big.sig');
  fs.writeFileSync(big, Buffer.alloc(16385, 0x88));
  await assert.rejects(parseRendered(pacmanProvider, uploadInput(pkg, signer, { sig: uploaded(big) })), /at most 16384 bytes/);
  const junk = path.join(dir, 'junk.sig');
  fs.writeFileSync(junk, Buffer.from('hello, not a signature'));
  await assert.rejects(parseRendered(pacmanProvider, uploadInput(pkg, signer, { sig: uploaded(junk) })), /not a binary OpenPGP signature/);
});
