/**
 * parse(): packages made by the test builder (checked with Python's tarfile and zlib, real
 * independent readers), C: checked against a Python computation per docs/formats/apk.md#package-checksum, #testing-without-apk,
 * and every kind of bad input the issue lists.
 */
import { parseRendered } from '../../helpers/provider';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { InvalidPackageError } from '../../../src/core/errors';
import { apkProvider } from '../../../providers/apk';
import { parseApkFile } from '../../../providers/apk/parse';
import { buildApk, dataTar, END_OF_ARCHIVE, gzip, paxRecord, pkginfoFor, tarFile, ustarHeader } from './apk-builder';
import { rsaKey, tempDir, uploadOf } from './helpers';

const dir = tempDir();
const packager = rsaKey('packager-0123abcd.rsa.pub');

/** Python: split members with zlib.decompressobj(31).unused_data, C: of the member whose first entry is not .SIGN.* */
const PY_CHECKSUM = `
import sys, zlib, hashlib, base64, tarfile, io
buf = open(sys.argv[1], 'rb').read()
while buf:
    d = zlib.decompressobj(31)
    out = d.decompress(buf) + d.flush()
    raw = buf[:len(buf) - len(d.unused_data)]
    buf = d.unused_data
    if not out[:100].split(b'\\0')[0].startswith(b'.SIGN.'):
        print('Q1' + base64.b64encode(hashlib.sha1(raw).digest()).decode())
        break
`;

/** Python tarfile reads the concatenated members as one tar; print name and PAX checksum header per file. */
const PY_LIST = `
import sys, tarfile, hashlib
with tarfile.open(sys.argv[1], 'r:gz') as t:
    for m in t:
        ok = ''
        if m.isfile() and 'APK-TOOLS.checksum.SHA1' in m.pax_headers:
            ok = 'sha1-ok' if hashlib.sha1(t.extractfile(m).read()).hexdigest() == m.pax_headers['APK-TOOLS.checksum.SHA1'] else 'sha1-bad'
        print(m.name, ok)
`;

