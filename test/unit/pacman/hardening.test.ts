/**
 * Issue 13 regressions for pacman packages: zstd content checksums (bsdtar, what libalpm
 * uses, refuses a package whose checksum is wrong), the zstd window bomb, and link targets
 * outside the package.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import tar from 'tar-stream';
import { InvalidPackageError } from '../../../src/core/errors';
import { pacmanProvider } from '../../../providers/pacman';
import { windowBomb } from '../../helpers/zstd-frames';
import { PKGINFO_OK, compress, makeSigner, tmpDir, uploaded, uploadInput, writeTemp, type TestSigner } from './helpers';

let dir: string;
let signer: TestSigner;
before(async () => {
  dir = tmpDir();
  signer = await makeSigner();
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
const parse = (data: Buffer) => pacmanProvider.parse(uploadInput(uploaded(writeTemp(dir, `h-${n++}.pkg.tar.zst`, data)), signer));
const bsdtarAccepts = (data: Buffer) => spawnSync('bsdtar', ['-tf', writeTemp(dir, `b-${n++}.pkg.tar.zst`, data)]).status === 0;

async function rejects(data: Buffer, message: RegExp): Promise<void> {
  await assert.rejects(parse(data), (e: unknown) => {
    assert.ok(e instanceof InvalidPackageError, `expected InvalidPackageError, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

type Entry = { name: string; type?: 'file' | 'link' | 'symlink' | 'directory'; data?: string; linkname?: string };
function tarOf(entries: Entry[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
    for (const e of [{ name: '.PKGINFO', data: PKGINFO_OK } as Entry, ...entries]) {
      const type = e.type ?? 'file';
      if (type === 'file') pack.entry({ name: e.name, mode: 0o644 }, e.data ?? '');
      else pack.entry({ name: e.name, type, linkname: e.linkname, mode: 0o755 });
    }
    pack.finalize();
  });
}

test('a .pkg.tar.zst with a wrong zstd content checksum is refused, like bsdtar refuses it', async () => {
  const good = compress(await tarOf([{ name: 'usr/' , type: 'directory' }, { name: 'usr/x', data: 'x'.repeat(5000) }]), 'zstd');
  assert.equal(good[4]! & 0x04, 0x04, 'the zstd CLI sets the checksum flag');
  assert.ok(bsdtarAccepts(good));
  assert.equal((await parse(good)).name, 'handmade');
  const bad = Buffer.from(good);
  bad[bad.length - 2]! ^= 0x40;
  assert.equal(bsdtarAccepts(bad), false);
  await rejects(bad, /content checksum/);
});

test('the zstd window bomb is refused at once', async () => {
  const t0 = Date.now();
  await rejects(windowBomb(), /window/);
  assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
});

test('hard links must stay inside the package; relative symlinks may not climb above it', async () => {
  const base: Entry[] = [{ name: 'usr/', type: 'directory' }, { name: 'usr/x', data: 'x' }];
  for (const target of ['../../etc/shadow', '/etc/shadow', 'usr/../../etc/shadow']) {
    await rejects(compress(await tarOf([...base, { name: 'usr/y', type: 'link', linkname: target }]), 'zstd'), /hard link "usr\/y".*(path traversal|absolute path)/);
  }
  await rejects(compress(await tarOf([...base, { name: 'usr/y', type: 'symlink', linkname: '../../../etc/shadow' }]), 'zstd'), /symlink "usr\/y" points outside/);
  // What real packages contain: hard links to their own files, absolute and relative symlinks.
  const ok = await parse(
    compress(
      await tarOf([
        ...base,
        { name: 'usr/hard', type: 'link', linkname: 'usr/x' },
        { name: 'usr/abs', type: 'symlink', linkname: '/usr/x' },
        { name: 'usr/rel', type: 'symlink', linkname: '../usr/x' },
      ]),
      'zstd',
    ),
  );
  assert.equal(ok.name, 'handmade');
});
