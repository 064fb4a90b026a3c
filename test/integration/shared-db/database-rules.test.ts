/**
 * The rules the core relies on from a server database, checked on the real one (MariaDB with
 * TEST_DB=mysql or unset, PostgreSQL with TEST_DB=postgres). Two DataSources stand for two
 * server processes: each has its own connections, so its own database sessions.
 * - the publish lock holds across processes (GET_LOCK / pg_try_advisory_lock), dies with the
 *   session that held it (a crashed instance never leaves a stuck lock), and is per database;
 * - a unique-constraint violation is recognized (two instances creating the same row);
 * - a transaction the database aborts for a deadlock is run again by Database.write.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DataSource } from 'typeorm';
import { createDataSource } from '../../../src/db/data-source';
import { Database, isUniqueViolation } from '../../../src/db/database';
import { RepoEntity } from '../../../src/db/entities';
import { LockManager } from '../../../src/core/locks';
import { createServerDatabase, killDatabaseConnections, sharedDbKind } from '../../helpers/test-db';

const kind = sharedDbKind();
const cleanups: (() => Promise<void>)[] = [];
let url: string;
let otherUrl: string;

before(async () => {
  const db = await createServerDatabase(kind);
  const other = await createServerDatabase(kind);
  cleanups.push(db.drop, other.drop);
  url = db.url;
  otherUrl = other.url;
  const ds = createDataSource(url);
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  await ds.destroy();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A server "process": its own DataSource (pool) and lock manager. */
async function instance(databaseUrl: string, connect = false): Promise<{ db: Database; locks: LockManager }> {
  const ds: DataSource = createDataSource(databaseUrl);
  if (connect) await ds.initialize();
  const db = new Database(ds);
  const locks = new LockManager(db);
  cleanups.push(async () => {
    await locks.close();
    if (ds.isInitialized) await ds.destroy();
  });
  return { db, locks };
}

function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(cond(), what);
}

/** `p` settles within `ms`, or the test fails saying `what`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} (not within ${ms} ms)`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

test(`the publish lock holds across processes and is per database (${kind})`, async () => {
  const a = await instance(url);
  const b = await instance(url);
  const elsewhere = await instance(otherUrl);
  const events: string[] = [];
  const holdA = gate();
  const pa = a.locks.withLock('publish:1:stable', async () => {
    events.push('A in');
    await holdA.opened;
    events.push('A out');
  });
  await until(() => events.includes('A in'), 'A takes the free lock');
  const pb = b.locks.withLock('publish:1:stable', async () => void events.push('B in'));
  // The same lock name in another database (another deployment on the same server) is another lock.
  await within(elsewhere.locks.withLock('publish:1:stable', async () => void events.push('other database in')), 10_000, 'another database is not blocked');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(events, ['A in', 'other database in'], 'B waits while A holds the lock');
  holdA.open();
  await Promise.all([pa, pb]);
  assert.deepEqual(events, ['A in', 'other database in', 'A out', 'B in']);
});

test(`a lock dies with the session that held it: a crashed instance leaves no stuck lock (${kind})`, async () => {
  const a = await instance(url);
  const b = await instance(url);
  const holdA = gate();
  let aIn = false;
  const pa = a.locks.withLock('publish:2:main', async () => {
    aIn = true;
    await holdA.opened;
  });
  await until(() => aIn, 'A takes the lock');
  // A's lock session is the only session on the database now: kill it, as a crash would end it.
  assert.ok((await killDatabaseConnections(url)) >= 1, "A's lock session was connected");
  let bIn = false;
  await within(b.locks.withLock('publish:2:main', async () => void (bIn = true)), 10_000, 'B gets the lock of the dead session');
  assert.ok(bIn);
  holdA.open();
  await pa; // A's release fails with its session; withLock still returns what fn returned
  // A's lock manager opens a new session and keeps working.
  assert.equal(await within(a.locks.withLock('publish:2:main', async () => 'again'), 10_000, 'A locks again after losing its session'), 'again');
});

test(`a duplicate row is recognized as a unique violation, other errors are not (${kind})`, async () => {
  const { db } = await instance(url, true);
  const row = { provider: 'tar', name: 'dup', settings: '{}', createdAt: Date.now() };
  await db.write((m) => m.getRepository(RepoEntity).insert(row));
  const duplicate = await db.write((m) => m.getRepository(RepoEntity).insert(row)).then(() => null, (e: unknown) => e);
  assert.ok(duplicate, 'the second insert fails');
  assert.equal(isUniqueViolation(duplicate), true, String(duplicate));
  // NOT NULL is another constraint: a bug, not a race to report as "exists".
  const missing = await db.write((m) => m.getRepository(RepoEntity).insert({ ...row, name: 'other', settings: null as unknown as string })).then(() => null, (e: unknown) => e);
  assert.ok(missing, 'a NULL settings is refused');
  assert.equal(isUniqueViolation(missing), false, String(missing));
});

test(`a transaction aborted for a deadlock is run again (${kind})`, async () => {
  const one = await instance(url, true);
  const two = await instance(url, true);
  const repos = one.db.manager.getRepository(RepoEntity);
  await repos.insert([
    { provider: 'tar', name: 'lock-a', settings: '{}', createdAt: 1 },
    { provider: 'tar', name: 'lock-b', settings: '{}', createdAt: 1 },
  ]);
  const idOf = async (name: string) => (await repos.findOneByOrFail({ provider: 'tar', name })).id;
  const [ra, rb] = [await idOf('lock-a'), await idOf('lock-b')];
  // Each transaction locks its first row, waits until the other has locked its own, then
  // wants the other's row: a lock cycle the database must break by aborting one of them.
  let firstLocked = 0;
  const attempts = { one: 0, two: 0 };
  const crosswise = (who: 'one' | 'two', first: number, second: number) => (db: Database) =>
    db.write(async (m) => {
      const attempt = ++attempts[who];
      await m.getRepository(RepoEntity).update({ id: first }, { settings: `{"by":"${who}"}` });
      if (attempt === 1) {
        firstLocked++;
        await until(() => firstLocked === 2, 'both transactions hold their first row');
      }
      await m.getRepository(RepoEntity).update({ id: second }, { settings: `{"by":"${who}"}` });
    });
  await within(Promise.all([crosswise('one', ra, rb)(one.db), crosswise('two', rb, ra)(two.db)]), 30_000, 'both writes complete');
  assert.equal(attempts.one + attempts.two, 3, `exactly one transaction was aborted and run again (${JSON.stringify(attempts)})`);
  // The retried transaction committed last, so it wrote both rows.
  const winner = attempts.one === 2 ? 'one' : 'two';
  for (const id of [ra, rb]) assert.equal((await repos.findOneByOrFail({ id })).settings, `{"by":"${winner}"}`);
});