function python(script: string, file: string): string {
  const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

async function rejects(bytes: Buffer, re: RegExp, name = 'bad.apk'): Promise<void> {
  const input = uploadOf(dir, name, bytes);
  await assert.rejects(parseRendered(apkProvider, input), (e: unknown) => {
    assert.ok(e instanceof InvalidPackageError, `expected InvalidPackageError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

const hello = (extra: Array<[string, string]> = [], arch = 'x86_64', version = '1.0-r0') =>
  pkginfoFor('hello', version, arch, [['depend', 'so:libc.musl-x86_64.so.1'], ['depend', 'busybox>=1.36'], ['depend', '!hello-old'], ['provides', 'cmd:hello=1.0-r0'], ...extra]);

test('the builder makes what Python tarfile reads as an apk (PAX checksums match)', () => {
  const b = buildApk({ pkginfo: hello(), sign: { keyName: packager.keyName, privateKey: packager.privateKey } });
  const file = path.join(dir, 'listed.apk');
  fs.writeFileSync(file, b.bytes);
  assert.deepEqual(python(PY_LIST, file).trim().split('\n'), [`.SIGN.RSA.${packager.keyName} `, '.PKGINFO ', 'usr ', 'usr/share ', 'usr/share/hello.txt sha1-ok']);
});

test('parse: signed package gives the APKINDEX record in apk writer order with C: as Python computes it', async () => {
  const b = buildApk({ pkginfo: hello(), sign: { keyName: packager.keyName, privateKey: packager.privateKey } });
  const input = uploadOf(dir, 'hello-1.0-r0.apk', b.bytes);
  const p = await parseRendered(apkProvider, input);
  const c = python(PY_CHECKSUM, input.file.localPath).trim();
  assert.equal(c.length, 30);
  assert.equal(p.name, 'hello');
  assert.equal(p.version, '1.0-r0');
  assert.equal(p.arch, 'x86_64');
  assert.equal(p.filename, 'hello-1.0-r0.apk');
  assert.equal(p.path, 'main/x86_64/hello-1.0-r0.apk');
  assert.equal(p.partition, 'main/x86_64');
  assert.equal(
    p.entry,
    [
      `C:${c}`,
      'P:hello',
      'V:1.0-r0',
      'A:x86_64',
      `S:${b.bytes.length}`,
      'I:4096',
      'T:The hello test package',
      'U:https://example.org/hello',
      'L:MIT',
      'o:hello',
      'm:Test Builder <test@example.org>',
      't:1700000000',
      'c:0123456789abcdef0123456789abcdef01234567',
      'D:so:libc.musl-x86_64.so.1 busybox>=1.36 !hello-old',
      'p:cmd:hello=1.0-r0',
    ].join('\n') + '\n',
  );
  assert.deepEqual(p.meta.depends, ['busybox']);
  assert.equal(p.meta.checksum, c);
  assert.equal(p.meta.installedSize, 4096);
  assert.deepEqual(p.meta.signatures, [`RSA.${packager.keyName}`]);
});

test('parse: member boundaries falling anywhere in the read chunks give the same result', async () => {
  // tiny reads put every member boundary (and every deflate end) at or near a chunk edge
  const cases: Array<[number, number[]]> = [
    [3000, [1, 2, 7]],
    [70_000, [511, 4096]],
  ];
  for (const [bytes, chunkSizes] of cases) {
    const b = buildApk({ pkginfo: hello(), files: [{ name: 'a', content: crypto.randomBytes(bytes) }, { name: 'b', content: 'x'.repeat(5000) }] });
    const file = path.join(dir, 'chunks.apk');
    fs.writeFileSync(file, b.bytes);
    const ref = await parseApkFile(file, b.bytes.length);
    assert.equal(ref.dataHash, crypto.createHash('sha256').update(b.data).digest('hex'));
    assert.equal(ref.checksum, 'Q1' + crypto.createHash('sha1').update(b.control).digest('base64'));
    assert.equal(ref.files, 2);
    for (const chunkSize of chunkSizes) {
      const p = await parseApkFile(file, b.bytes.length, { chunkSize });
      assert.equal(p.checksum, ref.checksum, `chunk ${chunkSize}`);
      assert.equal(p.dataHash, ref.dataHash, `chunk ${chunkSize}`);
    }
  }
});

test('parse: noarch and a two-segment branch', async () => {
  const b = buildApk({ pkginfo: pkginfoFor('docs', '2.0_rc1-r3', 'noarch') });
  const p = await parseRendered(apkProvider, uploadOf(dir, 'docs.apk', b.bytes, { branch: 'v3.20/main' }));
  assert.equal(p.path, 'v3.20/main/noarch/docs-2.0_rc1-r3.apk');
  assert.equal(p.partition, 'v3.20/main/noarch');
  assert.match(p.entry, /^A:noarch$/m);
});

test('bad input: not gzip, one gzip member, no data member', async () => {
  await rejects(Buffer.from('this is not a package\n'.repeat(10)), /not gzip-compressed/);
  await rejects(Buffer.alloc(0), /empty/);
  await rejects(buildApk({ pkginfo: hello(), singleMember: true }).bytes, /same gzip member as \.PKGINFO/);
  const controlOnly = buildApk({ pkginfo: hello() }).control;
  await rejects(controlOnly, /fewer than two gzip members/);
});

test('bad input: no .PKGINFO, missing pkgname / pkgver / arch, bad version', async () => {
  const noPkginfo = Buffer.concat([gzip(tarFile('.post-install', Buffer.from('#!/bin/sh\n'))), gzip(dataTar([{ name: 'f', content: 'x' }]))]);
  await rejects(noPkginfo, /no \.PKGINFO/);
  const onlyData = Buffer.concat([gzip(tarFile('usr/f', Buffer.from('x'))), gzip(dataTar([{ name: 'f', content: 'x' }]))]);
  await rejects(onlyData, /no \.PKGINFO/);
  for (const key of ['pkgname', 'pkgver', 'arch']) {
    await rejects(buildApk({ pkginfo: hello().filter(([k]) => k !== key) }).bytes, new RegExp(`\\.PKGINFO has no ${key}`));
  }
  await rejects(buildApk({ pkginfo: hello([], 'x86_64', '1.0-1') }).bytes, /not a valid apk version/);
  await rejects(buildApk({ pkginfo: hello([], '../x') }).bytes, /arch "\.\.\/x" is not a valid/);
});

test('bad input: datahash mismatch, missing or wrong per-file checksum', async () => {
  await rejects(buildApk({ pkginfo: hello(), datahash: 'ab'.repeat(32) }).bytes, /datahash mismatch/);
  await rejects(buildApk({ pkginfo: hello(), files: [{ name: 'usr/bin/tool', content: 'x', noChecksum: true }] }).bytes, /file usr\/bin\/tool has no APK-TOOLS\.checksum\.SHA1 header/);
  await rejects(buildApk({ pkginfo: hello(), files: [{ name: 'usr/bin/tool', content: 'x', checksum: '0'.repeat(40) }] }).bytes, /does not match its APK-TOOLS\.checksum\.SHA1/);
  // without datahash the package is still accepted (the contract: verify it when present)
  const p = await parseRendered(apkProvider, uploadOf(dir, 'nohash.apk', buildApk({ pkginfo: hello(), noDatahash: true }).bytes));
  assert.equal(p.name, 'hello');
});

test('bad input: path traversal and absolute paths in the data tar', async () => {
  await rejects(buildApk({ pkginfo: hello(), files: [{ name: '../etc/passwd', content: 'x' }] }).bytes, /path traversal/);
  await rejects(buildApk({ pkginfo: hello(), files: [{ name: 'usr/../../x', content: 'x' }] }).bytes, /path traversal/);
  await rejects(buildApk({ pkginfo: hello(), files: [{ name: '/etc/x', content: 'x' }] }).bytes, /absolute path/);
});

test('bad input: layout errors (uncut control, two data members, truncation, CRC, trailing garbage)', async () => {
  await rejects(buildApk({ pkginfo: hello(), uncutControl: true }).bytes, /must be cut/);
  const b = buildApk({ pkginfo: hello(), noDatahash: true });
  await rejects(Buffer.concat([b.control, b.data, b.data]), /single gzip member/);
  await rejects(b.bytes.subarray(0, b.bytes.length - 3), /truncated/);
  const badCrc = Buffer.from(b.bytes);
  badCrc[badCrc.length - 8]! ^= 0xff;
  await rejects(badCrc, /CRC-32/);
  await rejects(Buffer.concat([b.bytes, Buffer.from('garbage')]), /not another gzip member/);
  const noEnd = Buffer.concat([b.control, gzip(dataTar([{ name: 'f', content: 'x' }]).subarray(0, -1024))]);
  await rejects(noEnd, /no end-of-archive/);
});

test('bad input: decompression bombs (data with the default limit, .PKGINFO)', async () => {
  // 300 MiB of zeros in one file: about 300 KB compressed, above the 256 MiB floor of the limit.
  const size = 300 << 20;
  const head = Buffer.concat([tarFile('PaxHeader/z', Buffer.from(paxRecord('APK-TOOLS.checksum.SHA1', '0'.repeat(40))), 'x'), ustarHeader('z', size, '0')]);
  async function* tarBytes() {
    yield head;
    const zeros = Buffer.alloc(1 << 20);
    for (let i = 0; i < size >> 20; i++) yield zeros;
    yield END_OF_ARCHIVE;
  }
  const parts: Buffer[] = [];
  for await (const c of Readable.from(tarBytes()).pipe(zlib.createGzip({ level: 1 }))) parts.push(c as Buffer);
  const data = Buffer.concat(parts);
  const control = gzip(tarFile('.PKGINFO', Buffer.from(hello().map(([k, v]) => `${k} = ${v}\n`).join(''))));
  const bomb = Buffer.concat([control, data]);
  assert.ok(bomb.length < 2 << 20);
  await rejects(bomb, /decompression bomb/);
  const bigInfo = Buffer.concat([gzip(tarFile('.PKGINFO', Buffer.alloc(2 << 20, 0x61))), gzip(dataTar([]))]);
  await rejects(bigInfo, /\.PKGINFO is larger than/);
});

/** A data tar written by Python's tarfile (PAX format): long names, links, per-file PAX checksum, record padding. */
const PY_DATA_TAR = `
import tarfile, io, hashlib, sys
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as t:
    def add(name, data=None, kind=tarfile.REGTYPE, link=''):
        ti = tarfile.TarInfo(name)
        ti.type, ti.linkname, ti.mtime = kind, link, 0
        if data is None:
            t.addfile(ti)
        else:
            ti.size = len(data)
            ti.pax_headers = {'APK-TOOLS.checksum.SHA1': hashlib.sha1(data).hexdigest()}
            t.addfile(ti, io.BytesIO(data))
    add('usr/', kind=tarfile.DIRTYPE)
    add('usr/share/' + 'd' * 120 + '/file.txt', b'long name content\\n')
    add('usr/bin/tool', b'#!/bin/sh\\necho hi\\n')
    add('usr/bin/link', kind=tarfile.SYMTYPE, link='tool')
    add('usr/bin/hard', kind=tarfile.LNKTYPE, link='usr/bin/tool')
sys.stdout.buffer.write(buf.getvalue())
`;

test('parse: a data tar written by Python tarfile (PAX long names, links, record padding) is accepted', async () => {
  const py = spawnSync('python3', ['-c', PY_DATA_TAR]);
  assert.equal(py.status, 0, String(py.stderr));
  assert.equal(py.stdout.length % 10240, 0); // padded to tar's record size after the end-of-archive
  const data = gzip(py.stdout);
  const datahash = crypto.createHash('sha256').update(data).digest('hex');
  const info = [...pkginfoFor('pytar', '1.0-r0', 'x86_64'), ['datahash', datahash]].map(([k, v]) => `${k} = ${v}\n`).join('');
  const bytes = Buffer.concat([gzip(tarFile('.PKGINFO', Buffer.from(info))), data]);
  const file = path.join(dir, 'pytar.apk');
  fs.writeFileSync(file, bytes);
  const p = await parseApkFile(file, bytes.length);
  assert.equal(p.name, 'pytar');
  assert.equal(p.files, 2); // the two regular files; links and directories need no checksum
  assert.equal(p.dataHash, datahash);
});
