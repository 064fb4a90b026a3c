import { parseRendered } from '../../helpers/provider';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { InvalidPackageError } from '../../../src/core/errors';
import { pypiProvider } from '../../../providers/pypi/index';
import { makeSdist, makeTarGz, makeWheel, makeZip, metadataText, py, tmpDir, uploadInput } from './helpers';

const dir = tmpDir();
const parse = (input: Parameters<typeof parseRendered>[1]) => parseRendered(pypiProvider, input);

async function rejects(file: string, re: RegExp, clientName?: string, params?: Record<string, string>): Promise<void> {
  await assert.rejects(parse(uploadInput(file, clientName, params)), (e: unknown) => {
    assert.ok(e instanceof InvalidPackageError, `expected InvalidPackageError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

/** METADATA read back by Python's zipfile, and its sha256 by hashlib. */
function pyMember(zipPath: string, member: string): { b64: string; sha256: string } {
  return JSON.parse(py(`import zipfile, hashlib, base64
d = zipfile.ZipFile(A['z']).read(A['m'])
print(json.dumps({'b64': base64.b64encode(d).decode(), 'sha256': hashlib.sha256(d).hexdigest()}))`, { z: zipPath, m: member }));
}

test('a wheel: names, path, entry and the byte-exact .metadata attachment', async () => {
  const md = metadataText('Demo.Pkg', '1.0', 'Summary: demo\nRequires-Python: >=3.8\nRequires-Dist: dep-one>=1\n', 'Body text\n');
  const file = makeWheel(dir, 'demo_pkg-1.0-py3-none-any.whl', md);
  const input = uploadInput(file);
  const p = await parse(input);
  assert.equal(p.name, 'Demo.Pkg');
  assert.equal(p.version, '1.0');
  assert.equal(p.arch, '');
  assert.equal(p.filename, 'demo_pkg-1.0-py3-none-any.whl');
  assert.equal(p.partition, 'demo-pkg');
  assert.equal(p.path, 'files/demo-pkg/demo_pkg-1.0-py3-none-any.whl');
  assert.deepEqual(p.meta.depends, ['dep-one']);
  const ref = pyMember(file, 'demo_pkg-1.0.dist-info/METADATA');
  assert.equal(p.attachments.length, 1);
  assert.equal(p.attachments[0]!.suffix, '.metadata');
  assert.ok(p.attachments[0]!.data.equals(Buffer.from(ref.b64, 'base64')));
  const entry = JSON.parse(p.entry);
  assert.deepEqual(entry, {
    filename: 'demo_pkg-1.0-py3-none-any.whl',
    hashes: { sha256: input.file.hashes.sha256 },
    'requires-python': '>=3.8',
    'core-metadata': { sha256: ref.sha256 },
    size: fs.statSync(file).size,
  });
  assert.equal(await pypiProvider.detect!(input.file), true);
});

test('versions agree by PEP 440 equality; build tags and old-style names are accepted', async () => {
  const p = await parse(uploadInput(makeWheel(dir, 'Demo.Pkg-1.0.0-7-py2.py3-none-any.whl', metadataText('demo-pkg', '1.0'))));
  assert.equal(p.version, '1.0');
  await parse(uploadInput(makeWheel(dir, 'demo-1.0.post1-py3-none-any.whl', metadataText('demo', '1.0-1'))));
});

test('sdists: tar.gz and zip, legacy hyphenated names, metadata only for 2.2+ without Dynamic', async () => {
  const tgz = makeSdist(dir, 'demo_pkg-2.0.tar.gz', metadataText('demo-pkg', '2.0').replace('2.1', '2.2'));
  const a = await parse(uploadInput(tgz));
  assert.equal(a.path, 'files/demo-pkg/demo_pkg-2.0.tar.gz');
  assert.equal(a.attachments.length, 1, 'Metadata-Version 2.2 without Dynamic: served');
  const pkgInfo = py(`import tarfile,sys
sys.stdout.write(tarfile.open(A['f']).extractfile('demo_pkg-2.0/PKG-INFO').read().decode())`, { f: tgz });
  assert.equal(a.attachments[0]!.data.toString(), pkgInfo);
  assert.equal(await pypiProvider.detect!(uploadInput(tgz).file), true);

  const dyn = await parse(uploadInput(makeSdist(dir, 'demo_pkg-2.1.tar.gz', metadataText('demo-pkg', '2.1', 'Dynamic: Requires-Dist\n').replace('2.1\nName', '2.2\nName'))));
  assert.equal(dyn.attachments.length, 0, 'Dynamic fields: not served');
  assert.equal(JSON.parse(dyn.entry)['core-metadata'], false);
  const old = await parse(uploadInput(makeSdist(dir, 'demo-pkg-2.2.zip', metadataText('Demo_Pkg', '2.2'))));
  assert.equal(old.attachments.length, 0, 'Metadata-Version 2.1: not served');
  assert.equal(old.version, '2.2');
  assert.equal(old.filename, 'demo-pkg-2.2.zip');
  assert.equal(await pypiProvider.detect!(uploadInput(path.join(dir, 'demo-pkg-2.2.zip')).file), true);
});

test('the upload needs the real file name and a matching sha256_digest', async () => {
  const file = makeWheel(dir, 'named-1.0-py3-none-any.whl', metadataText('named', '1.0'));
  await rejects(file, /needs the file name/, '');
  await rejects(file, /sha256_digest 0{64} does not match/, undefined, { sha256_digest: '0'.repeat(64) });
  const ok = await parse(uploadInput(file, undefined, { sha256_digest: uploadInput(file).file.hashes.sha256.toUpperCase() }));
  assert.equal(ok.name, 'named');
  assert.equal(pypiProvider.uploadParams.safeParse({ sha256_digest: 'xyz' }).success, false);
  assert.deepEqual(pypiProvider.uploadParams.parse({ other: 'ignored' }), {});
});

test('file name and metadata must agree', async () => {
  await rejects(makeWheel(dir, 'other-1.0-py3-none-any.whl', metadataText('demo', '1.0'), { distInfo: 'other-1.0.dist-info' }),
    /project name in file name .* \("other", normalized "other"\) differs from METADATA Name "demo"/);
  await rejects(makeWheel(dir, 'demo-1.1-py3-none-any.whl', metadataText('demo', '1.0')), /version in file name .* \("1.1"\) differs from METADATA Version "1.0"/);
  await rejects(makeSdist(dir, 'demo-3.0.tar.gz', metadataText('demo', '3.1')), /version in file name .*"3.0".* differs from PKG-INFO Version "3.1"/);
  await rejects(makeSdist(dir, 'other-3.0.tar.gz', metadataText('demo', '3.0')), /differs from the metadata Name "demo"/);
  await rejects(makeWheel(dir, 'demo-1.0-py3-none-any.whl', metadataText('demo', '1.0'), { distInfo: 'evil-1.0.dist-info' }),
    /"evil-1.0.dist-info" does not belong to project "demo"/);
});

test('zips that are not wheels, and broken wheels', async () => {
  const notWheel = makeZip(path.join(dir, 'plain-1.0-py3-none-any.whl'), [{ name: 'hello.txt', text: 'hi' }]);
  await rejects(notWheel, /no top-level \*\.dist-info directory/);
  assert.equal(await pypiProvider.detect!(uploadInput(notWheel).file), false);
  const noMeta = makeZip(path.join(dir, 'nometa-1.0-py3-none-any.whl'), [{ name: 'nometa-1.0.dist-info/WHEEL', text: 'x' }, { name: 'nometa-1.0.dist-info/RECORD', text: '' }]);
  await rejects(noMeta, /has no nometa-1.0.dist-info\/METADATA/);
  assert.equal(await pypiProvider.detect!(uploadInput(noMeta).file), false);
  await rejects(makeZip(path.join(dir, 'norecord-1.0-py3-none-any.whl'), [{ name: 'norecord-1.0.dist-info/METADATA', text: metadataText('norecord', '1.0') }, { name: 'norecord-1.0.dist-info/WHEEL', text: '' }]),
    /has no norecord-1.0.dist-info\/RECORD/);
  await rejects(makeWheel(dir, 'two-1.0-py3-none-any.whl', metadataText('two', '1.0'), { extra: [{ name: 'two-0.9.dist-info/METADATA', text: 'x' }] }), /2 \.dist-info directories/);
  await rejects(makeWheel(dir, 'nover-1.0-py3-none-any.whl', 'Metadata-Version: 2.1\nName: nover\n'), /METADATA has no Version field/);
  await rejects(makeWheel(dir, 'noname-1.0-py3-none-any.whl', 'Metadata-Version: 2.1\nVersion: 1.0\n'), /METADATA has no Name field/);
  const txt = path.join(dir, 'fake-1.0-py3-none-any.whl');
  fs.writeFileSync(txt, 'not a zip at all');
  await rejects(txt, /is not a zip archive/);
  await rejects(txt, /neither a wheel .* nor a source distribution/, 'fake-1.0.egg');
  await rejects(makeWheel(dir, 'dup-1.0-py3-none-any.whl', metadataText('dup', '1.0'), { extra: [{ name: 'dup/__init__.py', text: 'again' }] }), /"dup\/__init__.py" appears twice/);
});

test('path traversal and unsafe names in archives', async () => {
  await rejects(makeWheel(dir, 'trav-1.0-py3-none-any.whl', metadataText('trav', '1.0'), { extra: [{ name: '../../etc/evil', text: 'x' }] }), /invalid relative path|path traversal/);
  await rejects(makeWheel(dir, 'abs-1.0-py3-none-any.whl', metadataText('abs', '1.0'), { extra: [{ name: '/etc/evil', text: 'x' }] }), /absolute path/);
  await rejects(makeWheel(dir, 'ctl-1.0-py3-none-any.whl', metadataText('ctl', '1.0'), { extra: [{ name: 'ctl/a\x01b', text: 'x' }] }), /control character/);
  const m = (n: string) => metadataText(n, '1.0');
  await rejects(makeTarGz(path.join(dir, 'trav-1.0.tar.gz'), [{ name: 'trav-1.0/PKG-INFO', text: m('trav') }, { name: 'trav-1.0/../../evil', text: 'x' }]), /path traversal/);
  await rejects(makeTarGz(path.join(dir, 'sym-1.0.tar.gz'), [{ name: 'sym-1.0/PKG-INFO', text: m('sym') }, { name: 'sym-1.0/link', type: 'symlink', linkname: '../../etc/passwd' }]), /points outside "sym-1.0\/"/);
  await rejects(makeTarGz(path.join(dir, 'abs-1.0.tar.gz'), [{ name: 'abs-1.0/PKG-INFO', text: m('abs') }, { name: 'abs-1.0/link', type: 'symlink', linkname: '/etc/passwd' }]), /absolute path "\/etc\/passwd"/);
  await rejects(makeTarGz(path.join(dir, 'fifo-1.0.tar.gz'), [{ name: 'fifo-1.0/PKG-INFO', text: m('fifo') }, { name: 'fifo-1.0/p', type: 'fifo' }]), /is a fifo/);
  // a link inside the tree is fine
  await parse(uploadInput(makeTarGz(path.join(dir, 'oklink-1.0.tar.gz'), [{ name: 'oklink-1.0/PKG-INFO', text: m('oklink') }, { name: 'oklink-1.0/docs/l', type: 'symlink', linkname: '../PKG-INFO' }])));
});

test('sdist PKG-INFO missing or outside the single top directory', async () => {
  const m = metadataText('demo', '4.0');
  await rejects(makeTarGz(path.join(dir, 'demo-4.0.tar.gz'), [{ name: 'demo-4.0/setup.py', text: '' }]), /has no PKG-INFO in its top-level directory "demo-4.0\/"/);
  await rejects(makeTarGz(path.join(dir, 'demo-4.1.tar.gz'), [{ name: 'PKG-INFO', text: m }, { name: 'demo-4.1/setup.py', text: '' }]), /"PKG-INFO" lies outside the single top-level directory/);
  await rejects(makeTarGz(path.join(dir, 'demo-4.2.tar.gz'), [{ name: 'demo-4.2/PKG-INFO', text: m }, { name: 'other/x', text: '' }]), /more than one top-level directory \("demo-4.2" and "other"\)/);
  await rejects(makeTarGz(path.join(dir, 'demo-4.3.tar.gz'), [{ name: 'demo-4.3/sub/PKG-INFO', text: m }]), /has no PKG-INFO in its top-level directory/);
  await rejects(makeZip(path.join(dir, 'demo-4.4.zip'), [{ name: 'PKG-INFO', text: m }]), /"PKG-INFO" lies outside/);
  await rejects(makeTarGz(path.join(dir, 'demo-4.5.tar.gz'), [{ name: 'demo-4.5/PKG-INFO', text: m }, { name: 'demo-4.5/PKG-INFO', text: m }]), /appears twice/);
  const notGz = path.join(dir, 'demo-4.6.tar.gz');
  fs.writeFileSync(notGz, 'plain text');
  await rejects(notGz, /is named .tar.gz but is not gzip-compressed/);
});

test('zip bombs: compression ratio, lying sizes, oversized METADATA', async () => {
  // 80 MiB of zeros deflate to ~80 KiB: ratio ~1000, beyond PyPI's 50 once past 64 MiB
  const bomb = makeWheel(dir, 'bomb-1.0-py3-none-any.whl', metadataText('bomb', '1.0'), { extra: [{ name: 'bomb/zeros.bin', zeros: 80 << 20 }] });
  await rejects(bomb, /compression ratio above 50; zip bomb/);
  assert.equal(await pypiProvider.detect!(uploadInput(bomb).file), false);
  // a member whose central directory claims 4 GB from a few bytes
  const liar = makeZip(path.join(dir, 'liar-1.0-py3-none-any.whl'), [
    { name: 'liar-1.0.dist-info/METADATA', text: metadataText('liar', '1.0') }, { name: 'liar-1.0.dist-info/WHEEL', text: '' },
    { name: 'liar-1.0.dist-info/RECORD', text: '' }, { name: 'liar/x', text: 'tiny' },
  ], { name: 'liar/x', uncompressedSize: 0xfffffff0 });
  await rejects(liar, /claims 4294967280 bytes from \d+ compressed \(impossible ratio; zip bomb\?\)/);
  // METADATA that claims to be small but inflates to more
  const sneaky = makeZip(path.join(dir, 'sneaky-1.0-py3-none-any.whl'), [
    { name: 'sneaky-1.0.dist-info/METADATA', text: metadataText('sneaky', '1.0', '', 'x'.repeat(100_000)) }, { name: 'sneaky-1.0.dist-info/WHEEL', text: '' },
    { name: 'sneaky-1.0.dist-info/RECORD', text: '' },
  ], { name: 'sneaky-1.0.dist-info/METADATA', uncompressedSize: 100 });
  await rejects(sneaky, /METADATA.*(too many bytes|larger than|expands beyond|cannot be read)/);
  const big = makeWheel(dir, 'big-1.0-py3-none-any.whl', metadataText('big', '1.0', '', 'y'.repeat(5 << 20)));
  await rejects(big, /METADATA" is larger than 4194304 bytes/);
  // tar.gz: the same ratio bound on the decompressed stream
  const tarBomb = makeTarGz(path.join(dir, 'tbomb-1.0.tar.gz'), [{ name: 'tbomb-1.0/PKG-INFO', text: metadataText('tbomb', '1.0') }, { name: 'tbomb-1.0/z', zeros: 80 << 20 }]);
  await rejects(tarBomb, /expands beyond \d+ bytes \(decompression bomb\?\)/);
});
