/**
 * Issue 13 regressions for apk: two .PKGINFO entries (apk-tools reads both and keeps the
 * last values) are refused, and so is any control file given twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { InvalidPackageError } from '../../../src/core/errors';
import { apkProvider } from '../../../providers/apk';
import { buildApk, pkginfoFor, tarFile } from './apk-builder';
import { tempDir, uploadOf } from './helpers';

const dir = tempDir();

test('a control member with .PKGINFO (or a script) twice is refused', async () => {
  const good = buildApk({ pkginfo: pkginfoFor('hello', '1.0-r0', 'x86_64') });
  assert.equal((await apkProvider.parse(uploadOf(dir, 'good.apk', good.bytes))).version, '1.0-r0');
  const info = (v: string) => `pkgname = hello\npkgver = ${v}\narch = x86_64\ndatahash = ${crypto.createHash('sha256').update(good.data).digest('hex')}\n`;
  const twice = zlib.gzipSync(Buffer.concat([tarFile('.PKGINFO', Buffer.from(info('1.0-r0'))), tarFile('.PKGINFO', Buffer.from(info('9.9-r0')))]));
  await assert.rejects(apkProvider.parse(uploadOf(dir, 'twice.apk', Buffer.concat([twice, good.data]))), (e: unknown) => e instanceof InvalidPackageError && /\.PKGINFO twice/.test(e.message));
  const script = zlib.gzipSync(Buffer.concat([tarFile('.PKGINFO', Buffer.from(info('1.0-r0'))), tarFile('.post-install', Buffer.from('#!/bin/sh\n')), tarFile('.post-install', Buffer.from('#!/bin/sh\nrm -rf /\n'))]));
  await assert.rejects(apkProvider.parse(uploadOf(dir, 'script.apk', Buffer.concat([script, good.data]))), /\.post-install twice/);
});

test('every bit flip in the control member settles (an inflate error after a finished wait was lost and the parse hung)', async () => {
  const pkg = buildApk({ pkginfo: pkginfoFor('hello', '1.0-r0', 'x86_64'), files: [{ name: 'usr/', type: 'dir' }, { name: 'usr/x', content: 'x'.repeat(3000) }] }).bytes;
  const file = uploadOf(dir, 'flip.apk', pkg);
  const hung: string[] = [];
  for (let pos = 10; pos < Math.min(pkg.length, 700); pos++) {
    const b = Buffer.from(pkg);
    b[pos]! ^= 1;
    fs.writeFileSync(file.file.localPath, b);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      apkProvider.parse({ ...file, file: { ...file.file, size: b.length } }).then(() => 'ok', (e: unknown) => (e instanceof InvalidPackageError ? 'rejected' : `threw ${String(e)}`)),
      new Promise<string>((res) => (timer = setTimeout(() => res('hung'), 3000))),
    ]);
    clearTimeout(timer);
    if (r !== 'ok' && r !== 'rejected') hung.push(`byte ${pos}: ${r}`);
    if (hung.length > 3) break;
  }
  assert.deepEqual(hung, []);
});
