/**
 * Inputs makepkg never produces, made by hand: each must fail with InvalidPackageError (400)
 * saying what is wrong. bsdtar (libarchive, what libalpm uses) is the reference for "is this
 * a tar at all" where it matters.
 */
import { parseRendered } from '../../helpers/provider';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { InvalidPackageError } from '../../../src/core/errors';
import { createPacmanProvider, pacmanProvider } from '../../../providers/pacman';
import { PKGINFO_OK, compress, makeSigner, makeTar, tmpDir, uploaded, uploadInput, writeTemp, type TarSpec, type TestSigner } from './helpers';

let dir: string;
let signer: TestSigner;
before(async () => {
  dir = tmpDir();
  signer = await makeSigner();
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function parseBytes(data: Buffer, provider = pacmanProvider) {
  const p = writeTemp(dir, `in-${n++}.pkg.tar`, data);
  return parseRendered(provider, uploadInput(uploaded(p), signer));
}

async function rejects(data: Buffer, message: RegExp, provider = pacmanProvider): Promise<void> {
  await assert.rejects(parseBytes(data, provider), (e: unknown) => {
    assert.ok(e instanceof InvalidPackageError, `expected InvalidPackageError, got ${String(e)}`);
    assert.equal(e.status, 400);
    assert.match(e.message, message);
    return true;
  });
}

function pkgTar(pkginfo: string, more: TarSpec[] = [{ name: 'usr/' }, { name: 'usr/x', data: 'x' }]): Promise<Buffer> {
  return makeTar([{ name: '.PKGINFO', data: pkginfo }, ...more]);
}

test('a well-formed hand-made package parses in every compression (control case)', async () => {
  for (const kind of ['gzip', 'xz', 'zstd', 'none'] as const) {
    const p = await parseBytes(compress(await pkgTar(PKGINFO_OK), kind));
    assert.equal(p.name, 'handmade');
    assert.equal(p.filename, `handmade-1.0-1-any.pkg.tar${{ gzip: '.gz', xz: '.xz', zstd: '.zst', none: '' }[kind]}`);
  }
});

test('not a tar, unknown or unsupported compression, empty file', async () => {
  await rejects(Buffer.from('this is just some text, not a package at all'), /neither a tar archive nor zstd\/xz\/gzip/);
  await rejects(Buffer.from([0x04, 0x22, 0x4d, 0x18, 0, 0, 0, 0]), /neither a tar archive nor zstd\/xz\/gzip/); // lz4
  await rejects(Buffer.from('BZh91AY&SY....'), /bzip2-compressed packages are not supported/);
  await rejects(Buffer.alloc(0), /empty/);
  await rejects(zlib.gzipSync(Buffer.from('gzip of plain text, long enough to not be a tar header '.repeat(20))), /not a valid tar archive/);
});

test('truncated or corrupt compressed data', async () => {
  const gz = compress(await pkgTar(PKGINFO_OK), 'gzip');
  await rejects(gz.subarray(0, gz.length - 40), /gzip data is corrupt or truncated/);
  const xz = compress(await pkgTar(PKGINFO_OK), 'xz');
  await rejects(xz.subarray(0, Math.floor(xz.length / 2)), /xz data is corrupt or truncated/);
});

test('no .PKGINFO, or .PKGINFO twice or not a file', async () => {
  await rejects(await makeTar([{ name: 'usr/' }, { name: 'usr/x', data: 'x' }]), /has no \.PKGINFO/);
  await rejects(await pkgTar(PKGINFO_OK, [{ name: '.PKGINFO', data: PKGINFO_OK }]), /contains \.PKGINFO twice/);
  await rejects(await makeTar([{ name: '.PKGINFO', type: 'symlink', linkname: 'x' }]), /has no \.PKGINFO|not a regular file/);
});

test('.PKGINFO missing pkgname, pkgver or arch', async () => {
  const without = (key: string) => PKGINFO_OK.split('\n').filter((l) => !l.startsWith(`${key} `)).join('\n');
  await rejects(await pkgTar(without('pkgname')), /missing "pkgname"/);
  await rejects(await pkgTar(without('pkgver')), /missing "pkgver"/);
  await rejects(await pkgTar(without('arch')), /missing "arch"/);
  await rejects(await pkgTar('# nothing here\n'), /missing "pkgname", "pkgver", "arch"/);
});

test('pkgver without pkgrel, and malformed versions', async () => {
  const withVer = (v: string) => PKGINFO_OK.replace('pkgver = 1.0-1', `pkgver = ${v}`);
  await rejects(await pkgTar(withVer('1.0')), /has no pkgrel/);
  await rejects(await pkgTar(withVer('1.0-1-2')), /must not contain/);
  await rejects(await pkgTar(withVer('1.0/x-1')), /must not contain/);
  await rejects(await pkgTar(withVer('1 .0-1')), /printable ASCII without spaces/);
  const ok = await parseBytes(await pkgTar(withVer('3:1.0+git.r5.gabc-2.1')));
  assert.equal(ok.version, '3:1.0+git.r5.gabc-2.1');
});

test('names unsafe for %FILENAME% or pacman are rejected', async () => {
  const withName = (v: string) => PKGINFO_OK.replace('pkgname = handmade', `pkgname = ${v}`);
  await rejects(await pkgTar(withName('.hidden')), /must not start with "\." or "-"/);
  await rejects(await pkgTar(withName('-dash')), /must not start with "\." or "-"/);
  await rejects(await pkgTar(withName('a/b')), /may only contain/);
  await rejects(await pkgTar(withName('../../etc')), /must not start|may only contain/);
  await rejects(await pkgTar(withName('sp ace')), /may only contain/);
  await rejects(await pkgTar(withName('ünï')), /may only contain/);
  await rejects(await pkgTar(PKGINFO_OK.replace('arch = any', 'arch = x86/64')), /arch "x86\/64"/);
  const ok = await parseBytes(await pkgTar(withName('lib32-foo_bar+plus@at.dot')));
  assert.equal(ok.name, 'lib32-foo_bar+plus@at.dot');
});

test('absolute and .. paths inside the archive are rejected', async () => {
  await rejects(await pkgTar(PKGINFO_OK, [{ name: '/etc/passwd', data: 'x' }]), /absolute path/);
  await rejects(await pkgTar(PKGINFO_OK, [{ name: 'usr/../../etc/shadow', data: 'x' }]), /path traversal/);
  await rejects(await pkgTar(PKGINFO_OK, [{ name: '../x', data: 'x' }]), /path traversal/);
});

test('decompression bombs: ratio check and hard cap', async () => {
  // 80 MiB of zeros compress to ~80 KiB: far above 200x and past the 64 MiB floor.
  const bombTar = await pkgTar(PKGINFO_OK, [{ name: 'usr/zeros', data: Buffer.alloc(80 * 1024 * 1024) }]);
  await rejects(compress(bombTar, 'gzip'), /expands more than 200 times/);
  // A configured hard cap applies to any package, however well it compresses.
  const small = createPacmanProvider({ limits: { maxDecompressed: 4096 } });
  await rejects(compress(await pkgTar(PKGINFO_OK, [{ name: 'usr/x', data: Buffer.alloc(10000, 7) }]), 'zstd'), /expands beyond 4096 bytes/, small);
  // An oversized .PKGINFO is refused before it is buffered whole.
  await rejects(await pkgTar(PKGINFO_OK + `pkgdesc = ${'x'.repeat(1024 * 1024)}\n`), /larger than 1048576 bytes/);
});

test('an Alpine .apk sent as pacman is refused', async () => {
  const sign = await makeTar([{ name: '.SIGN.RSA.key.rsa.pub', data: 'sig' }], { terminate: false });
  const control = await makeTar([{ name: '.PKGINFO', data: 'pkgname = a\npkgver = 1.0-r0\narch = x86_64\n' }], { terminate: false });
  const data = await makeTar([{ name: 'usr/' }, { name: 'usr/x', data: 'x' }]);
  await rejects(Buffer.concat([zlib.gzipSync(sign), zlib.gzipSync(control), zlib.gzipSync(data)]), /Alpine \.apk/);
  const unsigned = await makeTar([{ name: '.PKGINFO', data: 'pkgname = a\npkgver = 1.0-r0\narch = x86_64\ndatahash = 00ff\n' }], { terminate: false });
  await rejects(Buffer.concat([zlib.gzipSync(unsigned), zlib.gzipSync(data)]), /Alpine \.apk/);
});
