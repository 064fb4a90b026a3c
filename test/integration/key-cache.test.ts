/**
 * The keys a publish reads, from the per-process cache brought up to date by the file change feed
 * (src/core/key-cache.ts, issue 19), on the database TEST_DB names (SQLite by default): after
 * uploads, deletes, yanks and an overwrite a publish reads the changed ids only, and its index
 * lists exactly what is stored; an 'all' change, a gap of more than RETAIN seqs and pruned changes
 * make it read every key; a write that does not record its change fails the publish (verify mode,
 * which every test server runs in) instead of publishing a stale index.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, type TestServer } from '../helpers/server';
import { auth, upload } from '../helpers/http';
import { synthPackage } from '../helpers/synth-pacman';
import { tmpDir } from '../unit/apt/helpers';
import { readDb } from './pacman-tools';
import { FileChangeEntity, FileChangeSeqEntity, FileEntity } from '../../src/db/entities';
import { KEY_CHANGES_PRUNE_EVERY, KEY_CHANGES_RETAIN, keyCache, recordFileChanges, type KeysSource } from '../../src/core/key-cache';
import type { RepoInfo } from '../../src/core/provider';

const REPO = 'kc';
let srv: TestServer;
let repo: RepoInfo;
const work = tmpDir('key-cache-');
const files: string[] = [];

/** What pacman's x86_64 scope reads (providers/pacman/index-builder.ts buildArchIndex). */
const PARTS = ['x86_64', 'any'];

const origin = () => (srv.services.publisher as unknown as { origin: string }).origin;

async function send(i: number): Promise<void> {
  files[i] ??= await synthPackage(work, `kc${i}`, i);
  const r = await upload(srv.url, files[i]!, { provider: 'pacman', reponame: REPO });
  assert.equal(r.status, 201, JSON.stringify(r.body));
}

async function dbNames(): Promise<string[]> {
  const r = await fetch(`${srv.url}/repo/pacman/${REPO}/x86_64/${REPO}.db`);
  assert.equal(r.status, 200);
  return [...(await readDb(Buffer.from(await r.arrayBuffer()))).keys()].map((k) => k.replace(/-[^-]+-[^-]+$/, '')).sort();
}

/** The stored visible names, as the index must list them. */
async function storedNames(): Promise<string[]> {
  const rows = await srv.services.db.manager.getRepository(FileEntity).find({ where: { repoId: repo.id, hidden: false as never } });
  return rows.map((r) => r.name).sort();
}

/** How the keys were read while `fn` ran: the sources counted (the cache is the process's). */
async function sources(fn: () => Promise<unknown>): Promise<Record<KeysSource, number>> {
  const before = { ...keyCache.counts };
  await fn();
  return { full: keyCache.counts.full - before.full, cached: keyCache.counts.cached - before.cached, changes: keyCache.counts.changes - before.changes };
}

