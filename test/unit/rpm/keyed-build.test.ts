/**
 * rpm's data files built from keys first (PublishContext.keyed, src/core/run-memo.ts): the same
 * bytes, checksums and sizes as from every row (open-checksum from the memoized parts inflated
 * again), a publish after one upload reads only the rows of the run that changed, a raised rev is
 * rebuilt, and in verify mode a changed row without a new rev fails instead of publishing stale bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { dataFiles, dataFilesKeyed, runMemo, type DataFile } from '../../../providers/rpm/index-builder';
import { RunMemo } from '../../../src/core/run-memo';
import { keyedOf } from '../../helpers/keyed-entries';
import { fragmentRow as row, fragmentRows as rowsOf } from './fragment-rows';

const PARTS = ['g:'];

function assertSame(got: DataFile[], want: DataFile[], what: string) {
  assert.deepEqual(got.map((f) => f.type), ['primary', 'filelists', 'other']);
  got.forEach((f, i) => {
    const w = want[i]!;
    assert.ok(f.gz.equals(w.gz), `${what}: ${f.type} bytes`);
    assert.deepEqual([f.checksum, f.openChecksum, f.openSize], [w.checksum, w.openChecksum, w.openSize], `${what}: ${f.type} repomd figures`);
    const plain = zlib.gunzipSync(f.gz);
    assert.equal(f.openChecksum, crypto.createHash('sha256').update(plain).digest('hex'), `${what}: ${f.type} open-checksum is the plain document's`);
    assert.equal(f.openSize, plain.length);
  });
}

test('keys first: the same data files as from every row; one upload later, one run of rows read', async () => {
  runMemo.clear();
  const rows = rowsOf(600);
  const first = keyedOf(rows);
  assertSame(await dataFilesKeyed(first, PARTS, 20), await dataFiles(rows, 20), 'cold');
  assert.equal(first.read, 600, 'a cold memo reads every row');
  // A second version of one name and a row of another group: the group's only.
  const more = [...rows, row(1001, 'pkg0300', '2.0-1'), { ...row(1002, 'other'), partition: 'g:other' }];
  const second = keyedOf(more);
  const next = await dataFilesKeyed(second, PARTS, 20);
  assertSame(next, await dataFiles(more.filter((r) => r.partition === 'g:'), 20), 'one more');
  assert.ok(zlib.gunzipSync(next[0]!.gz).toString().includes('packages="601"'), 'the count in the header');
  assert.ok(second.read > 0 && second.read < 100, `only the changed run was read (${second.read} rows)`);
});

test('a row updated with a raised rev is rebuilt; without one, verify mode refuses the stale bytes', async () => {
  runMemo.clear();
  const rows = rowsOf(200);
  await dataFilesKeyed(keyedOf(rows), PARTS, 20);
  const changed = rows.map((r) => (r.id === 50 ? { ...row(50, r.name, r.version, '- rebuilt'), rev: 1 } : r));
  assertSame(await dataFilesKeyed(keyedOf(changed), PARTS, 20), await dataFiles(changed, 20), 'raised rev');

  const forgotten = changed.map((r) => (r.id === 60 ? { ...row(60, r.name, r.version, '- forgotten'), rev: 0 } : r));
  const stale = await dataFilesKeyed(keyedOf(forgotten), PARTS, 20);
  assert.notEqual(stale[2]!.openChecksum, (await dataFiles(forgotten, 20))[2]!.openChecksum, 'without verify, the memo is trusted (rev is the contract)');
  RunMemo.verify = true;
  try {
    await assert.rejects(dataFilesKeyed(keyedOf(forgotten), PARTS, 20), /stale index memo/);
  } finally {
    RunMemo.verify = false;
  }
});

test('a row deleted between the keys and the whole rows is left out of the documents and of the count', async () => {
  runMemo.clear();
  const rows = rowsOf(100);
  const racing = keyedOf(rows);
  const byIds = racing.byIds;
  racing.byIds = async (ids) => (await byIds(ids)).filter((r) => r.id !== 42);
  assertSame(await dataFilesKeyed(racing, PARTS, 20), await dataFiles(rows.filter((r) => r.id !== 42), 20), 'row gone');
  const again = keyedOf(rows);
  await dataFilesKeyed(again, PARTS, 20);
  assert.ok(again.read > 0 && again.read < 100, `the run that lost a row was read again (${again.read} rows)`);
});

test('an empty group: valid empty documents from keys too', async () => {
  assertSame(await dataFilesKeyed(keyedOf([]), PARTS), await dataFiles([]), 'empty');
});
