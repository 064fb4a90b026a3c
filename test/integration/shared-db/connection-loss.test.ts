/**
 * Issue 7: losing database connections is survived. Every connection the server holds (query
 * pool and lock session) is killed server-side (what a database restart, a failover or an
 * idle timeout does); the next requests must work without a restart, and /healthz must
 * report the database state. Runs on MariaDB (TEST_DB=mysql, or unset) and PostgreSQL
 * (TEST_DB=postgres).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DataSource } from 'typeorm';
import { startServer, type TestServer } from '../../helpers/server';
import { MYSQL_ROOT_URL } from '../../helpers/mysql';
import { withPostgresAdmin } from '../../helpers/postgres';
import { sharedDbKind } from '../../helpers/test-db';
import { upload, getJson } from '../../helpers/http';

const kind = sharedDbKind();
let srv: TestServer;

before(async () => {
  srv = await startServer({ db: kind });
});
after(async () => {
  await srv.stop();
});

/** Kill every session connected to the server's database; returns how many there were. */
async function killServerConnections(): Promise<number> {
  const db = decodeURIComponent(new URL(srv.env.DATABASE_URL).pathname.slice(1));
  if (kind === 'postgres') {
    // pg_terminate_backend: the server ends the session, as a restart or failover would.
    return withPostgresAdmin(async (c) => {
      const r = await c.query('SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db]);
      return r.rows.filter((row: { killed: boolean }) => row.killed).length;
    });
  }
  const u = new URL(MYSQL_ROOT_URL);
  const admin = new DataSource({ type: 'mysql', host: u.hostname, port: Number(u.port || 3306), username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) });
  await admin.initialize();
  try {
    const rows = (await admin.query('SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ?', [db])) as { ID: number }[];
    for (const r of rows) await admin.query(`KILL ${Number(r.ID)}`).catch(() => undefined);
    return rows.length;
  } finally {
    await admin.destroy();
  }
}

test('requests keep working after every database connection is killed', async () => {
  const first = await upload(srv.url, { name: 'a.bin', data: Buffer.from('a') }, { provider: 'tar', reponame: 'conn', name: 'a', version: '1' });
  assert.equal(first.status, 201);
  const killed = await killServerConnections();
  assert.ok(killed > 0, 'the server had open connections to kill');
  await new Promise((r) => setTimeout(r, 200));
  // A dead pooled connection may fail one request at most; the pool must heal by itself.
  let health = await getJson(`${srv.url}/healthz`);
  if (health.status !== 200) health = await getJson(`${srv.url}/healthz`);
  assert.equal(health.status, 200, JSON.stringify(health.body));
  const again = await upload(srv.url, { name: 'b.bin', data: Buffer.from('b') }, { provider: 'tar', reponame: 'conn', name: 'b', version: '1' });
  assert.equal(again.status, 201, JSON.stringify(again.body));
  const list = await getJson(`${srv.url}/api/repos/tar/conn/packages`);
  assert.deepEqual(list.body.packages.map((p: { name: string }) => p.name), ['a', 'b']);
});

test('/healthz answers 503 with the reason while the database is unreachable', async () => {
  // Simulate an outage by pointing a second server at a port where nothing listens.
  const down = await startServer({ db: kind });
  try {
    await down.services.db.ds.destroy();
    const h = await getJson(`${down.url}/healthz`);
    assert.equal(h.status, 503);
    assert.match(h.body.checks.database, /^error: /);
  } finally {
    await down.services.db.ds.initialize();
    await down.stop();
  }
});