async function api(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${srv.url}/api/repos/pacman/${REPO}${p}`, { method, headers: { ...auth(), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

const seqRow = async () => (await srv.services.db.manager.getRepository(FileChangeSeqEntity).findOneOrFail({ where: { repoId: repo.id } }));

before(async () => {
  srv = await startServer();
  await send(0);
  repo = await srv.services.repos.get('pacman', REPO);
});
after(async () => {
  await srv?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test('uploads after the first are published from the changed ids alone, and the index lists every stored package', async () => {
  // The first upload read every key (a cold cache); each one after reads the ids it added.
  for (let i = 1; i <= 6; i++) {
    const got = await sources(() => send(i));
    assert.deepEqual(got, { full: 0, cached: 0, changes: 1 }, `upload ${i}`);
  }
  assert.deepEqual(await dbNames(), await storedNames());
  assert.equal((await dbNames()).length, 7);
  // One change row per upload (its file's id), each with its own seq.
  const changes = await srv.services.db.manager.getRepository(FileChangeEntity).find({ where: { repoId: repo.id }, order: { seq: 'ASC' } });
  const ids = (await srv.services.db.manager.getRepository(FileEntity).find({ where: { repoId: repo.id }, order: { id: 'ASC' } })).map((f) => f.id);
  assert.deepEqual(changes.map((c) => c.fileId), ids);
  assert.deepEqual(changes.map((c) => c.seq), ids.map((_, i) => i + 1));
});

test('a delete, a yank, an un-yank and an overwrite: read from their changes, the index as stored after each', async () => {
  const del = await sources(async () => assert.equal((await api('DELETE', '/packages/kc2')).status, 200));
  assert.deepEqual(del, { full: 0, cached: 0, changes: 1 });
  assert.ok(!(await dbNames()).includes('kc2'));
  assert.deepEqual(await dbNames(), await storedNames());

  const version = (await api('GET', '/packages/kc3')).body.versions[0].version;
  const yank = await sources(async () => assert.equal((await api('POST', `/packages/kc3/${version}/yank`, { reason: 'broken' })).status, 200));
  assert.deepEqual(yank, { full: 0, cached: 0, changes: 1 });
  assert.ok(!(await dbNames()).includes('kc3'), 'a yanked pacman package leaves the index');
  const unyank = await sources(async () => assert.equal((await api('DELETE', `/packages/kc3/${version}/yank`)).status, 200));
  assert.deepEqual(unyank, { full: 0, cached: 0, changes: 1 });
  assert.ok((await dbNames()).includes('kc3'));

  assert.equal((await api('PATCH', '/settings', { overwrite: true })).status, 200);
  const idBefore = (await srv.services.db.manager.getRepository(FileEntity).findOneOrFail({ where: { repoId: repo.id, name: 'kc4' } })).id;
  const over = await sources(() => send(4));
  assert.equal(over.changes, 1, JSON.stringify(over));
  const idAfter = (await srv.services.db.manager.getRepository(FileEntity).findOneOrFail({ where: { repoId: repo.id, name: 'kc4' } })).id;
  assert.notEqual(idAfter, idBefore, 'the overwrite replaced the row');
  assert.deepEqual(await dbNames(), await storedNames());
});

test('a publish with no file changed (a settings change) answers from the cache as it is', async () => {
  const seq = (await seqRow()).seq;
  const got = await sources(async () => {
    const targets = await srv.services.db.write((m) => srv.services.publisher.requestInTx(m, repo.id, ['x86_64'], []));
    await srv.services.publisher.ensurePublished(repo, targets);
  });
  assert.deepEqual(got, { full: 0, cached: 1, changes: 0 });
  assert.equal((await seqRow()).seq, seq, 'no change recorded for no file');
});

test("an 'all' change (a republish of everything) reads every key once, then changes again", async () => {
  const all = await sources(() => srv.services.publisher.republishAll(repo));
  assert.ok(all.full >= 1 && all.changes === 0 && all.cached === 0, JSON.stringify(all));
  assert.deepEqual(await sources(() => send(7)), { full: 0, cached: 0, changes: 1 });
  assert.deepEqual(await dbNames(), await storedNames());
});

test('a write of a file row that does not record its change fails the publish (verify mode), not a stale index', async () => {
  const m = srv.services.db.manager;
  const warm = await keyCache.keys(srv.services.db, origin(), repo.id, PARTS);
  assert.equal(warm.source, 'cached');
  const victim = warm.keys[0]!;
  // Behind the feed's back: what a new write site that forgot recordChangesInTx would do.
  await m.getRepository(FileEntity).update({ id: victim.id }, { rev: () => 'rev + 1' });
  await assert.rejects(keyCache.keys(srv.services.db, origin(), repo.id, PARTS), /stale key cache \(cached\) of repository \d+ \[x86_64, any\].*did not record its change/);
  // Recorded: the next answer is brought up to date from the change, and agrees with the rows.
  await srv.services.db.write((tx) => recordFileChanges(tx, repo.id, [victim.id]));
  const fixed = await keyCache.keys(srv.services.db, origin(), repo.id, PARTS);
  assert.equal(fixed.source, 'changes');
  assert.equal(fixed.keys[0]!.rev, victim.rev + 1);
});

test('a cache more than RETAIN seqs behind reads every key; pruned changes are never relied on', async () => {
  const db = srv.services.db;
  assert.equal((await keyCache.keys(db, origin(), repo.id, PARTS)).source, 'cached');
  // More than RETAIN changes of a file id that does not exist (past a seq that prunes), in one transaction.
  const start = (await seqRow()).seq;
  const n = KEY_CHANGES_RETAIN + KEY_CHANGES_PRUNE_EVERY + 1;
  await db.write(async (m) => {
    for (let i = 0; i < n; i++) await recordFileChanges(m, repo.id, [1_000_000_000]);
  });
  const row = await seqRow();
  assert.equal(row.seq, start + n);
  assert.equal((await keyCache.keys(db, origin(), repo.id, PARTS)).source, 'full');
  // Pruning: writers whose seq is a multiple of 100 delete changes older than RETAIN and say so.
  assert.ok(row.pruned > 0 && row.pruned <= row.seq - KEY_CHANGES_RETAIN, JSON.stringify(row));
  const oldest = await db.manager.getRepository(FileChangeEntity).findOneOrFail({ where: { repoId: repo.id }, order: { seq: 'ASC' } });
  assert.ok(oldest.seq > row.pruned, `the oldest change left (${oldest.seq}) is after the pruned mark (${row.pruned})`);
  // Within RETAIN: from the changes again, and the index still as stored.
  assert.deepEqual(await sources(() => send(8)), { full: 0, cached: 0, changes: 1 });
  assert.deepEqual(await dbNames(), await storedNames());
});

test("an architecture's cached keys see the `any` packages uploaded while a change of them did not republish it", async () => {
  // aarch64 holds a package, then none; it is not configured, so an `any` upload then bumps
  // x86_64 alone (pacman's scopesFor): a feed per scope would leave aarch64's cache without it.
  const REPO2 = 'kcany';
  const put = async (name: string, i: number, arch: string) => {
    const r = await upload(srv.url, await synthPackage(work, name, i, arch), { provider: 'pacman', reponame: REPO2 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };
  const names = async (arch: string) => {
    const r = await fetch(`${srv.url}/repo/pacman/${REPO2}/${arch}/${REPO2}.db`);
    assert.equal(r.status, 200);
    return [...(await readDb(Buffer.from(await r.arrayBuffer()))).keys()].map((k) => k.replace(/-[^-]+-[^-]+$/, '')).sort();
  };
  const call = (method: string, p: string) => fetch(`${srv.url}/api/repos/pacman/${REPO2}${p}`, { method, headers: auth() });
  await put('arm0', 100, 'aarch64');
  await put('arm1', 101, 'aarch64');
  assert.deepEqual(await names('aarch64'), ['arm0', 'arm1']);
  assert.equal((await call('DELETE', '/packages/arm0')).status, 200);
  assert.equal((await call('DELETE', '/packages/arm1')).status, 200);
  assert.deepEqual(await names('aarch64'), []);
  await put('noarch0', 102, 'any');
  await put('arm2', 103, 'aarch64');
  assert.deepEqual(await names('aarch64'), ['arm2', 'noarch0']);
  assert.deepEqual(await names('x86_64'), ['noarch0']);
});
