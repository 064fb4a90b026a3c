import { parseRendered } from '../../helpers/provider';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { aptProvider } from '../../../providers/apt';
import { readDeb } from '../../../providers/apt/parse';
import { InvalidPackageError } from '../../../src/core/errors';
import { arArchive, arMembers, buildDeb, controlText, tmpDir, uploadInput, type ArPart, type DebCompression } from './helpers';

const dir = tmpDir();
const BASIC = controlText({
  Package: 'hello',
  Version: '1:2.10-3',
  Architecture: 'amd64',
  Maintainer: 'Jane Doe <jane@example.org>',
  'Installed-Size': '42',
  Depends: 'libc6 (>= 2.34), libfoo1 | libbar1:any',
  'Pre-Depends': 'dpkg (>= 1.19)',
  Section: 'utils',
  Priority: 'optional',
  Homepage: 'https://example.org/hello',
  Description: 'says hello\n A friendly program.\n .\n Second paragraph.',
});
const realDeb = buildDeb(dir, BASIC, 'xz');

/** A tar (optionally gzip-compressed) with the given entries, made with tar-stream. */
async function tarOf(entries: { name: string; data?: Buffer; type?: 'file' | 'symlink'; linkname?: string }[], gzip = true): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname });
    else pack.entry({ name: e.name, size: e.data!.length }, e.data!);
  }
  pack.finalize();
  await done;
  const t = Buffer.concat(chunks);
  return gzip ? zlib.gzipSync(t) : t;
}

const DEBIAN_BINARY: ArPart = { name: 'debian-binary', data: Buffer.from('2.0\n') };
const dataMember = () => arMembers(fs.readFileSync(realDeb)).find((m) => m.name.startsWith('data.tar'))!;

async function debWithControl(control: string): Promise<string> {
  const ctl = await tarOf([{ name: './control', data: Buffer.from(control) }]);
  return writeFile(arArchive([DEBIAN_BINARY, { name: 'control.tar.gz', data: ctl }, dataMember()]));
}

let n = 0;
function writeFile(data: Buffer): string {
  const p = path.join(dir, `case-${n++}.deb`);
  fs.writeFileSync(p, data);
  return p;
}

