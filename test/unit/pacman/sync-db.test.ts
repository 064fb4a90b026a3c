/** Reading an upstream sync database for a pacman remote (providers/pacman/sync-db.ts): fields, compressions, bounds. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { readSyncDb, SYNC_DB_LIMITS } from '../../../providers/pacman/sync-db';
import { compress, makeTar } from './helpers';

const SHA = 'ab'.repeat(32);
const desc = (filename: string, extra = '') => `%FILENAME%\n${filename}\n\n%NAME%\nfoo\n\n%VERSION%\n1-1\n\n${extra}`;

test('every desc gives its %FILENAME%, %SHA256SUM% (lowercased) and %PGPSIG% bytes, whatever the compression', async () => {
  const sig = Buffer.from('a binary signature');
  const tar = await makeTar([
    { name: 'foo-1-1/' },
    { name: 'foo-1-1/desc', data: desc('foo-1-1-x86_64.pkg.tar.zst', `%SHA256SUM%\n${SHA.toUpperCase()}\n\n%PGPSIG%\n${sig.toString('base64')}\n\n`) },
    { name: 'bar-2-1/desc', data: desc('bar-2-1-any.pkg.tar.xz', '%MD5SUM%\n0123\n\n') },
  ]);
  for (const kind of ['gzip', 'xz', 'zstd', 'none'] as const) {
    const got = await readSyncDb(compress(tar, kind));
    assert.deepEqual(got, [
      { filename: 'foo-1-1-x86_64.pkg.tar.zst', sha256: SHA, signature: sig },
      { filename: 'bar-2-1-any.pkg.tar.xz', sha256: null, signature: null },
    ], kind);
  }
});

test('a %FILENAME% pacman would reject (with a "/" or a leading ".") fails the whole db, as in libalpm', async () => {
  for (const bad of ['../etc/passwd', '.hidden.pkg.tar.zst']) {
    const db = zlib.gzipSync(await makeTar([{ name: 'x-1-1/desc', data: desc(bad) }]));
    await assert.rejects(readSyncDb(db), /no usable %FILENAME%/);
  }
});

test('not an archive, bzip2, and a decompression bomb are refused', async () => {
  await assert.rejects(readSyncDb(Buffer.from('<html>maintenance</html>\n')), /sync database is neither a tar archive nor/);
  await assert.rejects(readSyncDb(Buffer.from('BZh91AY&SY')), /bzip2/);
  const bomb = zlib.gzipSync(Buffer.alloc(8 << 20));
  await assert.rejects(readSyncDb(bomb, { ...SYNC_DB_LIMITS, maxRatio: 10, ratioFloor: 1 << 20 }), /expands more than 10 times/);
  await assert.rejects(readSyncDb(bomb, { ...SYNC_DB_LIMITS, maxDecompressed: 1 << 20 }), /expands beyond/);
});
