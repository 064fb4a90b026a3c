/**
 * Publishing reads a repository's entries in pages (src/core/entry-loader.ts): whatever the
 * page size, the same rows in the same order (by id) as a single read, hidden ones left out,
 * only the partitions asked for; keys first, then whole rows by id, the same. On the database TEST_DB names (SQLite by default).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, type TestServer } from '../helpers/server';
import { upload } from '../helpers/http';
import { buildDeb, controlText, tmpDir } from '../unit/apt/helpers';
import { ENTRY_PAGE_ROWS, READS_ALL, loadEntries, loadEntriesByIds, loadKeys } from '../../src/core/entry-loader';
import { FileEntity } from '../../src/db/entities';
import type { EntryRow } from '../../src/core/provider';

let srv: TestServer;
let repoId: number;
const work = tmpDir('entry-loader-');

/** An EntryRow as plain data (meta is a getter). */
const plain = (rows: EntryRow[]) => rows.map((r) => ({ ...r, meta: r.meta }));

before(async () => {
  srv = await startServer();
  for (let i = 0; i < 7; i++) {
    const name = `page${i}`;
    const f = buildDeb(work, controlText({ Package: name, Version: '1.0-1', Architecture: i % 3 ? 'amd64' : 'all', Maintainer: 'T <t@example.org>', Description: `${name} test package` }), 'gzip');
    const r = await upload(srv.url, f, { reponame: 'paged', dist: i % 2 ? 'stable' : 'testing' });
    assert.equal(r.status, 201, `upload ${path.basename(f)}: ${JSON.stringify(r.body)}`);
  }
  await srv.services.db.manager.getRepository(FileEntity).update({ name: 'page3' }, { hidden: true });
  repoId = (await srv.services.repos.get('apt', 'paged')).id;
});
after(async () => {
  await srv?.stop();
});

test('pages of any size give the rows of one read, in id order, without hidden rows', async () => {
  const m = srv.services.db.manager;
  const whole = await loadEntries(m, repoId, undefined, READS_ALL, ENTRY_PAGE_ROWS);
  assert.deepEqual(whole.map((r) => r.name), ['page0', 'page1', 'page2', 'page4', 'page5', 'page6']);
  assert.ok(whole.every((r, i) => i === 0 || whole[i - 1]!.id < r.id));
  assert.ok(whole.every((r) => r.entry.startsWith(`Package: ${r.name}\n`) && r.hashes.sha512 && r.meta.description));
  for (const pageRows of [1, 2, 3, 5, 6, 7]) assert.deepEqual(plain(await loadEntries(m, repoId, undefined, READS_ALL, pageRows)), plain(whole), `page size ${pageRows}`);
});

test('paged with a partition filter; meta and hashes left out when the provider does not read them', async () => {
  const m = srv.services.db.manager;
  const full = await loadEntries(m, repoId, undefined, READS_ALL);
  const stable = await loadEntries(m, repoId, ['stable/main'], { meta: false, hashes: false }, 2);
  assert.deepEqual(stable.map((r) => r.name), ['page1', 'page5']);
  assert.throws(() => stable[0]!.meta, /indexReadsMeta: false/);
  assert.throws(() => stable[0]!.hashes, /indexReadsHashes: false/);
  // Every other field as in a full read (createdAt made on read).
  const same = full.filter((r) => r.partition === 'stable/main');
  const fields = (r: EntryRow) => [r.id, r.name, r.version, r.arch, r.filename, r.path, r.partition, r.entry, r.size, r.createdAt.getTime(), r.yanked];
  assert.deepEqual(stable.map(fields), same.map(fields));
  const withHashes = await loadEntries(m, repoId, ['stable/main', 'testing/main'], { meta: false, hashes: true }, 1);
  assert.deepEqual(withHashes.map((r) => [r.id, r.hashes]), full.map((r) => [r.id, r.hashes]));
  const noHashes = await loadEntries(m, repoId, undefined, { meta: true, hashes: false }, 4);
  assert.deepEqual(noHashes.map((r) => [r.id, r.meta]), full.map((r) => [r.id, r.meta]));
  assert.throws(() => noHashes[0]!.hashes, /indexReadsHashes: false/);
  assert.deepEqual(await loadEntries(m, repoId, ['nothing/here'], READS_ALL, 1), []);
});

test('keys first: the keys of one read, and whole rows by id in any page size', async () => {
  const m = srv.services.db.manager;
  const full = await loadEntries(m, repoId, undefined, READS_ALL);
  const keys = await loadKeys(m, repoId);
  assert.deepEqual(keys.map((k) => [k.id, k.name, k.version, k.arch, k.partition, k.createdAt.getTime()]), full.map((r) => [r.id, r.name, r.version, r.arch, r.partition, r.createdAt.getTime()]));
  assert.ok(keys.every((k) => k.rev === 0), 'a row nobody updated is at rev 0');
  assert.deepEqual((await loadKeys(m, repoId, ['stable/main'])).map((k) => k.name), ['page1', 'page5']);
  const ids = full.map((r) => r.id).reverse();
  for (const pageRows of [1, 4, ENTRY_PAGE_ROWS]) {
    assert.deepEqual(plain(await loadEntriesByIds(m, repoId, ids, READS_ALL, undefined, pageRows)), plain(full), `page size ${pageRows}`);
  }
  // Only the repository named, only visible rows (page3 is hidden), a missing id absent.
  assert.equal((await loadEntriesByIds(m, repoId + 1000, ids, READS_ALL)).length, 0);
  const hidden = (await m.getRepository(FileEntity).findOneByOrFail({ name: 'page3' })).id;
  assert.deepEqual((await loadEntriesByIds(m, repoId, [ids[0]!, hidden, 987654], READS_ALL)).map((r) => r.id), [ids[0]]);
});
