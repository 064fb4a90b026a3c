/**
 * Format detection: real makepkg packages are recognised in every compression, including a
 * package without files; Alpine-style multi-member gzip archives (signature + cut control
 * tar + data, docs/formats/apk.md#package-file) and other non-packages are not.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { pacmanProvider } from '../../../providers/pacman';
import { PKGINFO_OK, compress, makeTar, makepkg, tmpDir, uploaded, writeTemp } from './helpers';

let dir: string;
before(() => {
  dir = tmpDir();
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
const detectBytes = (data: Buffer) => pacmanProvider.detect!(uploaded(writeTemp(dir, `d-${n++}`, data)));

test('real makepkg packages are detected (zst, xz, gz, plain tar, and a package without files)', async () => {
  for (const pkgext of ['.pkg.tar.zst', '.pkg.tar.xz', '.pkg.tar.gz', '.pkg.tar']) {
    const p = makepkg({ name: `det${pkgext.replace(/\./g, '')}`, pkgver: '1.0', pkgext }, dir);
    assert.equal(await pacmanProvider.detect!(uploaded(p)), true, pkgext);
  }
  const meta = makepkg({ name: 'detmeta', pkgver: '1.0', pkgext: '.pkg.tar.gz', package: '  :' }, dir);
  assert.equal(await pacmanProvider.detect!(uploaded(meta)), true, 'meta package');
});

test('Alpine-style multi-member gzip is not detected as pacman', async () => {
  const sign = await makeTar([{ name: '.SIGN.RSA256.key.rsa.pub', data: 'sig' }], { terminate: false });
  const control = await makeTar(
    [{ name: '.PKGINFO', data: 'pkgname = a\npkgver = 1.0-r0\narch = x86_64\n' }, { name: '.post-install', data: '#!/bin/sh\n' }],
    { terminate: false },
  );
  const data = await makeTar([{ name: 'usr/' }, { name: 'usr/x', data: 'x' }]);
  assert.equal(await detectBytes(Buffer.concat([zlib.gzipSync(sign), zlib.gzipSync(control), zlib.gzipSync(data)])), false, 'signed apk');
  assert.equal(await detectBytes(Buffer.concat([zlib.gzipSync(control), zlib.gzipSync(data)])), false, 'unsigned apk');
  // The same entries in ONE gzip member form a pacman-shaped package: detected.
  const single = await makeTar([{ name: '.PKGINFO', data: PKGINFO_OK }, { name: 'usr/' }, { name: 'usr/x', data: 'x' }]);
  assert.equal(await detectBytes(zlib.gzipSync(single)), true, 'single member');
});

test('non-packages are not detected', async () => {
  assert.equal(await detectBytes(Buffer.from('plain text')), false);
  assert.equal(await detectBytes(Buffer.alloc(0)), false);
  assert.equal(await detectBytes(zlib.gzipSync(Buffer.from('gzip but no tar'.repeat(100)))), false);
  const noPkgInfo = await makeTar([{ name: 'usr/' }, { name: 'usr/x', data: 'x' }]);
  for (const kind of ['gzip', 'xz', 'zstd', 'none'] as const) assert.equal(await detectBytes(compress(noPkgInfo, kind)), false, kind);
  // Payload before .PKGINFO: not how makepkg writes packages.
  const late = await makeTar([{ name: 'usr/x', data: 'x' }, { name: '.PKGINFO', data: PKGINFO_OK }]);
  assert.equal(await detectBytes(compress(late, 'zstd')), false);
  // A Debian .deb (ar archive) and a zip.
  assert.equal(await detectBytes(Buffer.from('!<arch>\ndebian-binary   ')), false);
  assert.equal(await detectBytes(Buffer.from('PK\x03\x04rest')), false);
});
