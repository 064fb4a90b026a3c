/**
 * Issue 13 regressions for .deb files, each checked against the real dpkg-deb: zstd content
 * checksums and the window bomb in control.tar.zst, a control.tar holding ./control twice
 * (dpkg keeps the last copy), and damage in control.tar after ./control.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { InvalidPackageError } from '../../../src/core/errors';
import { aptProvider } from '../../../providers/apt';
import { windowBomb } from '../../helpers/zstd-frames';
import { END_OF_ARCHIVE, tarFile } from '../apk/apk-builder';
import { arArchive, arMembers, buildDeb, controlText, tmpDir, uploadInput } from './helpers';

const dir = tmpDir();
const fields = { Package: 'hello', Version: '1.0', Architecture: 'all', Maintainer: 'T <t@example.org>', Description: 'hi' };
const real = arMembers(fs.readFileSync(buildDeb(dir, controlText(fields), 'zstd')));

let n = 0;
function deb(controlMember: { name: string; data: Buffer }): string {
  const out = path.join(dir, `h-${n++}.deb`);
  fs.writeFileSync(out, arArchive([real[0]!, controlMember, real[2]!]));
  return out;
}
const dpkgInfo = (file: string) => spawnSync('dpkg-deb', ['--info', file], { encoding: 'utf8' });
const dpkgField = (file: string, f: string) => execFileSync('dpkg-deb', ['-f', file, f], { encoding: 'utf8' }).trim();

async function rejects(file: string, message: RegExp): Promise<void> {
  await assert.rejects(aptProvider.parse(uploadInput(file)), (e: unknown) => {
    assert.ok(e instanceof InvalidPackageError, `expected InvalidPackageError, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

test('control.tar.zst with a wrong content checksum, or the window bomb, is refused like dpkg-deb refuses it', async () => {
  assert.equal(real[1]!.name, 'control.tar.zst');
  const good = deb(real[1]!);
  assert.equal(dpkgInfo(good).status, 0);
  assert.equal((await aptProvider.parse(uploadInput(good))).name, 'hello');
  const flipped = Buffer.from(real[1]!.data);
  assert.equal(flipped[4]! & 0x04, 0x04, 'dpkg-deb writes zstd checksums');
  flipped[flipped.length - 1]! ^= 0x01;
  const bad = deb({ name: 'control.tar.zst', data: flipped });
  assert.notEqual(dpkgInfo(bad).status, 0);
  await rejects(bad, /control\.tar\.zst.*content checksum/);
  const bomb = deb({ name: 'control.tar.zst', data: windowBomb() });
  assert.notEqual(dpkgInfo(bomb).status, 0);
  await rejects(bomb, /window/);
});

test('a control.tar holding ./control twice is refused (dpkg-deb would use the second one)', async () => {
  const other = Buffer.from(controlText({ ...fields, Package: 'other' }));
  const tar = Buffer.concat([tarFile('./control', Buffer.from(controlText(fields))), tarFile('./control', other), END_OF_ARCHIVE]);
  const file = deb({ name: 'control.tar.gz', data: zlib.gzipSync(tar) });
  assert.equal(dpkgField(file, 'Package'), 'other');
  await rejects(file, /contains "\.\/control" twice/);
  const md5twice = Buffer.concat([tarFile('./control', Buffer.from(controlText(fields))), tarFile('./md5sums', Buffer.from('a\n')), tarFile('./md5sums', Buffer.from('b\n')), END_OF_ARCHIVE]);
  await rejects(deb({ name: 'control.tar', data: md5twice }), /"\.\/md5sums" twice/);
});

test('damage in control.tar after ./control is refused, as dpkg-deb fails on it', async () => {
  const first = tarFile('./control', Buffer.from(controlText(fields)));
  const damaged = Buffer.concat([first, tarFile('./md5sums', Buffer.from('x\n')), END_OF_ARCHIVE]);
  damaged[first.length + 150]! ^= 0x20; // the second header's checksum no longer matches
  const a = deb({ name: 'control.tar.gz', data: zlib.gzipSync(damaged) });
  assert.notEqual(dpkgInfo(a).status, 0);
  await rejects(a, /control\.tar\.gz.*not a valid tar/);
  const truncated = Buffer.concat([first, tarFile('./postinst', Buffer.alloc(3000, 0x41))]).subarray(0, first.length + 1024);
  const b = deb({ name: 'control.tar.gz', data: zlib.gzipSync(truncated) });
  assert.notEqual(dpkgInfo(b).status, 0);
  await rejects(b, /control\.tar\.gz/);
  // gzip damage after the ./control entry (the trailer's CRC-32)
  const gz = zlib.gzipSync(Buffer.concat([first, tarFile('./md5sums', Buffer.from('x\n')), END_OF_ARCHIVE]));
  gz[gz.length - 6]! ^= 0xff;
  const c = deb({ name: 'control.tar.gz', data: gz });
  assert.notEqual(dpkgInfo(c).status, 0);
  await rejects(c, /control\.tar\.gz/);
});