async function rejects(file: string, re: RegExp): Promise<void> {
  await assert.rejects(parseRendered(aptProvider, uploadInput(file)), (e: unknown) => {
    assert.ok(e instanceof InvalidPackageError, `expected InvalidPackageError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

for (const comp of ['gzip', 'xz', 'zstd', 'none'] as DebCompression[]) {
  test(`parses a dpkg-deb -Z${comp} package like dpkg-deb -f reads it`, async () => {
    const deb = buildDeb(dir, BASIC, comp);
    const members = execFileSync('ar', ['t', deb], { encoding: 'utf8' }).trim().split('\n');
    const p = await parseRendered(aptProvider, uploadInput(deb, { dist: 'bookworm', component: 'contrib' }));
    assert.equal(p.name, execFileSync('dpkg-deb', ['-f', deb, 'Package'], { encoding: 'utf8' }).trim());
    assert.equal(p.version, execFileSync('dpkg-deb', ['-f', deb, 'Version'], { encoding: 'utf8' }).trim());
    assert.equal(p.arch, 'amd64');
    assert.equal(p.filename, 'hello_2.10-3_amd64.deb');
    assert.equal(p.path, 'pool/contrib/h/hello/hello_2.10-3_amd64.deb');
    assert.equal(p.partition, 'bookworm/contrib');
    assert.deepEqual(p.attachments, []);
    assert.equal(p.meta.description, 'says hello');
    assert.deepEqual(p.meta.depends, ['dpkg', 'libc6', 'libfoo1', 'libbar1']);
    assert.equal(p.meta.url, 'https://example.org/hello');
    assert.equal(p.meta.installedSize, 42);
    const info = await readDeb(deb, fs.statSync(deb).size);
    assert.equal(info.controlMember, members[1]);
    assert.equal(info.dataMember, members[2]);
    // Every control field, with dpkg-deb's own reading of its value.
    for (const f of info.control.fields) {
      const theirs = execFileSync('dpkg-deb', ['-f', deb, f.name], { encoding: 'utf8' }).replace(/\n$/, '');
      const ours = f.value.split('\n').map((l, i) => (i === 0 ? l : ' ' + (l === '' ? '.' : l))).join('\n');
      assert.equal(ours, theirs, f.name);
    }
  });
}

test('defaults: dist stable, component main; Source decides the pool directory', async () => {
  const deb = buildDeb(dir, controlText({ Package: 'libfoo1', Source: 'libfoo (1.2-1)', Version: '1.2-1+b1', Architecture: 'arm64', Maintainer: 'x <x@example.org>', Description: 'lib' }));
  const p = await parseRendered(aptProvider, uploadInput(deb));
  assert.equal(p.partition, 'stable/main');
  assert.equal(p.path, 'pool/main/libf/libfoo/libfoo1_1.2-1+b1_arm64.deb');
});

test('upload parameters are validated and unknown keys ignored', () => {
  assert.deepEqual(aptProvider.uploadParams.parse({ name: 'x', version: '1' }), { dist: 'stable', component: 'main' });
  assert.deepEqual(aptProvider.uploadParams.parse({ dist: 'bionic', component: 'non-free+1.x' }), { dist: 'bionic', component: 'non-free+1.x' });
  for (const bad of ['a/b', '..', '.', '', 'x'.repeat(65), 'sp ace']) {
    const r = aptProvider.uploadParams.safeParse({ dist: bad });
    assert.equal(r.success, false, bad);
    assert.match(r.error!.issues[0].message, /dist must be 1-64 characters/);
  }
});

test('detect: .deb yes, other files no', async () => {
  const info = (f: string) => ({ localPath: f, clientFilename: '', size: fs.statSync(f).size, hashes: { md5: '', sha1: '', sha256: '', sha512: '' } });
  assert.equal(await aptProvider.detect!(info(realDeb)), true);
  assert.equal(await aptProvider.detect!(info(writeFile(Buffer.from('hello world, not a package at all, long enough to read a header from it'.repeat(2))))), false);
  assert.equal(await aptProvider.detect!(info(writeFile(arArchive([{ name: 'foo.o', data: Buffer.alloc(10) }])))), false);
});

test('rejects a file that is not an ar archive', async () => {
  await rejects(writeFile(Buffer.from('PK\x03\x04 this is a zip, not a deb')), /not an ar archive/);
  await rejects(writeFile(Buffer.alloc(0)), /not an ar archive/);
});

test('rejects wrong member order and missing members', async () => {
  const [bin, ctl, data] = arMembers(fs.readFileSync(realDeb));
  await rejects(writeFile(arArchive([bin, data, ctl])), /wrong ar member order: "data.tar.xz" comes before the control.tar member/);
  await rejects(writeFile(arArchive([ctl, bin, data])), /first ar member must be "debian-binary", found "control.tar/);
  await rejects(writeFile(arArchive([bin])), /no control.tar member/);
  await rejects(writeFile(arArchive([bin, ctl])), /no data.tar member/);
  await rejects(writeFile(arArchive([bin, ctl, ctl, data])), /second control member/);
  await rejects(writeFile(arArchive([bin, { name: 'foo', data: Buffer.from('x') }, ctl, data])), /expected control.tar.*found ar member "foo"/);
  await rejects(writeFile(arArchive([{ name: 'debian-binary', data: Buffer.from('3.0\n') }, ctl, data])), /debian-binary must contain "2.0\\n"/);
  await rejects(writeFile(arArchive([{ name: '//', data: Buffer.from('x') }, bin, ctl, data])), /ar extension/);
});

test('members named _* between the standard ones are ignored', async () => {
  const [bin, ctl, data] = arMembers(fs.readFileSync(realDeb));
  const sig: ArPart = { name: '_gpgbuilder', data: Buffer.from('signature') };
  const p = await parseRendered(aptProvider, uploadInput(writeFile(arArchive([bin, sig, ctl, sig, data, sig]))));
  assert.equal(p.name, 'hello');
});

test('rejects a control.tar without ./control, or with a non-file control', async () => {
  const noControl = await tarOf([{ name: './md5sums', data: Buffer.from('') }]);
  await rejects(writeFile(arArchive([DEBIAN_BINARY, { name: 'control.tar.gz', data: noControl }, dataMember()])), /control.tar.gz has no .\/control file/);
  const link = await tarOf([{ name: './control', type: 'symlink', linkname: '/etc/passwd' }]);
  await rejects(writeFile(arArchive([DEBIAN_BINARY, { name: 'control.tar.gz', data: link }, dataMember()])), /"\.\/control" is a symlink/);
  const evil = await tarOf([{ name: '../../evil', data: Buffer.from('x') }, { name: './control', data: Buffer.from(BASIC) }]);
  await rejects(writeFile(arArchive([DEBIAN_BINARY, { name: 'control.tar.gz', data: evil }, dataMember()])), /path traversal/);
});

test('rejects control files without required fields or with invalid values', async () => {
  const without = (field: string) => BASIC.split('\n').filter((l) => !l.startsWith(`${field}:`)).join('\n');
  await rejects(await debWithControl(without('Version')), /control file has no Version field/);
  await rejects(await debWithControl(without('Package')), /control file has no Package field/);
  await rejects(await debWithControl(without('Architecture')), /control file has no Architecture field/);
  await rejects(await debWithControl(BASIC.replace('Version: 1:2.10-3', 'Version: v2.10')), /invalid Debian version "v2.10": upstream version "v2.10" does not start with a digit/);
  await rejects(await debWithControl(BASIC.replace('Version: 1:2.10-3', 'Version: 1:2.10_3')), /invalid Debian version/);
  await rejects(await debWithControl(BASIC.replace('Package: hello', 'Package: Hello')), /invalid package name "Hello"/);
  await rejects(await debWithControl(BASIC.replace('Package: hello', 'Package: ../x')), /invalid package name/);
  await rejects(await debWithControl(BASIC.replace('Architecture: amd64', 'Architecture: amd64/../x')), /invalid Architecture/);
  await rejects(await debWithControl(BASIC + 'Package: again\n'), /duplicate field "Package"/);
  await rejects(await debWithControl(BASIC + '\nPackage: second\n'), /more than one paragraph/);
  await rejects(await debWithControl('not a control file\n'), /expected "Field: value"/);
  await rejects(await debWithControl(BASIC.replace('Section: utils', 'Source: bad name (1)')), /invalid Source field/);
});

test('rejects truncated files', async () => {
  const whole = fs.readFileSync(realDeb);
  const ctlEnd = 8 + 60 + 4 + 60 + arMembers(whole)[1].data.length;
  await rejects(writeFile(whole.subarray(0, whole.length - 100)), /truncated: "data.tar.xz" declares \d+ bytes but only \d+ are present/);
  await rejects(writeFile(whole.subarray(0, ctlEnd - 50)), /truncated: ar member "control.tar.xz" declares/);
  await rejects(writeFile(whole.subarray(0, 8 + 30)), /truncated inside an ar member header/);
});

test('rejects corrupt and mislabelled control members', async () => {
  const ctl = await tarOf([{ name: './control', data: Buffer.from(BASIC) }]);
  const corrupt = Buffer.from(ctl);
  corrupt.fill(0x55, 20, corrupt.length - 8);
  await rejects(writeFile(arArchive([DEBIAN_BINARY, { name: 'control.tar.gz', data: corrupt }, dataMember()])), /gzip data is corrupt/);
  await rejects(writeFile(arArchive([DEBIAN_BINARY, { name: 'control.tar.xz', data: ctl }, dataMember()])), /"control.tar.xz" is named for xz but its content looks like gzip/);
  const data = dataMember();
  await rejects(writeFile(arArchive([DEBIAN_BINARY, { name: 'control.tar.gz', data: ctl }, { name: 'data.tar.gz', data: data.data }])), /"data.tar.gz" is named for gzip but its content looks like xz/);
});

test('rejects a control.tar.gz that expands beyond the cap (bomb)', async () => {
  // 70 MiB of zeros in one entry before ./control: ~70 KiB compressed.
  const big = await tarOf([{ name: './big', data: Buffer.alloc(70 << 20) }, { name: './control', data: Buffer.from(BASIC) }], false);
  const bomb = zlib.gzipSync(big, { level: 9 });
  assert.ok(bomb.length < 1 << 20);
  await rejects(writeFile(arArchive([DEBIAN_BINARY, { name: 'control.tar.gz', data: bomb }, dataMember()])), /control.tar.gz expands beyond 67108864 bytes/);
});

test('rejects an oversized ./control', async () => {
  const ctl = await tarOf([{ name: './control', data: Buffer.from(BASIC + 'X-Big: ' + 'a'.repeat(2 << 20) + '\n') }]);
  await rejects(writeFile(arArchive([DEBIAN_BINARY, { name: 'control.tar.gz', data: ctl }, dataMember()])), /entry "control" is larger than 1048576 bytes/);
});
