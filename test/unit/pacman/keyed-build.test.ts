/**
 * The pacman db built from keys first (PublishContext.keyed, src/core/run-memo.ts): the same
 * bytes as the build from every row, a publish after one upload reads only the rows of the run
 * that changed, a changed row is rebuilt once its rev is raised, and in verify mode a row that
 * changed without a new rev fails the build instead of publishing stale bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDatabases, buildDatabasesKeyed, runMemo } from '../../../providers/pacman/index-builder';
import { encodeEntry } from '../../../providers/pacman/entry';
import { RunMemo } from '../../../src/core/run-memo';
import { keyedOf, type RevRow as Row } from '../../helpers/keyed-entries';

function row(id: number, name: string, version = '1.0-1', desc = ''): Row {
  const text = `%FILENAME%\n${name}-${version}-x86_64.pkg.tar.zst\n\n%NAME%\n${name}\n\n%VERSION%\n${version}\n\n${desc}`;
  const entry = encodeEntry({ desc: text, files: `%FILES%\nusr/bin/${name}\n` });
  return { id, rev: 0, name, version, arch: 'x86_64', filename: `${name}-${version}-x86_64.pkg.tar.zst`, path: `x86_64/${name}.pkg.tar.zst`, partition: 'x86_64', entry, meta: {}, size: 1, hashes: { sha256: '0'.repeat(64) }, createdAt: new Date(1_700_000_000_000 + id * 1000), yanked: null };
}

const rowsOf = (n: number) => Array.from({ length: n }, (_, i) => row(i + 1, `pkg${String(i).padStart(4, '0')}`));

test('keys first: the same archives as from every row; one upload later, one run of rows read', async () => {
  runMemo.clear();
  const rows = rowsOf(600);
  const whole = await buildDatabases(rows, 20);
  const first = keyedOf(rows);
  const keyed = await buildDatabasesKeyed(first, ['x86_64'], 20);
  assert.ok(keyed.db.equals(whole.db) && keyed.files.equals(whole.files));
  assert.equal(first.read, 600, 'a cold memo reads every row');
  // Two versions of one name and a row of another partition: the newest only, `any` not asked for.
  const more = [...rows, row(1001, 'pkg0300', '2.0-1'), { ...row(1002, 'anypkg'), partition: 'any' }];
  const second = keyedOf(more);
  const next = await buildDatabasesKeyed(second, ['x86_64'], 20);
  const expected = await buildDatabases(more.filter((r) => r.partition === 'x86_64'), 20);
  assert.ok(next.db.equals(expected.db) && next.files.equals(expected.files));
  assert.ok(second.read > 0 && second.read < 100, `only the changed run was read (${second.read} rows)`);
});

test('a row updated with a raised rev is rebuilt; without one, verify mode refuses the stale bytes', async () => {
  runMemo.clear();
  const rows = rowsOf(200);
  await buildDatabasesKeyed(keyedOf(rows), ['x86_64'], 20);
  const resigned = rows.map((r) => (r.id === 50 ? { ...row(50, r.name, r.version, '%PGPSIG%\nnewsig\n\n'), rev: 1 } : r));
  const rebuilt = await buildDatabasesKeyed(keyedOf(resigned), ['x86_64'], 20);
  const expected = await buildDatabases(resigned, 20);
  assert.ok(rebuilt.db.equals(expected.db), 'the run holding the re-rendered row was built again');

  const forgotten = resigned.map((r) => (r.id === 60 ? { ...row(60, r.name, r.version, '%PGPSIG%\nother\n\n'), rev: 0 } : r));
  const stale = await buildDatabasesKeyed(keyedOf(forgotten), ['x86_64'], 20);
  assert.ok(!stale.db.equals((await buildDatabases(forgotten, 20)).db), 'without verify, the memo is trusted (rev is the contract)');
  RunMemo.verify = true;
  try {
    await assert.rejects(buildDatabasesKeyed(keyedOf(forgotten), ['x86_64'], 20), /stale index memo/);
  } finally {
    RunMemo.verify = false;
  }
});

test('a row deleted between the keys and the whole rows is left out, and that run is not memoized', async () => {
  runMemo.clear();
  const rows = rowsOf(100);
  const racing = keyedOf(rows);
  const byIds = racing.byIds;
  racing.byIds = async (ids) => (await byIds(ids)).filter((r) => r.id !== 42);
  const built = await buildDatabasesKeyed(racing, ['x86_64'], 20);
  assert.ok(built.db.equals((await buildDatabases(rows.filter((r) => r.id !== 42), 20)).db));
  // The keys named row 42: its run was not stored, so the next build reads it again.
  const again = keyedOf(rows);
  await buildDatabasesKeyed(again, ['x86_64'], 20);
  assert.ok(again.read > 0 && again.read < 100, `the run that lost a row was read again (${again.read} rows)`);
});
